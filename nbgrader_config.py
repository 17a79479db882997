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

# Execution: per-cell limit, and one retry for a kernel that fails to start.
c.Execute.timeout = 120
c.Execute.startup_timeout = 120
c.Execute.execute_retries = 0
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

# Trusted checks per notebook (autograder.trusted, autograder/checkers/): they
# grade these notebooks' test cells from the grader's process, and the cells'
# hidden parts never run in (or reach) the student's kernel.
c.SandboxExecute.checkers = {
    "10_exercise_fix_broken_model": "autograder.checkers.fix_broken_model",
    "11_exercise_lr_warmup": "autograder.checkers.lr_warmup",
    "12_exercise_training_monitor": "autograder.checkers.training_monitor",
}

# Demonstrations at the end of an exercise that no test, checker or written
# answer needs: not run when grading (the students ran them; grading each
# submission is about 17 s faster for exercise 3). Exercise 2's experiment is
# run: its numbers are what the written answer quotes.
c.SandboxExecute.skip_cells = {
    "10_exercise_fix_broken_model": ["given_demo_fixed_run"],
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
