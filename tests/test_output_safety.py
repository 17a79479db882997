"""Outputs grade nothing and run nothing, with plain ``nbgrader autograde``.

The rules live in nbgrader's autograde chain (``nbgrader_config.py``,
``autograder.outputs``), so the plain command, the formgrader's button and the
driver all apply them; this test uses the plain command on the mini course.
"""

import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook

from tests import mini_course as mini

pytestmark = pytest.mark.slow

WRONG_BUT_DISPLAYS = (
    "def add(a, b):\n"
    "    get_ipython().displayhook('ok')  # nbgrader read this as the test's grade\n"
    "    return 0"
)
CORRECT_WITH_SCRIPTS = (
    "from IPython.display import HTML, Javascript, display\n"
    "display(HTML('<b>bold</b><script>alert(1)</script>'\n"
    "             '<img src=x onerror=\"alert(2)\">'))\n"
    "display(Javascript('alert(3)'))\n"
    "def add(a, b):\n"
    "    return a + b"
)
# Rewrites every later cell (the tests) to nothing: in the student's own kernel
# the tests then pass; the trusted checks still see the wrong answer.
WRONG_WITH_TRANSFORMER = (
    "get_ipython().input_transformers_post.append(lambda lines: ['pass'])\n"
    "def add(a, b):\n    return 0"
)
# A student's cell may contain the hidden-test marker (it crashed feedback).
WITH_MARKER = "# ### BEGIN HIDDEN TESTS\ndef add(a, b):\n    return a + b"
ANSWER_WITH_SCRIPT = "My answer <script>alert(4)</script><img src=y onerror=alert(5)>"


def _nbgrader(root, *args):
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_DB_URL"}
    env["PYTHONPATH"] = str(mini.ROOT)
    # nbgrader runs ``alembic`` from this environment to create the gradebook.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env["PATH"]])
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("outputs")
    mini.make_course(root)
    _nbgrader(root, "generate_assignment", mini.ASSIGNMENT, "--force")
    mini.submit(root, "displays_ok", answer=WRONG_BUT_DISPLAYS)
    path = mini.submit(root, "scripts", answer=CORRECT_WITH_SCRIPTS)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_markdown_cell(ANSWER_WITH_SCRIPT))
    nbformat.write(nb, path)
    mini.submit(root, "marker", answer=WITH_MARKER)
    # The plain command grades in the sandbox too: the course is not visible.
    mini.submit(
        root,
        "sees_course",
        answer=(
            "import os\n"
            f"seen = os.path.exists({str(root / 'gradebook.db')!r})\n"
            "def add(a, b):\n    return a + b if seen else 0"
        ),
    )
    # Late: 2.5 days after the due date, so 3 started days (autograder.late).
    _nbgrader(
        root,
        "db",
        "assignment",
        "add",
        mini.ASSIGNMENT,
        "--duedate=2020-01-01 00:00:00 UTC",
    )
    mini.submit(
        root,
        "late",
        answer="def add(a, b):\n    return a + b",
        extra={"timestamp.txt": "2020-01-03 12:00:00 UTC"},
    )
    _nbgrader(root, "autograde", mini.ASSIGNMENT, "--force")
    # The formgrader's Autograde button: nbgrader's API in the server's process.
    mini.submit(root, "button", answer=WRONG_WITH_TRANSFORMER)
    _formgrader_autograde(root, "button")
    _nbgrader(root, "generate_feedback", mini.ASSIGNMENT, "--force")
    return root


def _formgrader_autograde(root, student):
    """What the formgrader's Autograde button runs: ``NbGraderAPI.autograde``,
    in-process, with the course's nbgrader_config.py."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    result = api.autograde(mini.ASSIGNMENT, student)
    assert result["success"], result


def _score(root, student):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return gb.find_submission(mini.ASSIGNMENT, student).score


def test_a_displayed_value_is_not_a_grade(graded):
    """A wrong answer that calls displayhook from inside the test scores 0."""
    assert _score(graded, "displays_ok") == 0.0


def test_plain_nbgrader_autograde_grades_in_the_sandbox(graded):
    assert _score(graded, "sees_course") == 0.0


def test_the_formgrader_button_grades_with_the_trusted_checks(graded):
    assert _score(graded, "button") == 0.0
    folder = graded / "autograded" / "button" / mini.ASSIGNMENT
    nb = nbformat.read(folder / f"{mini.NOTEBOOK}.ipynb", as_version=4)
    failed = [
        o.ename
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert sum(e in ("HiddenCheckFailed", "CheckFailed") for e in failed) == 2, failed


def test_a_hidden_test_marker_in_a_student_cell_does_not_break_feedback(graded):
    assert _score(graded, "marker") == 5.0
    feedback = graded / "feedback" / "marker" / mini.ASSIGNMENT
    assert "BEGIN HIDDEN TESTS" in (feedback / f"{mini.NOTEBOOK}.html").read_text()


def test_a_correct_answer_with_html_output_keeps_its_marks(graded):
    assert _score(graded, "scripts") == 5.0


def test_autograded_notebook_and_feedback_run_no_student_script(graded):
    """What the formgrader and the feedback render holds no live student script."""
    folder = mini.ASSIGNMENT
    autograded = graded / "autograded" / "scripts" / folder / f"{mini.NOTEBOOK}.ipynb"
    feedback = graded / "feedback" / "scripts" / folder / f"{mini.NOTEBOOK}.html"
    nb = nbformat.read(autograded, as_version=4)
    outputs = str([c.get("outputs") for c in nb.cells])  # the code is only text
    for text in (outputs, feedback.read_text()):
        assert "<script>alert" not in text
        assert "<img src=x onerror" not in text and "<img src=y onerror" not in text
        assert "alert(3)" not in outputs  # the JavaScript output is dropped
        assert "application/javascript" not in text
    nb = nbformat.read(autograded, as_version=4)
    assert "&lt;script&gt;alert(4)" in nb.cells[-1].source  # shown as text
    # The course's own (locked) markdown is left exactly as written.
    release = graded / "release" / folder / f"{mini.NOTEBOOK}.ipynb"
    assert nb.cells[0].source == nbformat.read(release, as_version=4).cells[0].source


def test_a_late_submission_loses_the_course_late_penalty(graded):
    """nbgrader's AssignLatePenalties, with the course's plug-in: 10 % of the
    score per started day late (here 3 of 5 points' 30 %)."""
    with Gradebook(f"sqlite:///{graded / 'gradebook.db'}") as gb:
        late = gb.find_submission(mini.ASSIGNMENT, "late")
        on_time = gb.find_submission(mini.ASSIGNMENT, "scripts")
        assert (late.score, late.late_submission_penalty) == (5.0, 1.5)
        assert on_time.late_submission_penalty == 0.0
