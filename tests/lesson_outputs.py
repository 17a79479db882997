"""Read a lesson's executed outputs, so tests can assert what its text claims.

The lessons print measured numbers for the student; the regression checks live
here, in ``tests/``, not in the student's cells. A test names a cell by a tag
that starts with ``claim-`` (cell metadata ``tags``; the student never sees it)
and reads the numbers that cell printed::

    lesson = Lesson("01_common_problems_and_dead_neurons.ipynb")
    text = lesson.text("claim-dead-units")      # everything the cell printed
    dead = lesson.number("claim-dead-units", r"dead fraction\\s+([\\d.]+)")

The notebooks are read as committed (executed by ``scripts/execute_sources.py``);
nbval re-executes them in CI, so a committed output that no longer reproduces
fails there.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import nbformat

SOURCE = Path(__file__).resolve().parents[1] / "source" / "debugging_nn"
LESSONS = sorted(
    p for p in SOURCE.glob("[0-9][0-9]_*.ipynb") if "_exercise_" not in p.name
)


@lru_cache(maxsize=None)
def _read(name: str):
    return nbformat.read(SOURCE / name, as_version=4)


class Lesson:
    """One executed source notebook, read once per test session."""

    def __init__(self, name: str):
        self.name = name
        self.nb = _read(name)

    def cell(self, tag: str):
        """The one cell tagged ``tag``; a clear error if there is none or several."""
        found = [
            c for c in self.nb.cells if tag in c.get("metadata", {}).get("tags", [])
        ]
        if len(found) != 1:
            raise LookupError(f"{self.name}: {len(found)} cells tagged {tag!r}")
        return found[0]

    def text(self, tag: str) -> str:
        """Everything the tagged cell printed or displayed as plain text."""
        parts = []
        for out in self.cell(tag).get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append("".join(out.get("text", "")))
            elif "data" in out and "text/plain" in out["data"]:
                parts.append("".join(out["data"]["text/plain"]))
        return "\n".join(parts)

    def numbers(self, tag: str, pattern: str) -> list[float]:
        """Every match of ``pattern``'s first group in the cell's text, as floats."""
        return [float(m) for m in re.findall(pattern, self.text(tag))]

    def number(self, tag: str, pattern: str) -> float:
        """The one match of ``pattern``'s first group; an error if not exactly one."""
        found = self.numbers(tag, pattern)
        if len(found) != 1:
            raise LookupError(
                f"{self.name} [{tag}]: {len(found)} matches of {pattern!r} in\n"
                + self.text(tag)
            )
        return found[0]

    def has_image(self, tag: str) -> bool:
        return any(
            "image/png" in out.get("data", {})
            for out in self.cell(tag).get("outputs", [])
        )

    def markdown(self) -> str:
        """All markdown of the notebook, for claims quoted in the text."""
        return "\n\n".join(c.source for c in self.nb.cells if c.cell_type == "markdown")
