"""Seconds per submission: plain ``nbgrader autograde`` vs the parallel driver.

Usage: ``python scripts/bench_grading.py [-n N] [--notebook NAME] [--workers W]``
(``make bench-grading``). In one run, in scratch copies of the course, N copies
of the reference submission are graded (1) sequentially by stock ``nbgrader
autograde`` (nbgrader's own ``Execute``, no sandbox, hidden tests in the kernel:
the baseline), (2) by ``autograder.driver`` with one worker (sandboxed, sequential)
and (3) by the driver with W workers (sandboxed kernels in parallel on a Dask
LocalCluster); (2) and (3) include the trusted checks. Times are given as ratios
to the baseline's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import driver  # noqa: E402
from autograder.pipeline import ASSIGNMENT, write_submission  # noqa: E402
from tests.submissions import (  # noqa: E402
    RELEASE,
    SOURCE,
    reference_sources,
    substitute_cells,  # noqa: E402
)

NOTEBOOK = "11_exercise_lr_warmup.ipynb"


def scratch_course(base: Path, notebook: str, n: int) -> Path:
    import nbformat

    root = base / "course"
    shutil.copytree(SOURCE, root / "source" / ASSIGNMENT)
    shutil.copytree(RELEASE, root / "release" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    answer = substitute_cells(
        nbformat.read(RELEASE / notebook, as_version=4), reference_sources(notebook)
    )
    for i in range(n):
        write_submission(f"student{i:02d}", {notebook: answer}, root)
    return root


def _plain(tmp: Path, notebook: str, n: int, env: dict) -> float:
    """Seconds for stock ``nbgrader autograde`` of ``n`` submissions: nbgrader's
    own ``Execute`` in an ordinary kernel, hidden tests in it (no sandbox, no
    trusted checks): what grading costs without this course's protections."""
    import nbformat

    from autograder.config import load

    root = scratch_course(tmp / "plain", notebook, n)
    # Like for like: the cells the course does not run when grading
    # (CourseGrading.skip_cells) are not run by the baseline either (nbgrader
    # restores locked cells from the source, so they are emptied there).
    skip = set(load(ROOT).skip_cells.get(Path(notebook).stem, []))
    path = root / "source" / ASSIGNMENT / notebook
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in skip:
            cell.source = "pass  # not run when grading"
    nbformat.write(nb, path)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(
            "\nfrom nbgrader.preprocessors import Execute as _StockExecute\n"
            "c.Autograde.autograde_preprocessors = [_StockExecute] + "
            "list(c.Autograde.autograde_preprocessors)[1:]\n"
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            ASSIGNMENT,
            "--force",
            "--log-level=ERROR",
            "--CourseDirectory.release_directory=" + str(tmp / "scratch-release"),
        ],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            # Started as the driver starts it (nbgrader's CLI without the 1.7 s
            # jsonschema import): the ratio then measures the sandbox and the
            # checks, not the start-up.
            "autograder.nbgrader_cli",
            "autograde",
            ASSIGNMENT,
            "--log-level=ERROR",
            f"--CourseDirectory.notebook_id={Path(notebook).stem}",
        ],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def _driver(tmp: Path, notebook: str, n: int, workers: int) -> tuple[float, int]:
    """Seconds for ``autograder.driver`` with ``workers`` workers; graded count."""
    root = scratch_course(tmp / f"driver-{workers}", notebook, n)
    settings = driver.Settings(
        root=str(root), db_url=f"sqlite:///{root / 'gradebook.db'}"
    )
    students = driver.discover(root, ASSIGNMENT)
    driver.ensure_gradebook(settings, students)  # as for the plain run: untimed
    start = time.perf_counter()
    outcomes = driver.run(settings, students, workers=workers, log=lambda _: None)
    seconds = time.perf_counter() - start
    graded = sum(
        o.status == "graded" and o.notebook == Path(notebook).stem
        for o in outcomes
    )
    return seconds, graded


def measure(n: int = 4, notebook: str = NOTEBOOK, workers: int | None = None) -> dict:
    """Grade ``n`` reference submissions three ways; seconds for each.

    ``plain``: nbgrader autograde, one after another, unsandboxed (the baseline);
    ``sequential``: the driver with one worker; ``parallel``: with ``workers``.
    """
    workers = workers or os.cpu_count() or 1
    driver.use_venv_bin()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        plain = _plain(Path(tmp), notebook, n, env)
        sequential, graded_1 = _driver(Path(tmp), notebook, n, 1)
        parallel, graded_w = _driver(Path(tmp), notebook, n, workers)
    if graded_1 != n or graded_w != n:
        raise RuntimeError(f"driver graded {graded_1} and {graded_w} of {n}")
    return {
        "n": n,
        "notebook": notebook,
        "workers": workers,
        "plain": plain,
        "sequential": sequential,
        "parallel": parallel,
    }


def table(r: dict) -> list[str]:
    n = r["n"]
    rows = [
        ("nbgrader autograde, sequential (baseline)", r["plain"]),
        ("autograder.driver, sandboxed, 1 worker", r["sequential"]),
        (f"autograder.driver, sandboxed, {r['workers']} workers", r["parallel"]),
    ]
    return [
        f"Autograding {n} submissions of {r['notebook']}",
        "",
        "| grader | seconds | s / submission | x baseline time |",
        "|---|---:|---:|---:|",
        *[
            f"| {name} | {s:.1f} | {s / n:.1f} | {s / r['plain']:.2f} |"
            for name, s in rows
        ],
        "",
        f"Parallel speed-up over the driver's own sequential run: "
        f"{r['sequential'] / r['parallel']:.2f}x.",
    ]


def summary(runs: list[dict]) -> list[str]:
    """Seconds per notebook for each exercise, on one worker and on all: what
    grading a class costs (docs/hub.md's estimate for 500 students uses it)."""
    lines = [
        "Seconds per submitted notebook, by exercise (the reference answer):",
        "",
        "| exercise notebook | plain nbgrader | driver, 1 worker | driver, "
        f"{runs[0]['workers']} workers |",
        "|---|---:|---:|---:|",
    ]
    for r in sorted(runs, key=lambda r: r["notebook"]):
        n = r["n"]
        lines.append(
            f"| {r['notebook']} | {r['plain'] / n:.1f} | {r['sequential'] / n:.1f} "
            f"| {r['parallel'] / n:.1f} |"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=4, help="submissions (default 4)")
    parser.add_argument("--notebook", default=NOTEBOOK)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--out", type=Path, help="also write the table (markdown)")
    args = parser.parse_args(argv)
    lines = table(measure(args.n, args.notebook, args.workers))
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
