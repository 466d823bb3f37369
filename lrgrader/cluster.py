"""Grading on Dask distributed: each submission one task, on the workers of one machine or of many.

The class command (:mod:`lrgrader.classroom`) hands every submission to Dask as one task: on one machine to a
``LocalCluster`` it starts itself, across machines to a running scheduler; the code path is the same. A task
carries what it grades, as bytes (:class:`Release`, what every submission of the assignment shares, and
:class:`Submission`, the student's files), and returns what it produced (:class:`Graded`). A worker needs the
course installed (this package and the hidden suites), not the course folder: only the machine that runs the
command touches that, writing the gradebook, autograded/ and the logs from what the tasks return.

On a worker, :func:`grade` rebuilds a private course in a temporary folder (the release, the submission and a
SQLite gradebook holding this assignment only), runs :func:`lrgrader.sandbox.autograde_one` there and reads back
what nbgrader and the grader's ledger wrote. Dask reruns a task whose worker died; the command starts its own
cluster with :attr:`~lrgrader.limits.Limits.worker_deaths` as Dask's ``allowed-failures``, and a submission
whose task kills more workers than that is graded as released and flagged (:func:`graded`).
"""

import contextlib
import datetime
import hashlib
import logging
import os
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

import dask
from distributed import Client, LocalCluster, as_completed, get_worker
from distributed.scheduler import KilledWorker
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from lrgrader import suites
from lrgrader.limits import LIMITS
from lrgrader.records import Outcome
from lrgrader.sandbox import autograde_one

Files = tuple[tuple[str, bytes], ...]  # (path relative to a folder, contents)
SETTINGS = ("LRGRADER_SEED", "LRGRADER_LIMITS")  # where grading runs, they decide grades: every task carries them


class GradingStopped(RuntimeError):
    """The batch cannot go on (the scheduler went away, a worker has another course): a message for the
    instructor. Whatever was graded before is recorded; running the command again grades the rest."""


# ---------------------------------------------------------------- what a task carries and returns


@dataclass(frozen=True)
class Release:
    """What every task of one assignment shares: the released notebooks, a gradebook holding only this
    assignment (the cells' sources and checksums, which nbgrader restores), the course's nbgrader_config.py,
    the fingerprint of the course (:func:`course_fingerprint`) and the grading settings of the instructor's
    machine."""
    assignment: str
    notebooks: Files
    gradebook: bytes
    config: bytes
    course: str
    settings: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Submission:
    """One student's submitted files; ``digest`` identifies them, so that a rerun knows what it has graded.
    A file over :attr:`~lrgrader.limits.Limits.notebook_mb` travels as its size only (``oversized``): the sandbox
    refuses it by its size. ``released_because`` says why the release stands in for the files (their task killed
    its workers)."""
    student: str
    files: Files
    digest: str
    oversized: tuple[tuple[str, int], ...] = ()
    extension_seconds: float | None = None
    released_because: str | None = None


@dataclass(frozen=True)
class CellResult:
    """A cell's row of the worker's gradebook: an autograded score (or a solution cell's automatic comment)."""
    notebook: str
    cell: str
    auto_score: float | None = None
    needs_manual_grade: bool = False
    auto_comment: str | None = None


@dataclass(frozen=True)
class Graded:
    """What a task returns: the outcome (flags, verdicts), the gradebook rows nbgrader and the ledger wrote, the
    autograded folder's files, the tracebacks of grading failures, and which worker did it."""
    outcome: Outcome
    timestamp: str | None = None
    grades: tuple[CellResult, ...] = ()
    comments: tuple[CellResult, ...] = ()
    late_penalties: tuple[tuple[str, float | None], ...] = ()
    autograded: Files = ()
    problems: tuple[str, ...] = ()
    worker: str = ""


# ---------------------------------------------------------------- on the instructor's machine: the tasks


