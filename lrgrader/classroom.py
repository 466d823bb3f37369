"""Grading a whole class: every submission of an assignment autograded in parallel, then the feedback, the
grades (nbgrader's grades.csv) and a report an instructor can take in at a glance.

    python -m lrgrader grade ex01                            # submitted/<student>/ex01/*.ipynb
    python -m lrgrader grade ex01 downloaded/ex01/archive    # one <student>.zip each
    python -m lrgrader report ex01                           # the report again, from the gradebook and the logs

nbgrader has no parallel autograde (its issue #174). Here worker processes each grade one student at a time
with :func:`lrgrader.sandbox.autograde_one`, all into the one gradebook. The students are added to it up
front, so each submission's own writes are a few short transactions between seconds of running notebooks.
On SQLite the writers take turns on the database lock, each connection waiting up to ``BUSY_SECONDS`` for
it (sqlite3's default is 5 s); on PostgreSQL (``--db postgresql://...``) they write concurrently, from one
machine or several sharing the course folder.
"""

import argparse
import multiprocessing
import os
import re
import shutil
import sys
import time
import traceback
import zipfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from tqdm import tqdm
from traitlets.config.loader import PyFileConfigLoader

from lrgrader import report
from lrgrader.instructor import nbgrader
from lrgrader.records import Outcome
from lrgrader.sandbox import autograde_one

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
                *, progress: bool = True) -> list[Outcome]:
    """Autograde every student's submission, ``workers`` at a time; the batch completes whatever they wrote.

    Writes logs/<assignment>/<student>.log (readable) and .json (the outcome, read by the report).
    """
    with Gradebook(url) as gradebook:  # up front, so that the workers only add their submissions' rows
        for student in students:
            gradebook.update_or_create_student(student)
    logs = course / "logs" / assignment
    logs.mkdir(parents=True, exist_ok=True)
    # Fresh interpreters ("spawn"), not forks of this process and its progress bar's thread.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = [pool.submit(_grade_logged, course, assignment, student, url, logs) for student in students]
        outcomes = [future.result() for future in tqdm(as_completed(running), total=len(running), disable=not progress,
                                                       desc=f"grading {assignment}", unit="submission")]
    return sorted(outcomes, key=lambda outcome: outcome.student)


def _grade_logged(course: Path, assignment: str, student: str, url: str, logs: Path) -> Outcome:
    """In a worker: grade one submission and log it. A failure of the grading itself (not of the student's code,
    which autograde_one never raises for) is tried once more, then a flag, not a crash."""
    started = time.perf_counter()
    problems, verdicts = [], []
    for _ in range(2):
        try:
            flags, verdicts = autograde_one(course, assignment, student, db_url=url)
            break
        except Exception as error:
            flags = [f"grading failed ({type(error).__name__}): see logs/{assignment}/{student}.log"]
            problems.append(traceback.format_exc())
    outcome = Outcome(student, tuple(flags), round(time.perf_counter() - started, 1), tuple(verdicts))
    (logs / f"{student}.json").write_text(outcome.to_json())
    scores = cell_scores(url, assignment, student)
    lines = [f"{student}, {assignment}: graded in {outcome.seconds} s, {time.strftime('%Y-%m-%d %H:%M:%S')}",
             *(f"flagged: {flag}" for flag in flags),
             *(f"{cell}: {score:g} of {points:g}" for cell, (score, points) in scores.items()), *problems]
    (logs / f"{student}.log").write_text("\n".join(lines))
    return outcome


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
        description="Autograde every submission of ASSIGNMENT in parallel (a progress bar; a log per student in "
                    "logs/ASSIGNMENT/), then write nbgrader's feedback (feedback/), export every grade "
                    "(grades.csv) and write the report.")
    grade.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment, e.g. ex01")
    grade.add_argument("submissions", metavar="SUBMISSIONS", nargs="?", type=Path,
                       help="a folder of <student>/ASSIGNMENT/*.ipynb, or of one zip file per student (such as "
                            "downloaded/ASSIGNMENT/archive/); copied into the course's submitted/ folder. "
                            "Default: the submissions already in submitted/")
    grade.add_argument("--students", nargs="+", metavar="ID",
                       help="grade only these students (e.g. this machine's share of the class)")
    grade.add_argument("--workers", type=int, default=os.cpu_count(),
                       help="submissions graded at the same time (default: the number of cores, %(default)s)")
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
        started = time.perf_counter()
        outcomes = grade_class(course, args.assignment, students, url, args.workers)
        minutes = (time.perf_counter() - started) / 60
        print(f"graded {len(outcomes)} submissions of {args.assignment} in {minutes:.1f} min with "
              f"{args.workers} workers ({len(outcomes) / minutes:.1f} per minute)")
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
