"""The same grade at any load: the sample submissions of every assignment, graded through the class command (two
workers) while the CPU is oversubscribed, get exactly the grades of tests/submissions/*/expected_scores.json,
which tests/test_exercises.py checks on a run with nothing else busy.

The busy processes are :data:`BUSY_PER_CORE` spinning interpreters per core, beside the workers, as when an
instructor grades on a shared machine; they start once every course folder is ready, so that they load the
grading and not the setting up. Half the assignments are graded into a SQLite gradebook and half into a
PostgreSQL one (where LRCOURSE_TEST_POSTGRES_URL names a server; .ci/run starts one), so that both gradebooks
are tried under load within CI's time; ``benchmarks/grading_under_load.py`` grades every assignment into both,
idle and loaded, and prints the times.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lrgrader.classroom import grade_class, gradebook_url, scores
from lrgrader.instructor import assignments, course_with, nbgrader, submit
from test_exercises import answers_of, expected_scores

BUSY_PER_CORE = 4
POSTGRES = os.environ.get("LRCOURSE_TEST_POSTGRES_URL")


@contextlib.contextmanager
def busy_cpus(per_core: int = BUSY_PER_CORE):
    """``per_core`` processes per core that do nothing but compute, for as long as the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(per_core * len(os.sched_getaffinity(0)))]
    try:
        yield len(spinners)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@contextlib.contextmanager
def postgres_database(server_url: str):
    """A fresh, empty database on the PostgreSQL server at ``server_url``, dropped afterwards; its URL."""
    name = f"lrcourse_test_{uuid.uuid4().hex[:12]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        server.dispose()


def prepare(assignment: str, folder: Path, url: str | None = None) -> Path:
    """A course folder in ``folder`` with ``assignment`` released and every sample submitted, its gradebook at
    ``url`` (the course's SQLite one if None) ready for grading."""
    course = course_with(assignment, folder)
    for student in expected_scores(assignment):
        submit(course, assignment, student, answers_of(assignment, student))
    if url is not None:  # PostgreSQL links each assignment to a course: nbgrader needs a course id to release it there
        nbgrader(course, "generate_assignment", assignment, "--force", f"--CourseDirectory.db_url={url}",
                 "--CourseDirectory.course_id=lrcourse")
    return course


def grade_prepared(course: Path, assignment: str, url: str | None = None) -> tuple[dict, float]:
    """Grade every sample of a course made by :func:`prepare` with the class command (two workers): (the
    grades, seconds taken). The class command's logs stay in ``course``/logs/``assignment``/."""
    url = url or gradebook_url(course)
    students = list(expected_scores(assignment))
    started = time.perf_counter()
    grade_class(course, assignment, students, url, workers=2, progress=False)
    seconds = time.perf_counter() - started
    return {student: scores(url, assignment, student) for student in students}, seconds


def grade_samples(assignment: str, folder: Path, url: str | None = None) -> tuple[dict, dict, float]:
    """:func:`prepare` and :func:`grade_prepared`: (the grades, the samples' expected grades, seconds taken)."""
    grades, seconds = grade_prepared(prepare(assignment, folder, url), assignment, url)
    return grades, expected_scores(assignment), seconds


def assert_same(grades: dict, expected: dict, assignment: str, course: Path):
    """Every sample got its expected grade; if not, the message holds the class command's log of that sample."""
    assert grades.keys() == expected.keys(), assignment
    for student in expected:
        log = course / "logs" / assignment / f"{student}.log"
        assert grades[student] == pytest.approx(expected[student], abs=1e-9), \
            (assignment, student, log.read_text() if log.is_file() else "no log")


ASSIGNMENTS = assignments()
SQLITE_HALF, POSTGRES_HALF = ASSIGNMENTS[::2], ASSIGNMENTS[1::2]


@pytest.mark.slow
def test_every_sample_gets_its_idle_grade_on_an_oversubscribed_machine_with_sqlite(tmp_path):
    courses = {assignment: prepare(assignment, tmp_path / assignment) for assignment in SQLITE_HALF}
    with busy_cpus():
        grades = {assignment: grade_prepared(course, assignment)[0] for assignment, course in courses.items()}
    for assignment, course in courses.items():
        assert_same(grades[assignment], expected_scores(assignment), assignment, course)


@pytest.mark.slow
def test_every_sample_gets_its_idle_grade_on_an_oversubscribed_machine_with_postgresql(tmp_path):
    if not POSTGRES:
        pytest.skip("LRCOURSE_TEST_POSTGRES_URL names no PostgreSQL server (.ci/run starts one)")
    with contextlib.ExitStack() as databases:
        urls = {assignment: databases.enter_context(postgres_database(POSTGRES)) for assignment in POSTGRES_HALF}
        courses = {assignment: prepare(assignment, tmp_path / assignment, url) for assignment, url in urls.items()}
        with busy_cpus():
            grades = {assignment: grade_prepared(course, assignment, urls[assignment])[0]
                      for assignment, course in courses.items()}
    for assignment, course in courses.items():
        assert_same(grades[assignment], expected_scores(assignment), assignment, course)
