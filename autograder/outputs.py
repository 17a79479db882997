"""What a graded notebook's outputs may do: grade nothing by themselves, run nothing.

Both preprocessors run in nbgrader's autograde chain (``nbgrader_config.py``), so
every way of grading applies them: ``nbgrader autograde``, the formgrader's
button and the driver. They work on the autograded copy, never on the student's
submitted file.

* ``ResultsAreNotGrades``: nbgrader reads the first ``execute_result`` of a test
  cell as the cell's partial grade, before it looks at errors, and a value that is
  not a number gives full marks. The course's test cells never display a value
  (``tests/test_grading.py`` checks it), so an ``execute_result`` in a test cell
  can only come from code the test called, e.g. ``get_ipython().displayhook("ok")``
  in a student's function. It is kept for the reader as ``display_data``, which
  nbgrader does not read as a grade.
* ``SanitizeStudentHTML``: nbconvert's ``SanitizeHTML`` (bleach) over every code
  output and the student-editable markdown cells, so the autograded notebook that
  the formgrader and the feedback render holds no script, event handler or
  JavaScript output. Locked markdown (the course's own text) is left as written.
"""

from __future__ import annotations

from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool


class ResultsAreNotGrades(NbGraderPreprocessor):
    """Turn ``execute_result`` outputs of test cells into ``display_data``."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    output.output_type = "display_data"
                    output.pop("execution_count", None)
        return cell, resources


class SanitizeStudentHTML(SanitizeHTML):
    """nbconvert's ``SanitizeHTML``, sparing the course's locked markdown."""

    # nbconvert's preprocessors are off unless enabled; this one always runs.
    enabled = Bool(True, help="sanitise student outputs").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown" and utils.is_locked(cell):
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)
