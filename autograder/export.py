"""Grades as a CSV that a learning-management system imports (Canvas, Moodle).

nbgrader's own ``nbgrader export`` writes one row per (assignment, student) with
nbgrader's column names. LMS gradebooks want one row per student, their own
identifier column and one column per assignment; this is an nbgrader export plugin
that writes that::

    nbgrader export --exporter=autograder.export.LMSExport --to canvas.csv \\
        --LMSExport.lms=canvas

Column mapping (docs/instructor-guide.md, "Grades into an LMS"):

- ``canvas``: ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``,
  then one column per assignment named ``<assignment> (<Canvas id>)`` when its
  Canvas id is configured (``LMSExport.canvas_ids``), else ``<assignment>``; the
  student's nbgrader id (the hub user name) is the ``SIS Login ID``, which Canvas
  matches on. A ``Points Possible`` row follows the header.
- ``moodle``: ``Username``, ``Email address``, ``First name``, ``Last name``, one
  column per assignment; on import, map ``Username`` to the user's username.

The score is nbgrader's: autograded plus manual points, less the late penalty,
never below 0; a student with no submission scores 0. Exporting while written
answers still wait to be graded by hand is an error (the totals would be too low)
unless ``LMSExport.allow_pending`` is set.
"""

from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Dict, Enum, Unicode


class PendingGrades(RuntimeError):
    """Written answers are not graded yet: the totals are not final."""


class LMSExport(ExportPlugin):
    """One row per student, one column per assignment, for an LMS's import."""

    lms = Enum(
        ["canvas", "moodle"],
        default_value="canvas",
        help="The LMS whose gradebook import format to write. Defaults to canvas.",
    ).tag(config=True)
    canvas_ids = Dict(
        value_trait=Unicode(),
        default_value={},
        help=(
            "nbgrader assignment -> the Canvas assignment id, so the column is "
            "'<name> (<id>)' and Canvas updates that assignment instead of "
            "creating one. Defaults to none."
        ),
    ).tag(config=True)
    allow_pending = Bool(
        False,
        help=(
            "Export although some written answers are still to be graded by hand "
            "(their points count as 0). Defaults to False: that is an error."
        ),
    ).tag(config=True)

    def rows(self, gradebook) -> tuple[list[str], list[dict], dict]:
        """(assignment columns, one dict per student, points possible)."""
        assignments = [
            a
            for a in gradebook.assignments
            if not self.assignment or a.name in self.assignment
        ]
        students = sorted(
            (s for s in gradebook.students if not self.student or s.id in self.student),
            key=lambda s: s.id,
        )
        columns = [self._column(a.name) for a in assignments]
        pending, rows = [], []
        for student in students:
            row = {"student": student}
            for assignment, column in zip(assignments, columns):
                try:
                    sub = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row[column] = 0.0
                    continue
                if sub.needs_manual_grade:
                    pending.append(f"{student.id}/{assignment.name}")
                penalty = sub.late_submission_penalty or 0.0
                row[column] = round(max(0.0, sub.score - penalty), 2)
            rows.append(row)
        if pending and not self.allow_pending:
            raise PendingGrades(
                "written answers still to grade by hand (formgrader: Manual "
                f"Grading) for {', '.join(pending)}; grade them first, or pass "
                "--LMSExport.allow_pending=True to export the totals without them"
            )
        possible = {c: a.max_score for a, c in zip(assignments, columns)}
        return columns, rows, possible

    def _column(self, name: str) -> str:
        if self.lms == "canvas" and name in self.canvas_ids:
            return f"{name} ({self.canvas_ids[name]})"
        return name

    def export(self, gradebook) -> None:
        dest = self.to or f"grades-{self.lms}.csv"
        try:
            columns, rows, possible = self.rows(gradebook)
        except PendingGrades as err:
            # A clear error and no file: a half-graded CSV must not reach an LMS.
            self.log.error("not exported: %s", err)
            raise SystemExit(1) from None
        with open(dest, "w", newline="") as fh:
            writer = csv.writer(fh)
            if self.lms == "canvas":
                head = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
                writer.writerow(head + columns)
                writer.writerow(
                    ["Points Possible", "", "", "", ""]
                    + [f"{possible[c]:g}" for c in columns]
                )
                for row in rows:
                    s = row["student"]
                    name = ", ".join(p for p in (s.last_name, s.first_name) if p)
                    writer.writerow(
                        [name or s.id, "", "", s.id, ""]
                        + [f"{row[c]:g}" for c in columns]
                    )
            else:
                head = ["Username", "Email address", "First name", "Last name"]
                writer.writerow(head + columns)
                for row in rows:
                    s = row["student"]
                    writer.writerow(
                        [s.id, s.email or "", s.first_name or "", s.last_name or ""]
                        + [f"{row[c]:g}" for c in columns]
                    )
        self.log.info("%d students' grades for %s in %s", len(rows), self.lms, dest)
