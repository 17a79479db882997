"""Restore the cells a student deleted, where they were.

nbgrader's ``OverwriteCells.add_missing_cells`` puts a deleted test cell back
after the cell that preceded it in the source, looked up among the submission's
*grade and solution* cells only. When that neighbour is a locked given cell
(exercise 2's ``given_lr_recorder``), nbgrader 0.9.6 raises ``KeyError`` and the
whole notebook scores 0. :class:`RestoreCells` anchors on any cell of the
source that the submission still has, and also restores deleted locked code
cells (given code that tests rely on). It replaces ``OverwriteCells`` in
``Autograde.sanitize_preprocessors`` (``nbgrader_config.py``).
"""

from __future__ import annotations

from nbgrader.preprocessors import OverwriteCells


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


class RestoreCells(OverwriteCells):
    """``OverwriteCells`` that puts back deleted test and given cells in place."""

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        grade_cells = {c.name: c for c in source_nb.grade_cells}
        solutions = {c.name for c in source_nb.solution_cells}
        order = [c.name for c in source_nb.source_cells]
        for position, cell in enumerate(source_nb.source_cells):
            if cell.name in {_grade_id(c) for c in nb.cells}:
                continue
            if cell.name in grade_cells:
                grade = grade_cells[cell.name]
                new = self.missing_cell_transform(
                    cell, grade.max_score, is_solution=cell.name in solutions
                )
            elif cell.locked and cell.cell_type == "code":
                new = self.missing_cell_transform(cell, 0)
                new["metadata"]["nbgrader"]["grade"] = False
                new["metadata"]["nbgrader"].pop("points", None)
            else:
                continue
            self.log.warning("Missing cell %s restored", cell.name)
            # After the nearest earlier source cell the submission still has.
            index = 0
            for earlier in reversed(order[:position]):
                found = [i for i, c in enumerate(nb.cells) if _grade_id(c) == earlier]
                if found:
                    index = found[0] + 1
                    break
            nb.cells.insert(index, new)
        return nb, resources
