"""Hidden checks that run outside the student's process: the verdict is ours.

nbgrader executes a submission in one kernel, hidden tests included, and grades
a test cell by whether an error came out of that kernel. Student code shares
that process, so it can forge the outcome (rewrite later cells, patch the
comparison functions, forge the kernel's messages) and read the hidden tests.

:class:`SandboxExecute` replaces nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors`` (``nbgrader_config.py``), so the
formgrader's button, ``nbgrader autograde`` and the driver all grade this way:

1. It runs the submission in the sandboxed kernel (``autograder.sandbox``).
   Test cells that have a *checker* are not executed there (their hidden
   region is removed from the graded notebook too): the hidden code never
   enters the student's process, and nothing in that process decides a grade.
2. With the kernel still running, each checker runs here, in the grader's
   process. It talks to the student's code only through data
   (:meth:`Student.call`): it sends inputs, the kernel calls the student's
   function or class and sends back plain JSON values, and the checker judges
   them against values it computes itself. Forging a result means computing
   the right answer.
3. A cell whose checker fails gets an error output (``HiddenCheckFailed``) with
   the checker's message; nbgrader's own ``SaveAutoGrades`` then scores it 0,
   so the gradebook, formgrader, feedback and exports show the checker's grade.
   For the student's feedback, the failed cell's visible part is then run in
   the kernel, so a failing visible assertion keeps its own traceback; only a
   failure that the visible part does not reproduce is labelled hidden
   (``autograder.feedback.HideHiddenTests``).

A checker module names its checks by grade id: ``CHECKS = {"test_x": fn}``,
``fn(student)`` raising ``AssertionError`` with a message for the student. The
modules are configured per notebook in ``CourseGrading.exercises``; they are
never visible inside the sandbox.
"""

from __future__ import annotations

import importlib
import json
import shutil
import tempfile
import textwrap
from pathlib import Path

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Unicode

from autograder import sandbox
from autograder.config import CourseGrading

MIME = "application/vnd.debugging-nn.check+json"
BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"
FAILED = "HiddenCheckFailed"
#: The check's error when the cell's visible part failed too: the visible
#: traceback above it in the feedback is the failure; this is the grade.
VISIBLE_FAILED = "CheckFailed"
CHECK_ERRORS = (FAILED, VISIBLE_FAILED)
NOT_RERUN = "(visible tests not re-run: an earlier cell's did not finish)\n"
SKIPPED = "(not run when grading: a demonstration that no test depends on)\n"


class CheckError(AssertionError):
    """The student's code could not produce the data a check asked for."""


def strip_hidden(source: str) -> str:
    """``source`` without its hidden-test regions (markers included)."""
    lines, hidden = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            hidden = True
        elif line.strip() == END:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines).rstrip()


def probe_source(body: str, inputs) -> str:
    """Code that runs ``body`` (a function body returning JSON data, with the
    inputs as ``INPUTS``) in the student's namespace and displays the result
    under :data:`MIME`; exceptions become data too."""
    return (
        "def __grader_probe(INPUTS):\n"
        + textwrap.indent(textwrap.dedent(body).strip(), "    ")
        + "\n"
        "try:\n"
        f"    __grader_out = {{'ok': True, 'value': __grader_probe("
        f"__import__('json').loads({json.dumps(json.dumps(inputs))}))}}\n"
        "except BaseException as __grader_err:\n"
        "    __grader_out = {'ok': False, 'error': "
        "f'{type(__grader_err).__name__}: {__grader_err}'[:2000]}\n"
        "__import__('IPython.display').display.display("
        f"{{{MIME!r}: __grader_out}}, raw=True)\n"
        "del __grader_probe, __grader_out"
    )


class Student:
    """The student's running kernel, seen from the trusted side: data only."""

    def __init__(self, executor: "SandboxExecute"):
        self._executor = executor

    def call(self, body: str, inputs=None):
        """Run ``body`` in the student's kernel; return the data it returns.

        ``body`` is the body of a function of ``INPUTS`` (``inputs`` as JSON);
        it may use the notebook's names and must return JSON-serialisable
        data. Raises :class:`CheckError` saying what went wrong otherwise.
        """
        cell = new_code_cell(probe_source(body, inputs))
        self._executor.run_probe(cell)
        results = [
            o["data"][MIME]
            for o in cell.get("outputs", [])
            if o.get("output_type") == "display_data" and MIME in o.get("data", {})
        ]
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if len(results) != 1 or not isinstance(results[0], dict):
            why = f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else ""
            raise CheckError(
                "the notebook's kernel did not answer the grader's check"
                + (f" ({why})" if why else "")
            )
        result = results[0]
        if result.get("ok") is not True:
            raise CheckError(str(result.get("error", "the check failed"))[:2000])
        return result.get("value")


def load_checks(module_name: str) -> dict:
    """``{grade_id: check}`` of a checker module."""
    module = importlib.import_module(module_name)
    return dict(module.CHECKS)


