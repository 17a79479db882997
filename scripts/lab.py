"""Start JupyterLab on the student's own copy of the course (``make lab``).

- The student works in ``student-work/debugging_nn/``, a copy of the generated
  ``release/debugging_nn/`` made on first start. ``make release`` rewrites
  ``release/`` and never touches the copy; a notebook already in the copy is
  never overwritten (a newer release of it is reported, not applied).
- JupyterLab opens at that folder with lesson 01 open, so the solutions
  (``source/``), the grader and the tests are not in view.
- Works as root (containers, WSL, cloud VMs run as root): ``--allow-root`` is
  added then. Extra JupyterLab arguments follow ``--`` (``make lab
  LAB_ARGS="--no-browser"``); ``--port N`` (``make lab PORT=N``) picks the port.
- The server's log is kept to warnings; this script prints one line when the
  server answers: the address to open.

Usage: ``python scripts/lab.py [--root DIR] [-- JUPYTER-LAB-ARGS...]``
"""

from __future__ import annotations

import argparse
import filecmp
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "debugging_nn"
WORK = "student-work"
FIRST = "01_common_problems_and_dead_neurons.ipynb"


def student_copy(root: Path = ROOT, log=print) -> Path:
    """Copy release notebooks missing from the student's folder; keep the rest.

    Returns the student's assignment folder. A student's notebook is never
    replaced: when the release has a different version, say where it is.
    """
    release = root / "release" / ASSIGNMENT
    work = root / WORK / ASSIGNMENT
    if not release.is_dir():
        raise SystemExit(f"{release} is missing: run `make release` first")
    work.mkdir(parents=True, exist_ok=True)
    for path in sorted(release.glob("*.ipynb")):
        mine = work / path.name
        if not mine.exists():
            shutil.copy2(path, mine)
        elif not filecmp.cmp(path, mine, shallow=False) and mine.stat().st_mtime < (
            path.stat().st_mtime
        ):
            log(
                f"note: {path.relative_to(root)} is newer than your "
                f"{mine.relative_to(root)}; yours is kept (rename yours to get it)"
            )
    return work


def free_port(start: int = 8888, tries: int = 50) -> int:
    for port in range(start, start + tries):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {start}-{start + tries - 1}: pass --port")


def lab_command(root: Path, port: int, token: str, extra: list[str]) -> list[str]:
    cmd = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        f"--ServerApp.root_dir={root / WORK}",
        f"--LabApp.default_url=/lab/tree/{ASSIGNMENT}/{FIRST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.log_level=WARN",
        "--LabApp.log_level=WARN",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + extra


def wait_until_served(url: str, proc: subprocess.Popen, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except Exception:
            time.sleep(0.5)
    return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--port", type=int, help="default: the first free from 8888")
    args = parser.parse_args(own)
    root = args.root.resolve()
    student_copy(root)
    port = args.port or free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    proc = subprocess.Popen(lab_command(root, port, token, extra), env=env)
    url = f"http://127.0.0.1:{port}/lab/tree/{ASSIGNMENT}/{FIRST}?token={token}"
    try:
        if wait_until_served(f"http://127.0.0.1:{port}/api/status?token={token}", proc):
            print(
                f"\nready: open {url}\n"
                f"       your notebooks are in {WORK}/{ASSIGNMENT}/; start with "
                f"notebook 01. Ctrl-C stops JupyterLab.\n",
                flush=True,
            )
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
