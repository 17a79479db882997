"""Set up (or remove) the course's JupyterHub on this machine. Run as root.

    sudo python3 hub/setup.py install   # everything below; idempotent
    sudo python3 hub/setup.py env       # only the software (venv + proxy)
    sudo python3 hub/setup.py remove    # users, groups, exchange, course, hub state
    sudo python3 hub/setup.py remove --env   # ... and the software too

``install``:

1. Debian packages: bubblewrap (grading sandbox), nodejs + npm (the proxy), acl,
   the Fashion-MNIST package;
2. the hub's Python environment ``$HUB_PREFIX/venv`` from ``/usr/bin/python3``
   (every user runs their server from it, so it must not live under a home
   folder): JupyterHub, nbgrader, Dask and this course, installed as a package
   (``pip install '.[grading,hub]'``, not editable);
3. the proxy: ``npm ci`` of the committed ``hub/package-lock.json``
   (configurable-http-proxy) into ``$HUB_PREFIX/proxy``;
4. Jupyter and nbgrader settings: for everyone (the environment's
   ``etc/jupyter``: nbgrader's exchange, the JupyterHub auth plug-in, the student
   view: Assignment List and Validate, no formgrader, create-assignment or course
   list) and for staff (``$HUB_PREFIX/staff-config``, put on their servers'
   ``JUPYTER_CONFIG_PATH`` by the hub: the formgrader and course list on, the
   course directory, group-shared files, the late-submission penalty);
5. the Unix users and groups of ``hub/roster.json`` (home folders 0700; staff in
   the group ``debugging-nn-staff``); ``--password-env VAR`` sets every roster
   user's password from that variable (for PAM log-in in a test or a demo;
   in a class, users keep their own passwords or the hub uses your SSO);
6. nbgrader's exchange ``$HUB_SRV/exchange`` (root's, mode 1777: everyone may
   create, nobody may remove what others made) and the course directory
   ``$HUB_SRV/course`` (a copy of this repository's course: ``source/``,
   ``nbgrader_config.py``, ``autograder/``, ``course/``; owned by the first
   instructor and the staff group, 2770 with a default ACL, nothing for others),
   linked as ``~/debugging-nn`` in every staff home;
7. the hub's state folder ``$HUB_SRV/hub`` (root, 0700).

The paths are in ``hub/layout.py`` (``HUB_PREFIX``, ``HUB_SRV``, ``HUB_ROSTER``).
Only the standard library is used, so ``/usr/bin/python3`` runs this file.
"""

from __future__ import annotations

import argparse
import grp
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import layout  # noqa: E402

PYTHON = os.environ.get("HUB_PYTHON", "/usr/bin/python3")
#: Debian packages, by the command the hub needs from them (a command already
#: installed some other way, e.g. NodeSource's nodejs with its npm, is enough).
SYSTEM_PACKAGES = {
    "bwrap": ["bubblewrap"],
    "setfacl": ["acl"],
    "node": ["nodejs"],
    "npm": ["npm"],
}

#: nbgrader's JupyterLab plug-ins and server extensions students do not get.
STAFF_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)
STAFF_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
#: What the course directory gets from this repository.
COURSE_FILES = ("nbgrader_config.py", "source", "autograder", "course")


