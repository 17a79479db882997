"""Output limits for autograded notebooks.

nbgrader's ``LimitOutput`` caps the number of lines, but one ``print`` of a 100 MB
string is a single line. ``LimitOutputSize`` also caps the characters of every
stream and text output, so a submission cannot bloat the gradebook, the
autograded notebook or the feedback page.
"""

from nbgrader.preprocessors import LimitOutput
from traitlets import Integer

NOTE = "\n... Output truncated: {n:,} characters in all ..."


class LimitOutputSize(LimitOutput):
    """nbgrader's ``LimitOutput``, plus a cap on characters per output."""

    max_chars = Integer(
        100_000, help="maximum characters of one output (-1 means no limit)"
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type != "code" or self.max_chars == -1:
            return cell, resources
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = self._cut(output.text)
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and mime.startswith("text/"):
                    output["data"][mime] = self._cut(value)
        return cell, resources

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + NOTE.format(n=len(text))
