"""A student's set-up from the student kit alone (release + built wheel).

The kit is built (``scripts/student_kit.py``, ``make student-kit``) into a temporary
directory, away from this repository; the set-up command printed in the kit's
README is run there as written, in a new virtual environment; then the student's
tools (a lesson executed by Jupyter, nbgrader's validate) run with that
environment only: no ``source/``, no ``autograder/``, not this checkout's ``.venv``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.submissions import ROOT

pytestmark = pytest.mark.slow

sys.path.insert(0, str(ROOT / "scripts"))
import student_kit  # noqa: E402


def _student_env(kit: Path, home: Path) -> dict:
    """The environment of a student's shell in the kit folder (venv activated)."""
    repo_bins = {str(ROOT / ".venv" / "bin"), str(Path(sys.executable).parent)}
    path = [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p not in repo_bins
    ]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "PYTHON", "JUPYTER", "NBGRADER", "JPY_"))
    }
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([str(kit / ".venv" / "bin"), *path]),
        TF_CPP_MIN_LOG_LEVEL="3",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        MPLBACKEND="Agg",
    )
    return env


def _run(cmd, kit, env, **kw):
    return subprocess.run(
        cmd, cwd=kit, env=env, capture_output=True, text=True, timeout=1200, **kw
    )


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A student's kit folder after the README's set-up command: (kit, env)."""
    base = tmp_path_factory.mktemp("student")
    kit = student_kit.build_kit(base / "student-kit")
    home = base / "home"
    home.mkdir()
    env = _student_env(kit, home)
    readme = (kit / "README.md").read_text()
    commands = re.findall(r"```bash\n(.+?)\n```", readme)
    assert len(commands) == 2, readme  # set up, then open the notebooks
    setup = commands[0]
    # The documented command, as written, from a shell in the kit folder.
    result = _run(["bash", "-c", setup], kit, env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return kit, env, commands[1]


def test_kit_holds_only_the_release_and_the_wheel(kit):
    folder, _, _ = kit
    top = sorted(p.name for p in folder.iterdir() if p.name != ".venv")
    assert top == ["README.md", "debugging_nn", "nbgrader_config.py", "wheels"]
    assert sorted(p.name for p in (folder / "debugging_nn").iterdir()) == sorted(
        p.name for p in student_kit.RELEASE.glob("*.ipynb")
    )
    (wheel,) = (folder / "wheels").iterdir()
    with zipfile.ZipFile(wheel) as zf:
        packages = {n.split("/")[0] for n in zf.namelist()}
    assert packages == {"course", wheel.name.split("-py3")[0] + ".dist-info"}
    for path in (folder / "debugging_nn").glob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert (folder.parent / "student-kit.zip").is_file()


def test_kit_checks_reject_a_leaked_solution(tmp_path):
    """The kit builder refuses a notebook that still carries solution markers."""
    (tmp_path / "nb.ipynb").write_text('{"source": "### BEGIN SOLUTION"}')
    with pytest.raises(SystemExit, match="BEGIN SOLUTION"):
        student_kit.check_kit(tmp_path)


def test_student_environment_has_course_not_the_instructor_code(kit):
    folder, env, _ = kit
    probe = (
        "import importlib.util, sys, course, keras, nbgrader;"
        "print(sys.prefix); print(course.__file__);"
        "print(importlib.util.find_spec('autograder'))"
    )
    result = _run([str(folder / ".venv/bin/python"), "-c", probe], folder, env)
    assert result.returncode == 0, result.stderr[-3000:]
    prefix, course_file, autograder = result.stdout.split()
    assert Path(prefix) == folder / ".venv"
    assert Path(course_file).is_relative_to(folder / ".venv")
    assert autograder == "None"


def _plain(result) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)


def test_open_command_shows_students_the_validate_button_only(kit):
    """Students get nbgrader's Validate button, not the instructor's tools."""
    folder, env, open_command = kit
    assert open_command.split()[:2] == [".venv/bin/jupyter", "lab"]
    assert "--allow-root" in open_command  # containers and cloud VMs run as root
    labext = _plain(_run([".venv/bin/jupyter", "labextension", "list"], folder, env))
    assert "@jupyter/nbgrader" in labext
    disabled = labext.split("Disabled extensions:")[1]
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled, labext
    assert "validate-assignment" not in disabled
    server = _plain(
        _run([".venv/bin/jupyter", "server", "extension", "list"], folder, env)
    )
    prefix = server.split(f"Config dir: {folder / '.venv' / 'etc' / 'jupyter'}")[1]
    prefix = prefix.split("Config dir:")[0]
    assert re.search(r"server_extensions\.validate_assignment enabled", prefix), server
    assert re.search(r"server_extensions\.formgrader disabled", prefix), server


def test_student_runs_a_lesson(kit, tmp_path):
    folder, env, _ = kit
    out = tmp_path / "04.ipynb"
    result = _run(
        [
            ".venv/bin/jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=300",
            "--output",
            str(out),
            "debugging_nn/05_gradient_checking.ipynb",
        ],
        folder,
        env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"output_type": "error"' not in out.read_text()


def test_student_validates_an_unanswered_exercise(kit):
    """nbgrader validate (the Validate button) reports the unanswered exercise."""
    folder, env, _ = kit
    result = _run(
        [".venv/bin/nbgrader", "validate", "debugging_nn/11_exercise_lr_warmup.ipynb"],
        folder,
        env,
    )
    report = result.stdout + result.stderr
    assert "VALIDATION FAILED" in report, report[-3000:]
    assert "NameError: name 'LRWarmup' is not defined" in report


def test_open_command_serves_the_notebooks_as_root_too(kit, tmp_path):
    """The kit's open command, as written (containers and cloud VMs run as root)."""
    import signal
    import socket
    import time
    import urllib.request

    folder, env, open_command = kit
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "kit-open-command"
    extra = f" --no-browser --port={port} --IdentityProvider.token={token}"
    log_path = tmp_path / "lab.log"
    log_file = open(log_path, "w")
    proc = subprocess.Popen(
        ["bash", "-c", open_command + extra],
        cwd=folder,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # The folder named on the command line is the server's root.
        url = f"http://127.0.0.1:{port}/api/contents?token={token}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    listing = reply.read().decode()
                break
            except OSError:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(0.5)
        assert "11_exercise_lr_warmup.ipynb" in listing
        menu, validate = _student_tools(
            f"http://127.0.0.1:{port}/lab/tree/11_exercise_lr_warmup.ipynb"
            f"?reset&token={token}"
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:  # the server shuts the notebook's kernel down first: slow when busy
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        log_file.close()
    log = log_path.read_text()
    assert "No nbgrader_config.py file found" not in log, log[-3000:]
    # In the browser: Validate in the notebook's toolbar, no instructor tool in
    # the menus (the student's Nbgrader menu, if any, keeps what students use).
    assert validate
    for tool in ("Formgrader", "Create Assignment", "Course List"):
        assert tool.lower() not in menu.lower(), menu


def _student_tools(url: str) -> tuple[str, bool]:
    """(the text of JupyterLab's menu bar and Nbgrader menu, whether the open
    notebook's toolbar has nbgrader's Validate button), in Debian's Chromium."""
    from tests.chromium import launched

    with launched() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
        toolbar = page.locator(".jp-NotebookPanel:visible .jp-Toolbar")
        validate = toolbar.get_by_text("Validate", exact=True)
        validate.wait_for()
        menu = page.locator("#jp-menu-panel").inner_text()
        nbgrader = page.get_by_role("menuitem", name="Nbgrader", exact=True)
        if nbgrader.count():
            nbgrader.click()
            menu += "\n" + page.locator(".lm-Menu-content").last.inner_text()
            page.keyboard.press("Escape")
        return menu, validate.count() > 0
