"""Execute source notebooks in place, as committed: outputs kept, no timing metadata.

Usage: ``python scripts/execute_sources.py [NOTEBOOK ...]`` (default: all of
``source/debugging_nn``), then ``make release``. Cell execution timestamps would
otherwise leak into the release and change on every run.
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def strip_timing(nb) -> None:
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv or sys.argv[1:])] or sorted(
        (ROOT / "source" / "debugging_nn").glob("*.ipynb")
    )
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        strip_timing(nb)
        nbformat.write(nb, path)
        print("executed", path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
