"""The instructor cycle around nbgrader: release check, sample submissions, grades.

Command line (the Makefile targets call these)::

    python -m autograder.pipeline check-release   # release/ up to date with source/?
    python -m autograder.pipeline samples         # demo submissions into submitted/
    python -m autograder.pipeline table           # grade table from the gradebook

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

from autograder.fixtures import (
    RELEASE,
    ROOT,
    SOURCE,
    build_submission,
    load_fixture,
    reference_sources,
    substitute_cells,
)

ASSIGNMENT = "debugging_nn"
#: Notebooks with autograded cells; lesson notebooks have none and are not graded.
EXERCISE_GLOB = "0[6-8]_exercise_*"


def nbgrader(*args: str, cwd: Path = ROOT, check: bool = True, **kwargs):
    """Run ``nbgrader`` from this environment with TensorFlow's log silenced."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "nbgrader", *args]
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
    """File names of the exercise notebooks in the release."""
    return sorted(p.name for p in RELEASE.glob(EXERCISE_GLOB + ".ipynb"))


def write_submission(student: str, notebooks: dict, root: Path = ROOT) -> Path:
    """Write ``{file name: notebook}`` as ``submitted/<student>/debugging_nn/``."""
    folder = root / "submitted" / student / ASSIGNMENT
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)
    return folder


def build_samples(root: Path = ROOT) -> list[str]:
    """Demo submissions: the reference answers, the blank release, a partly wrong one.

    ``partly_wrong`` answers exercises 1 and 3 correctly and exercise 2 with the
    off-by-one warmup of fixture ``ex2_off_by_one``.
    """
    reference, blank, partly = {}, {}, {}
    for name in exercise_notebooks():
        blank[name] = nbformat.read(RELEASE / name, as_version=4)
        reference[name] = substitute_cells(
            nbformat.read(RELEASE / name, as_version=4), reference_sources(name)
        )
        partly[name] = reference[name]
    wrong = load_fixture("ex2_off_by_one")
    partly[wrong["notebook"]] = build_submission(wrong)
    write_submission("reference", reference, root)
    write_submission("blank", blank, root)
    write_submission("partly_wrong", partly, root)
    return ["blank", "partly_wrong", "reference"]


def grade_table(db_url: str | None = None) -> list[dict]:
    """Per student: the autograded score of each exercise notebook and the total."""
    from nbgrader.api import Gradebook

    db_url = (
        db_url
        or os.environ.get("NBGRADER_DB_URL")
        or ("sqlite:///" + str(ROOT / "gradebook.db"))
    )
    rows = []
    with Gradebook(db_url) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        notebooks = [nb.name for nb in assignment.notebooks if nb.max_code_score > 0]
        for student in sorted(s.id for s in gb.students):
            row = {"student": student}
            try:
                sub = gb.find_submission(ASSIGNMENT, student)
            except Exception:
                continue
            for nb in sub.notebooks:
                if nb.name in notebooks:
                    row[nb.name] = nb.code_score
            row["total"] = sum(row.get(n, 0.0) for n in notebooks)
            row["max"] = sum(
                gb.find_notebook(n, ASSIGNMENT).max_code_score for n in notebooks
            )
            rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """Plain-text grade table."""
    if not rows:
        return "no graded submissions"
    columns = [k for k in rows[0] if k not in ("student",)]
    short = {c: re.sub(r"^0(\d)_exercise_", r"ex\1 ", c) for c in columns}
    header = f"{'student':<16}" + "".join(f"{short[c]:>22}" for c in columns)
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = "".join(f"{row.get(c, 0):>22.1f}" for c in columns)
        lines.append(f"{row['student']:<16}{cells}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.pipeline")
    parser.add_argument("command", choices=["check-release", "samples", "table"])
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
    elif args.command == "samples":
        print("sample submissions:", ", ".join(build_samples()))
    else:
        print(format_table(grade_table()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
