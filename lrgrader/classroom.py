"""Grading a whole class: every submission of an assignment autograded in parallel, then the feedback, the
grades (nbgrader's grades.csv) and a report an instructor can take in at a glance.

    python -m lrgrader grade ex01                            # submitted/<student>/ex01/*.ipynb
    python -m lrgrader grade ex01 downloaded/ex01/archive    # one <student>.zip each
    python -m lrgrader report ex01                           # the report again, from the gradebook and the logs

    python -m lrgrader grade ex01 --scheduler tcp://host:8786   # on a Dask cluster's workers

nbgrader has no parallel autograde (its issue #174). Here each submission is one task of Dask distributed
(:mod:`lrgrader.cluster`): on a local cluster of worker processes by default, or on the workers of a running
scheduler (``--scheduler``, or ``DASK_SCHEDULER_ADDRESS``), which need the course installed but share no folder
with this machine. Each worker grades in a gradebook of its own and returns what it wrote; this process alone
writes the course's gradebook, a short transaction per submission as each result arrives, so a batch that stops
keeps what it graded, and running the command again grades only the submissions that have no grade yet (or
that changed since). On SQLite a write waits up to ``BUSY_SECONDS`` for another program's (sqlite3's default is
5 s); a PostgreSQL gradebook (``--db postgresql://...``) can be shared by several instructors' machines.
"""

import argparse
import os
import re
import shutil
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import dask
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from traitlets.config.loader import PyFileConfigLoader

from lrgrader import cluster, report
from lrgrader.instructor import nbgrader
from lrgrader.records import Outcome, RecordError

BUSY_SECONDS = 300
ZIP_PATTERN = r"(?P<student_id>.+)\.zip"


class UsageError(Exception):
    """Bad input from the instructor: a message to show instead of a traceback."""


# ---------------------------------------------------------------- finding the gradebook and the submissions


def gradebook_url(course: Path, db: str | None = None) -> str:
    """The gradebook's URL: ``db``, else the course's nbgrader_config.py's, else nbgrader's course/gradebook.db.

    A SQLite URL gets a busy timeout, so that a worker waits for another's write instead of failing.
    """
    if db is None:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config() \
            if (course / "nbgrader_config.py").is_file() else None
        coursedir = CourseDirectory(config=config) if config else CourseDirectory()
        coursedir.root = str(course.resolve())
        db = coursedir.db_url
    url = make_url(db)
    if url.get_backend_name() == "sqlite" and "timeout" not in url.query:
        url = url.update_query_dict({"timeout": str(BUSY_SECONDS)})
    return url.render_as_string(hide_password=False)


def collect(course: Path, assignment: str, source: Path | None, zip_pattern: str = ZIP_PATTERN) -> list[str]:
    """Put the submissions of ``assignment`` found in ``source`` into course/submitted; return every student
    who has one there.

    ``source`` holds either one folder per student (``<student>/<assignment>/*.ipynb``, nbgrader's submitted/
    layout) or one zip file per student, named so that ``zip_pattern``'s group ``student_id`` picks the
    student's id out of the file name; the notebooks in a zip (at any depth) are taken by their file name.
    A student's earlier submission is replaced. Without ``source``, course/submitted is used as it is.
    """
    submitted = course / "submitted"
    if source is not None:
        if not source.is_dir():
            raise UsageError(f"{source} is not a folder of submissions")
        archives = sorted(source.glob("*.zip"))
        if archives:
            for archive in archives:
                _unzip(archive, _replaced(submitted / _student_of(archive, zip_pattern) / assignment))
        elif source.resolve() != submitted.resolve():
            for folder in sorted(source.glob(f"*/{assignment}")):
                shutil.copytree(folder, _replaced(submitted / folder.parent.name / assignment))
    students = sorted(folder.parent.name for folder in submitted.glob(f"*/{assignment}") if folder.is_dir())
    if not students:
        raise UsageError(f"no submissions of {assignment} in {source or submitted}: expected "
                         f"<student>/{assignment}/*.ipynb folders or <student>.zip files")
    return students


