"""The instructor cycle end to end, in a scratch course root.

One run of the documented grade command (``autograder.driver``: nbgrader autograde
in sandboxed kernels, in parallel) grades the reference answers (twice, as two
students, to show the scores are deterministic), the blank release, and every
fixture submission in ``tests/fixtures/submissions``; then nbgrader's feedback and
grade export run on the result.
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import driver
from autograder.pipeline import (
    ASSIGNMENT,
    EXERCISE_GLOB,
    exercise_notebooks,
    write_submission,
)
from tests.submissions import (
    RELEASE,
    ROOT,
    SOURCE,
    build_submission,
    fixture_names,
    load_fixture,
    reference_sources,
    substitute_cells,
)

pytestmark = pytest.mark.slow


LMS_EXPORT = [
    sys.executable,
    "-m",
    "nbgrader",
    "export",
    "--exporter=autograder.export.LMSExport",
    "--LMSExport.lms=canvas",
]


def _nbgrader_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_DB_URL"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = str(ROOT)  # nbgrader_config.py names autograder.* classes
    return env


def run_nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
        cwd=root,
        env=_nbgrader_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def reference_submission() -> dict:
    return {
        name: substitute_cells(
            nbformat.read(RELEASE / name, as_version=4), reference_sources(name)
        )
        for name in exercise_notebooks()
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A graded scratch course: (root, gradebook url, fixture specs)."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(SOURCE, root / "source" / ASSIGNMENT)
    shutil.copytree(RELEASE, root / "release" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", root)

    write_submission("reference", reference_submission(), root)
    write_submission("reference_again", reference_submission(), root)
    write_submission(
        "blank",
        {n: nbformat.read(RELEASE / n, as_version=4) for n in exercise_notebooks()},
        root,
    )
    specs = {}
    for name in fixture_names():
        spec = load_fixture(name)
        specs[name] = spec
        write_submission(name, {spec["notebook"]: build_submission(spec)}, root)

    settings = driver.Settings(
        root=str(root), db_url=f"sqlite:///{root / 'gradebook.db'}"
    )
    students = driver.discover(root, ASSIGNMENT)
    outcomes = driver.run(settings, students, workers=2, log=print)
    failed = [o for o in outcomes if o.status == "failed"]
    assert not failed, failed  # wrong answers lose points; nothing crashes
    return root, f"sqlite:///{root / 'gradebook.db'}", specs


def cell_scores(db_url, student, notebook):
    with Gradebook(db_url) as gb:
        nb = gb.find_submission_notebook(notebook, ASSIGNMENT, student)
        # Autograded test cells only (manually graded answers are markdown).
        return {
            g.name: (g.score, g.max_score)
            for g in nb.grades
            if g.cell.cell_type == "code"
        }


def test_reference_scores_full_autograded_marks(course):
    _, db_url, _ = course
    for name in exercise_notebooks():
        notebook = name[: -len(".ipynb")]
        scores = cell_scores(db_url, "reference", notebook)
        lost = {k: v for k, v in scores.items() if v[0] < v[1]}
        assert scores and not lost, f"{notebook}: {lost}"


def test_no_test_cell_displays_a_value(course):
    """No test cell ends in a displayed value: nbgrader would read it as the cell's
    (partial) grade before looking at errors on stderr."""
    root, _, _ = course
    for name in exercise_notebooks():
        path = root / "autograded" / "reference" / ASSIGNMENT / name
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade"):
                kinds = [o.output_type for o in cell.outputs]
                assert "execute_result" not in kinds, (name, meta["grade_id"])


def test_listed_demonstrations_are_not_run_when_grading(course):
    """The configured demonstrations (CourseGrading.skip_cells) are skipped,
    visibly, and only they."""
    from autograder.config import load
    from autograder.trusted import SKIPPED

    root, _, _ = course
    skip = load(root).skip_cells
    assert set(skip) == {n[: -len(".ipynb")] for n in exercise_notebooks()}
    for notebook, grade_ids in skip.items():
        path = root / "autograded" / "reference" / ASSIGNMENT / f"{notebook}.ipynb"
        skipped = {
            c.metadata["nbgrader"]["grade_id"]
            for c in nbformat.read(path, as_version=4).cells
            if c.cell_type == "code"
            and [o.get("text") for o in c.outputs] == [SKIPPED]
        }
        assert skipped == set(grade_ids), notebook


def test_reference_scores_identically_on_repeated_runs(course):
    _, db_url, _ = course
    for name in exercise_notebooks():
        notebook = name[: -len(".ipynb")]
        assert cell_scores(db_url, "reference", notebook) == cell_scores(
            db_url, "reference_again", notebook
        )


def test_blank_release_scores_zero(course):
    _, db_url, _ = course
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(ASSIGNMENT, "blank")
        assert submission.code_score == 0
        assert gb.find_assignment(ASSIGNMENT).max_code_score > 0


def test_every_fixture_loses_exactly_the_points_it_should(course):
    _, db_url, specs = course
    assert specs, "no fixture submissions"
    wrong = {}
    for name, spec in specs.items():
        notebook = spec["notebook"][: -len(".ipynb")]
        scores = cell_scores(db_url, name, notebook)
        failed = sorted(k for k, (got, most) in scores.items() if got < most)
        if failed != sorted(spec["expected_failures"]):
            wrong[name] = {"failed": failed, "expected": spec["expected_failures"]}
    assert not wrong, wrong


def test_fixtures_cover_wrong_and_alternative_correct_answers(course):
    _, _, specs = course
    for prefix in ("ex1_", "ex2_", "ex3_"):
        mine = [s for n, s in specs.items() if n.startswith(prefix)]
        assert any(s["expected_failures"] for s in mine), prefix
        assert any(not s["expected_failures"] for s in mine), prefix


def _check_errors(root, student):
    """(notebook, grade id, check error, errors before it) per failed test cell."""
    found = []
    for path in sorted((root / "autograded" / student / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            checks = [
                o for o in errors if o.ename in ("HiddenCheckFailed", "CheckFailed")
            ]
            if checks:
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                found.append((path.name, grade_id, checks[-1], errors[:-1]))
    return found


def _hidden_lines(notebook: str, grade_id: str) -> list[str]:
    """The substantial lines of a test cell's hidden region, from the source."""
    nb = nbformat.read(SOURCE / notebook, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            region = cell.source.split("### BEGIN HIDDEN TESTS")[1:]
            lines = "".join(r.split("### END HIDDEN TESTS")[0] for r in region)
            return [ln.strip() for ln in lines.splitlines() if len(ln.strip()) > 25]
    raise LookupError(grade_id)


def test_feedback_labels_visible_and_hidden_failures_truthfully(course):
    """A failing visible assertion keeps its own traceback and is not called
    hidden; a failure only the hidden checks find is labelled so, and the
    feedback shows none of the hidden code."""
    import html

    root, _, specs = course
    # The blank release: every test fails in its visible part (the stubs raise).
    blank = _check_errors(root, "blank")
    assert blank
    for notebook, grade_id, check, before in blank:
        assert check.ename == "CheckFailed", (notebook, grade_id)
        assert before and len(before[0].traceback) > 1, (notebook, grade_id)
    # Wrong answers whose visible tests pass but hidden checks fail.
    hidden = {
        name: [
            f for f in _check_errors(root, name) if f[2].ename == "HiddenCheckFailed"
        ]
        for name in specs
    }
    hidden = {k: v for k, v in hidden.items() if v}
    assert hidden, "no fixture fails a hidden check only"
    for found in hidden.values():
        for _, _, _, before in found:
            assert not before  # the visible part ran and passed
    student = sorted(hidden)[0]
    for name in ("blank", student):
        run_nbgrader(
            root,
            "generate_feedback",
            ASSIGNMENT,
            f"--student={name}",
            f"--CourseDirectory.notebook_id={EXERCISE_GLOB}",
        )
    pages = list((root / "feedback" / "blank" / ASSIGNMENT).glob("*.html"))
    assert len(pages) == len(exercise_notebooks())
    for page in pages:
        text = page.read_text()
        assert "HIDDEN TESTS" not in text
        assert "hidden checks" not in text and "HiddenCheckFailed" not in text
        assert "NotImplementedError" in text or "NameError" in text, page.name
    for notebook, grade_id, _, _ in hidden[student]:
        page = (
            root
            / "feedback"
            / student
            / ASSIGNMENT
            / notebook.replace(".ipynb", ".html")
        )
        text = html.unescape(page.read_text())
        assert "found by the grader's hidden checks" in text
        for line in _hidden_lines(notebook, grade_id):
            assert line not in text, (student, grade_id, line)


def test_grades_export(course):
    root, _, _ = course
    run_nbgrader(root, "export", "--to", str(root / "grades.csv"))
    with open(root / "grades.csv") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["reference"]["raw_score"]) > 0
    assert float(rows["blank"]["raw_score"]) == 0


