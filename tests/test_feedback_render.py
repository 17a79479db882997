"""Feedback HTML renders offline: math as MathML, no script from the network."""

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from autograder.feedback import MathToMathML, OfflineHTMLExporter

LOCKED = {
    "nbgrader": {
        "grade_id": "text",
        "locked": True,
        "grade": False,
        "solution": False,
        "schema_version": 3,
    }
}


def _convert(source: str, metadata=LOCKED) -> str:
    nb = new_notebook(cells=[new_markdown_cell(source, metadata=metadata)])
    nb, _ = MathToMathML().preprocess(nb, {})
    return nb.cells[0].source


def test_math_becomes_mathml_and_prices_and_code_stay_text():
    out = _convert(
        "Loss $\\ln 10 \\approx 2.303$; it costs $5 and $6; `$x$` is code.\n\n"
        "$$\\sigma(x) = \\frac{1}{1 + e^{-x}}$$"
    )
    assert out.count("<math") == 2
    assert 'display="block"' in out and 'display="inline"' in out
    assert "costs $5 and $6" in out and "`$x$`" in out


def test_feedback_exporter_loads_nothing_from_the_network():
    """nbgrader's feedback template, as GenerateFeedback sets it up."""
    import re
    from pathlib import Path

    import nbgrader

    templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    templates = templates / "templates"
    nb = new_notebook(cells=[new_markdown_cell("$x^2$", metadata=LOCKED)])
    nb, _ = MathToMathML().preprocess(nb, {})
    nbformat.validate(nb)
    css = templates.parent / "static" / "node_modules" / "bootstrap" / "dist" / "css"
    exporter = OfflineHTMLExporter(
        template_name="feedback",
        extra_template_basedirs=[str(templates)],
        extra_template_paths=[str(css)],
    )
    grades = dict(notebook="nb", score=1.0, max_score=2.0, late_penalty=0.0)
    html, _ = exporter.from_notebook_node(nb, resources={"nbgrader": grades})
    assert "<math" in html
    assert not re.findall(r"""(?:src=|from )["']https?://""", html)
    assert "MathJax" not in html.replace("Loading mathjax macro", "")


def test_a_students_math_is_left_as_text():
    """LaTeX to MathML makes raw HTML: a student's link or tag must not go live."""
    attack = "$\\href{javascript:alert(1)}{x}$ $\\text{<img src=x onerror=alert(1)>}$"
    answer = {
        "nbgrader": {
            "grade_id": "a",
            "solution": True,
            "grade": True,
            "locked": False,
            "points": 1,
            "schema_version": 3,
        }
    }
    assert _convert(attack, metadata=answer) == attack
    assert _convert(attack, metadata={}) == attack
