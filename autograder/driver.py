"""Grade a whole class: nbgrader autograde, sandboxed, in parallel on Dask.

    python -m autograder.driver [--scheduler ADDRESS] [--workers N]
                                [--db URL] [--student ID ...] [--force]

Each (student, exercise notebook) is one Dask task that runs ``nbgrader autograde``
in a subprocess, with the notebook executed by the sandboxed kernel
(``autograder.sandbox``). Without ``--scheduler`` a ``LocalCluster`` with one
worker per core is started; with it, the same tasks go to that cluster. Tasks
lost with a dying worker are retried by Dask; what still fails is recorded.

Every (student, notebook) ends in the ledger ``.grading/ledger.json`` as
``graded`` (with its score), or ``failed``/``invalid``/``missing`` with a readable
reason and a grade row of 0 in the gradebook. Re-running grades only what is not
``graded`` yet for the same submitted content and still in the gradebook
(``--force`` re-grades everything). The gradebook is nbgrader's:
SQLite by default, PostgreSQL (or any SQLAlchemy URL) with ``--db``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import nbformat

from autograder import config, sandbox
from autograder.checks import (
    InvalidNotebook,
    read_submission,
    repair_metadata,
    tampering,
)

ROOT = Path(__file__).resolve().parents[1]
GRADING = ".grading"  # scratch space under the course root (git-ignored)


@dataclass
class Settings:
    """What a grading task needs; plain data, so it travels to Dask workers.

    Values left out come from the course's ``CourseGrading`` configuration (the
    ``nbgrader_config.py`` in ``root``); the ones given override it, for nbgrader
    too (``nbgrader_cmd`` passes them on as ``--CourseGrading.*``).
    """

    root: str
    db_url: str
    assignment: str | None = None
    exercises: list[str] | None = None
    cell_timeout: int | None = None
    notebook_timeout: int | None = None
    memory_mb: int | None = None
    isolate: bool = True

    def __post_init__(self):
        grading = config.load(self.root)
        if self.assignment is None:
            self.assignment = grading.assignment_id
        if self.exercises is None:
            self.exercises = sorted(grading.exercises)
        for name in ("cell_timeout", "notebook_timeout", "memory_mb"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(grading, name))


@dataclass
class Outcome:
    """The record of one (student, notebook)."""

    student: str
    notebook: str
    status: str  # graded | failed | invalid | missing
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    flags: list[str] = field(default_factory=list)
    digest: str = ""  # SHA-256 of the submitted notebook graded
    skipped: bool = False  # already graded for this content: not run again

    @classmethod
    def from_record(cls, record: dict) -> "Outcome":
        """An outcome read back from the ledger (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})


def default_db_url(root: Path) -> str:
    return os.environ.get("NBGRADER_DB_URL") or f"sqlite:///{root / 'gradebook.db'}"


def nbgrader_cmd(settings: Settings, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "autograder.nbgrader_cli",  # nbgrader's CLI, 1.7 s faster to start
        *args,
        f"--db={settings.db_url}",
        # The driver's settings win over the course's config file.
        f"--CourseGrading.assignment_id={settings.assignment}",
        f"--CourseGrading.cell_timeout={settings.cell_timeout}",
        f"--CourseGrading.memory_mb={settings.memory_mb}",
        "--log-level=WARN",
    ]


def use_venv_bin() -> None:
    """Put this interpreter's ``bin`` first on PATH (nbgrader runs ``alembic``)."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _env(settings: Settings, runtime: Path | None = None) -> dict:
    use_venv_bin()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    # nbgrader imports autograder.* (output limits, feedback) from this repository.
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(ROOT), settings.root]))
    env["SANDBOX_ISOLATE"] = "1" if settings.isolate else "0"
    if runtime is not None:
        env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    return env


def _reason_from_log(log: str) -> str:
    """A one-line reason from nbgrader's log of a failed autograde."""
    for needle, reason in (
        ("DeadKernelError", "the kernel died (the code exited or killed Python)"),
        ("Kernel died", "the kernel died (the code exited or killed Python)"),
        ("CellTimeoutError", "a cell ran past the time limit"),
        ("MemoryError", "the code ran out of memory"),
        ("UnresponsiveKernelError", "the kernel stopped responding"),
        ("did not contain", "a grade cell is missing or its metadata was changed"),
        ("Notebook JSON is invalid", "the notebook's structure is invalid"),
    ):
        if needle in log:
            return reason
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    exceptions = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception): ", ln)]
    if exceptions:
        return exceptions[-1][:300]
    errors = [ln for ln in lines if "ERROR" in ln and "see the the above" not in ln]
    return (errors or lines or ["nbgrader failed without a message"])[-1][:300]


