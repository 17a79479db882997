"""Units of the grading sandbox: the output cap and the cgroup budget.

The attacks themselves run through the real driver in ``tests/test_driver.py``;
these pin down the two mechanisms that hold a kernel from outside.
"""

import ast
import io
import subprocess
import sys

from autograder import cgroup, sandbox


def test_the_launcher_relays_a_capped_prefix_and_drains_the_rest():
    flood = "import os\nfor _ in range(40):\n    os.write(1, b'x' * 2 ** 18)"
    child = subprocess.Popen([sys.executable, "-c", flood], stdout=subprocess.PIPE)
    out = io.BytesIO()
    read = sandbox.relay(child.stdout, out, cap=1000)
    assert child.wait() == 0  # never blocked on a full pipe
    assert read == 40 * 2**18
    kept = out.getvalue()
    assert kept.startswith(b"x" * 1000) and len(kept) < 1200
    assert b"discarded" in kept


def test_a_cgroup_holds_a_process_tree_to_its_memory_as_a_whole():
    """Two children of 200 MB each fit RLIMIT_AS one by one, not a 256 MB group."""
    group = cgroup.create(256 * 1024**2, 64)
    code = (
        "import os\npids = []\nfor _ in range(2):\n    pid = os.fork()\n"
        "    if pid == 0:\n        block = b'x' * (200 * 1024 ** 2)\n"
        "        import time\n        time.sleep(1)\n        os._exit(0)\n"
        "    pids.append(pid)\n"
        "print(sorted(os.waitpid(p, 0)[1] for p in pids))"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            preexec_fn=group.enter,
            capture_output=True,
            text=True,
        )
        peak = group.peak_memory()
    finally:
        group.remove()
    statuses = ast.literal_eval(result.stdout) if result.stdout.strip() else None
    # The OOM killer ends a child (status 9) or the parent: never both succeed.
    assert statuses != [0, 0], (result.stdout, result.stderr)
    assert peak is None or peak <= 256 * 1024**2
    assert not any(folder.exists() for folder in group.folders)


def test_a_cgroup_limits_the_number_of_processes():
    group = cgroup.create(512 * 1024**2, 20)
    code = (
        "import os, time\nmade = 0\ntry:\n    for _ in range(100):\n"
        "        if os.fork() == 0:\n            time.sleep(3)\n"
        "            os._exit(0)\n"
        "        made += 1\nexcept OSError:\n    pass\nprint(made)"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            preexec_fn=group.enter,
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run(["sleep", "3.5"])
        group.remove()
    assert int(result.stdout) < 20, result