class SandboxExecute(Execute):
    """nbgrader's ``Execute``, in the grading sandbox, with trusted checks."""

    kernel_name = Unicode(
        sandbox.KERNEL_NAME,
        help="The kernel that runs submissions: the grading sandbox.",
    ).tag(config=True)

    @property
    def grading(self) -> CourseGrading:
        """The course's grading constants (``c.CourseGrading`` in nbgrader's config)."""
        if getattr(self, "_grading", None) is None:
            self._grading = CourseGrading(config=self.config)
        return self._grading

    def create_kernel_manager(self):
        # Unix sockets in a folder of this run's own, bound into the sandbox
        # (a TCP port would need the sandbox to share the host's network).
        km = super().create_kernel_manager()
        self._sockets = Path(tempfile.mkdtemp(prefix="nbg-"))
        km.transport = "ipc"
        km.ip = str(self._sockets / "kernel")
        # The sandbox's kernelspec, written for this interpreter: nothing to
        # install, and no other kernel of that name can be picked up.
        specs = self._sockets / "specs"
        sandbox.install_kernelspec(specs, env=self.grading.sandbox_env())
        km.kernel_spec_manager.kernel_dirs = [str(specs / "kernels")]
        return km

    def preprocess(self, nb, resources=None, km=None):
        name = (resources or {}).get("unique_key", "")
        module = self.grading.exercises.get(name)
        checks = load_checks(module) if module else {}
        checked = []
        for index, cell in enumerate(nb.cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if utils.is_grade(cell) and cell.cell_type == "code" and grade_id in checks:
                cell.source = strip_hidden(cell.source)
                checked.append((index, cell, checks[grade_id]))
        self._checks = checked
        skip = set(self.grading.skip_cells.get(name, []))
        self._skipped = {
            index
            for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code"
            and utils.is_locked(cell)
            and not utils.is_grade(cell)
            and cell.metadata.get("nbgrader", {}).get("grade_id") in skip
        }
        self._sockets = None
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if self._sockets is not None:
                shutil.rmtree(self._sockets, ignore_errors=True)

    def preprocess_cell(self, cell, resources, index):
        # A checked test cell is not run in the kernel: its checker runs its
        # visible and hidden assertions, and nothing the kernel does to the
        # cell's own run can add or take away points.
        if index in self._skipped:
            cell.outputs = [new_output("stream", name="stdout", text=SKIPPED)]
        elif index not in {i for i, _, _ in self._checks}:
            cell, resources = super().preprocess_cell(cell, resources, index)
        # After the last cell, while the kernel still runs: the checks.
        if index == len(self.nb.cells) - 1:
            self.run_checks()
        return cell, resources

    _probe_timeout = None

    def _get_timeout(self, cell) -> int | None:
        # The course's limits (CourseGrading), whatever nbgrader's or nbconvert's
        # own timeout settings say: nbconvert re-applies those (e.g. the
        # ExecutePreprocessor.timeout meant for Validate) when it starts a run.
        return self._probe_timeout or self.grading.cell_timeout

    def run_probe(self, cell: NotebookNode, timeout: int | None = None) -> None:
        """Execute a probe cell; it never becomes part of the notebook."""
        saved = self._probe_timeout
        self._probe_timeout = timeout or self.grading.check_timeout
        # nbclient stores the executed cell at its index: give it one of its own.
        self.nb.cells.append(cell)
        try:
            self.execute_cell(cell, len(self.nb.cells) - 1, store_history=False)
        finally:
            self.nb.cells.pop()
            self._probe_timeout = saved

    def run_checks(self) -> None:
        failed = []
        for index, cell, check in self._checks:
            cell.outputs = []
            try:
                check(Student(self))
            except AssertionError as err:
                failed.append((cell, str(err) or "a hidden check failed"))
            except Exception as err:  # a checker bug must not pass a student
                self.log.error("checker for cell %d failed: %r", index, err)
                failed.append((cell, f"the grader's check could not run ({err!r})"))
        # Every verdict is in; now, for the student's feedback only, run each
        # failed cell's visible part in the kernel, so a failing visible line
        # shows its own traceback (and a failure it does not reproduce is
        # known to be a hidden one). These outputs cannot add points: the
        # cell already fails, and its check's error output comes last.
        stuck = False
        for cell, message in failed:
            if stuck:  # a visible run that hung once would hang again: say so
                cell.outputs = [new_output("stream", name="stdout", text=NOT_RERUN)]
            else:
                cell.outputs, stuck = self.run_visible(cell)
            visible = any(o.get("output_type") == "error" for o in cell.outputs)
            self._fail(cell, message, visible)

    def run_visible(self, cell: NotebookNode) -> tuple[list, bool]:
        """The outputs of ``cell``'s visible part (its hidden part is removed),
        and whether it failed to finish (a timeout or a dead kernel)."""
        copy = new_code_cell(cell.source, metadata={})
        try:
            self.run_probe(copy, timeout=self.grading.cell_timeout)
        except Exception as err:  # say so, and go on with the next cell
            text = f"(the visible tests did not finish: {type(err).__name__})\n"
            return [new_output("stream", name="stdout", text=text)], True
        outputs = list(copy.get("outputs", []))
        # nbgrader's Execute interrupts a cell past its time limit and records
        # a CellTimeoutError output instead of raising.
        timed_out = any(o.get("ename") == "CellTimeoutError" for o in outputs)
        return outputs, timed_out

    @staticmethod
    def _fail(cell: NotebookNode, message: str, visible: bool = False) -> None:
        ename = VISIBLE_FAILED if visible else FAILED
        note = (
            "(the grader's check of this cell; the visible test failed above)"
            if visible
            else "(found by the grader's hidden checks; the visible tests passed)"
        )
        cell.outputs.append(
            new_output(
                "error",
                ename=ename,
                evalue=message,
                traceback=[f"{ename}: {message}", note],
            )
        )
