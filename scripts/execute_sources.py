"""Execute source notebooks in place, as committed: outputs kept, no timing metadata.

Usage: ``python scripts/execute_sources.py [NOTEBOOK ...]`` (default: all of
``source/debugging_nn``), then ``make release``. Cell execution timestamps would
otherwise leak into the release and change on every run.

Progress-bar widgets (``tqdm.auto``) are dropped from the committed outputs: a
saved widget is only a snapshot (JupyterLab shows a bar frozen at ``0/2``), and
a student who runs the cell gets a live one anyway.
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


WIDGET = "application/vnd.jupyter.widget-view+json"


def strip_timing(nb) -> None:
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)


def strip_widgets(nb) -> None:
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]


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
        strip_widgets(nb)
        nbformat.write(nb, path)
        print("executed", path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
