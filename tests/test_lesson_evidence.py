"""Every lesson shows its evidence: numbers and figures, not verdicts, and no stderr.

The principles of issue #15, checked on the executed source notebooks (the
lessons, and the orientation on every notebook, exercises included). Each lesson's
own claims are asserted in ``tests/test_lesson_NN.py`` against the numbers its
cells print.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.lesson_outputs import LESSONS, SOURCE

NOTEBOOKS = sorted(SOURCE.glob("*.ipynb"))
# A printed line that ends in a bare verdict, e.g. "model memorises the batch: True".
VERDICT = re.compile(r"^.*:\s*(True|False)\s*$", re.MULTILINE)
# Regression markers belong in cell tags and tests/, not in the student's code.
MARKER = re.compile(r"#\s*(NBVAL_\w+|noqa\b)")


def _ids(path):
    return path.stem


@pytest.mark.parametrize("path", LESSONS, ids=_ids)
def test_no_cell_writes_to_stderr(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert not (
                out.get("output_type") == "stream" and out.get("name") == "stderr"
            ), f"cell {index} wrote to stderr:\n{''.join(out.get('text', ''))[:500]}"
            assert out.get("output_type") != "error", f"cell {index} raised"


@pytest.mark.parametrize("path", LESSONS, ids=_ids)
def test_cells_print_measurements_not_verdicts(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) + "".join(
                out.get("data", {}).get("text/plain", "")
            )
            found = VERDICT.search(text)
            assert not found, f"cell {index} prints a verdict: {found.group(0)!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_no_regression_markers_in_student_code(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            found = MARKER.search(cell.source)
            assert not found, f"cell {index}: {found.group(0)!r} (use a cell tag)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_orientation_prerequisites_time_and_next(path):
    nb = nbformat.read(path, as_version=4)
    first, last = (
        nb.cells[0].source,
        [c for c in nb.cells if c.cell_type == "markdown"][-1].source,
    )
    assert "Prerequisites:" in first, "the first cell states the prerequisites"
    assert re.search(r"Time:\*{0,2} about \d+ min", first), "and an estimated time"
    assert "Next:" in last, "the summary ends with a 'Next:' pointer"


def test_the_detectors_catch_what_they_should():
    assert VERDICT.search("healthy model memorises the batch: True\n")
    assert not VERDICT.search("accuracy: 0.973\n")
    assert MARKER.search("import course  # noqa: F401")
    assert MARKER.search("# NBVAL_CHECK_OUTPUT\nprint(1)")
    assert not MARKER.search("print('no markers')")
