"""The grading driver against bad submissions, on the mini assignment.

Every case from the issue is a fixture submission, graded in ONE driver run
alongside a correct one. Each must end with a ledger record, a grade row in the
gradebook (0 where nothing runs) and a readable reason, the correct one must
score full marks, and the run must finish.
"""

import json
import socket
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import driver
from tests import mini_course as mini

pytestmark = pytest.mark.slow

CORRECT = "def add(a, b):\n    return a + b"
WRONG = "def add(a, b):\n    return 0"
# Right on the visible tests (a > 0), wrong on the hidden CASES (a = -1.5).
HALF = "def add(a, b):\n    return a + b if a > 0 else 0"


def _release(root):
    return nbformat.read(
        root / "release" / mini.ASSIGNMENT / f"{mini.NOTEBOOK}.ipynb", as_version=4
    )


def _cell(nb, grade_id):
    return next(
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def _with_answer(root, answer):
    nb = _release(root)
    _cell(nb, "mini_add").source = answer
    return nb


def build_cases(root: Path, port: int) -> dict:
    """Write every case; return {student: (expected status, expected score)}."""
    course = str(root)
    cases = {}

    def add(student, status, score, **kwargs):
        mini.submit(root, student, **kwargs)
        cases[student] = (status, score)

    add("correct", "graded", 5.0, answer=CORRECT)
    add("infinite_loop", "failed", 0.0, answer="while True:\n    pass")
    add("memory_bomb", "graded", 0.0, answer="x = bytearray(16 * 1024**3)\n" + CORRECT)
    add("os_exit", "failed", 0.0, answer="import os\nos._exit(3)")
    add("sys_exit", "graded", 0.0, answer="import sys\nsys.exit(1)")
    add(
        "kill_kernel",
        "failed",
        0.0,
        answer="import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    )
    add(
        "fork_bomb",
        "graded",
        0.0,
        answer="import os, time\nwhile True:\n    if os.fork() == 0:\n"
        "        time.sleep(30)\n        os._exit(0)",
    )
    add("syntax_error", "graded", 0.0, answer="def add(a, b) return a + b")

    nb = _with_answer(root, CORRECT)
    nb.cells = [c for c in nb.cells if "test_mini" not in str(c.metadata)]
    add("deleted_tests", "graded", 5.0, nb=nb)
    nb = _with_answer(root, WRONG)
    for c in nb.cells:
        if "test_mini" in str(c.metadata):
            c.source = "pass"
    add("edited_tests", "graded", 0.0, nb=nb)
    nb = _with_answer(root, WRONG)
    _cell(nb, "test_mini_visible").cell_type = "markdown"
    _cell(nb, "test_mini_visible").pop("outputs", None)
    _cell(nb, "test_mini_visible").pop("execution_count", None)
    add("changed_cell_type", "graded", 0.0, nb=nb)
    nb = _with_answer(root, WRONG)
    _cell(nb, "test_mini_hidden").metadata["nbgrader"]["points"] = 100
    _cell(nb, "test_mini_visible").metadata["nbgrader"] = {}
    add("changed_metadata", "graded", 0.0, nb=nb)

    add("not_json", "invalid", 0.0, raw=b'{"cells": [')
    add("empty_file", "invalid", 0.0, raw=b"")
    add("not_utf8", "invalid", 0.0, raw='{"cells": "caf\u00e9"}'.encode("latin-1"))
    folder = root / "submitted" / "missing_notebook" / mini.ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("forgot the notebook")
    cases["missing_notebook"] = ("missing", 0.0)
    add(
        "extra_files",
        "graded",
        5.0,
        answer=CORRECT,
        extra={"helper.py": "x = 1\n", "data.csv": "a,b\n1,2\n"},
    )
    add(
        "huge_output",
        "graded",
        5.0,
        answer="print('x' * 20_000_000)\nfor i in range(20000):\n    print(i)\n"
        + CORRECT,
    )

    # Attempts that would earn points if they worked: each defines the correct
    # answer only when the forbidden action succeeds.
    add(
        "read_hidden_tests",
        "graded",
        0.0,
        answer=(
            "import glob\n"
            f"found = glob.glob({course!r} + '/source/**/*.ipynb', recursive=True)\n"
            f"found += glob.glob({course!r} + '/gradebook.db')\n"
            "def add(a, b):\n    return a + b if found else 0"
        ),
    )
    add(
        "write_gradebook",
        "graded",
        0.0,
        answer=(
            "try:\n"
            f"    open({course!r} + '/gradebook.db', 'ab').close()\n    ok = True\n"
            "except OSError:\n    ok = False\n"
            "def add(a, b):\n    return a + b if ok else 0"
        ),
    )
    add(
        "network",
        "graded",
        0.0,
        answer=(
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
            "    ok = True\nexcept OSError:\n    ok = False\n"
            "def add(a, b):\n    return a + b if ok else 0"
        ),
    )
    add(
        "patch_numpy_testing",
        "graded",
        0.0,
        answer=(
            "import numpy as np\n"
            "np.testing.assert_allclose = lambda *args, **kwargs: None\n" + WRONG
        ),
    )
    add(
        "always_equal",
        "graded",
        0.0,
        answer=(
            "class Anything:\n    def __eq__(self, other):\n        return True\n"
            "def add(a, b):\n    return Anything()"
        ),
    )
    add(
        "patch_showtraceback",
        "graded",
        0.0,
        answer=(
            "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n" + WRONG
        ),
    )
    # Tampering the kernel guard undoes (autograder.guard): each would score 5.
    add(
        "patch_during_test",
        "graded",
        0.0,
        answer=(
            "import numpy as np\ndef add(a, b):\n"
            "    np.testing.assert_allclose = lambda *args, **kwargs: None\n"
            "    return a + b if a > 0 else 0"
        ),
    )
    add(
        "patch_defaults",
        "graded",
        2.0,
        answer=(
            "import numpy as np\nf = np.testing.assert_allclose\n"
            "f.__defaults__ = (1e9,) + f.__defaults__[1:]\n" + HALF
        ),
    )
    add(
        "swap_code",
        "graded",
        2.0,
        answer=(
            "import numpy as np\n"
            "np.testing.assert_allclose.__code__ = (lambda *a, **k: None).__code__\n"
            + HALF
        ),
    )
    add(
        "rebind_given_name",
        "graded",
        0.0,
        answer=(
            "class FakeTesting:\n    def assert_allclose(self, *args, **kwargs):\n"
            "        pass\n"
            "class FakeNumpy:\n    testing = FakeTesting()\n"
            "def add(a, b):\n    globals()['np'] = FakeNumpy()\n"
            "    return a + b if a > 0 else 0"
        ),
    )
    add("change_given_data", "graded", 2.0, answer="CASES[:] = 0\n" + HALF)
    add(
        "grading_detection",
        "graded",
        0.0,
        answer=(
            "import os\ndef add(a, b):\n"
            "    return a + b if os.environ.get('NBGRADER_EXECUTION') else 0"
        ),
    )
    return cases


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("minicourse")
    mini.make_course(root)
    # A server on the host's loopback: reachable from here, not from the sandbox.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    threading.Thread(
        target=lambda: [server.accept() for _ in range(8)], daemon=True
    ).start()
    cases = build_cases(root, server.getsockname()[1])
    settings = driver.Settings(
        root=str(root),
        db_url=f"sqlite:///{root / 'gradebook.db'}",
        assignment=mini.ASSIGNMENT,
        cell_timeout=15,
        notebook_timeout=120,
    )
    lines = []
    outcomes = driver.run(settings, sorted(cases), workers=2, log=lines.append)
    server.close()
    return root, settings, cases, {o["student"]: o for o in outcomes}, lines


def test_every_submission_ends_with_its_expected_status_and_score(graded):
    _, _, cases, outcomes, _ = graded
    assert set(outcomes) == set(cases)
    wrong = {
        s: (o["status"], o["score"], o["reason"])
        for s, o in outcomes.items()
        if (o["status"], o["score"]) != cases[s]
    }
    assert not wrong, wrong


def test_failures_have_readable_reasons(graded):
    _, _, _, outcomes, _ = graded
    reasons = {s: o["reason"] for s, o in outcomes.items() if o["status"] != "graded"}
    assert "time limit" in reasons["infinite_loop"]
    assert "kernel died" in reasons["os_exit"]
    assert "kernel died" in reasons["kill_kernel"]
    assert "not valid notebook JSON" in reasons["not_json"]
    assert "empty" in reasons["empty_file"]
    assert "not UTF-8" in reasons["not_utf8"]
    assert "not submitted" in reasons["missing_notebook"]
    for student, reason in reasons.items():
        assert reason and "Traceback" not in reason, (student, reason)


def test_every_student_has_a_grade_row(graded):
    _, settings, cases, _, _ = graded
    with Gradebook(settings.db_url) as gb:
        for student in cases:
            nb = gb.find_submission_notebook(mini.NOTEBOOK, mini.ASSIGNMENT, student)
            assert nb.max_code_score == 5.0
            expected = cases[student][1]
            assert nb.code_score == expected, student


def test_tampering_is_flagged_for_review(graded):
    _, _, _, outcomes, _ = graded
    for student in (
        "patch_numpy_testing",
        "patch_showtraceback",
        "grading_detection",
        "changed_metadata",
    ):
        assert outcomes[student]["flags"], student
    assert not outcomes["correct"]["flags"]


GUARDED = (
    "patch_during_test",
    "patch_defaults",
    "swap_code",
    "rebind_given_name",
    "change_given_data",
)


def test_guard_undoes_tampering_and_flags_it(graded):
    """The cheats score as their honest answer, and each is flagged for review."""
    root, _, _, outcomes, _ = graded
    for student in GUARDED:
        reports = [f for f in outcomes[student]["flags"] if "grading guard" in f]
        assert reports, (student, outcomes[student]["flags"])
    assert not any("grading guard" in f for f in outcomes["correct"]["flags"])
    path = root / "autograded" / "patch_during_test" / mini.ASSIGNMENT
    nb = nbformat.read(path / f"{mini.NOTEBOOK}.ipynb", as_version=4)
    hidden = _cell(nb, "test_mini_hidden")
    errors = [o.text for o in hidden.outputs if o.get("name") == "stderr"]
    assert errors and "this test cell scores 0" in errors[0], hidden.outputs
    assert "numpy.testing.assert_allclose" in errors[0]


def test_huge_output_is_truncated(graded):
    root, _, _, _, _ = graded
    path = (
        root / "autograded" / "huge_output" / mini.ASSIGNMENT / f"{mini.NOTEBOOK}.ipynb"
    )
    assert path.stat().st_size < 2_000_000


def test_progress_lines_and_summary(graded):
    _, _, cases, outcomes, lines = graded
    assert lines[0].startswith(f"grading {len(cases)} notebooks")
    assert len([ln for ln in lines if ln.startswith("[")]) == len(cases)
    text = driver.summary(list(outcomes.values()))
    assert "1 graded" not in text and "graded," in text


def test_rerun_grades_only_what_is_missing(graded):
    root, settings, cases, _, _ = graded
    ledger = json.loads((root / ".grading" / "ledger.json").read_text())
    assert len(ledger) == len(cases)
    lines = []
    again = driver.run(settings, ["correct", "not_json"], workers=1, log=lines.append)
    by_student = {o["student"]: o for o in again}
    assert by_student["correct"].get("skipped") is True
    assert not by_student["not_json"].get("skipped")
    assert lines[0].startswith("grading 1 notebooks")
