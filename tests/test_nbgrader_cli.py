"""The course's way of starting nbgrader (autograder.nbgrader_cli): nbgrader's own
command line, without the module that costs 1.7 s at every start."""

import json
import subprocess
import sys

from autograder import driver
from autograder.config import ROOT

CHECK = """
import sys
import runpy
sys.argv = ["nbgrader", "--version"]
try:
    runpy.run_module("autograder.nbgrader_cli", run_name="__main__")
except SystemExit as end:
    assert not end.code, end.code
import nbformat
bad = nbformat.v4.new_notebook()
bad.cells.append(nbformat.v4.new_code_cell("x = 1"))
bad.cells[0]["outputs"] = [{"output_type": "no such type"}]
try:
    nbformat.validate(bad)
    rejected = False
except nbformat.ValidationError:
    rejected = True
print(json.dumps({"loaded": "rfc3987_syntax" in sys.modules
                  and sys.modules["rfc3987_syntax"] is not None,
                  "rejected": rejected}))
"""


def test_starts_nbgrader_without_rfc3987_and_still_validates_notebooks():
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + CHECK],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "nbgrader version" in out.stdout
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"loaded": False, "rejected": True}


def test_the_driver_grades_through_it():
    settings = driver.Settings(root=str(ROOT), db_url="sqlite:///:memory:")
    cmd = driver.nbgrader_cmd(settings, "autograde", "x")
    assert cmd[1:4] == ["-m", "autograder.nbgrader_cli", "autograde"]
