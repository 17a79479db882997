"""Test support: fixture submissions, a notebook with some solution cells replaced.

A fixture lives in ``tests/fixtures/submissions/<name>/`` as a ``fixture.json``::

    {"notebook": "11_exercise_lr_warmup.ipynb",
     "description": "warmup off by one epoch",
     "cells": {"ex2_lr_warmup": "lr_warmup.py"},
     "expected_failures": ["test_ex2_schedule_sgd", "test_ex2_schedule_adam"]}

plus the files named in ``cells`` (the new source of each solution cell, by its
nbgrader ``grade_id``). ``expected_failures`` lists the autograded test cells the
fixture must lose; every other autograded test cell must score full marks.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader import utils

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "submissions"
SOURCE = ROOT / "source" / "debugging_nn"
RELEASE = ROOT / "release" / "debugging_nn"


def load_fixture(name: str) -> dict:
    """Read ``tests/fixtures/submissions/<name>/fixture.json`` and its cell files."""
    folder = FIXTURES / name
    spec = json.loads((folder / "fixture.json").read_text())
    spec["name"] = name
    spec["sources"] = {
        grade_id: (folder / filename).read_text()
        for grade_id, filename in spec.get("cells", {}).items()
    }
    return spec


def fixture_names() -> list[str]:
    """Names of all fixture submissions."""
    return sorted(p.parent.name for p in FIXTURES.glob("*/fixture.json"))


def substitute_cells(nb, sources: dict[str, str]):
    """Replace the source of the cells whose nbgrader grade_id is in ``sources``."""
    found = set()
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
            found.add(grade_id)
    missing = set(sources) - found
    if missing:
        raise KeyError(f"no cell with grade_id {sorted(missing)}")
    return nb


SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.MULTILINE)


def reference_sources(notebook: str) -> dict[str, str]:
    """The reference answers of a source notebook, by solution cell grade_id.

    The ``### BEGIN/END SOLUTION`` marker lines are dropped, as a student's
    answer would not have them.
    """
    nb = nbformat.read(SOURCE / notebook, as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", cell.source)
        for cell in nb.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def build_submission(spec: dict, base: Path = RELEASE):
    """The student notebook of fixture ``spec``: the release version with the
    reference answers, except the cells the fixture replaces (so a fixture is
    wrong in exactly the way it says)."""
    nb = nbformat.read(base / spec["notebook"], as_version=4)
    sources = {**reference_sources(spec["notebook"]), **spec["sources"]}
    return substitute_cells(nb, sources)


def score_notebook(nb, timeout: int = 300, cwd: Path | None = None) -> dict:
    """Execute ``nb`` in a fresh kernel and score its grade cells like nbgrader.

    Returns ``{"scores": {grade_id: (points, max_points)}, "seconds": wall}``;
    manually graded cells score ``None``. Uses nbgrader's own
    ``utils.determine_grade``, so a test cell with an error or stderr output
    scores 0, exactly as in ``nbgrader autograde``.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", NBGRADER_EXECUTION="autograde")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd or SOURCE)}},
    )
    start = time.perf_counter()
    client.execute(env=env)
    seconds = time.perf_counter() - start
    scores = {}
    for cell in nb.cells:
        if utils.is_grade(cell):
            scores[cell.metadata.nbgrader["grade_id"]] = utils.determine_grade(cell)
    return {"scores": scores, "seconds": seconds}


def failing_tests(scores: dict) -> list[str]:
    """Autograded cells that scored less than full marks."""
    return sorted(
        gid for gid, (got, most) in scores.items() if got is not None and got < most
    )