#: Files nbgrader's exchange puts beside a submission, kept through grading.
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


def copy_small_file(src: Path, dest: Path, limit: int = 4096) -> bool:
    """Copy ``src`` if it is a small regular file, never through a link.

    A student controls what lies in their submission folder: a link there would
    make the grader read (and later hand back) a file the student cannot read.
    """
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False  # missing, or a link
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return False
        data = fh.read(limit + 1)
    if len(data) > limit:
        return False
    dest.write_bytes(data)
    return True


#: Failures graded once more before they cost points: a kernel that died or
#: stopped answering may have met a passing problem of the machine; a submission
#: that kills its kernel itself fails the second time too.
RETRY_REASONS = ("the kernel died", "the kernel stopped responding")


def grade_notebook(student: str, notebook: str, settings: Settings) -> Outcome:
    """Dask task: autograde one notebook of one student; return its Outcome.

    The notebook is checked first; a valid one is staged alone into a private
    nbgrader ``submitted`` folder and autograded into a private ``autograded``
    folder, then moved into ``autograded/<student>/debugging_nn/``. A dead or
    unresponsive kernel is given a second run (``RETRY_REASONS``).
    """
    outcome = _grade_once(student, notebook, settings)
    if outcome.status == "failed" and outcome.reason.startswith(RETRY_REASONS):
        first = outcome.reason
        outcome = _grade_once(student, notebook, settings)
        outcome.flags = [*outcome.flags, f"graded twice: the first run said {first!r}"]
    return outcome


