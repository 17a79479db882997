"""A control group that holds one sandboxed kernel to its budget as a whole.

``RLIMIT_AS`` bounds each process; a kernel that forks (or fills a tmpfs, which
is memory too) can still take a multiple of it. A cgroup bounds the kernel and
everything it starts together: memory (tmpfs pages and kernel memory such as
inodes included) and the number of processes and threads.

Both hierarchies are supported: cgroup v2 (when the grader's own cgroup
delegates the ``memory`` and ``pids`` controllers to its children) and cgroup
v1 (the ``memory`` and ``pids`` controllers mounted under ``/sys/fs/cgroup``).
Creating a cgroup needs root or a delegated subtree; where neither is available
:func:`create` raises :class:`Unavailable` with the reason, and the launcher
falls back to per-process limits and says so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

MOUNT = Path("/sys/fs/cgroup")
PREFIX = "debugging-nn-kernel-"


class Unavailable(RuntimeError):
    """No cgroup can be created here; the message says why."""


@dataclass
class Group:
    """The cgroup folders of one kernel (one per v1 controller, or one v2)."""

    folders: list[Path] = field(default_factory=list)

    def enter(self) -> None:
        """Move the calling process into the group (its children follow)."""
        for folder in self.folders:
            # "0" is the writing process itself, in v1 and v2 alike.
            (folder / "cgroup.procs").write_text("0")

    def remove(self) -> None:
        """Delete the group; it must be empty (its processes have ended)."""
        for folder in self.folders:
            try:
                folder.rmdir()
            except OSError:
                pass

    def peak_memory(self) -> int | None:
        """Most memory the group used, in bytes (``None`` if not reported)."""
        for folder in self.folders:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                try:
                    return int((folder / name).read_text())
                except (OSError, ValueError):
                    continue
        return None


def _own_paths() -> dict[str, str]:
    """``{controller or "": path}`` from ``/proc/self/cgroup``."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _make(parent: Path, name: str, limits: dict[str, str]) -> Path:
    folder = parent / name
    try:
        folder.mkdir()
    except OSError as err:
        raise Unavailable(f"cannot create {folder}: {err.strerror}") from None
    for key, value in limits.items():
        try:
            (folder / key).write_text(value)
        except OSError as err:
            folder.rmdir()
            raise Unavailable(f"cannot set {folder / key}: {err.strerror}") from None
    return folder


def sweep(parent: Path) -> None:
    """Remove empty groups left by launchers that were killed (best effort)."""
    for stale in parent.glob(PREFIX + "*"):
        try:
            stale.rmdir()  # fails while processes are in it: still in use
        except OSError:
            pass


def create(memory_bytes: int, max_pids: int) -> Group:
    """A new cgroup limited to ``memory_bytes`` and ``max_pids`` processes."""
    name = PREFIX + secrets.token_hex(6)
    own = _own_paths()
    v2 = MOUNT / "cgroup.controllers"
    if v2.exists():
        parent = MOUNT / own.get("", "/").lstrip("/")
        try:
            delegated = (parent / "cgroup.subtree_control").read_text().split()
        except OSError as err:
            raise Unavailable(f"cgroup v2: {err.strerror}") from None
        missing = {"memory", "pids"} - set(delegated)
        if missing:
            raise Unavailable(
                f"cgroup v2: {parent} does not delegate {', '.join(sorted(missing))}"
            )
        sweep(parent)
        limits = {
            "memory.max": str(memory_bytes),
            "memory.swap.max": "0",
            "pids.max": str(max_pids),
        }
        if not (parent / "memory.swap.max").exists():
            limits.pop("memory.swap.max")
        return Group([_make(parent, name, limits)])
    folders = []
    group = Group(folders)
    try:
        for controller, limits in (
            ("memory", {"memory.limit_in_bytes": str(memory_bytes)}),
            ("pids", {"pids.max": str(max_pids)}),
        ):
            root = MOUNT / controller
            if not root.is_dir() or controller not in own:
                raise Unavailable(f"cgroup v1: no {controller} controller mounted")
            parent = root / own[controller].lstrip("/")
            sweep(parent)
            folders.append(_make(parent, name, limits))
        swap = folders[0] / "memory.memsw.limit_in_bytes"
        if swap.exists():  # memory + swap, so swapping out does not escape
            try:
                swap.write_text(str(memory_bytes))
            except OSError:
                pass
    except Unavailable:
        group.remove()
        raise
    return group


def available() -> str:
    """``""`` if a cgroup can be created here, else the reason it cannot."""
    try:
        group = create(1 << 30, 64)
    except (Unavailable, OSError) as err:
        return str(err)
    group.remove()
    return ""


if __name__ == "__main__":  # python -m autograder.cgroup: can this machine?
    reason = available()
    print(reason or "cgroups available: kernels are held to their budget")
    raise SystemExit(1 if reason else 0)
