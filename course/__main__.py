"""Command line of the course package.

- ``python -m course data`` checks that Fashion-MNIST loads.
- ``python -m course student-setup`` (the student kit's set-up runs it) shows a
  student only the nbgrader tools a student uses: the Validate button stays,
  the instructor's tools (Formgrader, Create Assignment, course list) and the
  exchange's assignment list, which the kit does not use, are turned off in
  this environment only (``--prefix``, default ``sys.prefix``).
"""

import json
import sys
from pathlib import Path

#: JupyterLab plugins of nbgrader that students of the kit do not use.
LAB_PLUGINS_OFF = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
)
#: Their server extensions.
SERVER_EXTENSIONS_OFF = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.assignment_list",
)
USAGE = "usage: python -m course data | student-setup [--prefix DIR]"


def data() -> int:
    from course.data import DataError, load_fashion_mnist

    try:
        ds = load_fashion_mnist()
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"Fashion-MNIST ready: {len(ds.x_train)} train, {len(ds.x_val)} validation, "
        f"{len(ds.x_test)} test images"
    )
    return 0


def student_setup(prefix: Path) -> int:
    """Write the student's JupyterLab and server settings under ``prefix``."""
    etc = prefix / "etc" / "jupyter"
    page = etc / "labconfig" / "page_config.json"
    page.parent.mkdir(parents=True, exist_ok=True)
    config = json.loads(page.read_text()) if page.exists() else {}
    disabled = config.setdefault("disabledExtensions", {})
    disabled.update({name: True for name in LAB_PLUGINS_OFF})
    page.write_text(json.dumps(config, indent=2))
    # Loaded after nbgrader's own nbgrader.json (files load in name order).
    server = etc / "jupyter_server_config.d" / "zz-debugging-nn-student.json"
    server.parent.mkdir(parents=True, exist_ok=True)
    server.write_text(
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": {n: False for n in SERVER_EXTENSIONS_OFF}
                }
            },
            indent=2,
        )
    )
    print("student set-up done: JupyterLab shows the Validate button, no grader tools")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["data"]:
        return data()
    if argv[:1] == ["student-setup"]:
        rest = argv[1:]
        if rest[:1] == ["--prefix"] and len(rest) == 2:
            return student_setup(Path(rest[1]))
        if not rest:
            return student_setup(Path(sys.prefix))
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
