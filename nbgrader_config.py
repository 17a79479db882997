"""nbgrader configuration for the course (the repository root is the course root)."""

import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    OverwriteKernelspec,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The grading rules below are this repository's `autograder` package: importable
# from every entry point (nbgrader's commands, the formgrader in a Jupyter server
# started anywhere), not only from a shell in the course root.
_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
c.CourseDirectory.course_id = "debugging-nn"
c.CourseDirectory.db_url = os.environ.get(
    "NBGRADER_DB_URL",
    "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db"),
)
# Only notebooks are part of the assignment; helper code comes from `course`.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# The course's grading constants, one configuration object (autograder.config):
# every way of grading reads them (nbgrader's commands, the formgrader, the driver).
c.CourseGrading.assignment_id = "debugging_nn"
# Per-cell and per-notebook time limits, and the sandbox's budget per kernel.
c.CourseGrading.cell_timeout = 120
c.CourseGrading.notebook_timeout = 600
c.CourseGrading.memory_mb = 3072
c.CourseGrading.processes = 512
c.CourseGrading.tmp_mb = 512

# A kernel that fails to start is not retried.
c.Execute.startup_timeout = 120
c.Execute.execute_retries = 0
# Students' Validate button (not grading: that is SandboxExecute's).
c.ExecutePreprocessor.timeout = 120

# Students deleting a test cell does not remove the test: it is restored from
# the gradebook before autograding, where it was (autograder.cells.RestoreCells
# also anchors on given cells, where nbgrader 0.9.6 raises KeyError).
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    "autograder.cells.RestoreCells",
    CheckCellMetadata,
]

# TensorFlow's C++ log and absl warnings are noise, not failures: drop them from
# stderr so a test cell is not zeroed for them. (The kernel also runs with
# TF_CPP_MIN_LOG_LEVEL set, so they are rarely printed at all.)
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?m)^(?:[IWE]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]|WARNING: All log messages before "
    r"absl::InitializeLog|To enable the following instructions|This TensorFlow "
    r"binary is optimized)"
)

# nbgrader's autograde steps, with output capped in characters as well as lines
# (one huge print is one line): autograder.limits.LimitOutputSize.
c.Autograde.autograde_preprocessors = [
    # Submissions run in the grading sandbox (autograder.sandbox); test cells
    # with a trusted checker run without their hidden part, which is checked
    # from this process instead (autograder.trusted).
    "autograder.trusted.SandboxExecute",
    IgnorePattern,
    ClearMetadataPreprocessor,
    "autograder.limits.LimitOutputSize",
    # A displayed value never counts as a test's grade, and nothing a person
    # views later (formgrader, feedback) can run student HTML/JavaScript.
    "autograder.outputs.ResultsAreNotGrades",
    "autograder.outputs.SanitizeStudentHTML",
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Late submissions (a timestamp after the assignment's due date, set with
# `nbgrader db assignment add debugging_nn --duedate=...` or the formgrader):
# 10 % of a notebook's score per started day late, at most half.
c.AssignLatePenalties.plugin_class = "autograder.late.PerDayLate"
c.PerDayLate.fraction_per_day = 0.1
c.PerDayLate.max_fraction = 0.5

# The graded notebooks and their trusted checks (autograder.trusted,
# autograder/checkers/): they grade these notebooks' test cells from the grader's
# process, and the cells' hidden parts never run in (or reach) the student's kernel.
c.CourseGrading.exercises = {
    "10_exercise_fix_broken_model": "autograder.checkers.fix_broken_model",
    "11_exercise_lr_warmup": "autograder.checkers.lr_warmup",
    "12_exercise_training_monitor": "autograder.checkers.training_monitor",
}

# Demonstrations and experiments that no test or checker needs: not run when
# grading (the students ran them before handing in; grading a submission is about
# 17 s faster for exercise 3 and 20 s for exercise 2). Exercise 2's written
# answer quotes the numbers the student's own run printed: the grader reads them
# in the answer, graded by hand.
c.CourseGrading.skip_cells = {
    "10_exercise_fix_broken_model": ["given_demo_fixed_run"],
    "11_exercise_lr_warmup": [
        "given_experiment",
        "given_experiment_table",
        "given_experiment_plot",
    ],
    "12_exercise_training_monitor": [
        "given_demo_healthy",
        "given_demo_dead",
        "given_demo_sigmoid",
        "given_demo_exploding",
    ],
}

# Students see their test cells' results but never the hidden tests: feedback
# drops the hidden code and the tracebacks that would quote it.
c.GenerateFeedback.preprocessors = [
    # nbgrader's GetGrades; an answer still to grade by hand is marked pending.
    "autograder.feedback.GetGradesShowPending",
    "autograder.feedback.HideHiddenTests",
    "autograder.feedback.MathToMathML",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Feedback renders offline: no MathJax from a CDN (math is MathML, see above).
c.GenerateFeedback.exporter_class = "autograder.feedback.OfflineHTMLExporter"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
