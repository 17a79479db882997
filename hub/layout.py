"""Where the course's hub keeps everything; read by ``setup.py`` and the hub config.

Every path can be moved with an environment variable (the test moves the data to
a scratch folder; the software environment is shared and built once)::

    HUB_PREFIX  /opt/debugging-nn-hub   software: the hub's Python environment
                                        (JupyterHub, nbgrader, the course) and
                                        the proxy (configurable-http-proxy)
    HUB_SRV     /srv/debugging-nn       data: exchange/, course/, hub/ (state)
    HUB_ROSTER  hub/roster.json         the course's users and their roles
    HUB_STAFF_GROUP  debugging-nn-staff the Unix group of instructors and graders
    HUB_IP, HUB_PORT                    where the hub listens (127.0.0.1:8000)
    HUB_API_PORT                        the hub's internal API port (8081)
    HUB_PROXY_API_PORT                  the proxy's API port (8001)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

PREFIX = Path(os.environ.get("HUB_PREFIX", "/opt/debugging-nn-hub"))
VENV = PREFIX / "venv"
PROXY_DIR = PREFIX / "proxy"
PROXY = PROXY_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
#: Jupyter config read only by the servers of instructors and graders (put on
#: their JUPYTER_CONFIG_PATH by the hub): formgrader on, the course directory.
STAFF_CONFIG = PREFIX / "staff-config"

SRV = Path(os.environ.get("HUB_SRV", "/srv/debugging-nn"))
#: nbgrader's exchange: world-writable with the sticky bit, as nbgrader documents.
EXCHANGE = SRV / "exchange"
#: The instructors' course directory (nbgrader's CourseDirectory.root): source/,
#: the gradebook, submitted/, autograded/, feedback/. Staff only (mode 2770).
COURSE = SRV / "course"
#: The hub's own state (its database, cookie secret, proxy pid): root only.
STATE = SRV / "hub"
#: Staff see the course directory as ~/<COURSE_LINK> (the formgrader needs the
#: course inside the server's root folder).
COURSE_LINK = "debugging-nn"
STAFF_GROUP = os.environ.get("HUB_STAFF_GROUP", "debugging-nn-staff")

IP = os.environ.get("HUB_IP", "127.0.0.1")
PORT = int(os.environ.get("HUB_PORT", "8000"))
API_PORT = int(os.environ.get("HUB_API_PORT", "8081"))
PROXY_API_PORT = int(os.environ.get("HUB_PROXY_API_PORT", "8001"))

ROSTER_FILE = Path(os.environ.get("HUB_ROSTER", HERE / "roster.json"))


def roster() -> dict:
    """``{"course_id", "instructors", "graders", "students"}`` from the roster."""
    data = json.loads(ROSTER_FILE.read_text())
    for key in ("instructors", "graders", "students"):
        data.setdefault(key, [])
    data.setdefault("course_id", "debugging-nn")
    return data


def staff(data: dict | None = None) -> list[str]:
    data = data or roster()
    return [*data["instructors"], *data["graders"]]


def everyone(data: dict | None = None) -> list[str]:
    data = data or roster()
    return [*staff(data), *data["students"]]