def _replaced(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder


def _student_of(archive: Path, zip_pattern: str) -> str:
    match = re.fullmatch(zip_pattern, archive.name)
    if not match or not match.groupdict().get("student_id"):
        raise UsageError(f"cannot tell whose submission {archive.name} is: its name does not match the pattern "
                         f"{zip_pattern!r} (set --zip-pattern, a regular expression with a group student_id)")
    return match["student_id"]


def _unzip(archive: Path, folder: Path):
    """Extract the notebooks of ``archive`` into ``folder``, flat, by file name (no path from the zip is used)."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            folder.mkdir()
            for member in zipped.infolist():
                name = Path(member.filename).name
                if name.endswith(".ipynb") and not name.startswith(".") and "__MACOSX" not in member.filename:
                    with zipped.open(member) as packed, open(folder / name, "wb") as unpacked:
                        shutil.copyfileobj(packed, unpacked)
    except zipfile.BadZipFile as error:
        raise UsageError(f"{archive} is not a readable zip file ({error}): repair or remove it") from None


def check_released(url: str, assignment: str):
    """Fail unless the gradebook knows ``assignment``'s notebooks, which nbgrader needs to grade it.

    Never creates a gradebook: a mistyped course folder or URL must not leave an empty one behind.
    """
    location = make_url(url)
    engine = create_engine(url)
    try:
        exists = Path(location.database or "").is_file() if location.get_backend_name() == "sqlite" else \
            bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    known = []
    if exists:
        with Gradebook(url) as gradebook:
            known = sorted(a.name for a in gradebook.assignments if a.notebooks)
    if assignment not in known:
        # A course id, which the SQLite gradebook does without, links each assignment to its course in PostgreSQL.
        course_id = "" if location.get_backend_name() == "sqlite" else " --CourseDirectory.course_id=<your course>"
        raise UsageError(
            f"the gradebook {location.render_as_string()} has no assignment {assignment!r} "
            f"(it has: {', '.join(known) or 'none'}). If it is new, release it first: "
            f"nbgrader generate_assignment {assignment} --CourseDirectory.db_url=<the gradebook's URL>{course_id}")


# ---------------------------------------------------------------- grading


def grade_class(course: Path, assignment: str, students: Sequence[str], url: str, workers: int,
                *, scheduler: str | None = None, progress: bool = True) -> list[Outcome]:
    """Autograde every student's submission on Dask: the scheduler at ``scheduler``, or a local cluster of
    ``workers`` processes; each result is recorded here as it arrives (:func:`record`).

    Writes logs/<assignment>/<student>.log (readable) and .json (the outcome, read by the report and by a rerun).
    """
    release = cluster.release_of(course, url, assignment)
    with Gradebook(url) as gradebook:
        submissions = [cluster.submission_of(course, gradebook, assignment, student) for student in students]
    (course / "logs" / assignment).mkdir(parents=True, exist_ok=True)
    with cluster.connect(scheduler, workers) as client:
        if progress:
            info = client.scheduler_info()
            dashboard = f"dashboard at {client.dashboard_link}" if "dashboard" in info["services"] else "no dashboard"
            print(f"Dask: {len(info['workers'])} workers at {info['address']}; {dashboard}", flush=True)
        outcomes = [record(course, url, assignment, result)
                    for result in cluster.graded(client, release, submissions, progress=progress)]
    return sorted(outcomes, key=lambda outcome: outcome.student)


def record(course: Path, url: str, assignment: str, result: cluster.Graded) -> Outcome:
    """Write what grading one submission produced into the course: its autograded folder, its rows of the
    gradebook (manual grades kept), then its log and, last, its outcome: a rerun grades again a submission whose
    outcome is missing, so one that was cut off halfway is never taken for graded."""
    outcome = result.outcome
    student = outcome.student
    if outcome.graded:
        cluster.write_files(_replaced(course / "autograded" / student / assignment), result.autograded)
        with Gradebook(url) as gradebook:
            gradebook.update_or_create_student(student)
            submission = cluster.submission_row(
                gradebook, assignment, student, **({"timestamp": result.timestamp} if result.timestamp else {}))
            grades = {(notebook.name, grade.name): grade for notebook in submission.notebooks
                      for grade in notebook.grades}
            comments = {(notebook.name, comment.name): comment for notebook in submission.notebooks
                        for comment in notebook.comments}
            for cell in result.grades:
                grade = grades[cell.notebook, cell.cell]
                grade.auto_score, grade.needs_manual_grade = cell.auto_score, cell.needs_manual_grade
            for cell in result.comments:
                comments[cell.notebook, cell.cell].auto_comment = cell.auto_comment
            penalties = dict(result.late_penalties)
            for notebook in submission.notebooks:
                notebook.late_submission_penalty = penalties.get(notebook.name)
            gradebook.db.commit()
    logs = course / "logs" / assignment
    scores = cell_scores(url, assignment, student) if outcome.graded else {}
    lines = [f"{student}, {assignment}: graded in {outcome.seconds} s on {result.worker or 'no worker'}, "
             f"{time.strftime('%Y-%m-%d %H:%M:%S')}", *(f"flagged: {flag}" for flag in outcome.flags),
             *(f"{cell}: {score:g} of {points:g}" for cell, (score, points) in scores.items()), *result.problems]
    (logs / f"{student}.log").write_text("\n".join(lines))
    (logs / f"{student}.json").write_text(outcome.to_json())
    return outcome


def already_graded(course: Path, url: str, assignment: str, students: Sequence[str]) -> list[str]:
    """The students whose submission, as it is now in course/submitted, has been graded into the gradebook."""
    done = []
    with Gradebook(url) as gradebook:
        for student in students:
            log = course / "logs" / assignment / f"{student}.json"
            try:
                outcome = Outcome.from_json(log.read_text())
                gradebook.find_submission(assignment, student)
            except (OSError, RecordError, MissingEntry):
                continue
            if outcome.graded and outcome.submission == cluster.submission_of(
                    course, gradebook, assignment, student).digest:
                done.append(student)
    return done


def cell_scores(url: str, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    """(score, points) of every graded cell of a student's submission; empty if there is none."""
    with Gradebook(url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return {}
        return {grade.name: (grade.score, grade.max_score) for notebook in submission.notebooks
                for grade in notebook.grades}


def scores(url: str, assignment: str, student: str) -> dict[str, float]:
    """The score of every graded cell of a student's submission; empty if there is none."""
    return {cell: score for cell, (score, _) in cell_scores(url, assignment, student).items()}


def feedback_and_grades(course: Path, assignment: str, students: Sequence[str], url: str):
    """nbgrader's feedback for ``students`` (feedback/<student>/<assignment>/) and every grade in grades.csv."""
    others = sorted({folder.parent.name for folder in (course / "autograded").glob(f"*/{assignment}")} - set(students))
    nbgrader(course, "generate_feedback", assignment, "--force", f"--CourseDirectory.db_url={url}",
             f"--CourseDirectory.student_id_exclude={','.join(others)}")
    nbgrader(course, "export", f"--CourseDirectory.db_url={url}")


# ---------------------------------------------------------------- the command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lrgrader", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser(
        "grade", help="autograde every submission of an assignment, then write feedback, grades.csv and the report",
        description="Autograde every submission of ASSIGNMENT in parallel on Dask (a progress bar; a log per "
                    "student in logs/ASSIGNMENT/), then write nbgrader's feedback (feedback/), export every grade "
                    "(grades.csv) and write the report. Submissions graded before, unchanged since, are not "
                    "graded again unless --regrade is given.")
    grade.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment, e.g. ex01")
    grade.add_argument("submissions", metavar="SUBMISSIONS", nargs="?", type=Path,
                       help="a folder of <student>/ASSIGNMENT/*.ipynb, or of one zip file per student (such as "
                            "downloaded/ASSIGNMENT/archive/); copied into the course's submitted/ folder. "
                            "Default: the submissions already in submitted/")
    grade.add_argument("--students", nargs="+", metavar="ID",
                       help="grade only these students")
    grade.add_argument("--workers", type=int, default=os.cpu_count(),
                       help="worker processes of the local cluster, each grading one submission at a time (default: "
                            "the number of cores, %(default)s); not used with --scheduler")
    grade.add_argument("--scheduler", metavar="ADDRESS", default=dask.config.get("scheduler-address", None),
                       help="grade on the workers of this running Dask scheduler, e.g. tcp://host:8786 (default: "
                            "DASK_SCHEDULER_ADDRESS if set, else a local cluster)")
    grade.add_argument("--regrade", action="store_true",
                       help="grade again the submissions that already have grades")
    grade.add_argument("--zip-pattern", default=ZIP_PATTERN,
                       help="regular expression matching a zip file's name; its group student_id is the student's "
                            "id (default: the name without .zip)")
    report = commands.add_parser("report", help="write the report again from the gradebook and the logs",
                                 description="Write the report of ASSIGNMENT again (e.g. once several machines "
                                             "have each graded their share) and print its summary.")
    report.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment, e.g. ex01")
    for command in (grade, report):
        command.add_argument("--course", type=Path, default=Path("."),
                             help="the course folder, holding nbgrader_config.py (default: the current folder)")
        command.add_argument("--db", metavar="URL",
                             help="the gradebook's SQLAlchemy URL, e.g. postgresql://user:password@host/course "
                                  "(default: the course's, gradebook.db unless nbgrader_config.py says otherwise)")
        command.add_argument("--report", type=Path, metavar="PATH",
                             help="where to write the report (default: COURSE/reports/ASSIGNMENT.html)")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except UsageError as error:
        parser.error(str(error))


def _run(args) -> int:
    course = args.course.resolve()
    if not course.is_dir():
        raise UsageError(f"no course folder {args.course}")
    url = gradebook_url(course, args.db)
    check_released(url, args.assignment)
    if args.command == "grade":
        if args.workers < 1:
            raise UsageError(f"--workers must be 1 or more, not {args.workers}")
        students = collect(course, args.assignment, args.submissions, args.zip_pattern)
        if args.students:
            unknown = sorted(set(args.students) - set(students))
            if unknown:
                raise UsageError(f"no submission of {args.assignment} from {', '.join(unknown)}")
            students = sorted(args.students)
        graded = [] if args.regrade else already_graded(course, url, args.assignment, students)
        if graded:
            print(f"{len(graded)} of {len(students)} submissions are graded already (--regrade grades them again)")
        missing = [student for student in students if student not in graded]
        if missing:
            started = time.perf_counter()
            try:
                outcomes = grade_class(course, args.assignment, missing, url, args.workers, scheduler=args.scheduler)
            except cluster.GradingStopped as error:
                print(f"python -m lrgrader: error: {error}", file=sys.stderr)
                return 1
            minutes = (time.perf_counter() - started) / 60
            print(f"graded {len(outcomes)} submissions of {args.assignment} in {minutes:.1f} min "
                  f"({len(outcomes) / minutes:.1f} per minute)")
        feedback_and_grades(course, args.assignment, students, url)
    path = args.report or course / "reports" / f"{args.assignment}.html"
    print(report.write_report(course, url, args.assignment, path))
    if args.command == "grade":
        print(f"feedback in {course / 'feedback'}, grades in {course / 'grades.csv'}, "
              f"logs in {course / 'logs' / args.assignment}")
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
