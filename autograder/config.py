"""The course's grading constants, in one configuration object.

``CourseGrading`` is a traitlets ``Configurable`` set in ``nbgrader_config.py``
(``c.CourseGrading.cell_timeout = 120``), so every way of grading reads the same
values: nbgrader's own commands and the formgrader (``SandboxExecute`` reads it from
nbgrader's config), the driver (``load`` reads the course root's config file and the
driver passes its command-line overrides on to nbgrader as ``--CourseGrading.*``),
and the instructor pipeline.
"""

from __future__ import annotations

from pathlib import Path

from traitlets import Dict, Integer, List, Unicode
from traitlets.config import Config, Configurable, PyFileConfigLoader

from autograder import sandbox

ROOT = Path(__file__).resolve().parents[1]
CONFIG_FILE = "nbgrader_config.py"


class CourseGrading(Configurable):
    """What grading the course needs to know: the assignment, its exercises and
    the limits a submission is graded under."""

    assignment_id = Unicode(
        "debugging_nn", help="The nbgrader assignment the course releases and grades."
    ).tag(config=True)

    exercises = Dict(
        value_trait=Unicode(),
        default_value={},
        help=(
            "The graded notebooks: notebook name (without .ipynb) -> module with "
            "CHECKS, the trusted hidden checks of its test cells keyed by grade id "
            "(autograder/checkers/). Lesson notebooks are not listed."
        ),
    ).tag(config=True)

    skip_cells = Dict(
        value_trait=List(Unicode()),
        default_value={},
        help=(
            "Notebook name -> grade ids of locked given cells not run when grading: "
            "demonstrations that no test, checker or later cell needs (their source "
            "is the course's: nbgrader restores locked cells)."
        ),
    ).tag(config=True)

    cell_timeout = Integer(
        120, help="Seconds one cell of a submission may run when grading."
    ).tag(config=True)
    check_timeout = Integer(
        300, help="Seconds one probe of a trusted check may run in the kernel."
    ).tag(config=True)
    notebook_timeout = Integer(
        600, help="Seconds the driver allows for grading one notebook in all."
    ).tag(config=True)

    memory_mb = Integer(
        sandbox.LIMITS["SANDBOX_MEMORY_MB"],
        help="Memory of a grading kernel's cgroup (tmpfs included), in MB.",
    ).tag(config=True)
    cpu_seconds = Integer(
        sandbox.LIMITS["SANDBOX_CPU_SECONDS"], help="CPU seconds per kernel process."
    ).tag(config=True)
    processes = Integer(
        sandbox.LIMITS["SANDBOX_NPROC"],
        help="Processes and threads of a grading kernel (TensorFlow starts dozens).",
    ).tag(config=True)
    file_mb = Integer(
        sandbox.LIMITS["SANDBOX_FILE_MB"], help="Largest file a kernel may write, MB."
    ).tag(config=True)
    open_files = Integer(
        sandbox.LIMITS["SANDBOX_NOFILE"], help="Open files per kernel process."
    ).tag(config=True)
    tmp_mb = Integer(
        sandbox.LIMITS["SANDBOX_TMP_MB"],
        help="Size of each of the kernel's private /tmp and working folder, MB.",
    ).tag(config=True)

    def sandbox_env(self) -> dict[str, str]:
        """The limits as the sandbox's launcher reads them (its environment)."""
        values = {
            "SANDBOX_MEMORY_MB": self.memory_mb,
            "SANDBOX_CPU_SECONDS": self.cpu_seconds,
            "SANDBOX_NPROC": self.processes,
            "SANDBOX_FILE_MB": self.file_mb,
            "SANDBOX_NOFILE": self.open_files,
            "SANDBOX_TMP_MB": self.tmp_mb,
        }
        assert set(values) == set(sandbox.LIMITS)
        return {name: str(value) for name, value in values.items()}

    def exercise_files(self) -> list[str]:
        """The graded notebooks' file names, in course order."""
        return sorted(f"{name}.ipynb" for name in self.exercises)


def read_config(root: Path | str = ROOT) -> Config:
    """The course root's ``nbgrader_config.py``, read as nbgrader reads it."""
    root = Path(root)
    if not (root / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"no {CONFIG_FILE} in the course root {root}")
    return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()


def load(root: Path | str = ROOT) -> CourseGrading:
    """The grading constants of the course whose root is ``root``."""
    return CourseGrading(config=read_config(root))
