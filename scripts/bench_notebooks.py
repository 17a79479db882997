"""Execute each lesson notebook and report its wall time.

Usage: ``python scripts/bench_notebooks.py [NOTEBOOK ...] [--out FILE]``
(``make bench-notebooks``). Notebooks run on copies (the sources are not touched).
Each time is also given as a ratio to a baseline measured in the same run: a
notebook that only starts a kernel and imports Keras and the course package, so
the figures compare across machines of different speed. Budgets: each lesson
notebook <= 120 s, all five <= 360 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(
    p
    for p in (ROOT / "source" / "debugging_nn").glob("[0-9][0-9]_*.ipynb")
    if "_exercise_" not in p.name
)
BASELINE_SOURCE = "import course  # noqa: F401\nimport keras\nimport numpy as np"


def run(nb, cwd: Path) -> float:
    """Execute ``nb`` in a fresh kernel; return the wall time in seconds."""
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def baseline() -> float:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(BASELINE_SOURCE)]
    return run(nb, ROOT)


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.machine()}, {cpus} CPUs, Python {platform.python_version()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=LESSONS)
    parser.add_argument("--out", type=Path, help="also write the table (markdown)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    base = baseline()
    rows = []
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        seconds = run(nb, path.parent)
        rows.append((path.name, seconds))
        print(f"{path.name:<48} {seconds:7.1f} s  {seconds / base:5.1f}x baseline",
              flush=True)
    total = sum(s for _, s in rows)
    lines = [
        f"Lesson notebook execution ({machine()})",
        "",
        "| notebook | seconds | x baseline |",
        "|---|---:|---:|",
        f"| baseline (kernel start + imports) | {base:.1f} | 1.0 |",
        *[f"| {name} | {s:.1f} | {s / base:.1f} |" for name, s in rows],
        f"| **total** | {total:.1f} | {total / base:.1f} |",
    ]
    print(f"{'total':<48} {total:7.1f} s  {total / base:5.1f}x baseline")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    over = [name for name, s in rows if s > 120]
    if over:
        print(f"over the 120 s budget: {', '.join(over)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
