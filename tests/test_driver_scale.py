"""The driver at scale: a real PostgreSQL gradebook, a real Dask scheduler, and a
worker killed in the middle of grading."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import driver
from tests import mini_course as mini

pytestmark = pytest.mark.slow

CORRECT = "def add(a, b):\n    return a + b"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server from Debian's package, on loopback, for this module."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        pytest.fail("PostgreSQL is not installed: `apt-get install postgresql`")
    bindir = bins[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    run_as = []
    if os.getuid() == 0:  # PostgreSQL refuses to run as root
        pg = pwd.getpwnam("postgres")
        os.chown(folder, pg.pw_uid, pg.pw_gid)
        run_as = [
            "setpriv",
            f"--reuid={pg.pw_uid}",
            f"--regid={pg.pw_gid}",
            "--init-groups",
        ]
    port = _free_port()
    data = folder / "data"

    def pg(*cmd):
        subprocess.run(run_as + list(cmd), check=True, capture_output=True)

    pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    pg(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-w",
        "-l",
        str(folder / "log"),
        "-o",
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        pg(
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "gradebook",
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_grades_into_postgresql(tmp_path, postgres):
    mini.make_course(tmp_path)
    mini.submit(tmp_path, "alice", answer=CORRECT)
    mini.submit(tmp_path, "bob", answer="def add(a, b):\n    return a - b")
    mini.submit(tmp_path, "carol", raw=b"not a notebook")
    settings = driver.Settings(
        root=str(tmp_path), db_url=postgres, assignment=mini.ASSIGNMENT, cell_timeout=15
    )
    outcomes = driver.run(
        settings, ["alice", "bob", "carol"], workers=2, log=lambda _: None
    )
    assert {o.student: o.status for o in outcomes} == {
        "alice": "graded",
        "bob": "graded",
        "carol": "invalid",
    }
    with Gradebook(postgres) as gb:
        scores = {
            s: gb.find_submission(mini.ASSIGNMENT, s).code_score
            for s in ("alice", "bob", "carol")
        }
    assert scores == {"alice": 5.0, "bob": 0.0, "carol": 0.0}
    assert not (tmp_path / "gradebook.db").exists()
    # nbgrader's own export reads the same PostgreSQL gradebook.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "export",
            f"--db={postgres}",
            "--to",
            str(tmp_path / "grades.csv"),
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env=dict(
            os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"
        ),
    )
    assert "alice" in (tmp_path / "grades.csv").read_text()


def test_a_killed_worker_loses_no_submission(tmp_path):
    from dask.distributed import Client, LocalCluster

    mini.make_course(tmp_path)
    students = [f"s{i}" for i in range(4)]
    for s in students:
        mini.submit(tmp_path, s, answer="import time\ntime.sleep(6)\n" + CORRECT)
    settings = driver.Settings(
        root=str(tmp_path),
        db_url=f"sqlite:///{tmp_path / 'gradebook.db'}",
        assignment=mini.ASSIGNMENT,
        cell_timeout=30,
    )
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=50,
    )
    killed = []

    def kill_a_busy_worker():
        with Client(cluster.scheduler_address) as client:
            deadline = time.time() + 120
            while time.time() < deadline and not killed:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:
                    time.sleep(3)  # in the middle of grading
                    pids = client.run(os.getpid, workers=[busy[0]])
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                time.sleep(0.5)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    try:
        outcomes = driver.run(
            settings, students, scheduler=cluster.scheduler_address, log=lambda _: None
        )
    finally:
        killer.join()
        cluster.close()
    assert killed, "no worker was killed"
    assert sorted(o.student for o in outcomes) == students
    assert all(o.status == "graded" and o.score == 5.0 for o in outcomes), (
        outcomes
    )
    again = driver.run(settings, students, workers=1, log=lambda _: None)
    assert all(o.skipped for o in again)


def test_a_dask_already_on_its_dashboard_port_prints_no_warning():
    """Another Dask (or anything) on port 8787 must not make the driver warn: its
    local cluster serves its dashboard on a free port (issue #16, item 7)."""
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        busy.bind(("", 8787))
    except OSError:
        pass  # already taken, as in the report: the same situation
    else:
        busy.listen()
    code = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "from autograder import driver\n"
        "if __name__ == '__main__':\n"
        "    client, cluster = driver.make_client(None, 1)\n"
        "    client.close(); cluster.close()\n"
        "    print('started')\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=driver.ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        busy.close()
    assert result.returncode == 0 and "started" in result.stdout, result.stderr
    assert "8787" not in result.stderr and "Warning" not in result.stderr, (
        result.stderr
    )
