"""Sample submissions for ``make demo``, written into ``submitted/``.

    python scripts/demo_samples.py

Three students: ``reference`` (the source's answers), ``blank`` (the release as
handed out) and ``partly_wrong`` (the reference answers, except exercise 2's
warmup, off by one epoch: fixture ``ex2_off_by_one``). The answers come from the
test fixtures (``tests/submissions.py``), so the demo grades what the tests prove.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.pipeline import exercise_notebooks, write_submission  # noqa: E402
from tests.submissions import (  # noqa: E402
    RELEASE,
    build_submission,
    load_fixture,
    reference_sources,
    substitute_cells,
)


def build_samples(root: Path = ROOT) -> list[str]:
    """Write the three sample submissions; return the students' names."""
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


if __name__ == "__main__":
    print("sample submissions:", ", ".join(build_samples()))
