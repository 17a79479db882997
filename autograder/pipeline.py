"""The instructor cycle around nbgrader: release check, sample submissions, grades.

Command line (the Makefile targets call these)::

    python -m autograder.pipeline check-release   # release/ up to date with source/?
    python -m autograder.pipeline table           # grade table from the gradebook
    python -m autograder.pipeline grade-written-demo  # the demo's manual grading

Grading itself is nbgrader's (``nbgrader autograde``); this module only prepares
inputs and reads the gradebook through ``nbgrader.api.Gradebook``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder import config

ROOT = config.ROOT
GRADING = config.load(ROOT)
ASSIGNMENT = GRADING.assignment_id
SOURCE = ROOT / "source" / ASSIGNMENT
RELEASE = ROOT / "release" / ASSIGNMENT
#: The exercise notebooks (``CourseGrading.exercises``) as one nbgrader
#: ``notebook_id`` glob, for nbgrader's commands; a test keeps the two equal.
EXERCISE_GLOB = "*_exercise_*"


def nbgrader(*args: str, cwd: Path = ROOT, check: bool = True, **kwargs):
    """Run ``nbgrader`` from this environment with TensorFlow's log silenced."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    # autograder.nbgrader_cli, and the autograder.* classes nbgrader_config.py
    # names, come from this checkout, whatever folder nbgrader runs in.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    cmd = [sys.executable, "-m", "autograder.nbgrader_cli", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, check=check, **kwargs)


def _comparable(path: Path) -> dict:
    nb = json.loads(path.read_text())
    nb.get("metadata", {}).pop("widgets", None)
    return nb


def check_release(release: Path = RELEASE) -> list[str]:
    """Regenerate the release from ``source/`` in a scratch copy and compare.

    Returns the list of differences (empty when the committed release is up to
    date). The scratch copy keeps the real gradebook untouched (``--no-db``).
    """
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(SOURCE, tmp / "source" / ASSIGNMENT)
        shutil.copy(ROOT / "nbgrader_config.py", tmp)
        nbgrader(
            "generate_assignment",
            ASSIGNMENT,
            "--no-db",
            "--force",
            "--log-level=ERROR",
            cwd=tmp,
            capture_output=True,
        )
        fresh = tmp / "release" / ASSIGNMENT
        problems = []
        names = {p.name for p in fresh.iterdir()}
        committed = {p.name for p in release.iterdir()} if release.exists() else set()
        for name in sorted(names - committed):
            problems.append(f"missing from release/: {name}")
        for name in sorted(committed - names):
            problems.append(f"stale file in release/: {name}")
        for name in sorted(names & committed):
            if name.endswith(".ipynb"):
                same = _comparable(fresh / name) == _comparable(release / name)
            else:
                same = (fresh / name).read_bytes() == (release / name).read_bytes()
            if not same:
                problems.append(f"out of date: release/{ASSIGNMENT}/{name}")
        return problems


def exercise_notebooks() -> list[str]:
    """File names of the exercise notebooks (``CourseGrading.exercises``)."""
    return GRADING.exercise_files()


def write_submission(student: str, notebooks: dict, root: Path = ROOT) -> Path:
    """Write ``{file name: notebook}`` as ``submitted/<student>/debugging_nn/``."""
    folder = root / "submitted" / student / ASSIGNMENT
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)
    return folder


def _default_db(db_url: str | None) -> str:
    return (
        db_url
        or os.environ.get("NBGRADER_DB_URL")
        or ("sqlite:///" + str(ROOT / "gradebook.db"))
    )