def _feedback_total(root, student) -> float:
    import re

    total = 0.0
    for page in (root / "feedback" / student / ASSIGNMENT).glob("*.html"):
        found = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)</h4>", page.read_text())
        total += float(found.group(1))
    return total


def test_manual_grading_then_table_csv_and_feedback_agree(course):
    """Written answers are pending until graded by hand (here: the demo's script
    through nbgrader's API); then the table, grades.csv and the feedback give
    every student the same total."""
    from autograder.pipeline import format_table, grade_table, grade_written_demo

    root, db_url, _ = course
    before = {row["student"]: row for row in grade_table(db_url)}
    assert before["reference"]["pending"] > 0
    assert before["reference"]["total"] < before["reference"]["max"]
    assert "still to grade by hand" in format_table(list(before.values()))
    assert before["blank"]["pending"] == 0  # unanswered: nbgrader scores it 0

    run_nbgrader(
        root,
        "generate_feedback",
        ASSIGNMENT,
        "--student=reference_again",
        f"--CourseDirectory.notebook_id={EXERCISE_GLOB}",
    )
    page = next((root / "feedback" / "reference_again" / ASSIGNMENT).glob("10_*.html"))
    assert "Not graded yet" in page.read_text()
    # An LMS export refuses totals that still lack the written answers.
    lms = [*LMS_EXPORT, "--to", str(root / "canvas.csv")]
    pending = subprocess.run(lms, cwd=root, env=_nbgrader_env(), capture_output=True)
    assert pending.returncode != 0 and not (root / "canvas.csv").exists()
    assert b"still to grade by hand" in pending.stdout + pending.stderr

    # A fixture hands in one notebook: the written answers of the two it did
    # not hand in are 0, not pending (the driver's "missing" outcome).
    assert before["ex2_off_by_one"]["pending"] == 1

    graded = grade_written_demo(db_url, root=root)
    assert any(line.startswith("reference:") for line in graded)
    rows = {row["student"]: row for row in grade_table(db_url)}
    assert rows["reference"]["pending"] == 0
    assert all(row["pending"] == 0 for row in rows.values()), rows
    assert rows["reference"]["total"] == rows["reference"]["max"] > 0
    assert rows["blank"]["total"] == 0

    run_nbgrader(root, "export", "--to", str(root / "grades.csv"))
    with open(root / "grades.csv") as f:
        csv_rows = {r["student_id"]: r for r in csv.DictReader(f)}
    for student in ("reference", "blank", "ex2_off_by_one"):
        run_nbgrader(
            root,
            "generate_feedback",
            ASSIGNMENT,
            f"--student={student}",
            f"--CourseDirectory.notebook_id={EXERCISE_GLOB}",
            "--force",
        )
        table = rows[student]["total"]
        assert float(csv_rows[student]["raw_score"]) == pytest.approx(table)
        assert float(csv_rows[student]["max_score"]) == rows[student]["max"]
        assert _feedback_total(root, student) == pytest.approx(table), student
    # The LMS's CSV (Canvas): one row per student, matched on SIS Login ID.
    subprocess.run(lms, cwd=root, env=_nbgrader_env(), check=True)
    with open(root / "canvas.csv") as f:
        header, possible, *students = list(csv.reader(f))
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert header[5:] == [ASSIGNMENT] and possible[0] == "Points Possible"
    assert float(possible[5]) == rows["reference"]["max"]
    canvas = {r[3]: float(r[5]) for r in students}
    assert canvas == pytest.approx({s: row["total"] for s, row in rows.items()})
    text = format_table(list(rows.values()))
    assert "reference" in text and "total" in text
    assert all(f"ex{n}" in text.splitlines()[0] for n in (10, 11, 12)), text
