"""Feedback that never reveals the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, which contains
the hidden tests (they are restored from the gradebook before grading) and the
tracebacks of the ones that failed, which quote their code. ``HideHiddenTests``
runs inside ``GenerateFeedback`` (see ``nbgrader_config.py``): it removes the
hidden regions with nbgrader's own ``ClearHiddenTests`` and reduces the error
output of a cell that had hidden tests to its exception type and message.
"""

from __future__ import annotations

import re

from jinja2 import DictLoader
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import List, default

#: Replaces nbconvert's ``mathjax`` macro, which loads MathJax from a CDN.
NO_MATHJAX = '{%- macro mathjax(url="") -%}{%- endmacro %}'
# $$display$$ or $inline$ math; not inside `code`, and not "$5 and $6".
MATH = re.compile(
    r"\$\$(.+?)\$\$|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\w$])", re.S
)
CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)

PENDING_NOTE = (
    "Not graded yet: your instructor grades this answer by hand, so its points "
    "are not in the score above."
)
HIDDEN_NOTE = "(raised by a hidden test; its code is not shown in feedback)"


class HideHiddenTests(ClearHiddenTests):
    """Drop hidden test code and the tracebacks that quote it from feedback."""

    # nbconvert's HTML exporter configures this for every NbConvertBase; as in
    # nbgrader's GetGrades, declare it configurable so no warning is printed.
    display_data_priority = List(
        ["text/html", "application/pdf", "text/latex", "image/svg+xml"]
        + ["image/png", "image/jpeg", "text/plain"]
    ).tag(config=True)

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


class MathToMathML(Preprocessor):
    """Render markdown math as MathML, so feedback needs no MathJax (offline).

    Only in the course's locked cells (nbgrader restores their source): LaTeX
    becomes raw HTML here, after the student's markdown was sanitised, and
    ``\\href{javascript:...}`` or ``\\text{<img ...>}`` in a student's math
    would come out live. A student's math stays as its text.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if (
            cell.cell_type == "markdown"
            and utils.is_locked(cell)
            and "$" in cell.source
        ):
            parts = CODE.split(cell.source)
            # Odd parts are code spans and blocks: left as written.
            cell.source = "".join(
                part if i % 2 else MATH.sub(_mathml, part)
                for i, part in enumerate(parts)
            )
        return cell, resources


def _mathml(match: re.Match) -> str:
    from latex2mathml.converter import convert

    display, inline = match.group(1), match.group(2)
    try:
        return convert(
            (display if display is not None else inline).strip(),
            display="block" if display is not None else "inline",
        )
    except Exception:  # not LaTeX after all: leave the text as it was
        return match.group(0)


class OfflineHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter, loading nothing from the network.

    ``GenerateFeedback.exporter_class`` in ``nbgrader_config.py``, so the
    command line and the formgrader's feedback button both use it. Feedback is
    read offline, from a file: math is MathML (:class:`MathToMathML`), which
    browsers render natively, instead of MathJax from a CDN.
    """

    @default("extra_loaders")
    def _no_mathjax(self):
        return [DictLoader({"mathjax.html.j2": NO_MATHJAX})]


class GetGradesShowPending(GetGrades):
    """nbgrader's ``GetGrades``; an answer still to grade by hand says so.

    Its score in the feedback would otherwise read 0, as if it were wrong.
    """

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"],
            self.notebook_id,
            self.assignment_id,
            self.student_id,
        )
        if grade.needs_manual_grade:
            comment = cell.metadata.nbgrader.get("comment") or ""
            cell.metadata.nbgrader["comment"] = (
                comment + "\n\n" + PENDING_NOTE
            ).strip()
