"""Checks a submitted notebook must pass before it is executed.

A file that is not a notebook never reaches nbgrader (which would abort the whole
student on it): it is recorded with a readable reason and scores 0. Tampering that
the sandbox and the trusted checks neutralise is still recorded, so an instructor
sees it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

#: Patterns in a student's code that try to change how tests are judged.
TAMPERING = {
    "numpy.testing patched": re.compile(
        r"(np|numpy)\.testing\.\w+\s*=|setattr\(\s*(np|numpy)\.testing"
    ),
    "IPython traceback display patched": re.compile(
        r"showtraceback|showsyntaxerror|set_custom_exc|custom_exceptions|excepthook"
    ),
    "IPython event hooks changed": re.compile(r"\.events\.(unregister|callbacks)"),
    "grading environment probed": re.compile(r"NBGRADER"),
    "Keras/TensorFlow patched": re.compile(
        r"\b(keras|tf|tensorflow)(\.\w+)+\s*=(?!=)|setattr\(\s*(keras|tf|tensorflow)\b"
    ),
    "builtins patched": re.compile(r"\bbuiltins\.\w+\s*=|__builtins__\s*\["),
    "module table patched": re.compile(r"sys\.modules\s*\["),
}


class InvalidNotebook(ValueError):
    """The file cannot be graded; the message says why, for the student."""


def read_submission(path: Path):
    """Read a submitted notebook, or raise :class:`InvalidNotebook` saying why."""
    if not path.exists():
        raise InvalidNotebook(f"{path.name} was not submitted")
    raw = path.read_bytes()
    if not raw.strip():
        raise InvalidNotebook(f"{path.name} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidNotebook(
            f"{path.name} is not UTF-8 text (byte {err.start}): re-save it from Jupyter"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidNotebook(
            f"{path.name} is not valid notebook JSON (line {err.lineno}, column "
            f"{err.colno}: {err.msg})"
        ) from None
    if not isinstance(data, dict) or "cells" not in data:
        raise InvalidNotebook(f"{path.name} is JSON but not a notebook (no cells)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several kinds
        raise InvalidNotebook(f"{path.name} is not a valid notebook: {err}") from None
    return nb


def tampering(nb) -> list[str]:
    """Reasons to review: patterns in student-editable code cells."""
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked"):
            continue
        for reason, pattern in TAMPERING.items():
            if pattern.search(cell.source) and reason not in found:
                found.append(reason)
    return found


def repair_metadata(nb) -> list[str]:
    """Drop nbgrader metadata that nbgrader itself would reject; say what was done.

    A test cell whose metadata was damaged then counts as deleted, and nbgrader
    restores it from the gradebook (``OverwriteCells.add_missing_cells``), instead
    of aborting the whole notebook. Works on the staged copy, never the original.
    """
    from nbgrader.nbgraderformat import MetadataValidator

    validator = MetadataValidator()
    repairs, seen = [], set()
    for index, cell in enumerate(nb.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        try:
            validator.validate_cell(cell)
            grade_id = meta.get("grade_id")
            if grade_id in seen:
                raise ValueError(f"duplicate grade_id {grade_id!r}")
            seen.add(grade_id)
        except Exception as err:
            del cell.metadata["nbgrader"]
            repairs.append(f"cell {index}: damaged nbgrader metadata removed ({err})")
    return repairs
