"""A Jupyter kernel that runs student code in a sandbox.

nbgrader executes a submission by starting the kernel named in its config. The
driver (``autograder.driver``) names ``debugging-nn-sandbox``, whose kernelspec
starts ``python -m autograder.sandbox kernel {connection_file}``. That launcher
re-executes the ordinary IPython kernel inside bubblewrap, under resource limits:

* **filesystem**: the system and the virtual environment read-only; the course
  root (``source/``, the gradebook, ``submitted/``, ``autograded/``, the
  instructor's files) and ``$HOME`` replaced by empty directories; only the
  submission's own folder is writable, plus a private ``/tmp``;
* **network**: a new network namespace with no interfaces but loopback; the
  kernel talks to nbgrader over Unix sockets (``transport=ipc``) in a per-run
  runtime directory bound into the sandbox;
* **processes**: a new PID namespace; the kernel runs as an unprivileged uid of
  its own with ``RLIMIT_NPROC``, so a fork bomb hits the limit without starving
  the kernels graded beside it, and everything it started dies with it;
* **memory, CPU, files**: ``RLIMIT_AS`` (address space), ``RLIMIT_CPU``,
  ``RLIMIT_FSIZE`` and ``RLIMIT_NOFILE``; nbgrader's per-cell timeout and the
  driver's per-notebook wall-clock limit bound the time.

Not enforced (see README, "Threat model"): CPU share between concurrent kernels,
kernel exploits, side channels, and reading what is world-readable on the system
(the Python installation, the course helper package).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import sys
from pathlib import Path

KERNEL_NAME = "debugging-nn-sandbox"
ROOT = Path(__file__).resolve().parents[1]

#: Default limits; the driver passes its own through the environment.
LIMITS = {
    "SANDBOX_MEMORY_MB": 3072,  # address space; TensorFlow maps ~1.5 GB at import
    "SANDBOX_CPU_SECONDS": 600,
    "SANDBOX_NPROC": 512,  # threads count too: TensorFlow starts dozens
    "SANDBOX_FILE_MB": 256,
    "SANDBOX_NOFILE": 1024,
}
STUDENT_DIR = "/home/student/debugging_nn"
SANDBOX_UIDS = (200_000, 265_000)  # unused, unprivileged uids for kernels
COURSE_ROOT_ENV = "SANDBOX_COURSE_ROOT"  # the course being graded, hidden too
ISOLATE_ENV = "SANDBOX_ISOLATE"  # "0" disables bubblewrap (limits still apply)
GUARD_STARTUP = Path(__file__).with_name("guard_startup.py")  # see autograder.guard


def limit(name: str) -> int:
    return int(os.environ.get(name, LIMITS[name]))


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


def kernelspec(python: str = sys.executable) -> dict:
    """The kernel.json of the sandboxed kernel."""
    return {
        "argv": [python, "-m", "autograder.sandbox", "kernel", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        "env": {
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONWARNINGS": "ignore",
            "PYTHONPATH": str(ROOT),
        },
        "metadata": {"debugger": False},
    }


def install_kernelspec(prefix: Path) -> Path:
    """Write the kernelspec under ``<prefix>/kernels/<name>``; return the folder.

    Point ``JUPYTER_PATH`` at ``prefix`` to make it visible to nbgrader.
    """
    folder = Path(prefix) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(kernelspec(), indent=1))
    return folder


def _set_limits():
    import resource

    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit("SANDBOX_MEMORY_MB") * mb,) * 2)
    cpu = limit("SANDBOX_CPU_SECONDS")
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_NPROC, (limit("SANDBOX_NPROC"),) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit("SANDBOX_FILE_MB") * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit("SANDBOX_NOFILE"),) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _unprivileged(cmd: list[str]) -> list[str]:
    """Prefix ``cmd`` to run as ``nobody`` when we are root.

    RLIMIT_NPROC does not bind root, so a fork bomb needs an ordinary user. (The
    switch is made by util-linux ``setpriv`` before Python starts.)
    """
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        return cmd
    # A uid of its own per kernel: RLIMIT_NPROC counts processes per uid, so a
    # fork bomb in one submission cannot starve the kernels graded beside it.
    uid = SANDBOX_UIDS[0] + secrets.randbelow(SANDBOX_UIDS[1] - SANDBOX_UIDS[0])
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={pwd.getpwnam('nobody').pw_gid}",
        "--clear-groups",
        "--no-new-privs",
        *cmd,
    ]


def _ancestors(path: Path) -> list[Path]:
    """``/a/b/c`` -> ``[/a, /a/b]`` (the folders above ``path``, top first)."""
    return list(reversed(path.parents))[1:]


def bwrap_command(workdir: Path, runtime_dir: Path, inner: list[str]) -> list[str]:
    """The bubblewrap command line that runs ``inner`` isolated."""
    venv = Path(sys.prefix)
    home = Path.home()
    cmd = [
        "bwrap",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/run",
    ]
    # Hide the course roots and the instructor's home, then re-expose what the
    # kernel needs: the interpreter, the venv, the helper packages.
    hidden = {ROOT, Path(os.environ.get(COURSE_ROOT_ENV, ROOT)).resolve()}
    for folder in sorted(hidden):
        cmd += ["--tmpfs", str(folder)]
    if home != Path("/"):
        cmd += ["--tmpfs", str(home)]
    for needed in (Path(sys.base_prefix), venv, ROOT / "course", ROOT / "autograder"):
        if needed.exists():
            cmd += ["--ro-bind", str(needed), str(needed)]
    # The submission's folder appears under a neutral name, so the code cannot
    # tell grading from a student's own run by its path.
    # Folders bwrap creates for mount points default to 0700: make the ones on
    # the way to the student's folder and the runtime folder traversable.
    cmd += ["--tmpfs", "/home"]
    for folder in (*_ancestors(runtime_dir), *_ancestors(Path(STUDENT_DIR))):
        cmd += ["--perms", "0755", "--dir", str(folder)]
    cmd += [
        "--bind",
        str(workdir),
        STUDENT_DIR,
        "--bind",
        str(runtime_dir),
        str(runtime_dir),
        "--chdir",
        STUDENT_DIR,
        "--setenv",
        "HOME",
        "/home/student",
        "--setenv",
        "PYTHONPATH",
        str(ROOT),
        "--setenv",
        "MPLCONFIGDIR",
        "/tmp/mpl",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--",
        *inner,
    ]
    return cmd


def launch_kernel(connection_file: str) -> None:
    """Entry point of the kernelspec: exec the IPython kernel in the sandbox.

    The sandbox needs ``transport=ipc``: the kernel's sockets live in the folder
    of the connection's ``ip`` path, which is bound into the sandbox (Jupyter's
    runtime folder, which holds other kernels' keys, is not). The kernel gets a
    readable copy of its connection file there.
    """
    conn = Path(connection_file).resolve()
    workdir = Path.cwd().resolve()
    isolate = os.environ.get(ISOLATE_ENV, "1") != "0" and bwrap_available()
    if not isolate:
        os.execv(
            sys.executable,
            [sys.executable, "-m", "autograder.sandbox", "inner", str(conn)],
        )
    info = json.loads(conn.read_text())
    if info.get("transport") != "ipc":
        sys.exit("the grading sandbox needs --KernelManager.transport=ipc")
    sockets = Path(info["ip"]).resolve().parent
    sockets.mkdir(parents=True, exist_ok=True)
    copy = sockets / conn.name
    copy.write_text(conn.read_text())
    # The kernel runs as nobody: it must create its sockets, read its
    # connection file and write in the submission's folder.
    os.chmod(copy, 0o644)
    for path in (sockets, workdir):
        os.chmod(path, os.stat(path).st_mode | 0o777)
    inner = [sys.executable, "-m", "autograder.sandbox", "inner", str(copy)]
    os.execvp("bwrap", bwrap_command(workdir, sockets, _unprivileged(inner)))


def inner_kernel(connection_file: str) -> None:
    """Inside the sandbox: limits, privileges, then the ordinary kernel."""
    _set_limits()
    # Grading must be indistinguishable from a student's run.
    for name in [k for k in os.environ if k.startswith("NBGRADER")]:
        del os.environ[name]
    # In the PID namespace the kernel's parent is bwrap's init (PID 1), which
    # ipykernel would take for "parent exited"; bwrap --die-with-parent already
    # ends the kernel with its launcher.
    os.environ.pop("JPY_PARENT_PID", None)
    os.umask(0o000)
    from ipykernel import kernelapp

    sys.argv = [
        "ipykernel_launcher",
        "-f",
        connection_file,
        "--HistoryManager.hist_file=:memory:",
        f"--IPKernelApp.exec_files={GUARD_STARTUP}",
    ]
    kernelapp.launch_new_instance()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "kernel":
        launch_kernel(argv[1])
    elif len(argv) == 2 and argv[0] == "inner":
        inner_kernel(argv[1])
    else:
        print(
            "usage: python -m autograder.sandbox kernel|inner CONNECTION_FILE",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
