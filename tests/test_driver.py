"""The grading driver against bad submissions, on the mini assignment.

Every case from the issue is a fixture submission, graded in ONE driver run
alongside a correct one. Each must end with a ledger record, a grade row in the
gradebook (0 where nothing runs) and a readable reason, the correct one must
score full marks, and the run must finish.
"""

import dataclasses
import json
import os
import socket
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import driver
from tests import mini_course as mini

REPO = Path(__file__).resolve().parents[1]
SECRET = "grader-secret-7f3a"
VICTIM = "/tmp/debugging-nn-victim.txt"

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
    # Interrupted at the cell time limit (by message: the kernel is in its own
    # PID namespace); the rest of the notebook is graded.
    add("infinite_loop", "graded", 0.0, answer="while True:\n    pass")
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
    nb = _with_answer(root, CORRECT)
    nb.cells = [c for c in nb.cells if "test_mini" not in str(c.metadata)]
    nb.cells = [c for c in nb.cells if "given_note" not in str(c.metadata)]
    add("deleted_given_and_tests", "graded", 5.0, nb=nb)
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
    # Tampering with what in-kernel tests used: each scored 5 with stock nbgrader.
    add(
        "patch_during_test",
        "graded",
        2.0,  # as HALF, its honest answer
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
        2.0,  # as HALF, its honest answer
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
    # Issue #14: attacks on the grader itself. Each scores what the same answer
    # without the trick scores, and nothing outside the sandbox changes.
    plant = (
        "import os\n"
        "for name in set(os.listdir('.')) | {{'mini_exercise.ipynb'}}:\n"
        "    try:\n        os.remove(name)\n    except OSError:\n        pass\n"
        "    try:\n        os.symlink({target!r}, name)\n    except OSError:\n"
        "        pass\n"
    )
    add("symlink_victim", "graded", 5.0, answer=plant.format(target=VICTIM) + CORRECT)
    add(
        "symlink_gradebook",
        "graded",
        5.0,
        answer=plant.format(target=course + "/gradebook.db") + CORRECT,
    )
    add(
        "read_secrets",
        "graded",
        0.0,
        answer=(
            # The secret is spelled backwards: the notebook must not hold it.
            f"import os\nsecret = {SECRET[::-1]!r}[::-1]\n"
            "leak = [k for k, v in os.environ.items() if secret in v\n"
            f"        or {course!r} in v or k.startswith(('NBGRADER', 'SANDBOX'))]\n"
            "leak += [p for p in ('/proc/1/environ', '/proc/self/environ')\n"
            "         if secret.encode() in open(p, 'rb').read()]\n"
            "def add(a, b):\n    return a + b if leak else 0"
        ),
    )
    add(
        "other_checkout",
        "graded",
        0.0,
        answer=(
            "import glob\n"
            f"found = glob.glob({str(REPO)!r} + '/source/**/*.ipynb', recursive=True)\n"
            f"found += glob.glob({str(REPO)!r} + '/autograder/*.py')\n"
            "def add(a, b):\n    return a + b if found else 0"
        ),
    )
    # Four children of 1 GB each: under RLIMIT_AS one by one, over the
    # kernel's 3 GB as a whole.
    add(
        "fork_memory",
        "graded",
        0.0,
        answer=(
            "import os\npids = []\nfor _ in range(4):\n    pid = os.fork()\n"
            "    if pid == 0:\n        block = b'x' * (1024 ** 3)\n"
            "        import time\n        time.sleep(2)\n        os._exit(0)\n"
            "    pids.append(pid)\n"
            "ok = all(os.waitpid(p, 0)[1] == 0 for p in pids)\n"
            "def add(a, b):\n    return a + b if ok else 0"
        ),
    )
    add(
        "fill_tmp",
        "graded",
        0.0,
        answer=(
            "chunk = b'x' * 2 ** 20\ntry:\n"
            "    with open('/tmp/fill', 'wb') as f:\n"
            "        for _ in range(700):\n            f.write(chunk)\n"
            "    ok = True\nexcept OSError:\n    ok = False\n"
            "def add(a, b):\n    return a + b if ok else 0"
        ),
    )
    # Submitted through nbgrader's exchange: release_feedback needs these two
    # files beside the graded notebook.
    add(
        "via_exchange",
        "graded",
        5.0,
        answer=CORRECT,
        extra={
            "timestamp.txt": "2026-11-24 10:00:00 UTC",
            "submission_secret.txt": "s3",
        },
    )
    # ... and a student can hand in links instead (the grader must not read
    # what they point to into the student's graded or feedback folder).
    path = mini.submit(root, "exchange_links", answer=CORRECT)
    for name in ("timestamp.txt", "submission_secret.txt"):
        (path.parent / name).symlink_to(VICTIM)
    cases["exchange_links"] = ("graded", 5.0)
    add(
        "stderr_flood",
        "graded",
        5.0,
        answer="import os\nfor _ in range(100):\n    os.write(2, b'e' * 2 ** 20)\n"
        + CORRECT,
    )
    add(
        "forge_display",
        "graded",
        0.0,
        answer=(
            "ip = get_ipython()\n"
            "ip.events.register('post_run_cell', lambda r: ip.displayhook('ok'))\n"
            + WRONG
        ),
    )
    add(
        "ast_transformer",
        "graded",
        0.0,
        answer=(
            "import ast\nclass Empty(ast.NodeTransformer):\n"
            "    def visit_Module(self, node):\n        node.body = []\n"
            "        return node\n"
            "get_ipython().ast_transformers.append(Empty())\n" + WRONG
        ),
    )
    add(
        "input_transformer",
        "graded",
        0.0,
        answer=(
            "get_ipython().input_transformers_post.append(lambda lines: ['pass'])\n"
            + WRONG
        ),
    )
    add(
        "forge_messages",
        "graded",
        0.0,
        answer=(
            "session = get_ipython().kernel.session\n"
            "def forged(stream, msg, content=None, *args, _send=session.send,\n"
            "           **kwargs):\n"
            "    kind = msg if isinstance(msg, str) else msg.get('msg_type')\n"
            "    if kind == 'error':\n        return None\n"
            "    if isinstance(content, dict) and content.get('status') == 'error':\n"
            "        content = {'status': 'ok', 'execution_count': 1,\n"
            "                   'user_expressions': {}, 'payload': []}\n"
            "    return _send(stream, msg, content, *args, **kwargs)\n"
            "session.send = forged\n" + WRONG
        ),
    )
    add(
        "print_hidden_tests",
        "graded",
        5.0,
        answer=(
            "import inspect\ndef add(a, b):\n"
            "    for frame in inspect.stack():\n"
            "        print(frame.frame.f_code.co_consts)\n"
            "    print(get_ipython().user_ns.get('In'))\n"
            "    return a + b"
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
    Path(VICTIM).write_text("precious")
    cases = build_cases(root, server.getsockname()[1])
    settings = driver.Settings(
        root=str(root),
        db_url=f"sqlite:///{root / 'gradebook.db'}",
        assignment=mini.ASSIGNMENT,
        # Room for the 100 MB stderr flood on a loaded machine (make test runs
        # two test processes; 300 MB took 7 s alone and over 30 s in CI); the
        # infinite loop is stopped at this limit.
        cell_timeout=30,
        notebook_timeout=180,
    )
    lines = []
    # A secret in the grader's environment (e.g. a database password).
    os.environ["GRADER_TOKEN"] = SECRET
    try:
        outcomes = driver.run(settings, sorted(cases), workers=2, log=lines.append)
    finally:
        del os.environ["GRADER_TOKEN"]
    server.close()
    return root, settings, cases, {o.student: o for o in outcomes}, lines


def test_every_submission_ends_with_its_expected_status_and_score(graded):
    _, _, cases, outcomes, _ = graded
    assert set(outcomes) == set(cases)
    wrong = {
        s: (o.status, o.score, o.reason)
        for s, o in outcomes.items()
        if (o.status, o.score) != cases[s]
    }
    assert not wrong, wrong


def test_failures_have_readable_reasons(graded):
    _, _, _, outcomes, _ = graded
    reasons = {s: o.reason for s, o in outcomes.items() if o.status != "graded"}
    assert "kernel died" in reasons["os_exit"]
    assert "kernel died" in reasons["kill_kernel"]
    assert "not valid notebook JSON" in reasons["not_json"]
    assert "empty" in reasons["empty_file"]
    assert "not UTF-8" in reasons["not_utf8"]
    assert "not submitted" in reasons["missing_notebook"]
    for student, reason in reasons.items():
        assert reason and "Traceback" not in reason, (student, reason)


def test_a_cell_past_its_time_limit_says_so(graded):
    root = graded[0]
    folder = root / "autograded" / "infinite_loop" / mini.ASSIGNMENT
    nb = nbformat.read(folder / f"{mini.NOTEBOOK}.ipynb", as_version=4)
    names = [o.get("ename") for o in _cell(nb, "mini_add").outputs]
    assert "CellTimeoutError" in names, names


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
        assert outcomes[student].flags, student
    assert not outcomes["correct"].flags


def test_cheats_score_as_their_honest_answer_and_are_flagged(graded):
    """Patching the comparison functions, a function's code or defaults,
    rebinding a given name or zeroing the given data: the trusted checks do not
    use anything in the kernel, so each cheat scores as its honest answer (the
    table above); the plainly written ones are flagged for review."""
    _, _, cases, outcomes, _ = graded
    assert outcomes["patch_during_test"].flags
    for student in (
        "patch_during_test",
        "patch_defaults",
        "swap_code",
        "rebind_given_name",
        "change_given_data",
    ):
        assert cases[student] == ("graded", 2.0), student


def test_links_planted_by_the_student_change_nothing_outside(graded):
    """nbgrader never writes through a link the kernel made (nothing it
    writes is visible to the kernel)."""
    root, settings, _, _, _ = graded
    assert Path(VICTIM).read_text() == "precious"
    for student in ("symlink_victim", "symlink_gradebook"):
        folder = root / "autograded" / student / mini.ASSIGNMENT
        assert not any(p.is_symlink() for p in folder.iterdir()), student
        nb = nbformat.read(folder / f"{mini.NOTEBOOK}.ipynb", as_version=4)
        assert _cell(nb, "mini_add").source.endswith(CORRECT)


def test_exchange_files_are_kept_and_links_are_not_followed(graded):
    """timestamp.txt and submission_secret.txt travel with the graded notebook
    (nbgrader's release_feedback needs both); a link is never read through."""
    root, _, _, _, _ = graded
    folder = root / "autograded" / "via_exchange" / mini.ASSIGNMENT
    assert (folder / "submission_secret.txt").read_text() == "s3"
    assert (folder / "timestamp.txt").read_text() == "2026-11-24 10:00:00 UTC"
    linked = root / "autograded" / "exchange_links" / mini.ASSIGNMENT
    assert (linked / f"{mini.NOTEBOOK}.ipynb").exists()
    for path in linked.iterdir():
        assert not path.is_symlink() and "precious" not in path.read_text()


def test_no_hidden_test_or_secret_reaches_the_graded_notebook(graded):
    root, _, cases, _, _ = graded
    for student in cases:
        folder = root / "autograded" / student / mini.ASSIGNMENT
        path = folder / f"{mini.NOTEBOOK}.ipynb"
        if not path.exists():
            continue
        text = path.read_text()
        assert SECRET not in text, student
        assert "for a, b, total in CASES" not in text, student
        assert "BEGIN HIDDEN TESTS" not in text, student


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
    by_student = {o.student: o for o in again}
    assert by_student["correct"].skipped is True
    assert not by_student["not_json"].skipped
    assert lines[0].startswith("grading 1 notebooks")


def test_a_resubmission_or_a_lost_gradebook_is_graded_again(graded):
    """The ledger is keyed by the submission's content and checked against the
    gradebook: a changed notebook, or a gradebook that lost its grades (``make
    clean``, another ``--db``), is graded again without ``--force``."""
    root, settings, _, _, _ = graded
    path = root / "submitted" / "wrong_then_right" / mini.ASSIGNMENT
    mini.submit(root, "wrong_then_right", answer=WRONG)
    first = driver.run(settings, ["wrong_then_right"], workers=1, log=lambda _: None)
    assert first[0].score == 0.0
    mini.submit(root, "wrong_then_right", answer=CORRECT)
    again = driver.run(settings, ["wrong_then_right"], workers=1, log=lambda _: None)
    assert not again[0].skipped and again[0].score == 5.0
    assert (path / f"{mini.NOTEBOOK}.ipynb").exists()
    fresh = dataclasses.replace(settings, db_url=f"sqlite:///{root / 'fresh.db'}")
    lines = []
    after_clean = driver.run(fresh, ["wrong_then_right"], workers=1, log=lines.append)
    assert not after_clean[0].skipped, lines
    assert after_clean[0].score == 5.0
