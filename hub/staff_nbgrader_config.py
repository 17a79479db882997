"""nbgrader for the course's staff on the hub (instructors and graders).

The hub puts this file's folder on the staff servers' ``JUPYTER_CONFIG_PATH``
(``jupyterhub_config.py``), after the settings every user gets (the exchange, the
JupyterHub auth plug-in). It points nbgrader at the course directory, which the
staff see as ``~/debugging-nn`` (the formgrader needs the course inside the
server's root folder), loads the course's own ``nbgrader_config.py`` from there
(grading rules, sandbox, feedback), and adds what a shared course needs.
"""

import os

c = get_config()  # noqa: F821

_course = os.path.join(os.path.expanduser("~"), "debugging-nn")
if os.path.isfile(os.path.join(_course, "nbgrader_config.py")):
    load_subconfig(os.path.join(_course, "nbgrader_config.py"))  # noqa: F821
    c.CourseDirectory.root = _course

# Several graders share the course directory: what nbgrader writes there
# (submitted/, autograded/, feedback/) is group-writable (staff group).
c.CourseDirectory.groupshared = True
# Late submissions: the course's nbgrader_config.py (loaded above) sets the
# course's plug-in, autograder.late.PerDayLate (10 % per started day, at most 50 %).
