"""The course in a real browser: JupyterLab and nbgrader, driven by Playwright.

JupyterLab runs from the course environment on a temporary copy of the course
(``release/debugging_nn/`` for the student, ``source/`` and ``nbgrader_config.py``
for the instructor's formgrader) and Playwright drives Debian's Chromium
(``/usr/bin/chromium``; Playwright's own browser download is not used). Screenshots
are written to ``screenshots/`` (or ``$SCREENSHOT_DIR``).

Set up by ``make test`` (``make sysdeps-test`` installs ``chromium``, the ``test``
extra installs ``playwright``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.pipeline import ASSIGNMENT
from tests.chromium import SHOTS
from tests.submissions import RELEASE, ROOT, SOURCE

pytestmark = pytest.mark.slow

NOTEBOOK = "11_exercise_lr_warmup.ipynb"
TOKEN = "course-browser-test"
RAN = re.compile(r"\[(\d+)\]:")
# User settings: no "Would you like to get notified about Jupyter news?" pop-up.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    }
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab on a scratch course; yields (base url, course root)."""
    root = tmp_path_factory.mktemp("browser-course")
    shutil.copytree(RELEASE, root / "release" / ASSIGNMENT)
    shutil.copytree(SOURCE, root / "source" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    home = tmp_path_factory.mktemp("browser-home")
    settings = home / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    # The instructor's exchange (release/collect) lives in the scratch home too.
    (home / ".jupyter").mkdir()
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa\nc.Exchange.root = {str(home / 'exchange')!r}\n"
    )
    (home / "exchange").mkdir()

    bin_dir = Path(sys.executable).parent
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "NBGRADER", "JPY_"))
    }
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        # nbgrader_config.py names autograder.* classes; alembic makes the gradebook
        PYTHONPATH=str(ROOT),
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    # As on a student's laptop: nothing set to quiet TensorFlow but the course.
    for name in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "PYTHONWARNINGS"):
        env.pop(name, None)
    port = _free_port()
    log = open(home / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [
            str(bin_dir / "jupyter"),
            "lab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "JupyterLab did not start:\n"
                        + (home / "jupyterlab.log").read_text()[-3000:]
                    )
                time.sleep(0.5)
        yield base, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def notebook_page(lab, browser):
    """Page with the student's copy of the exercise open in JupyterLab."""
    base, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"{base}/lab/tree/release/{ASSIGNMENT}/{NOTEBOOK}?token={TOKEN}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    # The kernel has started when the status bar says Idle.
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
    yield page
    page.close()


def _code_cells(page):
    return page.locator(".jp-NotebookPanel:visible .jp-CodeCell")


def test_student_runs_all_cells_and_meets_the_unanswered_stub(notebook_page):
    """Run All: the set-up cells run, the solution stub raises NotImplementedError."""
    page = notebook_page
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    # JupyterLab renders a traceback as an stderr output.
    error = page.locator(".jp-OutputArea-output", has_text="NotImplementedError")
    error.first.wait_for(timeout=180_000)
    error = error.first
    page.wait_for_timeout(500)  # let the output area settle before the screenshot
    error.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "student_run_all.png")

    cells = _code_cells(page)
    texts = [cells.nth(i).text_content() or "" for i in range(cells.count())]
    stub = next(i for i, t in enumerate(texts) if "class LRWarmup" in t)
    assert "NotImplementedError" in texts[stub]
    prompts = [
        (cells.nth(i).locator(".jp-InputPrompt").text_content() or "").strip()
        for i in range(cells.count())
    ]
    counts = [int(m.group(1)) if (m := RAN.fullmatch(p)) else None for p in prompts]
    # Every code cell up to the stub ran, in order; only the stub failed.
    assert counts[: stub + 1] == list(range(1, stub + 2)), prompts
    for i in range(stub):
        assert "Error" not in texts[i], texts[i]
    # Run All stops at the first error: the tests below the stub did not run.
    assert all(p == "[ ]:" for p in prompts[stub + 1 :]), prompts


def test_student_validate_button_reports_the_failure(notebook_page):
    """nbgrader's Validate button validates the notebook and reports the failure."""
    page = notebook_page
    button = page.locator(".jp-NotebookPanel:visible .jp-Toolbar").get_by_text(
        "Validate", exact=True
    )
    button.wait_for()
    page.screenshot(path=SHOTS / "student_toolbar_validate.png")
    button.click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for(timeout=240_000)
    page.screenshot(path=SHOTS / "student_validate_result.png")
    text = dialog.inner_text()
    # The unanswered exercise fails its first public test: LRWarmup was never defined.
    assert "The following cell failed" in text, text[:2000]
    assert "NameError: name 'LRWarmup' is not defined" in text, text[:2000]
    dialog.get_by_role("button").last.click()
    dialog.wait_for(state="detached")


def test_instructor_opens_the_formgrader(lab, browser):
    """The instructor's formgrader page lists the assignment from source/."""
    base, root = lab
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{base}/formgrader?token={TOKEN}")
        page.get_by_text("Manage Assignments").first.wait_for()
        page.get_by_role("link", name=ASSIGNMENT, exact=True).wait_for()
        page.screenshot(path=SHOTS / "instructor_formgrader.png")
        assert (root / "gradebook.db").exists()
    finally:
        page.close()


LESSONS = sorted(
    p.name for p in RELEASE.glob("[0-9][0-9]_*.ipynb") if "_exercise_" not in p.name
)


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_first_cell_of_every_lesson_writes_nothing_to_stderr(lab, browser, lesson):
    """What a student sees first: the imports run without a log line or warning."""
    base, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    try:
        # ?reset: a fresh workspace, so the exercise opened by the tests above is
        # not restored too (its loading spinner covered this notebook's cells).
        page.goto(f"{base}/lab/tree/release/{ASSIGNMENT}/{lesson}?reset&token={TOKEN}")
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
        page.locator(".jp-NotebookPanel:visible .jp-Spinner").wait_for(
            state="detached", timeout=120_000
        )
        first = _code_cells(page).first
        first.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        first.locator(".jp-InputPrompt", has_text="[1]:").wait_for(timeout=180_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=180_000)
        stderr = first.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        )
        assert stderr.count() == 0, stderr.first.inner_text()
        page.get_by_role("menuitem", name="Kernel", exact=True).click()
        page.get_by_role("menuitem", name="Shut Down Kernel", exact=True).click()
    finally:
        page.close()
