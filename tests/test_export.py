"""Grades into an LMS (autograder.export.LMSExport), on a real nbgrader gradebook.

The whole cycle's export (Canvas, after manual grading, totals equal to the grade
table) is checked end to end in ``tests/test_grading.py``.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.config import ROOT
from autograder.export import LMSExport, PendingGrades

BIN = str(Path(sys.executable).parent)  # nbgrader runs alembic from here


@pytest.fixture
def gradebook(tmp_path, monkeypatch):
    """Two students: ann (3 autograded + 2 written points, a late penalty of 1)
    and bob (no submission)."""
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ["PATH"])
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("hw")
        gb.add_notebook("nb", "hw")
        gb.add_grade_cell("auto", "nb", "hw", max_score=3, cell_type="code")
        gb.add_grade_cell("written", "nb", "hw", max_score=2, cell_type="markdown")
        gb.add_student("ann", first_name="Ann", last_name="Lee", email="a@x.org")
        gb.add_student("bob")
        gb.add_submission("hw", "ann")
        auto = gb.find_grade("auto", "nb", "hw", "ann")
        auto.auto_score, auto.needs_manual_grade = 3.0, False
        # nbgrader keeps the penalty per notebook (AssignLatePenalties).
        notebook = gb.find_submission_notebook("nb", "hw", "ann")
        notebook.late_submission_penalty = 1.0
        gb.db.commit()
    return tmp_path, url


def _grade_written(url):
    with Gradebook(url) as gb:
        written = gb.find_grade("written", "nb", "hw", "ann")
        written.manual_score, written.needs_manual_grade = 2.0, False
        gb.db.commit()


def test_pending_written_answers_are_an_error(gradebook):
    _, url = gradebook
    with Gradebook(url) as gb, pytest.raises(PendingGrades, match="ann/hw"):
        LMSExport().rows(gb)
    with Gradebook(url) as gb:
        _, rows, _ = LMSExport(allow_pending=True).rows(gb)
    assert {r["student"].id: r["hw"] for r in rows} == {"ann": 2.0, "bob": 0.0}


def test_canvas_columns_and_scores(gradebook):
    tmp, url = gradebook
    _grade_written(url)
    dest = tmp / "canvas.csv"
    with Gradebook(url) as gb:
        LMSExport(to=str(dest), canvas_ids={"hw": "4711"}).export(gb)
    header, possible, *rows = list(csv.reader(dest.open()))
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [
        "hw (4711)"
    ]
    assert possible == ["Points Possible", "", "", "", "", "5"]
    # 3 + 2 points less the late penalty of 1; no submission scores 0.
    assert rows == [
        ["Lee, Ann", "", "", "ann", "", "4"],
        ["bob", "", "", "bob", "", "0"],
    ]


def test_moodle_columns_through_nbgrader_export(gradebook):
    tmp, url = gradebook
    _grade_written(url)
    (tmp / "nbgrader_config.py").write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "export",
            f"--db={url}",
            "--exporter=autograder.export.LMSExport",
            "--LMSExport.lms=moodle",
            "--to=moodle.csv",
        ],
        cwd=tmp,
        env={"PYTHONPATH": str(ROOT), "PATH": BIN + ":/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader((tmp / "moodle.csv").open()))
    assert rows == [
        ["Username", "Email address", "First name", "Last name", "hw"],
        ["ann", "a@x.org", "Ann", "Lee", "4"],
        ["bob", "", "", "", "0"],
    ]


def test_the_late_penalty_is_a_share_per_started_day_capped():
    from autograder.late import PerDayLate

    late = PerDayLate(fraction_per_day=0.1, max_fraction=0.5)
    assert late.late_submission_penalty("s", 10.0, 0) == 0.0
    assert late.late_submission_penalty("s", 10.0, 60) == 1.0  # 1 started day
    assert late.late_submission_penalty("s", 10.0, 86400 + 1) == 2.0
    assert late.late_submission_penalty("s", 10.0, 30 * 86400) == 5.0  # capped
    assert late.late_submission_penalty("s", 0.0, 86400) == 0.0


def test_the_course_config_uses_the_late_plugin():
    from autograder.config import read_config

    cfg = read_config(ROOT)
    assert cfg.AssignLatePenalties.plugin_class == "autograder.late.PerDayLate"


def test_a_notebook_never_handed_in_holds_back_no_export(gradebook):
    """The driver's 0 for a missing notebook leaves nothing pending: its code and
    written grades are final, so an LMS export goes through."""
    from autograder import driver

    tmp, url = gradebook
    (tmp / "nbgrader_config.py").write_text('c = get_config()\n')
    with Gradebook(url) as gb:
        gb.add_submission("hw", "bob")
    settings = driver.Settings(root=str(tmp), db_url=url, assignment="hw")
    outcome = driver.Outcome("bob", "nb", "missing", "nb.ipynb was not submitted")
    driver.record_zero(settings, outcome)
    _grade_written(url)
    with Gradebook(url) as gb:
        assert not gb.find_submission("hw", "bob").needs_manual_grade
        _, rows, _ = LMSExport().rows(gb)
    assert {r["student"].id: r["hw"] for r in rows} == {"ann": 4.0, "bob": 0.0}


def test_the_grade_table_names_each_exercise_by_its_notebook_number():
    """The class table's header is short and says which notebook each column is
    (found by the e2e test after notebooks were renumbered 10-12)."""
    from autograder.pipeline import format_table

    row = {
        "student": "ann",
        "10_exercise_fix_broken_model": 18.0,
        "11_exercise_lr_warmup": 12.0,
        "12_exercise_training_monitor": 20.0,
        "written": 4.0,
        "pending": 0,
        "total": 54.0,
        "max": 54.0,
    }
    header = format_table([row]).splitlines()[0].split()
    assert header == ["student", "ex10", "ex11", "ex12", "written", "pending"] + [
        "total",
        "max",
    ]
