"""The class command: submissions in, grades, feedback, logs and a report out; parallel grading gives exactly
the grades of one-at-a-time grading, on SQLite and on a PostgreSQL server.

The PostgreSQL test runs where LRCOURSE_TEST_POSTGRES_URL names a server whose user may create databases
(.ci/run starts one); it creates a database of its own and drops it afterwards.
"""

import csv
import json
import os
import re
import uuid
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lrgrader import classroom, cluster, report
from lrgrader.instructor import course_with, nbgrader, submit
from test_exercises import answers_of, expected_scores

EXPECTED = expected_scores("ex01")  # solution, untouched, two_wrong, syntax_error, infinite_loop
POSTGRES = os.environ.get("LRCOURSE_TEST_POSTGRES_URL")


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course folder with ex01 released and no submission yet."""
    return course_with("ex01", tmp_path_factory.mktemp("released"))


def class_of_samples(course: Path) -> Path:
    """Every sample submission of ex01, in course/submitted."""
    for student in EXPECTED:
        submit(course, "ex01", student, answers_of("ex01", student))
    return course


def cell_scores(url: str) -> dict[str, dict[str, float]]:
    """Every student's score of every graded cell of ex01 in the gradebook at ``url``."""
    return {student: classroom.scores(url, "ex01", student) for student in EXPECTED}


def error_of(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        classroom.main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


def test_bad_input_is_named_in_a_readable_error(released, tmp_path, capsys):
    course = ["--course", str(released)]
    assert error_of(capsys, "grade", "ex99", *course).endswith(
        "has no assignment 'ex99' (it has: ex01). If it is new, release it first: "
        "nbgrader generate_assignment ex99 --CourseDirectory.db_url=<the gradebook's URL>")
    assert error_of(capsys, "grade", "ex01", str(tmp_path / "nowhere"), *course).endswith(
        f"error: {tmp_path / 'nowhere'} is not a folder of submissions")
    (tmp_path / "bob.zip").write_text("not a zip")
    assert error_of(capsys, "grade", "ex01", str(tmp_path), *course).endswith(
        f"error: {tmp_path / 'bob.zip'} is not a readable zip file (File is not a zip file): repair or remove it")
    assert error_of(capsys, "grade", "ex01", str(tmp_path / "empty"), "--course", str(tmp_path / "none")).endswith(
        f"error: no course folder {tmp_path / 'none'}")
    assert error_of(capsys, "report", "ex01", "--course", str(tmp_path)).endswith("(it has: none). If it is new, "
        "release it first: nbgrader generate_assignment ex01 --CourseDirectory.db_url=<the gradebook's URL>")
    assert not (tmp_path / "gradebook.db").exists(), "a mistyped course folder must not get a gradebook"


def test_each_zip_becomes_one_students_submission(tmp_path):
    archives = tmp_path / "archive"
    archives.mkdir()
    notebook = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))
    with zipfile.ZipFile(archives / "alice_ex01_2024-05-01.zip", "w") as zipped:
        zipped.writestr("ex01/gradient_descent.ipynb", notebook)
        zipped.writestr("__MACOSX/ex01/._gradient_descent.ipynb", "resource fork")
        zipped.writestr("ex01/notes.txt", "not graded")
    stale = tmp_path / "course" / "submitted" / "alice" / "ex01" / "old.ipynb"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")

    students = classroom.collect(tmp_path / "course", "ex01", archives, r"(?P<student_id>[^_]+)_.*\.zip")
    assert students == ["alice"]
    assert [path.name for path in stale.parent.iterdir()] == ["gradient_descent.ipynb"]
    assert (stale.parent / "gradient_descent.ipynb").read_text() == notebook
    with pytest.raises(classroom.UsageError, match="cannot tell whose submission alice_ex01_2024-05-01.zip is"):
        classroom.collect(tmp_path / "course", "ex01", archives, r"(?P<student_id>\d+)\.zip")


def test_sqlite_workers_wait_for_each_others_writes(tmp_path):
    assert classroom.gradebook_url(tmp_path) == f"sqlite:///{tmp_path}/gradebook.db?timeout=300"
    assert classroom.gradebook_url(tmp_path, "postgresql://grader:secret@db.example.org/course") == \
        "postgresql://grader:secret@db.example.org/course"


def graded_here(course: Path, student: str) -> classroom.Outcome:
    """Grade ``student``'s submission of ex01 in this process, as a worker would, and record it."""
    url = classroom.gradebook_url(course)
    release = cluster.release_of(course, url, "ex01")
    with Gradebook(url) as gradebook:
        submission = cluster.submission_of(course, gradebook, "ex01", student)
    (course / "logs" / "ex01").mkdir(parents=True, exist_ok=True)
    return classroom.record(course, url, "ex01", cluster.grade(release, submission))


def test_a_grading_failure_is_tried_once_more_before_it_is_a_flag(tmp_path, monkeypatch):
    released, calls = course_with("ex01", tmp_path), []

    def fails_once(course, assignment, student, *, db_url=None):
        calls.append(student)
        if len(calls) == 1:
            raise RuntimeError("the grader did not start")
        return real(course, assignment, student, db_url=db_url)

    real = cluster.autograde_one
    monkeypatch.setattr(cluster, "autograde_one", fails_once)
    submit(released, "ex01", "alice", answers_of("ex01", "solution"))
    outcome = graded_here(released, "alice")
    assert calls == ["alice", "alice"]
    assert outcome.flags == () and outcome.graded
    assert "RuntimeError: the grader did not start" in (released / "logs" / "ex01" / "alice.log").read_text()
    assert classroom.scores(classroom.gradebook_url(released), "ex01", "alice") == EXPECTED["solution"]


