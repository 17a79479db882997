"""pytest hooks for the nbval regression run of the lesson notebooks.

- stderr is not compared with the committed output: any stderr at all fails the
  cell (a student sees it as an error), as does a Keras/TensorFlow deprecation;
- the notebook kernel shows every DeprecationWarning, and a cell whose output
  contains a DeprecationWarning from Keras/TensorFlow fails, even in lax mode.
"""

import os
import re

import pytest

DEPRECATION = re.compile(r"\b(Pending)?DeprecationWarning\b")
FROM_KERAS_TF = re.compile(r"keras|tensorflow", re.IGNORECASE)
KERNEL_ENV = {
    # Every deprecation shows, except NumPy 2's about np.array(variable), which
    # Keras's own TensorBoard callback triggers (harmless; hidden in JupyterLab
    # too, as it does not come from the notebook's code).
    "PYTHONWARNINGS": "default::DeprecationWarning,default::PendingDeprecationWarning,"
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


#: The longest test files, started first: `make test` spreads files over two
#: processes (pytest-xdist, --dist loadfile, in this order), so the long ones
#: do not end up last on one process while the other idles.
LONGEST_FIRST = (
    "tests/test_grading.py",
    "tests/test_driver.py",
    "tests/test_hub.py",
    "tests/test_release.py",
    "tests/test_student_setup.py",
    "tests/test_driver_scale.py",
    "tests/test_browser.py",
)


def _rank(item) -> int:
    path = item.nodeid.split("::")[0]
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items):
    items.sort(key=_rank)  # stable: the order within a file is kept
    for item in items:
        if _is_nbval_cell(item) and "stderr" not in item.parent.skip_compare:
            item.parent.skip_compare = tuple(item.parent.skip_compare) + ("stderr",)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Start each notebook's kernel with KERNEL_ENV (nbval starts it in setup)."""
    if not _is_nbval_cell(item):
        yield
        return
    saved = {k: os.environ.get(k) for k in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _is_nbval_cell(item) or call.when != "call":
        return
    report = outcome.get_result()
    streams = [
        out.get("text", "")
        for out in (getattr(item, "test_outputs", None) or [])
        if out.get("output_type") == "stream"
    ]
    bad = [t for t in streams if DEPRECATION.search(t) and FROM_KERAS_TF.search(t)]
    if bad and report.passed:
        report.outcome = "failed"
        report.longrepr = "Keras/TensorFlow deprecation warning in output:\n" + bad[0]
    stderr = [
        out.get("text", "")
        for out in (getattr(item, "test_outputs", None) or [])
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    ]
    if stderr and report.passed:
        report.outcome = "failed"
        report.longrepr = "the cell wrote to stderr:\n" + "".join(stderr)[:2000]
