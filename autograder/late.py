"""Late submissions: the course's nbgrader late-penalty plug-in.

nbgrader's ``AssignLatePenalties`` (an autograde step in ``nbgrader_config.py``)
asks a ``LateSubmissionPlugin`` for each notebook's penalty when a submission's
timestamp is after the assignment's due date (``nbgrader db assignment add
debugging_nn --duedate=...``, or the formgrader's Manage Assignments). nbgrader's
own plug-in knows "no penalty" and "zero"; this one takes a share of the
notebook's score per started day late, capped::

    c.AssignLatePenalties.plugin_class = "autograder.late.PerDayLate"
    c.PerDayLate.fraction_per_day = 0.1   # 10 % of the score per started day
    c.PerDayLate.max_fraction = 0.5       # never more than half
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PerDayLate(LateSubmissionPlugin):
    """A penalty of ``fraction_per_day`` of the score per started day late."""

    fraction_per_day = Float(
        0.1,
        help="Share of the notebook's score lost per started day late. "
        "Defaults to 0.1.",
    ).tag(config=True)
    max_fraction = Float(
        0.5,
        help="The largest share of the score a late submission loses. "
        "Defaults to 0.5.",
    ).tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if total_seconds_late <= 0 or score <= 0:
            return 0.0
        days = math.ceil(total_seconds_late / 86400)
        share = min(self.max_fraction, days * self.fraction_per_day)
        penalty = round(score * share, 2)
        self.log.info(
            "%s: %d day(s) late, penalty %g of %g points", student_id, days,
            penalty, score,
        )
        return penalty
