"""A Jupyter kernel that runs student code in a sandbox.

Every way of grading (``nbgrader autograde``, the formgrader's button, the
driver) names the kernel ``debugging-nn-sandbox`` (``nbgrader_config.py``). Its
kernelspec starts ``python -m autograder.sandbox kernel {connection_file}``, a
small launcher that runs the ordinary IPython kernel inside bubblewrap and
stays outside it to hold it to its budget:

* **nothing writable is shared**: the kernel's working folder and ``/tmp`` are
  private, size-limited tmpfs folders; the submission's extra files (never a
  link, never a notebook) are bound in read-only. nbgrader's own folders
  (``autograded/``, the gradebook) are not visible, so a link planted by the
  student can never make nbgrader write through it;
* **a minimal view**: only the system (``/usr``, ``/etc``), the Python
  installation and the virtual environment, read-only; the helper package
  ``course`` and the kernel's own start-up modules under a neutral path
  (``/opt/debugging-nn``); the data set under ``/opt/debugging-nn-data``. No
  course checkout, home folder, hidden test or checker is in it;
* **an allow-listed environment** (``bwrap --clearenv``): no secret, database
  URL or path of the host reaches the kernel;
* **network**: a new network namespace with only loopback; the kernel talks to
  nbgrader over Unix sockets (``transport=ipc``) in a per-run folder;
* **processes and memory as a whole**: a cgroup (:mod:`autograder.cgroup`) per
  kernel caps memory (tmpfs and kernel memory included) and the number of
  processes and threads of the kernel and everything it starts; per-process
  ``RLIMIT_AS``/``CPU``/``FSIZE``/``NOFILE``/``NPROC`` apply inside it; the
  kernel runs as an unprivileged uid of its own (when grading as root);
* **output**: what the kernel writes to its inherited stdout/stderr passes
  through the launcher, which forwards the first :data:`OUTPUT_CAP` bytes and
  discards the rest, so a flood cannot grow the grading process.

Not enforced (see README, "Threat model"): CPU share between concurrent
kernels, kernel exploits and side channels.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

KERNEL_NAME = "debugging-nn-sandbox"
ROOT = Path(__file__).resolve().parents[1]

#: Default limits. Grading sets them from ``CourseGrading`` (autograder.config) in
#: the kernelspec's environment; the launcher reads them from its environment.
LIMITS = {
    "SANDBOX_MEMORY_MB": 3072,  # the cgroup's memory, and each process's RLIMIT_AS
    "SANDBOX_CPU_SECONDS": 600,
    "SANDBOX_NPROC": 512,  # threads count too: TensorFlow starts dozens
    "SANDBOX_FILE_MB": 256,
    "SANDBOX_NOFILE": 1024,
    "SANDBOX_TMP_MB": 512,  # each of /tmp and the working folder (tmpfs: memory)
}
STUDENT_DIR = "/home/student/debugging_nn"
LIB_DIR = "/opt/debugging-nn"  # `course` and the kernel's start-up modules
DATA_DIR = "/opt/debugging-nn-data"
#: The modules of this package the kernel itself runs; nothing else (the
#: checkers, the driver) is visible inside.
KERNEL_MODULES = ("__init__.py", "sandbox.py")
OUTPUT_CAP = 64 * 1024
SANDBOX_UIDS = (200_000, 265_000)  # unused, unprivileged uids for kernels
ISOLATE_ENV = "SANDBOX_ISOLATE"  # "0" disables bubblewrap (limits still apply)
#: Host variables the kernel may see (besides the ones the sandbox sets).
ENV_ALLOW = ("LANG", "LC_ALL", "TZ", *LIMITS)


def limit(name: str) -> int:
    return int(os.environ.get(name, LIMITS[name]))


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


def kernelspec(python: str = sys.executable, env: dict | None = None) -> dict:
    """The kernel.json of the sandboxed kernel; ``env``: its limits (``LIMITS``)."""
    return {
        "argv": [python, "-m", "autograder.sandbox", "kernel", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        # Interrupts travel as messages: a signal to the launcher would not
        # reach a kernel in its own PID namespace.
        "interrupt_mode": "message",
        "env": {"PYTHONPATH": str(ROOT), **(env or {})},
        "metadata": {"debugger": False},
    }


def install_kernelspec(prefix: Path, env: dict | None = None) -> Path:
    """Write the kernelspec under ``<prefix>/kernels/<name>``; return the folder.

    ``SandboxExecute`` writes it into a private folder for every run, so it
    always names the interpreter that grades.
    """
    folder = Path(prefix) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(kernelspec(env=env), indent=1))
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
    """Prefix ``cmd`` to run as an unused uid when we are root.

    RLIMIT_NPROC does not bind root, and root inside the sandbox could undo
    its mounts. (util-linux ``setpriv`` switches before Python starts.)
    """
    if os.getuid() != 0:
        return cmd
    if shutil.which("setpriv") is None:
        sys.exit("grading as root needs util-linux setpriv to drop privileges")
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


def data_dir() -> Path | None:
    """The Fashion-MNIST folder the course would read (``None``: not installed)."""
    try:
        from course import data

        return data._find_dir()
    except Exception:
        return None


def extra_files(workdir: Path) -> list[Path]:
    """The submission's own files the kernel may read: regular files only
    (never a link, never a notebook, which holds the tests being graded)."""
    found = []
    for entry in sorted(workdir.iterdir()) if workdir.is_dir() else []:
        if entry.is_symlink() or not entry.is_file() or entry.suffix == ".ipynb":
            continue
        found.append(entry)
    return found


def _system_view() -> list[str]:
    """Read-only system folders; the merged-/usr links as links."""
    args = []
    for top in ("/usr", "/etc"):
        args += ["--ro-bind", top, top]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    return args


def bwrap_command(
    workdir: Path, runtime_dir: Path, inner: list[str], env: dict | None = None
) -> list[str]:
    """The bubblewrap command line that runs ``inner`` isolated."""
    env = os.environ if env is None else env
    tmp_bytes = str(limit("SANDBOX_TMP_MB") * 1024 * 1024)
    cmd = ["bwrap", "--clearenv", *_system_view()]
    cmd += ["--dev", "/dev", "--proc", "/proc"]
    cmd += ["--perms", "1777", "--size", tmp_bytes, "--tmpfs", "/tmp"]
    # The interpreter and the venv at their own paths (their scripts name
    # them); the folders above them are created empty, traversable.
    pythons = dict.fromkeys([Path(sys.base_prefix), Path(sys.prefix)])
    made = set()
    for needed in pythons:
        for folder in _ancestors(needed):
            if folder not in made and str(folder) not in ("/usr", "/etc"):
                made.add(folder)
                cmd += ["--perms", "0755", "--dir", str(folder)]
        cmd += ["--ro-bind", str(needed), str(needed)]
    # The course's helper package and the kernel's start-up modules, alone.
    for folder in ("/opt", LIB_DIR, f"{LIB_DIR}/autograder"):
        cmd += ["--perms", "0755", "--dir", folder]
    cmd += ["--ro-bind", str(ROOT / "course"), f"{LIB_DIR}/course"]
    for name in KERNEL_MODULES:
        here = ROOT / "autograder" / name
        cmd += ["--ro-bind", str(here), f"{LIB_DIR}/autograder/{name}"]
    data = data_dir()
    if data is not None:
        cmd += ["--ro-bind", str(data), DATA_DIR]
        cmd += ["--setenv", "COURSE_DATA_DIR", DATA_DIR]
    # The working folder: private tmpfs under a neutral name, so the code
    # cannot tell grading from a student's own run by its path.
    for folder in _ancestors(Path(STUDENT_DIR)):
        cmd += ["--perms", "0755", "--dir", str(folder)]
    cmd += ["--perms", "1777", "--size", tmp_bytes, "--tmpfs", STUDENT_DIR]
    for extra in extra_files(workdir):
        cmd += ["--ro-bind", str(extra), f"{STUDENT_DIR}/{extra.name}"]
    for folder in _ancestors(runtime_dir):
        if folder not in made:
            cmd += ["--perms", "0755", "--dir", str(folder)]
    cmd += ["--bind", str(runtime_dir), str(runtime_dir)]
    allowed = {k: env[k] for k in ENV_ALLOW if k in env}
    allowed.update(
        HOME="/home/student",
        PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        PYTHONPATH=LIB_DIR,
        MPLCONFIGDIR="/tmp/mpl",
        TF_CPP_MIN_LOG_LEVEL="3",
        TF_ENABLE_ONEDNN_OPTS="0",
        PYTHONWARNINGS="ignore",
        LANG=env.get("LANG", "C.UTF-8"),
    )
    for key, value in sorted(allowed.items()):
        cmd += ["--setenv", key, value]
    cmd += [
        "--chdir",
        STUDENT_DIR,
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


def relay(stream, out, cap: int = OUTPUT_CAP) -> int:
    """Copy ``stream`` to ``out`` up to ``cap`` bytes, drain the rest; return
    the number of bytes read (a flood is read and dropped, never buffered)."""
    total = 0
    fd = stream.fileno()
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return total
        keep = chunk[: max(0, cap - total)]
        if keep:
            out.write(keep)
            out.flush()
        if total < cap <= total + len(chunk):
            out.write(b"\n[sandbox: kernel output beyond this point discarded]\n")
            out.flush()
        total += len(chunk)


def _run_held(cmd: list[str]) -> int:
    """Run ``cmd`` in a cgroup of its own, relaying capped output; its status."""
    from autograder import cgroup

    mb = 1024 * 1024
    try:
        group = cgroup.create(limit("SANDBOX_MEMORY_MB") * mb, limit("SANDBOX_NPROC"))
    except (cgroup.Unavailable, OSError) as err:
        print(
            f"sandbox: no cgroup ({err}); only per-process limits apply",
            file=sys.stderr,
            flush=True,
        )
        group = None
    child = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=group.enter if group else None,
    )
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: child.send_signal(signum))
    try:
        relay(child.stdout, sys.stderr.buffer)
        return child.wait()
    finally:
        if group is not None:
            group.remove()


def launch_kernel(connection_file: str) -> None:
    """Entry point of the kernelspec: run the IPython kernel in the sandbox.

    The sandbox needs ``transport=ipc``: the kernel's sockets live in the folder
    of the connection's ``ip`` path, which is bound into the sandbox (Jupyter's
    runtime folder, which holds other kernels' keys, is not). The kernel gets a
    readable copy of its connection file there.
    """
    conn = Path(connection_file).resolve()
    workdir = Path.cwd().resolve()
    inner = [sys.executable, "-m", "autograder.sandbox", "inner"]
    isolate = os.environ.get(ISOLATE_ENV, "1") != "0"
    if not isolate:
        os.execv(sys.executable, [*inner, str(conn)])
    if not bwrap_available():
        sys.exit(
            "the grading sandbox needs bubblewrap: `apt-get install bubblewrap` "
            f"(or set {ISOLATE_ENV}=0 to grade without isolation)"
        )
    info = json.loads(conn.read_text())
    if info.get("transport") != "ipc":
        sys.exit("the grading sandbox needs --KernelManager.transport=ipc")
    sockets = Path(info["ip"]).resolve().parent
    sockets.mkdir(parents=True, exist_ok=True)
    copy = sockets / conn.name
    copy.write_text(conn.read_text())
    # The kernel runs as another uid: it must create its sockets there and
    # read its connection file. (This folder is this run's alone.)
    os.chmod(copy, 0o644)
    os.chmod(sockets, 0o777)
    command = bwrap_command(workdir, sockets, _unprivileged([*inner, str(copy)]))
    sys.exit(_run_held(command))


def inner_kernel(connection_file: str) -> None:
    """Inside the sandbox: limits, then the ordinary kernel."""
    _set_limits()
    # Grading must be indistinguishable from a student's run.
    for name in [k for k in os.environ if k.startswith(("NBGRADER", "SANDBOX"))]:
        del os.environ[name]
    # In the PID namespace the kernel's parent is bwrap's init (PID 1), which
    # ipykernel would take for "parent exited"; bwrap --die-with-parent already
    # ends the kernel with its launcher.
    os.environ.pop("JPY_PARENT_PID", None)
    os.umask(0o022)
    from ipykernel import kernelapp

    sys.argv = [
        "ipykernel_launcher",
        "-f",
        connection_file,
        "--HistoryManager.hist_file=:memory:",
    ]
    kernelapp.launch_new_instance()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 2 and argv[0] == "kernel":
        launch_kernel(argv[1])
    elif len(argv) >= 2 and argv[0] == "inner":
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
