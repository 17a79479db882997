"""A newcomer's first commands, in a fresh copy of the repository.

- The README's first command (``make lab``) serves the course in JupyterLab, as
  root too (containers and cloud VMs run as root), and says where to start.
- The student works in ``student-work/``, a copy of ``release/``: the documented
  target that rewrites ``release/`` (``make release``) leaves the student's
  edits alone, and a second ``make lab`` does not overwrite them either.

The copy shares this checkout's ``.venv`` (made older than nothing: its stamp is
kept newer than the copy's ``pyproject.toml``, so ``make`` installs nothing).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.submissions import ROOT

pytestmark = pytest.mark.slow
FIRST = "01_common_problems_and_dead_neurons.ipynb"


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """This working tree's files (tracked and new), as a fresh clone would have."""
    dest = tmp_path_factory.mktemp("fresh") / "course"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src, dst = ROOT / os.fsdecode(name), dest / os.fsdecode(name)
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
            dst.chmod(src.stat().st_mode)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    stamp = (ROOT / ".venv" / ".installed-stamp").stat().st_mtime
    os.utime(dest / "pyproject.toml", (stamp - 60, stamp - 60))
    return dest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    return env


def test_make_lab_serves_the_students_copy_and_says_where_to_start(clone):
    port = _free_port()
    proc = subprocess.Popen(
        ["make", "lab", f"PORT={port}", "LAB_ARGS=--no-browser"],
        cwd=clone,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines, url = [], None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            found = re.search(r"ready: open (http\S+)", line)
            url = found.group(1) if found else None
        assert url, "".join(lines)[-3000:]
        assert f":{port}/lab/tree/debugging_nn/{FIRST}" in url
        token = url.split("token=")[1]
        api = f"http://127.0.0.1:{port}/api/contents/debugging_nn/{FIRST}?token={token}"
        with urllib.request.urlopen(api, timeout=30) as reply:
            assert reply.status == 200
        # The server's root is the student's folder: the solutions are not there.
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/contents/source?token={token}", timeout=30
            )
        noise = [ln for ln in lines if "[I " in ln or "Running as root" in ln]
        assert not noise, "".join(noise)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert (clone / "student-work" / "debugging_nn" / FIRST).is_file()
    if os.geteuid() == 0:
        assert "--allow-root" in (ROOT / "scripts" / "lab.py").read_text()


def test_a_students_edit_survives_make_release_and_make_lab(clone):
    work = clone / "student-work" / "debugging_nn"
    if not work.exists():  # the first test made it; make it alone otherwise
        subprocess.run(
            [sys.executable, "-c", "import lab; lab.student_copy()"],
            cwd=clone / "scripts",
            check=True,
        )
    mine = work / "11_exercise_lr_warmup.ipynb"
    nb = nbformat.read(mine, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("my notes: warmup helps Adam"))
    nbformat.write(nb, mine)
    edited = mine.read_bytes()

    result = subprocess.run(
        ["make", "release"], cwd=clone, env=_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    copy = subprocess.run(
        [sys.executable, "-c", "import lab; lab.student_copy()"],
        cwd=clone / "scripts",
        capture_output=True,
        text=True,
        check=True,
    )
    assert mine.read_bytes() == edited
    assert "my notes" not in (
        clone / "release" / "debugging_nn" / mine.name
    ).read_text()
    assert "yours is kept" in copy.stdout or copy.stdout == ""