def run(*cmd, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def digest(*paths: Path) -> str:
    """SHA-256 over files (and the files under folders), for 'up to date?'."""
    h = hashlib.sha256()
    for top in paths:
        files = sorted(top.rglob("*")) if top.is_dir() else [top]
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(top.parent)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()


# -- software -------------------------------------------------------------------


def system_packages() -> None:
    missing = [
        package
        for command, packages in SYSTEM_PACKAGES.items()
        if shutil.which(command) is None
        for package in packages
    ]
    run(layout.REPO / "scripts" / "install-system-deps.sh", *missing)


def python_env() -> None:
    """The hub's venv: JupyterHub, nbgrader, Dask and the course (as a package)."""
    venv = layout.VENV
    deps_stamp = venv / ".debugging-nn-deps"
    course_stamp = venv / ".debugging-nn-course"
    deps = digest(layout.REPO / "pyproject.toml")
    course = digest(layout.REPO / "course")
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q"]
    if not (deps_stamp.exists() and deps_stamp.read_text() == deps):
        if not (venv / "bin" / "python").exists():
            run(PYTHON, "-m", "venv", venv)
        # Non-editable: users' servers must not import from this checkout.
        run(*pip, f"{layout.REPO}[grading,hub]")
        course_stamp.unlink(missing_ok=True)
        deps_stamp.write_text(deps)
    if not (course_stamp.exists() and course_stamp.read_text() == course):
        # The course package again when its code changed (the same version).
        run(*pip, "--no-deps", "--force-reinstall", str(layout.REPO))
        run("chmod", "-R", "a+rX", layout.PREFIX)
        course_stamp.write_text(course)
    print(f"hub environment up to date: {venv}")


def proxy() -> None:
    """configurable-http-proxy from the committed lock file (``npm ci``)."""
    target = layout.PROXY_DIR
    lock = layout.HERE / "package-lock.json"
    stamp = target / ".lock-digest"
    if layout.PROXY.exists() and stamp.exists() and stamp.read_text() == digest(lock):
        print(f"proxy up to date: {layout.PROXY}")
        return
    target.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(layout.HERE / name, target / name)
    run("npm", "ci", "--omit=dev", "--no-audit", "--no-fund", cwd=target)
    run(layout.PROXY, "--version")
    stamp.write_text(digest(lock))
    run("chmod", "-R", "a+rX", layout.PREFIX)


def jupyter_settings() -> None:
    """Settings for everyone (in the venv) and for staff (``STAFF_CONFIG``)."""
    etc = layout.VENV / "etc" / "jupyter"
    course = layout.roster()["course_id"]
    write(
        etc / "nbgrader_config.py",
        f'''"""nbgrader for every user of the course's hub (hub/setup.py writes it)."""

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821
# nbgrader's exchange: release, fetch, submit, collect, feedback go through it.
c.Exchange.root = {str(layout.EXCHANGE)!r}
# Courses come from hub groups: nbgrader-<course> (students), formgrade-<course>
# (instructors and graders); a student lists and fetches only their courses.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
c.CourseDirectory.course_id = {course!r}
''',
    )
    # The student view: no instructor tools (staff servers turn them back on).
    write(
        etc / "jupyter_server_config.d" / "zz-debugging-nn-hub.json",
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": dict.fromkeys(STAFF_SERVER_EXTENSIONS, False)
                }
            },
            indent=2,
        ),
    )
    write(
        etc / "labconfig" / "page_config.json",
        json.dumps({"disabledExtensions": dict.fromkeys(STAFF_LAB_PLUGINS, True)}),
    )
    # No "get notified about Jupyter news?" pop-up on a class's hub.
    write(
        layout.VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json",
        json.dumps(
            {
                "@jupyterlab/apputils-extension:notification": {
                    "checkForUpdates": False,
                    "fetchNews": "false",
                }
            },
            indent=2,
        ),
    )
    staff = layout.STAFF_CONFIG
    shutil.rmtree(staff, ignore_errors=True)
    write(
        staff / "jupyter_server_config.json",
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": dict.fromkeys(STAFF_SERVER_EXTENSIONS, True)
                }
            },
            indent=2,
        ),
    )
    write(
        staff / "labconfig" / "page_config.json",
        json.dumps({"disabledExtensions": dict.fromkeys(STAFF_LAB_PLUGINS, False)}),
    )
    shutil.copy(layout.HERE / "staff_nbgrader_config.py", staff / "nbgrader_config.py")
    run("chmod", "-R", "a+rX", staff)


# -- accounts, exchange, course -------------------------------------------------


