"""One configuration object for the grading constants (autograder.config).

The course's assignment, exercise set, time limits and sandbox budget are set once,
as ``c.CourseGrading.*`` in ``nbgrader_config.py``; nbgrader (``SandboxExecute``),
the driver and the pipeline read them from there.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from traitlets.config import Config

from autograder import config, driver, pipeline, sandbox
from autograder.trusted import SandboxExecute

ROOT = config.ROOT


def test_the_course_config_names_its_exercises_and_limits():
    grading = config.load(ROOT)
    assert grading.assignment_id == "debugging_nn"
    # The exercise set is exactly the notebooks nbgrader grades: the source
    # notebooks with autograded cells, each with its trusted checks.
    assert sorted(grading.exercises) == driver.graded_notebooks(
        ROOT, grading.assignment_id
    )
    for module in grading.exercises.values():
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), module
    assert set(grading.skip_cells) <= set(grading.exercises)
    assert grading.cell_timeout == 120 and grading.memory_mb == 3072


def test_the_makefile_and_the_pipeline_grade_the_same_exercise_set():
    grading = config.load(ROOT)
    source = ROOT / "source" / grading.assignment_id
    # nbgrader's commands take a glob: it selects exactly the configured set.
    assert sorted(p.stem for p in source.glob(pipeline.EXERCISE_GLOB + ".ipynb")) == (
        sorted(grading.exercises)
    )
    assert pipeline.exercise_notebooks() == grading.exercise_files()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^ASSIGNMENT := (\S+)$", makefile, re.M)[1] == (
        grading.assignment_id
    )
    assert re.search(r"^EXERCISES := (\S+)$", makefile, re.M)[1] == (
        pipeline.EXERCISE_GLOB
    )


def test_sandbox_execute_takes_its_limits_from_the_config(tmp_path):
    cfg = Config()
    cfg.CourseGrading.memory_mb = 1234
    cfg.CourseGrading.tmp_mb = 64
    cfg.CourseGrading.cell_timeout = 7
    cfg.CourseGrading.exercises = {"nb": "tests.mini_checks"}
    executor = SandboxExecute(config=cfg)
    assert executor.grading.exercises == {"nb": "tests.mini_checks"}
    km = executor.create_kernel_manager()
    try:
        spec = json.loads(
            (Path(km.kernel_spec_manager.kernel_dirs[0]) / sandbox.KERNEL_NAME)
            .joinpath("kernel.json")
            .read_text()
        )
    finally:
        shutil.rmtree(executor._sockets, ignore_errors=True)
    # The kernel's launcher reads its limits from its environment.
    assert spec["env"]["SANDBOX_MEMORY_MB"] == "1234"
    assert spec["env"]["SANDBOX_TMP_MB"] == "64"
    assert set(sandbox.LIMITS) <= set(spec["env"])


def test_the_driver_reads_the_course_config_and_passes_overrides_on(tmp_path):
    text = (ROOT / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text(
        text + "\nc.CourseGrading.cell_timeout = 7\nc.CourseGrading.memory_mb = 999\n"
    )
    settings = driver.Settings(root=str(tmp_path), db_url="sqlite:///x.db")
    assert (settings.cell_timeout, settings.memory_mb) == (7, 999)
    assert settings.assignment == "debugging_nn"
    assert settings.exercises == sorted(config.load(ROOT).exercises)
    assert "--CourseGrading.cell_timeout=7" in driver.nbgrader_cmd(settings, "x")

    given = driver.Settings(root=str(tmp_path), db_url="sqlite:///x.db", cell_timeout=3)
    assert given.cell_timeout == 3
    assert "--CourseGrading.cell_timeout=3" in driver.nbgrader_cmd(given, "x")


def test_a_course_root_without_a_config_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no nbgrader_config.py"):
        driver.Settings(root=str(tmp_path), db_url="sqlite:///x.db")


def test_outcomes_are_typed_and_survive_the_ledger(tmp_path):
    (tmp_path / driver.GRADING).mkdir()
    ledger = driver.Ledger(tmp_path)
    outcome = driver.Outcome("ann", "nb", "graded", score=4.0, max_score=5.0)
    outcome.digest = "abc"
    ledger.record(outcome)
    again = driver.Ledger(tmp_path)
    assert again.done("ann", "nb", "abc") and not again.done("ann", "nb", "other")
    assert again.outcome("ann", "nb") == outcome
    assert driver.progress_line(1, 2, outcome) == "[1/2] ann/nb: graded 4/5 in 0s"


def test_the_course_cell_limit_wins_over_nbconverts_own_timeout():
    """nbconvert re-applies ``ExecutePreprocessor.timeout`` (set for students'
    Validate) when a run starts; grading keeps the course's cell limit."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    cfg = Config()
    cfg.ExecutePreprocessor.timeout = 120
    cfg.CourseGrading.cell_timeout = 7
    executor = SandboxExecute(config=cfg)
    NotebookClient.__init__(executor, new_notebook())  # as nbconvert's preprocess
    assert executor.timeout == 120
    assert executor._get_timeout(new_code_cell("1")) == 7
