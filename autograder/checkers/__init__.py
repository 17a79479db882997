"""Trusted checks of the exercises, one module per notebook.

Each module's ``CHECKS`` maps a test cell's grade id to a function of an
:class:`autograder.trusted.Student`; ``nbgrader_config.py`` names the module of
each notebook (``c.CourseGrading.exercises``). They run in the grader's process,
never in the sandbox, and reach the student's code only through data.
"""