def release_of(course: Path, url: str, assignment: str) -> Release:
    """The :class:`Release` of ``assignment`` in ``course``, its gradebook rows read from the gradebook at ``url``."""
    config = course / "nbgrader_config.py"
    released = sorted((course / "exercises" / assignment).glob("*.ipynb"))
    notebooks = tuple((path.name, path.read_bytes()) for path in released)
    return Release(assignment, notebooks, _snapshot(url, assignment),
                   config.read_bytes() if config.is_file() else b"", course_fingerprint(assignment),
                   tuple((name, os.environ[name]) for name in SETTINGS if name in os.environ))


def submission_of(course: Path, gradebook: Gradebook, assignment: str, student: str) -> Submission:
    """``student``'s submission of ``assignment`` in course/submitted, with any extension the gradebook grants."""
    folder = course / "submitted" / student / assignment
    paths = [path for path in sorted(folder.glob("*")) if path.is_file() and not path.name.startswith(".")]
    oversized = tuple((path.name, path.stat().st_size) for path in paths
                      if path.stat().st_size > LIMITS.notebook_mb * 2**20)
    files = tuple((path.name, path.read_bytes()) for path in paths if path.name not in dict(oversized))
    try:
        extension = gradebook.find_submission(assignment, student).extension
    except MissingEntry:
        extension = None
    sizes = tuple((name, str(size).encode()) for name, size in oversized)
    return Submission(student, files, digest(files + sizes), oversized=oversized,
                      extension_seconds=extension.total_seconds() if extension else None)


def digest(files: Files) -> str:
    hashed = hashlib.sha256()
    for name, data in files:
        hashed.update(f"{name}\0{len(data)}\0".encode())
        hashed.update(data)
    return hashed.hexdigest()


def course_fingerprint(assignment: str) -> str:
    """A digest of what decides ``assignment``'s grades on a machine: its hidden suites, its points (in its source
    notebooks) and the packages the suites and the grader run. Every machine must grade with the same."""
    code = Path(__file__).resolve().parents[1]
    hidden, root = suites.suites_folder(), suites.course()
    paths = [*sorted((hidden / assignment).rglob("*.py")), *sorted(hidden.glob("*.py")),
             *sorted((root / "solutions" / assignment).glob("*.ipynb")),
             *sorted((code / "lrgrader").rglob("*.py")), *sorted((code / "lrcourse").rglob("*.py"))]
    return digest(tuple((path.name, path.read_bytes()) for path in paths))


def _snapshot(url: str, assignment: str) -> bytes:
    """A SQLite gradebook holding ``assignment`` as released in the gradebook at ``url``, and nothing else."""
    # nbgrader starts `alembic` by name to create a gradebook: this environment's scripts must be on PATH.
    scripts = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory(prefix="lrgrader-snapshot-") as folder, mock.patch.dict(os.environ, scripts):
        path = Path(folder) / "gradebook.db"
        with Gradebook(url) as source, Gradebook(f"sqlite:///{path}") as copy:
            released = source.find_assignment(assignment)
            copy.update_or_create_assignment(assignment, duedate=released.duedate)
            for notebook in released.notebooks:
                copy.update_or_create_notebook(notebook.name, assignment, kernelspec=notebook.kernelspec)
                names = (notebook.name, assignment)
                for cell in notebook.grade_cells:
                    copy.update_or_create_grade_cell(cell.name, *names, max_score=cell.max_score,
                                                     cell_type=cell.cell_type)
                for cell in notebook.solution_cells:
                    copy.update_or_create_solution_cell(cell.name, *names)
                for cell in notebook.task_cells:
                    copy.update_or_create_task_cell(cell.name, *names, max_score=cell.max_score,
                                                    cell_type=cell.cell_type)
                for cell in notebook.source_cells:
                    copy.update_or_create_source_cell(cell.name, *names, cell_type=cell.cell_type, locked=cell.locked,
                                                      source=cell.source, checksum=cell.checksum)
        return path.read_bytes()


