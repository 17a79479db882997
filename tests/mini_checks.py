"""Trusted checks of the mini assignment (``tests/mini_course.py``).

They run in the grader's process (``autograder.trusted``) and reach the
student's ``add`` only through :meth:`autograder.trusted.Student.call`: inputs
go in as JSON, numbers come back, and the expected values are computed here.
"""

import math

#: The hidden cases: (a, b). Never sent to the kernel with their sums.
CASES = [(0.5, 0.25), (-1.5, 1.0), (2.0, -3.0)]


def _sums(student, pairs):
    got = student.call("return [float(add(a, b)) for a, b in INPUTS]", pairs)
    assert isinstance(got, list) and len(got) == len(pairs), (
        f"add returned {len(got) if isinstance(got, list) else got!r} values "
        f"for {len(pairs)} pairs"
    )
    for (a, b), value in zip(pairs, got):
        assert isinstance(value, float) and math.isclose(value, a + b), (
            f"add({a}, {b}) returned {value!r}, expected {a + b}"
        )


def visible(student):
    """add adds integers (the same check as the visible test)."""
    _sums(student, [(1, 2)])


def hidden(student):
    """add adds floats, including negative ones."""
    _sums(student, CASES)


CHECKS = {"test_mini_visible": visible, "test_mini_hidden": hidden}