def exists_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def exists_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def users(password_env: str | None) -> None:
    roster = layout.roster()
    if not exists_group(layout.STAFF_GROUP):
        run("groupadd", layout.STAFF_GROUP)
    for name in layout.everyone(roster):
        if not exists_user(name):
            run("useradd", "--create-home", "--shell", "/bin/bash", name)
        home = Path(pwd.getpwnam(name).pw_dir)
        home.chmod(0o700)  # nobody else reads a user's work
    for name in layout.staff(roster):
        run("usermod", "--append", "--groups", layout.STAFF_GROUP, name)
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            sys.exit(f"--password-env {password_env}: the variable is empty")
        lines = "".join(f"{name}:{password}\n" for name in layout.everyone(roster))
        subprocess.run(["chpasswd"], input=lines, text=True, check=True)


def exchange() -> None:
    """nbgrader's exchange: ``mkdir``, then world-writable with the sticky bit."""
    layout.SRV.mkdir(parents=True, exist_ok=True)
    layout.SRV.chmod(0o755)
    layout.EXCHANGE.mkdir(exist_ok=True)
    os.chown(layout.EXCHANGE, 0, 0)
    layout.EXCHANGE.chmod(0o1777)


def course_dir() -> None:
    """The staff's course directory, copied from this repository once."""
    roster = layout.roster()
    owner = roster["instructors"][0]
    dest = layout.COURSE
    if not (dest / "nbgrader_config.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        for name in COURSE_FILES:
            src = layout.REPO / name
            if src.is_dir():
                shutil.copytree(
                    src,
                    dest / name,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
                )
            else:
                shutil.copy(src, dest / name)
    run("chown", "-R", f"{owner}:{layout.STAFF_GROUP}", dest)
    run("chmod", "-R", "u+rwX,g+rwX,o-rwx", dest)
    run("find", dest, "-type", "d", "-exec", "chmod", "g+s", "{}", "+")
    # Files any staff member creates stay writable by the others (the gradebook).
    acl = f"g:{layout.STAFF_GROUP}:rwX"
    run("setfacl", "-R", "-m", acl, "-m", f"d:{acl}", "-m", "d:o::---", dest)
    for name in layout.staff(roster):
        home = Path(pwd.getpwnam(name).pw_dir)
        link = home / layout.COURSE_LINK
        if link.is_symlink() or not link.exists():
            if link.is_symlink():
                link.unlink()
            link.symlink_to(dest)
            entry = pwd.getpwnam(name)
            os.lchown(link, entry.pw_uid, entry.pw_gid)


def state_dir() -> None:
    layout.STATE.mkdir(parents=True, exist_ok=True)
    os.chown(layout.STATE, 0, 0)
    layout.STATE.chmod(0o700)


def stop_processes(uid: int) -> None:
    """SIGKILL the processes still running as ``uid`` (a server the hub did not
    stop keeps the account busy), each by its process id."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    os.kill(int(entry.name), 9)
            except (OSError, ProcessLookupError):
                pass


def remove(env: bool) -> None:
    roster = layout.roster()
    for name in layout.everyone(roster):
        if exists_user(name):
            stop_processes(pwd.getpwnam(name).pw_uid)
            run("userdel", "--remove", name)
    if exists_group(layout.STAFF_GROUP):
        run("groupdel", layout.STAFF_GROUP)
    for folder in (layout.EXCHANGE, layout.COURSE, layout.STATE):
        shutil.rmtree(folder, ignore_errors=True)
    try:
        layout.SRV.rmdir()
    except OSError:
        pass
    if env:
        shutil.rmtree(layout.PREFIX, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="hub/setup.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("command", choices=["install", "env", "remove"])
    parser.add_argument(
        "--password-env",
        metavar="VAR",
        help="set every roster user's password from this environment variable",
    )
    parser.add_argument(
        "--env", action="store_true", help="remove: the software environment too"
    )
    parser.add_argument(
        "--no-system-packages",
        action="store_true",
        help="do not check or install Debian packages",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("hub/setup.py must run as root (it creates users)", file=sys.stderr)
        return 1
    if args.command == "remove":
        remove(args.env)
        return 0
    if not args.no_system_packages:
        system_packages()
    python_env()
    proxy()
    jupyter_settings()
    if args.command == "install":
        users(args.password_env)
        exchange()
        course_dir()
        state_dir()
        print(f"hub ready: start it with `make hub` (http://{layout.IP}:{layout.PORT})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
