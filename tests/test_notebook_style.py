"""Course conventions that students notice: structure, quiet training, progress bars.

Checked on the source notebooks (as committed, executed) and the helper package:
every notebook opens with its objectives and ends with a summary; ``fit`` never
prints per-epoch logs; a loop that trains several models shows a ``tqdm`` progress
bar; no cell prints a wall of text.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from tests.submissions import ROOT, SOURCE

NOTEBOOKS = sorted(SOURCE.glob("*.ipynb"))
MAX_STREAM_LINES = 40


def _code(nb) -> list[tuple[int, str]]:
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _parse(source: str) -> ast.Module:
    # IPython magics are not Python; the course's notebooks use none, but be safe.
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def _fit_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "fit"
    ]


def _is_quiet(call: ast.Call) -> bool:
    for kw in call.keywords:
        if kw.arg == "verbose":
            return isinstance(kw.value, ast.Constant) and kw.value.value == 0
        if kw.arg is None:  # **kwargs: cannot tell
            return True
    return False


def _uses_tqdm(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and getattr(n.func, "id", None) == "tqdm"
        for n in ast.walk(node)
    )


def _unquiet_fits(tree: ast.AST) -> list[int]:
    return [call.lineno for call in _fit_calls(tree) if not _is_quiet(call)]


def _training_loops_without_progress(tree: ast.AST) -> list[int]:
    """Line numbers of ``for`` loops whose body calls ``fit`` without a tqdm bar."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.For)
        and any(_fit_calls(stmt) for stmt in node.body)
        and not _uses_tqdm(node.iter)
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_objectives_and_ends_with_a_summary(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    assert "In this notebook you will:" in nb.cells[0].source
    last = [c for c in nb.cells if c.cell_type == "markdown"][-1]
    assert last.source.lstrip().startswith("## Summary"), last.source[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_fit_is_quiet_and_training_loops_show_progress(path):
    nb = nbformat.read(path, as_version=4)
    for index, source in _code(nb):
        tree = _parse(source)
        assert not _unquiet_fits(tree), f"cell {index}: fit(..., verbose=0)"
        assert not _training_loops_without_progress(tree), (
            f"cell {index}: a loop that trains models needs tqdm"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_prints_a_wall_of_text(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        lines = sum(
            "".join(out.get("text", "")).count("\n")
            for out in cell.get("outputs", [])
            if out.get("output_type") == "stream"
        )
        assert lines <= MAX_STREAM_LINES, f"cell {index} prints {lines} lines"


def test_helpers_fit_quietly():
    for path in sorted((ROOT / "course").glob("*.py")):
        tree = ast.parse(Path(path).read_text())
        assert not _unquiet_fits(tree), path.name


def test_the_checks_catch_what_they_should():
    """The detectors themselves: a noisy fit and an unannounced loop are caught."""
    noisy = _parse("model.fit(x, y, epochs=3)")
    assert _unquiet_fits(noisy) == [1]
    assert _unquiet_fits(_parse("model.fit(x, y, verbose=1)")) == [1]
    assert _unquiet_fits(_parse("model.fit(x, y, verbose=0)")) == []
    loop = _parse("for m in models:\n    m.fit(x, y, verbose=0)")
    assert _training_loops_without_progress(loop) == [1]
    bar = _parse("for m in tqdm(models):\n    m.fit(x, y, verbose=0)")
    assert _training_loops_without_progress(bar) == []