def _grade_once(student: str, notebook: str, settings: Settings) -> Outcome:
    root = Path(settings.root)
    start = time.perf_counter()
    assignment = settings.assignment
    submitted = root / "submitted" / student / assignment / f"{notebook}.ipynb"
    try:
        nb = read_submission(submitted)
    except InvalidNotebook as err:
        status = "missing" if not submitted.exists() else "invalid"
        return Outcome(student, notebook, status, str(err))
    flags = tampering(nb) + repair_metadata(nb)

    work = Path(
        tempfile.mkdtemp(
            prefix=f"grade-{student}-{notebook}-", dir=root / GRADING / "work"
        )
    )
    try:
        stage = work / "submitted" / student / assignment
        stage.mkdir(parents=True)
        nbformat.write(nb, stage / submitted.name)
        # nbgrader zeroes the grades of every assignment notebook missing from the
        # submission folder: stand-ins keep this student's other grades intact
        # (only `notebook_id` is executed).
        for other in (root / "source" / assignment).glob("*.ipynb"):
            if other.name != submitted.name:
                (stage / other.name).touch()
        # nbgrader's exchange files travel with the notebook: the timestamp (late
        # penalties) and the secret release_feedback needs.
        for name in EXCHANGE_FILES:
            copy_small_file(submitted.with_name(name), stage / name)
        runtime = work / "runtime"
        runtime.mkdir()
        cmd = nbgrader_cmd(
            settings,
            "autograde",
            assignment,
            f"--student={student}",
            "--force",
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.submitted_directory={stage.parents[1]}",
            f"--CourseDirectory.autograded_directory={work / 'autograded'}",
            f"--CourseDirectory.notebook_id={notebook}",
            "--Execute.execute_retries=0",
        )
        env = _env(settings, runtime)
        try:
            proc = subprocess.run(
                cmd,
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=settings.notebook_timeout,
            )
            log, failed = proc.stdout + proc.stderr, proc.returncode != 0
        except subprocess.TimeoutExpired as err:
            log = f"{err.stdout or ''}{err.stderr or ''}"
            failed = True
            log += "\nCellTimeoutError: notebook time limit"
        produced = work / "autograded" / student / assignment / submitted.name
        if failed or not produced.exists():
            reason = _reason_from_log(log)
            return Outcome(
                student,
                notebook,
                "failed",
                reason,
                seconds=time.perf_counter() - start,
                flags=flags,
            )
        dest = root / "autograded" / student / assignment
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(produced, dest / produced.name)
        for name in EXCHANGE_FILES:
            copy_small_file(produced.with_name(name), dest / name)
        score, max_score = notebook_score(settings, student, notebook)
        return Outcome(
            student,
            notebook,
            "graded",
            "",
            score,
            max_score,
            time.perf_counter() - start,
            flags,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def notebook_score(settings: Settings, student: str, notebook: str):
    """(code score, max code score) of one notebook in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(settings.db_url) as gb:
        nb = gb.find_submission_notebook(notebook, settings.assignment, student)
        return float(nb.code_score), float(nb.max_code_score)


def ensure_gradebook(settings: Settings, students: list[str]) -> None:
    """The assignment (with its cells, for restoring) and every student's
    submission exist in the gradebook before tasks run concurrently."""
    from nbgrader.api import Gradebook

    root = Path(settings.root)
    assignment = settings.assignment
    needs_assignment = True
    with Gradebook(settings.db_url) as gb:
        try:
            needs_assignment = not gb.find_assignment(assignment).notebooks
        except Exception:
            needs_assignment = True
    if needs_assignment:
        (root / GRADING).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root / GRADING) as tmp:
            subprocess.run(
                nbgrader_cmd(
                    settings,
                    "generate_assignment",
                    assignment,
                    "--force",
                    f"--CourseDirectory.release_directory={tmp}",
                ),
                cwd=root,
                env=_env(settings),
                check=True,
                capture_output=True,
            )
    with Gradebook(settings.db_url) as gb:
        for student in students:
            gb.update_or_create_student(student)
            try:
                gb.find_submission(assignment, student)
            except Exception:
                with warnings.catch_warnings():
                    # nbgrader 0.9 builds the submission through backrefs, which
                    # SQLAlchemy 2 reports as "not in session" (the rows are
                    # added: the autograder fills them in); upstream noise.
                    warnings.filterwarnings("ignore", message=".*not in session")
                    gb.add_submission(assignment, student)


def record_zero(settings: Settings, outcome: Outcome) -> None:
    """A grade row of 0 for a notebook that could not be graded.

    The submission exists (``ensure_gradebook``); its grades for this notebook are
    set to 0 by the autograder with the reason as the comment, so exports and
    feedback show 0 rather than nothing.
    """
    from nbgrader.api import Gradebook

    with Gradebook(settings.db_url) as gb:
        nb = gb.find_submission_notebook(
            outcome.notebook, settings.assignment, outcome.student
        )
        for grade in nb.grades:
            if grade.cell.cell_type == "code":
                grade.auto_score = 0.0
                grade.needs_manual_grade = False  # as nbgrader leaves a graded cell
            elif outcome.status in ("missing", "invalid"):
                # Nothing to grade by hand in a notebook never handed in (or
                # unreadable): its written answers score 0 instead of waiting
                # in Manual Grading forever (and holding back every export).
                grade.manual_score = 0.0
                grade.needs_manual_grade = False
        for comment in nb.comments:
            comment.auto_comment = f"Not graded: {outcome.reason}"
        gb.db.commit()
        outcome.max_score = float(nb.max_code_score)


class Ledger:
    """``.grading/ledger.json``: the latest outcome per (student, notebook).

    A record counts as done only for the submission it was made from (keyed by
    the notebook's content, so a resubmission is graded again) and only while
    the gradebook still holds its grades (after ``make clean`` or with another
    ``--db``, everything is graded again).
    """

    def __init__(self, root: Path):
        self.path = root / GRADING / "ledger.json"
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}

    def key(self, student, notebook):
        return f"{student}/{notebook}"

    def done(self, student, notebook, digest: str) -> bool:
        record = self.data.get(self.key(student, notebook), {})
        return record.get("status") == "graded" and record.get("digest") == digest

    def outcome(self, student, notebook) -> Outcome:
        return Outcome.from_record(self.data[self.key(student, notebook)])

    def record(self, outcome: Outcome) -> None:
        self.data[self.key(outcome.student, outcome.notebook)] = asdict(outcome)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        tmp.replace(self.path)


def submission_digest(root: Path, assignment: str, student: str, notebook: str):
    """SHA-256 of the submitted notebook (``"missing"`` if there is none)."""
    path = root / "submitted" / student / assignment / f"{notebook}.ipynb"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def graded_in_gradebook(settings: Settings, student: str, notebook: str) -> bool:
    """Does the gradebook hold autograded scores for this notebook?"""
    from nbgrader.api import Gradebook

    try:
        with Gradebook(settings.db_url) as gb:
            nb = gb.find_submission_notebook(notebook, settings.assignment, student)
            grades = [g for g in nb.grades if g.cell.cell_type == "code"]
            return bool(grades) and all(g.auto_score is not None for g in grades)
    except Exception:
        return False


def discover(root: Path, assignment: str, only: list[str] | None = None) -> list[str]:
    """Students with a ``submitted/<student>/<assignment>/`` folder."""
    students = sorted(
        p.parent.name
        for p in (root / "submitted").glob(f"*/{assignment}")
        if p.is_dir()
    )
    return [s for s in students if not only or s in only]


def graded_notebooks(root: Path, assignment: str) -> list[str]:
    """Source notebooks (names without .ipynb) that have autograded test cells:
    what nbgrader grades; the course's ``CourseGrading.exercises`` lists them."""
    from nbgrader import utils

    names = []
    for path in sorted((root / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(utils.is_grade(c) and c.cell_type == "code" for c in nb.cells):
            names.append(path.stem)
    return names


def make_client(scheduler: str | None, workers: int | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        # A free port: None still means 8787, and "port in use" warnings when
        # another Dask runs (the scheduler serves HTTP either way).
        dashboard_address=":0",
        silence_logs=40,
    )
    return Client(cluster), cluster


def run(
    settings: Settings,
    students: list[str],
    scheduler=None,
    workers=None,
    force=False,
    log=print,
) -> list[Outcome]:
    """Grade ``students``; return every outcome (including skipped ones)."""
    from dask.distributed import as_completed

    use_venv_bin()
    root = Path(settings.root)
    (root / GRADING / "work").mkdir(parents=True, exist_ok=True)
    ensure_gradebook(settings, students)
    ledger = Ledger(root)
    todo, outcomes = [], []
    digests = {}
    for student in students:
        for notebook in settings.exercises:
            digest = submission_digest(root, settings.assignment, student, notebook)
            digests[student, notebook] = digest
            if (
                not force
                and ledger.done(student, notebook, digest)
                and graded_in_gradebook(settings, student, notebook)
            ):
                outcome = ledger.outcome(student, notebook)
                outcome.skipped = True
                outcomes.append(outcome)
            else:
                todo.append((student, notebook))
    log(
        f"grading {len(todo)} notebooks of {len(students)} students "
        f"({len(outcomes)} already graded)"
    )
    if todo:
        client, cluster = make_client(scheduler, workers)
        try:
            futures = {
                client.submit(
                    grade_notebook,
                    s,
                    n,
                    settings,
                    retries=1,
                    key=f"grade-{s}-{n}-{time.time_ns()}",
                ): (s, n)
                for s, n in todo
            }
            done = 0
            for future in as_completed(futures):
                student, notebook = futures[future]
                try:
                    outcome = future.result()
                except Exception as err:  # e.g. KilledWorker after retries
                    outcome = Outcome(
                        student,
                        notebook,
                        "failed",
                        f"grading worker failed: {type(err).__name__}: {err}",
                    )
                if outcome.status != "graded":
                    record_zero(settings, outcome)
                outcome.digest = digests[student, notebook]
                ledger.record(outcome)
                outcomes.append(outcome)
                done += 1
                log(progress_line(done, len(todo), outcome))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return outcomes


def progress_line(done: int, total: int, o: Outcome) -> str:
    head = f"[{done}/{total}] {o.student}/{o.notebook}: "
    if o.status == "graded":
        text = f"graded {o.score:g}/{o.max_score:g} in {o.seconds:.0f}s"
    else:
        text = f"{o.status} (0 points): {o.reason}"
    if o.flags:
        text += f"; flagged for review: {', '.join(o.flags)}"
    return head + text


def summary(outcomes: list[Outcome]) -> str:
    skipped = sum(1 for o in outcomes if o.skipped)
    graded = sum(1 for o in outcomes if o.status == "graded" and not o.skipped)
    failed = sum(1 for o in outcomes if o.status != "graded")
    flagged = sum(1 for o in outcomes if o.flags)
    return (
        f"summary: {graded} graded, {failed} failed, {skipped} skipped "
        f"(already graded), {flagged} flagged for review"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.driver", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--assignment", help="default: CourseGrading.assignment_id")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--workers", type=int, help="LocalCluster workers (cores)")
    parser.add_argument("--db", help="gradebook URL (default: sqlite gradebook.db)")
    parser.add_argument("--student", action="append", help="grade only these")
    parser.add_argument("--force", action="store_true", help="re-grade everything")
    parser.add_argument("--cell-timeout", type=int, help="seconds per cell")
    parser.add_argument("--notebook-timeout", type=int, help="seconds per notebook")
    parser.add_argument(
        "--no-isolation",
        action="store_true",
        help="run kernels without bubblewrap (limits still apply)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.no_isolation is False and not sandbox.bwrap_available():
        print(
            "error: bubblewrap (bwrap) is not installed: `apt-get install "
            "bubblewrap`, or pass --no-isolation to grade without the sandbox",
            file=sys.stderr,
        )
        return 2
    settings = Settings(
        root=str(root),
        db_url=args.db or default_db_url(root),
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.notebook_timeout,
        isolate=not args.no_isolation,
        assignment=args.assignment,
    )
    students = discover(root, settings.assignment, args.student)
    if not students:
        print(f"no submissions in {root / 'submitted'}/*/{settings.assignment}")
        return 0
    outcomes = run(settings, students, args.scheduler, args.workers, args.force)
    print(summary(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
