"""The course on JupyterHub, from release to returned feedback (docs/hub.md).

The real hub (``hub/jupyterhub_config.py``: JupyterHub, configurable-http-proxy,
PAM log-in, one Unix account per user) runs on loopback with the accounts, exchange
and course directory that ``hub/setup.py install`` makes, in a scratch data folder
(``/srv/debugging-nn-test-*``) and with a test roster of its own (``dnn-test-*``
users), and one class goes through nbgrader's exchange:

1. the instructor generates and releases the assignment (nbgrader, as that user);
2. student 1 logs in with Chromium, fetches from JupyterLab's Assignment List,
   answers exercise 2 (the reference answer, through their server's contents API
   with their own token) and submits from the Assignment List;
3. students 2 and 3 fetch and submit with nbgrader's command line as themselves
   (student 2 hands in the blank notebook; student 3 submits after the due date);
4. the instructor collects, autogrades with the course's grader
   (``python -m autograder.driver``, sandboxed; this scratch course grades only
   exercise 2, to keep the test short), grades the written answers through
   nbgrader's API, generates and releases feedback and exports the grades;
5. the students fetch their feedback, whose scores match the gradebook and CSV.

And a student reads neither another student's submission, the course's sources
nor the gradebook: neither as their Unix user nor through the hub.

Needs root (it creates users), Debian's chromium, bubblewrap and node/npm. The
hub's software environment (``$HUB_PREFIX``, ``hub/setup.py env``: a few minutes
the first time) is built once and kept; everything else is removed at the end.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
import requests

from tests.chromium import CHROMIUM, SHOTS
from tests.submissions import ROOT, reference_sources, substitute_cells

pytestmark = pytest.mark.slow

HUB = ROOT / "hub"
ASSIGNMENT = "debugging_nn"
COURSE_ID = "debugging-nn"
NOTEBOOK = "11_exercise_lr_warmup"
SETUP_PYTHON = "/usr/bin/python3"
PREFIX = Path(os.environ.get("HUB_PREFIX", "/opt/debugging-nn-hub"))
VENV_BIN = PREFIX / "venv" / "bin"
ROSTER = {
    "course_id": COURSE_ID,
    "instructors": ["dnn-test-instructor"],
    "graders": ["dnn-test-grader"],
    "students": ["dnn-test-student1", "dnn-test-student2", "dnn-test-student3"],
}
INSTRUCTOR = ROSTER["instructors"][0]
S1, S2, S3 = ROSTER["students"]

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """The running hub, its paths and how to act as one of its users."""

    def __init__(self, srv: Path, env: dict, password: str):
        self.srv = srv
        self.exchange = srv / "exchange"
        self.course = srv / "course"
        self.env = env  # the layout variables (HUB_SRV, ports, roster)
        self.password = password
        self.url = f"http://127.0.0.1:{env['HUB_PORT']}"
        self.api = f"http://127.0.0.1:{env['HUB_API_PORT']}/hub/api"
        self.tokens: dict[str, str] = {}

    # -- the hub, as a user would use it -----------------------------------------
    def login(self, user: str) -> requests.Session:
        """A browser-like session logged in with the user's Unix password."""
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=30)
        response = session.post(
            f"{self.url}/hub/login",
            data={
                "username": user,
                "password": self.password,
                "_xsrf": session.cookies.get("_xsrf", ""),
            },
            allow_redirects=False,
            timeout=60,
        )
        assert response.status_code == 302, (response.status_code, response.text)
        return session

    def token(self, user: str) -> str:
        """An API token the user makes for themselves (like the hub's Token page)."""
        if user not in self.tokens:
            session = self.login(user)
            response = session.post(
                f"{self.url}/hub/api/users/{user}/tokens",
                json={"note": "test_hub", "expires_in": 3600},
                headers={"X-XSRFToken": session.cookies.get("_xsrf", "")},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            self.tokens[user] = response.json()["token"]
        return self.tokens[user]

    def get(self, user: str, path: str, **kwargs) -> requests.Response:
        """GET ``path`` (under the hub's URL) with ``user``'s token."""
        headers = {"Authorization": f"token {self.token(user)}"}
        return requests.get(f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def start_server(self, user: str) -> None:
        """Start the user's server through the hub's API and wait until ready."""
        headers = {"Authorization": f"token {self.token(user)}"}
        response = requests.post(
            f"{self.api}/users/{user}/server", headers=headers, timeout=60
        )
        assert response.status_code in (201, 202, 400), response.text
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            info = requests.get(
                f"{self.api}/users/{user}", headers=headers, timeout=30
            ).json()
            if info.get("servers", {}).get("", {}).get("ready"):
                return
            time.sleep(1)
        pytest.fail(f"{user}'s server did not start")

    # -- a terminal in the user's server -----------------------------------------
    def run_as(
        self, user: str, *cmd: str, cwd=None, check=True, timeout=600, staff=False
    ) -> subprocess.CompletedProcess:
        """Run ``cmd`` as ``user`` with their server's environment (the hub's
        Python first on PATH, their hub API token); staff also get the staff
        settings, as the hub gives their servers."""
        home = pwd.getpwnam(user).pw_dir
        env = {
            "HOME": home,
            "USER": user,
            "LOGNAME": user,
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "JUPYTERHUB_USER": user,
            "JUPYTERHUB_API_URL": self.api,
            "JUPYTERHUB_API_TOKEN": self.token(user),
        }
        if staff:
            env["JUPYTER_CONFIG_PATH"] = str(PREFIX / "staff-config")
        full = ["runuser", "-u", user, "--", "env", "-i"]
        full += [f"{k}={v}" for k, v in env.items()] + list(cmd)
        result = subprocess.run(
            full,
            cwd=cwd or home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, (
                f"{' '.join(cmd)} as {user} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def instructor(self, *cmd: str, **kwargs) -> subprocess.CompletedProcess:
        """A command of the instructor's, in the course directory."""
        home = Path(pwd.getpwnam(INSTRUCTOR).pw_dir)
        return self.run_as(
            INSTRUCTOR, *cmd, cwd=home / "debugging-nn", staff=True, **kwargs
        )

    def nbgrader(self, user: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run_as(user, "nbgrader", *args, "--log-level=WARN", **kwargs)


def _setup(*args: str, env: dict) -> None:
    result = subprocess.run(
        [SETUP_PYTHON, str(HUB / "setup.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the hub test creates Unix users: run it as root")
    for tool in ("bwrap", "runuser", "useradd"):
        assert shutil.which(tool), f"{tool} is missing (make sysdeps-test)"
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (make sysdeps-test)"
    scratch = tmp_path_factory.mktemp("hub")
    roster = scratch / "roster.json"
    roster.write_text(json.dumps(ROSTER))
    srv = Path(f"/srv/debugging-nn-test-{secrets.token_hex(4)}")
    password = secrets.token_urlsafe(16)
    layout_env = {
        "HUB_PREFIX": str(PREFIX),
        "HUB_SRV": str(srv),
        "HUB_ROSTER": str(roster),
        "HUB_STAFF_GROUP": "dnn-test-staff",
        "HUB_PORT": str(_free_port()),
        "HUB_API_PORT": str(_free_port()),
        "HUB_PROXY_API_PORT": str(_free_port()),
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "NBGRADER", "JPY_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(layout_env, HUB_TEST_PASSWORD=password)
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    log_path = scratch / "jupyterhub.log"
    process = None
    try:
        start = time.monotonic()
        _setup("install", "--password-env", "HUB_TEST_PASSWORD", env=env)
        print(f"hub/setup.py install: {time.monotonic() - start:.0f} s")
        # This scratch course grades exercise 2 only (the driver's task list
        # comes from CourseGrading.exercises): CI time.
        with open(srv / "course" / "nbgrader_config.py", "a") as fh:
            fh.write(
                "\n# test_hub: grade exercise 2 only\n"
                "c.CourseGrading.exercises = {\n"
                f"    {NOTEBOOK!r}: c.CourseGrading.exercises[{NOTEBOOK!r}]\n"
                "}\n"
            )
        # ... and its assignment has no other exercise (no written answers of
        # notebooks nobody hands in here).
        for other in (srv / "course" / "source" / ASSIGNMENT).glob("*_exercise_*"):
            if other.stem != NOTEBOOK:
                other.unlink()
        log = open(log_path, "w")
        process = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(HUB / "jupyterhub_config.py")],
            cwd=srv / "hub",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        hub = Hub(srv, layout_env, password)
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{hub.url}/hub/api", timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the hub did not start:\n" + log_path.read_text()[-4000:])
            time.sleep(0.5)
        yield hub
    finally:
        if process is not None:
            process.terminate()  # the hub stops the users' servers and its proxy
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if os.environ.get("HUB_TEST_KEEP_LOG"):
            shutil.copy(log_path, os.environ["HUB_TEST_KEEP_LOG"])
        _setup("remove", env=env)


@pytest.fixture(scope="module")
def student_page(hub, browser):
    """Student 1 logged in to the hub in Chromium, in their JupyterLab."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", S1)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    # The hub starts the server (spawn-pending page), then redirects to /lab.
    page.wait_for_url(re.compile(rf"/user/{S1}/lab"), timeout=180_000)
    page.get_by_role("menuitem", name="Nbgrader", exact=True).wait_for(timeout=120_000)
    yield page
    page.close()


def _open_assignment_list(page):
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Assignment List", exact=True).click()
    page.locator("#released_assignments_list").wait_for()


def _feedback_score(html: str) -> tuple[float, float, float]:
    """(score, max score, late penalty) from nbgrader's feedback page."""
    m = re.search(rf"{NOTEBOOK} \(Score: ([\d.]+) / ([\d.]+)\)", html)
    assert m, html[:2000]
    late = re.search(r"Late submission penalty \(Score: -([\d.]+)\)", html)
    return float(m.group(1)), float(m.group(2)), float(late.group(1)) if late else 0.0


# -- the cycle, in order -------------------------------------------------------------


def test_the_hub_knows_the_course_groups_and_the_students_have_the_course(hub):
    response = hub.get(S1, f"/hub/api/users/{S1}")
    assert response.ok, response.text
    assert f"nbgrader-{COURSE_ID}" in response.json()["groups"]
    # The students' servers run the hub's environment: course package and kernel.
    result = hub.run_as(
        S2, "python", "-c", "import course, nbgrader, sys; print(sys.prefix)"
    )
    assert result.stdout.strip() == str(PREFIX / "venv")


def test_instructor_generates_and_releases(hub):
    hub.instructor("nbgrader", "generate_assignment", ASSIGNMENT, "--force")
    hub.instructor("nbgrader", "release_assignment", ASSIGNMENT, "--force")
    outbound = hub.exchange / COURSE_ID / "outbound" / ASSIGNMENT
    assert (outbound / f"{NOTEBOOK}.ipynb").exists()
    # The released notebook has no solutions.
    released = (outbound / f"{NOTEBOOK}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN" not in released


def test_student1_fetches_answers_and_submits_in_jupyterlab(hub, student_page):
    page = student_page
    # A student's Nbgrader menu: the Assignment List, no instructor tools.
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    items = page.locator(".lm-Menu-content").last.inner_text()
    page.keyboard.press("Escape")
    assert "Assignment List" in items, items
    for tool in ("Formgrader", "Create assignment", "Course List"):
        assert tool not in items, items

    _open_assignment_list(page)
    released = page.locator("#released_assignments_list")
    released.get_by_text(ASSIGNMENT).wait_for(timeout=60_000)
    page.screenshot(path=SHOTS / "hub_student_assignment_list.png")
    released.get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list")
    fetched.get_by_text(ASSIGNMENT).wait_for(timeout=60_000)

    # The answer, through the student's own server (contents API, own token).
    path = f"/user/{S1}/api/contents/{ASSIGNMENT}/{NOTEBOOK}.ipynb"
    response = hub.get(S1, path)
    assert response.ok, response.text
    nb = nbformat.from_dict(response.json()["content"])
    substitute_cells(nb, reference_sources(f"{NOTEBOOK}.ipynb"))
    put = requests.put(
        f"{hub.url}{path}",
        headers={"Authorization": f"token {hub.token(S1)}"},
        json={"type": "notebook", "format": "json", "content": nb},
        timeout=60,
    )
    assert put.ok, put.text

    page.locator("#refresh_assignments_list").click()
    fetched.get_by_text(ASSIGNMENT).wait_for()
    fetched.get_by_role("button", name="Submit").first.click()
    submitted = page.locator("#submitted_assignments_list")
    submitted.get_by_text(ASSIGNMENT).first.wait_for(timeout=60_000)
    page.screenshot(path=SHOTS / "hub_student_submitted.png")
    inbound = list((hub.exchange / COURSE_ID / "inbound").glob(f"{S1}+{ASSIGNMENT}+*"))
    assert len(inbound) == 1, inbound


def test_students_2_and_3_fetch_and_submit_with_nbgrader(hub):
    for student in (S2, S3):
        hub.nbgrader(student, "fetch_assignment", ASSIGNMENT)
    # Student 2 hands in the blank notebooks, on time.
    hub.nbgrader(S2, "submit", ASSIGNMENT)
    # The due date passes; then student 3 hands in the reference answer.
    due = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    hub.instructor(
        "nbgrader", "db", "assignment", "add", ASSIGNMENT, f"--duedate={due}"
    )
    time.sleep(1.5)
    target = Path(pwd.getpwnam(S3).pw_dir) / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(target, as_version=4)
    substitute_cells(nb, reference_sources(f"{NOTEBOOK}.ipynb"))
    _write_as(S3, target, nbformat.writes(nb))
    hub.nbgrader(S3, "submit", ASSIGNMENT)
    for student in (S2, S3):
        assert list((hub.exchange / COURSE_ID / "inbound").glob(f"{student}+*"))


def _write_as(user: str, path: Path, text: str) -> None:
    """Write ``path`` as ``user`` (their own file, in their own folder)."""
    subprocess.run(
        ["runuser", "-u", user, "--", "tee", str(path)],
        input=text,
        text=True,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def test_instructor_collects_autogrades_grades_and_returns_feedback(hub):
    hub.instructor("nbgrader", "collect", ASSIGNMENT, "--log-level=WARN")
    for student in (S1, S2, S3):
        submitted = hub.course / "submitted" / student / ASSIGNMENT
        assert (submitted / f"{NOTEBOOK}.ipynb").exists(), student
    # The course's grader: nbgrader autograde in the sandbox, in parallel on Dask.
    start = time.monotonic()
    result = hub.instructor("python", "-m", "autograder.driver", "--workers", "2")
    print(result.stdout, f"driver: {time.monotonic() - start:.0f} s")
    assert "summary: 3 graded, 0 failed" in result.stdout, result.stdout
    # nbgrader's generate/release_feedback read these from autograded/.
    for student in (S1, S2, S3):
        for name in ("timestamp.txt", "submission_secret.txt"):
            made = hub.course / "autograded" / student / ASSIGNMENT / name
            assert made.exists(), (
                f"autograder.driver must copy {name} into autograded/ "
                "(nbgrader release_feedback reads it)"
            )
    # The written answers, graded through nbgrader's API (model answers: full
    # marks; student 2's unanswered cell is 0 already).
    result = hub.instructor("python", "-m", "autograder.pipeline", "grade-written-demo")
    assert "2 written answer(s) graded" in result.stdout, result.stdout
    hub.instructor(
        "nbgrader",
        "generate_feedback",
        ASSIGNMENT,
        "--force",
        "--log-level=WARN",
        f"--CourseDirectory.notebook_id={NOTEBOOK}",
    )
    hub.instructor("nbgrader", "release_feedback", ASSIGNMENT, "--log-level=WARN")
    hub.instructor("nbgrader", "export", "--to", "grades.csv", "--log-level=WARN")
    if (hub.course / "autograder" / "export.py").exists():
        hub.instructor(
            "nbgrader",
            "export",
            "--exporter=autograder.export.LMSExport",
            "--LMSExport.lms=canvas",
            "--to",
            "grades-canvas.csv",
            "--log-level=WARN",
        )


def test_staff_reach_the_course_and_formgrader(hub):
    # The grader (TA) shares the course directory and its gradebook.
    grader = ROSTER["graders"][0]
    home = Path(pwd.getpwnam(grader).pw_dir)
    result = hub.run_as(
        grader,
        "nbgrader",
        "db",
        "student",
        "list",
        cwd=home / "debugging-nn",
        staff=True,
    )
    for student in (S1, S2, S3):
        assert student in result.stdout, result.stdout
    # The instructor's server has the formgrader, with the course's assignment.
    hub.start_server(INSTRUCTOR)
    response = hub.get(INSTRUCTOR, f"/user/{INSTRUCTOR}/formgrader/api/assignments")
    assert response.ok, response.text
    assert ASSIGNMENT in [a["name"] for a in response.json()], response.text


def test_a_student_reads_no_other_work_no_sources_no_gradebook(hub):
    course = hub.course
    inbound = hub.exchange / COURSE_ID / "inbound"
    s1_home = Path(pwd.getpwnam(S1).pw_dir)
    instructor_course = Path(pwd.getpwnam(INSTRUCTOR).pw_dir) / "debugging-nn"
    files = {
        "the course's source notebook": course / "source" / ASSIGNMENT,
        "the gradebook": course / "gradebook.db",
        "the grades export": course / "grades.csv",
        "student 1's collected submission": course / "submitted" / S1 / ASSIGNMENT,
        "student 1's feedback in the course": course / "feedback" / S1 / ASSIGNMENT,
        "the instructor's link to the course": instructor_course / "gradebook.db",
        "student 1's own copy": s1_home / ASSIGNMENT / f"{NOTEBOOK}.ipynb",
    }
    for what, path in files.items():
        assert path.exists(), path
        cmd = "ls" if path.is_dir() else "cat"
        result = hub.run_as(S2, cmd, str(path), check=False)
        assert result.returncode != 0, f"student 2 read {what}: {path}"
        assert "Permission denied" in result.stderr, result.stderr
    # The exchange: students may drop submissions in inbound but not list it, and
    # a submission's folder name ends in 72 random bits, so it cannot be guessed.
    result = hub.run_as(S2, "ls", str(inbound), check=False)
    assert result.returncode != 0 and "Permission denied" in result.stderr
    (s1_submission,) = inbound.glob(f"{S1}+{ASSIGNMENT}+*")
    without_random = s1_submission.name.rsplit("+", 1)[0]
    assert not (inbound / without_random).exists()
    assert len(s1_submission.name.rsplit("+", 1)[1]) >= 12

    # Through the hub: another user's server is out of reach ...
    hub.start_server(S2)
    for path in (f"/user/{S1}/api/contents", f"/user/{INSTRUCTOR}/formgrader"):
        response = hub.get(S2, path, allow_redirects=False)
        assert response.status_code in (403, 404), (path, response.status_code)
    # ... the student's own has no formgrader ...
    assert hub.get(S2, f"/user/{S2}/formgrader").status_code == 404
    # ... and runs as the student: a link to the gradebook does not open.
    hub.run_as(S2, "ln", "-s", str(course / "gradebook.db"), "gradebook.db")
    hub.run_as(S2, "ln", "-s", str(course / "source"), "source")
    for path in (
        "api/contents/gradebook.db",
        "files/gradebook.db",
        "api/contents/source",
    ):
        response = hub.get(S2, f"/user/{S2}/{path}")
        assert response.status_code >= 400, (path, response.status_code)
        assert "SQLite" not in response.text and NOTEBOOK not in response.text


def test_students_fetch_feedback_matching_gradebook_and_csv(hub, student_page):
    page = student_page
    _open_assignment_list(page)
    page.locator("#refresh_assignments_list").click()
    submitted = page.locator("#submitted_assignments_list")
    submitted.get_by_role("button", name="Fetch Feedback").first.click()
    s1_feedback = Path(pwd.getpwnam(S1).pw_dir) / ASSIGNMENT / "feedback"
    deadline = time.monotonic() + 60
    while not list(s1_feedback.glob(f"*/{NOTEBOOK}.html")):
        assert time.monotonic() < deadline, "student 1's feedback did not arrive"
        time.sleep(0.5)
    page.screenshot(path=SHOTS / "hub_student_feedback.png")
    for student in (S2, S3):
        hub.nbgrader(student, "fetch_feedback", ASSIGNMENT)

    from nbgrader.api import Gradebook

    with open(hub.course / "grades.csv") as fh:
        exported = {row["student_id"]: row for row in csv.DictReader(fh)}
    with open(hub.course / "grades-canvas.csv") as fh:
        rows = list(csv.DictReader(fh))
    lms = {row["SIS Login ID"]: row for row in rows[1:]}  # after Points Possible
    seen = {}
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gb:
        for student in (S1, S2, S3):
            home = Path(pwd.getpwnam(student).pw_dir)
            (html,) = (home / ASSIGNMENT / "feedback").glob(f"*/{NOTEBOOK}.html")
            score, most, late = _feedback_score(html.read_text())
            nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
            sub = gb.find_submission(ASSIGNMENT, student)
            penalty = sub.late_submission_penalty or 0.0
            # The feedback's score is after the late penalty (nbgrader's own).
            assert (score, most) == (
                round(nb.score - penalty, 2),
                round(nb.max_score, 2),
            )
            assert late == pytest.approx(round(penalty, 2))
            row = exported[student]
            assert float(row["raw_score"]) == pytest.approx(sub.score)
            assert float(row["late_submission_penalty"] or 0) == pytest.approx(penalty)
            assert float(row["score"]) == pytest.approx(sub.score - penalty)
            assert float(lms[student][ASSIGNMENT]) == pytest.approx(
                round(sub.score - penalty, 2)
            )
            seen[student] = (nb.score, nb.max_score, nb.max_code_score, penalty)
    print(json.dumps(seen))
    # Student 1 (reference, on time): full marks; student 2 (blank): 0;
    # student 3 (reference, late): full marks less 10 % of the autograded score.
    full = seen[S1][1]
    assert seen[S1][0] == pytest.approx(full) and seen[S1][3] == 0
    assert seen[S2][0] == 0 and seen[S2][3] == 0
    assert seen[S3][0] == pytest.approx(full)
    assert seen[S3][3] == pytest.approx(0.1 * seen[S3][2])
