"""A tiny pure-Python nbgrader assignment for testing the grading driver fast.

``make_course(root)`` writes ``source/mini/mini_exercise.ipynb`` (one solution
cell ``add``, a visible and a hidden test) and the course's real
``nbgrader_config.py`` with the mini checkers (``tests/mini_checks.py``), then
generates the release with nbgrader. The robustness
cases (infinite loops, memory bombs, dead kernels, tampering...) are about the
driver, not the exercise, so they run here in seconds instead of minutes.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "mini"
NOTEBOOK = "mini_exercise"


def _meta(grade_id, grade=False, solution=False, locked=False, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook():
    nb = new_notebook()
    nb.metadata.kernelspec = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.cells = [
        new_markdown_cell("# Mini exercise\nWrite `add`."),
        new_code_cell(
            "import numpy as np\n\n"
            "CASES = np.array([[-1.5, 1.0, -0.5], [2.0, -3.0, -1.0]])",
            metadata=_meta("given", locked=True),
        ),
        new_code_cell(
            'def add(a, b):\n    """Return a + b."""\n    ### BEGIN SOLUTION\n'
            "    return a + b\n    ### END SOLUTION",
            metadata=_meta("mini_add", solution=True),
        ),
        # A given cell right before a test: nbgrader 0.9.6 cannot restore a
        # deleted test cell that follows one (autograder.cells).
        new_code_cell(
            'NOTE = "add is tested below"', metadata=_meta("given_note", locked=True)
        ),
        new_code_cell(
            '"""add adds integers."""\nassert float(add(1, 2)) == 3.0',
            metadata=_meta("test_mini_visible", grade=True, locked=True, points=2),
        ),
        new_code_cell(
            '"""add adds floats."""\n'
            "np.testing.assert_allclose(float(add(0.5, 0.25)), 0.75)\n"
            "### BEGIN HIDDEN TESTS\n"
            "for a, b, total in CASES:\n"
            "    np.testing.assert_allclose(float(add(a, b)), total)\n"
            "### END HIDDEN TESTS",
            metadata=_meta("test_mini_hidden", grade=True, locked=True, points=3),
        ),
    ]
    return nb


def make_course(root: Path) -> Path:
    """Create the mini course under ``root`` and generate its release."""
    src = root / "source" / ASSIGNMENT
    src.mkdir(parents=True)
    nbformat.write(source_notebook(), src / f"{NOTEBOOK}.ipynb")
    config = (ROOT / "nbgrader_config.py").read_text()
    # The hidden test's trusted twin (autograder.trusted): graded outside the
    # student's process.
    config += (
        "\nc.CourseGrading.assignment_id = \"mini\"\n"
        "c.CourseGrading.exercises = {\"mini_exercise\": \"tests.mini_checks\"}\n"
    )
    (root / "nbgrader_config.py").write_text(config)
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_DB_URL"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            ASSIGNMENT,
            "--force",
            "--no-db",
            "--log-level=ERROR",
        ],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    return root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"


def submit(
    root: Path,
    student: str,
    answer: str | None = None,
    nb=None,
    raw: bytes | None = None,
    extra: dict | None = None,
) -> Path:
    """Write ``submitted/<student>/mini/``: the release with ``answer`` as the
    solution cell, or a given notebook ``nb``, or ``raw`` bytes as the file."""
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{NOTEBOOK}.ipynb"
    if raw is not None:
        path.write_bytes(raw)
    else:
        if nb is None:
            nb = nbformat.read(root / "release" / ASSIGNMENT / path.name, as_version=4)
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id") == "mini_add":
                    cell.source = answer
        nbformat.write(nb, path)
    for name, content in (extra or {}).items():
        (folder / name).write_text(content)
    return path