def test_a_grading_failure_is_a_flag_in_the_log_and_the_report(released, monkeypatch):
    def broken(course, assignment, student, *, db_url=None):
        raise RuntimeError("the grader lost its kernel")

    monkeypatch.setattr(cluster, "autograde_one", broken)
    outcome = graded_here(released, "mallory")
    assert outcome.flags == ("grading failed (RuntimeError): see logs/ex01/mallory.log",) and not outcome.graded
    assert "RuntimeError: the grader lost its kernel" in (released / "logs" / "ex01" / "mallory.log").read_text()
    url = classroom.gradebook_url(released)
    assert classroom.already_graded(released, url, "ex01", ["mallory"]) == [], "a rerun must grade it"
    page = released / "report.html"
    assert report.write_report(released, url, "ex01", page) == "ex01: no submission in the gradebook"
    assert ("<tr><td>mallory</td><td>grading failed (RuntimeError): see logs/ex01/mallory.log</td></tr>"
            in page.read_text())


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory):
    """The samples graded by the command one at a time and two at a time, each in its own course folder."""
    runs = {}
    for workers in (1, 2):
        course = class_of_samples(course_with("ex01", tmp_path_factory.mktemp(f"workers{workers}")))
        classroom.main(["grade", "ex01", "--course", str(course), "--workers", str(workers)])
        runs[workers] = course
    return runs


@pytest.mark.slow
def test_parallel_grading_gives_exactly_the_grades_of_one_at_a_time(graded_twice):
    one_at_a_time, parallel = (cell_scores(classroom.gradebook_url(graded_twice[w])) for w in (1, 2))
    assert one_at_a_time == EXPECTED
    assert parallel == one_at_a_time


@pytest.mark.slow
def test_grading_leaves_logs_feedback_grades_and_a_self_contained_report(graded_twice):
    course = graded_twice[2]
    for student, cells in EXPECTED.items():
        assert json.loads((course / "logs" / "ex01" / f"{student}.json").read_text())["flags"] == []
        log = (course / "logs" / "ex01" / f"{student}.log").read_text()
        assert f"gd_step_graded: {cells['gd_step_graded']:g} of 2" in log
        assert (course / "feedback" / student / "ex01" / "gradient_descent.html").is_file()
    with open(course / "grades.csv", newline="") as file:
        totals = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    assert totals == pytest.approx({student: sum(cells.values()) for student, cells in EXPECTED.items()})
    report = (course / "reports" / "ex01.html").read_text()
    assert len(re.findall(r"<img alt='[^']+' src='data:image/png;base64,", report)) == 3
    assert not re.search(r"(src|href)='http", report) and "<script" not in report, "the report must work offline"


@pytest.mark.slow
def test_the_report_analyses_the_hidden_checks_from_the_graders_records(graded_twice, capsys):
    course = graded_twice[2]
    totals, items = report.item_results(course, classroom.gradebook_url(course), "ex01")
    assert totals == pytest.approx({student: sum(cells.values()) for student, cells in EXPECTED.items()})
    gd_step = next(item for item in items if item.name == "gd_step_graded")
    # two_wrong fails 9 of gd_step's 16 checks and untouched all of them; the other three pass them all.
    assert sorted(check.miss_rate for check in gd_step.checks) == [0.2] * 7 + [0.4] * 9
    # By total score the stronger half is solution and infinite_loop, the weaker untouched and syntax_error, and
    # two_wrong is in the middle: a check that only untouched misses separates the halves (0.5), and so does one
    # that two_wrong misses too.
    assert {(check.miss_rate, check.discrimination) for check in gd_step.checks} == {(0.2, 0.5), (0.4, 0.5)}
    assert report.separating_checks(items)[0].discrimination == max(
        check.discrimination for item in items for check in item.checks if 0 < check.miss_rate < 1)
    classroom.main(["report", "ex01", "--course", str(course)])
    assert capsys.readouterr().out.splitlines()[0] == (
        "ex01: 5 submissions, mean 4.65 of 11 points, median 3.90; 1 full marks, 1 zero")


@pytest.fixture
def postgres_url():
    """A fresh, empty database on the test server; dropped afterwards."""
    if not POSTGRES:
        pytest.skip("LRCOURSE_TEST_POSTGRES_URL names no PostgreSQL server (.ci/run starts one)")
    name = f"lrcourse_test_{uuid.uuid4().hex[:12]}"
    server = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    server.dispose()


@pytest.mark.slow
def test_workers_share_a_postgresql_gradebook_without_losing_a_row(postgres_url, tmp_path):
    course = class_of_samples(course_with("ex01", tmp_path))
    # PostgreSQL, unlike SQLite, enforces the link from an assignment to its course: nbgrader needs a course id.
    nbgrader(course, "generate_assignment", "ex01", "--force", f"--CourseDirectory.db_url={postgres_url}",
             "--CourseDirectory.course_id=lrcourse")
    classroom.main(["grade", "ex01", "--course", str(course), "--db", postgres_url, "--workers", "3"])
    assert cell_scores(postgres_url) == EXPECTED
    with Gradebook(postgres_url) as gradebook:
        rows = [grade for submission in gradebook.assignment_submissions("ex01")
                for notebook in submission.notebooks for grade in notebook.grades]
    assert len(rows) == len(EXPECTED) * 4
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as sqlite:
        assert sqlite.students == [], "the grades went to the course's SQLite gradebook"
