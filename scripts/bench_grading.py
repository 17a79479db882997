"""Seconds per submission: plain ``nbgrader autograde`` vs the parallel driver.

Usage: ``python scripts/bench_grading.py [-n N] [--notebook NAME] [--workers W]``
(``make bench-grading``). In one run, in two scratch copies of the course, N copies
of the reference submission are graded (1) sequentially by ``nbgrader autograde``
and (2) by ``autograder.driver`` (sandboxed kernels on a Dask LocalCluster). The
plain run is the baseline; the speed-up is its time over the driver's.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import driver  # noqa: E402
from autograder.fixtures import (  # noqa: E402
    RELEASE,
    SOURCE,
    reference_sources,
    substitute_cells,  # noqa: E402
)
from autograder.pipeline import ASSIGNMENT, write_submission  # noqa: E402


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=4, help="submissions (default 4)")
    parser.add_argument("--notebook", default="07_exercise_lr_warmup.ipynb")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--out", type=Path, help="also write the table (markdown)")
    args = parser.parse_args(argv)
    driver.use_venv_bin()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        plain_root = scratch_course(Path(tmp) / "plain", args.notebook, args.n)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "nbgrader",
                "generate_assignment",
                ASSIGNMENT,
                "--force",
                "--log-level=ERROR",
                "--CourseDirectory.release_directory="
                + str(Path(tmp) / "scratch-release"),
            ],
            cwd=plain_root,
            env=env,
            check=True,
            capture_output=True,
        )
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "nbgrader",
                "autograde",
                ASSIGNMENT,
                "--log-level=ERROR",
                f"--CourseDirectory.notebook_id={Path(args.notebook).stem}",
            ],
            cwd=plain_root,
            env=env,
            check=True,
            capture_output=True,
        )
        plain = time.perf_counter() - start

        drv_root = scratch_course(Path(tmp) / "driver", args.notebook, args.n)
        settings = driver.Settings(
            root=str(drv_root), db_url=f"sqlite:///{drv_root / 'gradebook.db'}"
        )
        students = driver.discover(drv_root, ASSIGNMENT)
        driver.ensure_gradebook(settings, students)  # as the plain run, untimed
        start = time.perf_counter()
        outcomes = driver.run(
            settings, students, workers=args.workers, log=lambda _: None
        )
        parallel = time.perf_counter() - start
        graded = sum(o["status"] == "graded" for o in outcomes)
    n = args.n
    lines = [
        f"Autograding {n} x {args.notebook} ({platform.machine()}, "
        f"{os.cpu_count()} CPUs, {args.workers} Dask workers)",
        "",
        "| grader | seconds | s / submission | speed-up |",
        "|---|---:|---:|---:|",
        f"| nbgrader autograde (sequential, baseline) | {plain:.1f} | {plain / n:.1f} "
        "| 1.00 |",
        f"| autograder.driver (sandboxed, parallel) | {parallel:.1f} | "
        f"{parallel / n:.1f} | {plain / parallel:.2f} |",
        "",
        f"driver graded {graded}/{n * len(driver.exercises(drv_root, ASSIGNMENT))} "
        "notebooks (the others are absent from these submissions)",
    ]
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
