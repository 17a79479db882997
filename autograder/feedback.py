"""Feedback that never reveals the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, which contains
the hidden tests (they are restored from the gradebook before grading) and the
tracebacks of the ones that failed, which quote their code. ``HideHiddenTests``
runs inside ``GenerateFeedback`` (see ``nbgrader_config.py``): it removes the
hidden regions with nbgrader's own ``ClearHiddenTests`` and reduces the error
output of a cell that had hidden tests to its exception type and message.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

HIDDEN_NOTE = "(raised by a hidden test; its code is not shown in feedback)"


class HideHiddenTests(ClearHiddenTests):
    """Drop hidden test code and the tracebacks that quote it from feedback."""

    def preprocess_cell(self, cell, resources, cell_index):
        # Only the course's test cells have hidden regions; a student's cell
        # that contains the marker is their text (and an unended region in it
        # made nbgrader's ClearHiddenTests abort the student's feedback).
        if not (utils.is_grade(cell) and utils.is_locked(cell)):
            return cell, resources
        had_hidden = (
            cell.cell_type == "code" and self.begin_test_delimeter in cell.source
        )
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_hidden:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [
                        f"{output.get('ename', 'Error')}: {output.get('evalue', '')}",
                        HIDDEN_NOTE,
                    ]
        return cell, resources