@contextlib.contextmanager
def connect(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a ``LocalCluster`` of ``workers`` single-threaded worker
    processes when it is None; closed (the local cluster stopped) on leaving."""
    # What goes wrong reaches the instructor as a flag or a message of the command's, not as Dask's log.
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    if scheduler is None:
        with dask.config.set({"distributed.scheduler.allowed-failures": LIMITS.worker_deaths}), \
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                             silence_logs=logging.ERROR) as local, Client(local) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=LIMITS.scheduler_seconds)
    except (OSError, TimeoutError, ValueError) as error:
        raise GradingStopped(f"cannot reach the Dask scheduler at {scheduler} ({error}). Is `dask scheduler` "
                             "running there, and is the address right?") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=LIMITS.start_wall_seconds)
        except TimeoutError:
            raise GradingStopped(f"the Dask scheduler at {scheduler} has had no worker for "
                                 f"{LIMITS.start_wall_seconds:g} s: start `dask worker {scheduler}` on the grading "
                                 "machines") from None
        yield client


def graded(client: Client, release: Release, submissions: Iterable[Submission], *,
           progress: bool = True) -> Iterator[Graded]:
    """Grade every submission on ``client``'s workers; yield each result as it arrives (record it then: whatever
    is recorded before the batch stops is kept).

    A task whose workers died more often than the scheduler allows (:class:`KilledWorker`) is run once more with
    the release in place of the submission, and flagged; if that kills its workers too, the submission is left
    ungraded with a flag. A scheduler that goes away stops the batch with :class:`GradingStopped`.
    """
    waiting = {}
    batch = as_completed()

    def send(submission: Submission):
        future = client.submit(grade, release, submission, pure=False,
                               key=f"grade-{release.assignment}-{submission.student}-{time.time_ns()}")
        waiting[future] = submission
        batch.add(future)

    submissions = list(submissions)
    for submission in submissions:
        send(submission)
    recorded = 0
    with tqdm(total=len(submissions), disable=not progress, desc=f"grading {release.assignment}",
              unit="submission") as bar:
        for future in batch:
            submission = waiting.pop(future)
            try:
                result = future.result()
            except KilledWorker as error:
                if submission.released_because is None:
                    send(_as_released(release, submission, error))
                    continue
                result = failed(release.assignment, submission, f"its task killed {LIMITS.worker_deaths + 1} more "
                                "grading workers, even graded as released", repr(error))
            except GradingStopped:
                raise
            except Exception as error:
                if client.status != "running" or _lost(error):
                    raise GradingStopped(
                        f"lost the Dask scheduler at {client.scheduler.address} after "
                        f"{recorded} of {len(submissions)} submissions; those are recorded "
                        "in the gradebook. Run the same command again to grade the rest.") from None
                result = failed(release.assignment, submission, f"grading failed on the worker "
                                f"({type(error).__name__})", traceback.format_exc())
            bar.update()
            yield result
            recorded += 1


def _lost(error: Exception) -> bool:
    from distributed.client import FutureCancelledError
    from distributed.comm import CommClosedError

    return isinstance(error, (CommClosedError, FutureCancelledError))


def _as_released(release: Release, submission: Submission, error: KilledWorker) -> Submission:
    kept = tuple((name, data) for name, data in submission.files if name == "timestamp.txt")
    reason = (f"its task killed {LIMITS.worker_deaths + 1} grading workers ({type(error).__name__}), so the "
              "notebooks were graded as released, with no answers")
    return replace(submission, files=release.notebooks + kept, oversized=(), released_because=reason)


def failed(assignment: str, submission: Submission, why: str, problem: str) -> Graded:
    """The result of a submission that could not be graded: a flag, and what went wrong for the log."""
    return Graded(Outcome(submission.student, (_see_log(assignment, submission.student, why),),
                          submission=submission.digest, graded=False), problems=(problem,))


def _see_log(assignment: str, student: str, why: str) -> str:
    """The flag of a submission whose grading failed: why, and where the traceback is."""
    return f"{why}: see logs/{assignment}/{student}.log"


# ---------------------------------------------------------------- on a worker


def grade(release: Release, submission: Submission) -> Graded:
    """A task: grade ``submission`` in a private course folder rebuilt from the bytes the task carries.

    A failure of the grading itself (not of the student's code, which autograde_one never raises for) is tried
    once more, then a flag.
    """
    _check_worker(release)
    for name in SETTINGS:  # as on the instructor's machine, set or not
        os.environ.pop(name, None)
    os.environ.update(release.settings)
    assignment, student = release.assignment, submission.student
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lrgrader-task-") as box:
        course = Path(box)
        write_files(course / "exercises" / assignment, release.notebooks)
        submitted = course / "submitted" / student / assignment
        submitted.mkdir(parents=True)
        write_files(submitted, submission.files)
        for name, size in submission.oversized:  # as large as submitted, and taking no room (a sparse file)
            with open(submitted / name, "wb") as file:
                file.truncate(size)
        (course / "nbgrader_config.py").write_bytes(release.config)
        (course / "gradebook.db").write_bytes(release.gradebook)
        url = f"sqlite:///{course / 'gradebook.db'}"
        with Gradebook(url) as gradebook:
            gradebook.update_or_create_student(student)
            if submission.extension_seconds:
                submission_row(gradebook, assignment, student,
                               extension=datetime.timedelta(seconds=submission.extension_seconds))
        problems = []
        for _ in range(2):
            try:
                flags, verdicts = autograde_one(course, assignment, student, db_url=url)
                break
            except Exception as error:
                flags, verdicts = [_see_log(assignment, student, f"grading failed ({type(error).__name__})")], []
                problems.append(traceback.format_exc())
        done = len(problems) < 2
        if submission.released_because:
            flags.insert(0, submission.released_because)
        outcome = Outcome(student, tuple(flags), round(time.perf_counter() - started, 1), tuple(verdicts),
                          submission.digest, done)
        result = Graded(outcome, problems=tuple(problems), worker=_worker_address())
        return replace(result, **_rows(url, assignment, student),
                       autograded=_read_tree(course / "autograded" / student / assignment)) if done else result


def _worker_address() -> str:
    try:
        return get_worker().address
    except ValueError:  # called outside a worker (a test)
        return f"process {os.getpid()}"


def submission_row(gradebook: Gradebook, assignment: str, student: str, **fields):
    """nbgrader's ``update_or_create_submission``, without the warning SQLAlchemy gives about how nbgrader
    builds a new one (harmless, and it would reach the instructor's terminal)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        return gradebook.update_or_create_submission(assignment, student, **fields)


def _check_worker(release: Release):
    """Refuse to grade on a worker whose course or limits differ from the instructor's: its grades would too."""
    if course_fingerprint(release.assignment) != release.course:
        raise GradingStopped(f"a worker has another version of the course than the machine that runs the command (its "
                             f"hidden suites of {release.assignment}, their points or its packages differ): install "
                             "the same commit of the course on every worker")
    limits = dict(release.settings).get("LRGRADER_LIMITS", "")
    if os.environ.get("LRGRADER_LIMITS", "") != limits:
        raise GradingStopped("a worker has other grading limits (LRGRADER_LIMITS) than the machine that runs the "
                             f"command ({limits or 'the defaults'}): set the same where the workers start")


def write_files(folder: Path, files: Files):
    """Write ``files`` (paths relative to ``folder``) into ``folder``."""
    for name, data in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _read_tree(folder: Path) -> Files:
    return tuple((str(path.relative_to(folder)), path.read_bytes()) for path in sorted(folder.rglob("*"))
                 if path.is_file())


def _rows(url: str, assignment: str, student: str) -> dict:
    """The gradebook rows that autograding wrote for ``student``, as :class:`Graded`'s fields."""
    with Gradebook(url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        notebooks = submission.notebooks
        return {
            "timestamp": submission.timestamp.isoformat() if submission.timestamp else None,
            "grades": tuple(CellResult(notebook.name, grade.name, grade.auto_score, grade.needs_manual_grade)
                            for notebook in notebooks for grade in notebook.grades),
            "comments": tuple(CellResult(notebook.name, comment.name, auto_comment=comment.auto_comment)
                              for notebook in notebooks for comment in notebook.comments),
            "late_penalties": tuple((notebook.name, notebook.late_submission_penalty) for notebook in notebooks)}