def grade_table(db_url: str | None = None) -> list[dict]:
    """Per student: each exercise's autograded score, the written answers, totals.

    ``written`` is the manually graded score so far; ``pending`` counts the
    written answers no one has graded yet (their points are not in ``total``).
    ``max`` is the assignment's maximum, written answers included, the same
    number ``nbgrader export`` and the feedback use.
    """
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(_default_db(db_url)) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        notebooks = [nb.name for nb in assignment.notebooks if nb.max_score > 0]
        for student in sorted(s.id for s in gb.students):
            row = {"student": student}
            try:
                sub = gb.find_submission(ASSIGNMENT, student)
            except Exception:
                continue
            written = pending = 0.0
            for nb in sub.notebooks:
                if nb.name in notebooks:
                    row[nb.name] = nb.code_score
                    for grade in nb.grades:
                        if grade.cell_type == "markdown":
                            written += grade.score
                            pending += bool(grade.needs_manual_grade)
            row["written"] = written
            row["pending"] = int(pending)
            row["total"] = sub.score
            row["max"] = assignment.max_score
            rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """Plain-text grade table, with a line on pending manual grading."""
    if not rows:
        return "no graded submissions"
    columns = [k for k in rows[0] if k not in ("student",)]
    # "10_exercise_fix_broken_model" -> "ex10": the notebook's number, as in the
    # README's table, keeps the columns narrow whatever the numbering.
    short = {c: re.sub(r"^(\d+)_exercise_.*", r"ex\1", c) for c in columns}
    width = dict.fromkeys(columns, 9)
    name = max(16, *(len(row["student"]) + 1 for row in rows))
    header = f"{'student':<{name}}" + "".join(
        f"{short[c]:>{width[c]}}" for c in columns
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = "".join(
            f"{row.get(c, 0):>{width[c]}d}"
            if c == "pending"
            else f"{row.get(c, 0):>{width[c]}.1f}"
            for c in columns
        )
        lines.append(f"{row['student']:<{name}}{cells}")
    pending = sum(row.get("pending", 0) for row in rows)
    lines.append(
        f"{pending} written answer(s) still to grade by hand (formgrader: Manual "
        "Grading); their points are not in the totals yet."
        if pending
        else "All written answers are graded: the totals are final."
    )
    return "\n".join(lines)


def _model_answers() -> dict[str, str]:
    """grade id -> the source's model answer of each written-answer cell."""
    answers = {}
    for path in (SOURCE / name for name in exercise_notebooks()):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if (
                cell.cell_type == "markdown"
                and meta.get("solution")
                and meta.get("grade")
            ):
                text = cell.source.replace("### BEGIN SOLUTION", "")
                answers[meta["grade_id"]] = text.replace("### END SOLUTION", "").strip()
    return answers


def grade_written_demo(db_url: str | None = None, root: Path = ROOT) -> list[str]:
    """The demo's manual grading, through nbgrader's gradebook API.

    A written answer identical to the course's model answer gets full marks
    and a comment saying a script graded it; any other answer is left for the
    instructor (formgrader, Manual Grading). Unanswered cells are already 0
    (nbgrader scores an unchanged answer cell 0 when autograding). Returns one
    line per graded answer.
    """
    from nbgrader.api import Gradebook

    model = _model_answers()
    done = []
    with Gradebook(_default_db(db_url)) as gb:
        for student in sorted(s.id for s in gb.students):
            try:
                sub = gb.find_submission(ASSIGNMENT, student)
            except Exception:
                continue
            for nb in sub.notebooks:
                path = root / "autograded" / student / ASSIGNMENT / f"{nb.name}.ipynb"
                if not path.exists():
                    continue
                cells = {
                    c.metadata.get("nbgrader", {}).get("grade_id"): c.source.strip()
                    for c in nbformat.read(path, as_version=4).cells
                }
                for grade in nb.grades:
                    if grade.cell_type != "markdown" or not grade.needs_manual_grade:
                        continue
                    if cells.get(grade.name) == model.get(grade.name):
                        grade.manual_score = grade.max_score
                        grade.needs_manual_grade = False  # as the formgrader does
                        comment = gb.find_comment(
                            grade.name, nb.name, ASSIGNMENT, student
                        )
                        comment.manual_comment = (
                            "Graded by the demo's script: this is the model answer."
                        )
                        done.append(
                            f"{student}: {grade.name} {grade.max_score:g} points"
                        )
        gb.db.commit()
    return done


NEXT_STEPS = """\
Next steps:
  - feedback for each student: feedback/<student>/debugging_nn/*.html
  - grades: grades.csv (nbgrader export; written answers included)
  - written answers the script did not grade: start `jupyter lab` in this folder
    (as root: add --allow-root), open Nbgrader > Formgrader > Manual Grading, grade
    them, then run `make feedback grades` again.
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.pipeline")
    parser.add_argument(
        "command",
        choices=["check-release", "table", "grade-written-demo", "next"],
    )
    args = parser.parse_args(argv)
    if args.command == "check-release":
        problems = check_release()
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print(
                "release/ is out of date: run `make release` and commit it",
                file=sys.stderr,
            )
            return 1
        print("release/ is up to date with source/")
    elif args.command == "grade-written-demo":
        graded = grade_written_demo()
        print(f"demo manual grading: {len(graded)} written answer(s) graded by script")
    elif args.command == "next":
        print(NEXT_STEPS)
    else:
        print(format_table(grade_table()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
