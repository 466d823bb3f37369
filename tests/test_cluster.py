"""Grading on a real Dask cluster, started as an instructor starts one: ``dask scheduler`` and two ``dask worker``
processes on loopback, each worker in an empty folder of its own, so that nothing reaches a worker but what its
tasks carry. The cluster must give exactly the grades of a serial run (the samples' expected grades, which
tests/test_exercises.py checks against one plain ``nbgrader autograde`` after another), lose nothing when a worker
is killed in the middle of a submission or the scheduler goes away, and never grade a submission twice.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import psutil
import pytest
from nbgrader.api import Gradebook

from lrgrader import classroom, cluster
from lrgrader.instructor import course_with, submit
from lrgrader.limits import LIMITS
from test_exercises import answers_of, expected_scores

pytestmark = pytest.mark.slow
DASK = Path(sys.executable).parent / "dask"
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2):
    """A scheduler and ``workers`` single-threaded workers, each process in an empty folder and a process group of
    its own; yields (the scheduler's address, the scheduler's process, the workers' processes, their addresses)."""
    environment = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(LIMITS.worker_deaths)}
    folders = [folder / name for name in ("scheduler", *(f"worker{number}" for number in range(workers)))]
    for place in folders:
        place.mkdir(parents=True)
    address_file = folder / "scheduler.json"
    started = []

    def start(*argv: str, cwd: Path) -> subprocess.Popen:
        process = subprocess.Popen([str(DASK), *argv, "--no-dashboard"], cwd=cwd, env=environment,
                                   start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        started.append(process)
        return process

    try:
        scheduler = start("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(address_file),
                          cwd=folders[0])
        deadline = time.monotonic() + 60
        while not address_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        processes = [start("worker", address, "--nthreads", "1", "--no-nanny", "--name", f"worker{number}",
                           cwd=place) for number, place in enumerate(folders[1:])]
        with cluster.Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
            names = {info["name"]: where for where, info in client.scheduler_info()["workers"].items()}
        yield address, scheduler, processes, [names[f"worker{number}"] for number in range(workers)]
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert all(not any(place.iterdir()) for place in folders[1:]), "a worker left files in its folder"


def class_of(assignment: str, folder: Path) -> Path:
    course = course_with(assignment, folder)
    for student in expected_scores(assignment):
        submit(course, assignment, student, answers_of(assignment, student))
    return course


def grades(course: Path, assignment: str) -> dict[str, dict[str, float]]:
    url = classroom.gradebook_url(course)
    return {student: classroom.scores(url, assignment, student) for student in expected_scores(assignment)}


def log_of(course: Path, assignment: str, student: str) -> str:
    return (course / "logs" / assignment / f"{student}.log").read_text()


def rows(course: Path, assignment: str) -> tuple[int, int]:
    """How many submissions of ``assignment``, and how many grades of their cells, the gradebook holds."""
    with Gradebook(classroom.gradebook_url(course)) as gradebook:
        submissions = gradebook.assignment_submissions(assignment)
        return len(submissions), sum(len(notebook.grades) for s in submissions for notebook in s.notebooks)


def grading_now(worker: subprocess.Popen) -> str | None:
    """The student whose notebook ``worker`` is running in a kernel at this moment, None if there is none."""
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(worker.pid).children(recursive=True):
            if any("lrgrader.kernel" in part for part in child.cmdline()):
                for process in psutil.Process(worker.pid).children():
                    submitted = Path(process.cwd()) / "submitted"
                    if submitted.is_dir():
                        return next(path.name for path in submitted.iterdir())
    return None


def test_two_workers_give_exactly_the_grades_of_a_serial_run(tmp_path):
    with dask_cluster(tmp_path / "cluster") as (address, _, _, addresses):
        for assignment in ("ex01", "ex03"):
            course = class_of(assignment, tmp_path / assignment)
            assert classroom.main(["grade", assignment, "--course", str(course), "--scheduler", address]) == 0
            assert grades(course, assignment) == expected_scores(assignment)
            used = {log_of(course, assignment, student).split(" on ")[1].split(",")[0]
                    for student in expected_scores(assignment)}
            assert used == set(addresses), f"not every worker graded: {used}"
            assert (course / "feedback" / "solution" / assignment).is_dir()


def test_a_worker_killed_mid_submission_loses_nothing_and_grades_nothing_twice(tmp_path):
    courses = {assignment: class_of(assignment, tmp_path / assignment) for assignment in ("ex01", "ex03")}
    killed = []
    with dask_cluster(tmp_path / "cluster") as (address, _, workers, addresses):
        def kill_in_the_middle():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                student = grading_now(workers[0])
                if student:
                    os.killpg(workers[0].pid, signal.SIGKILL)
                    killed.append(student)
                time.sleep(0.05)

        killer = threading.Thread(target=kill_in_the_middle)
        killer.start()
        for assignment, course in courses.items():  # ex01 loses a worker halfway; ex03 is graded by the other
            assert classroom.main(["grade", assignment, "--course", str(course), "--scheduler", address]) == 0
        killer.join()
    assert killed and workers[0].wait() == -signal.SIGKILL, "the worker was not killed while grading"
    assert f" on {addresses[1]}," in log_of(courses["ex01"], "ex01", killed[0]), "the killed task did not run again"
    for assignment, course in courses.items():
        assert grades(course, assignment) == expected_scores(assignment)
        cells = len(next(iter(expected_scores(assignment).values())))
        assert rows(course, assignment) == (5, 5 * cells), "a submission was recorded twice"
        for student in expected_scores(assignment):
            assert json.loads((course / "logs" / assignment / f"{student}.json").read_text())["flags"] == []


def test_a_lost_scheduler_stops_the_batch_and_a_rerun_grades_only_the_rest(tmp_path, capsys):
    course = class_of("ex01", tmp_path / "course")
    logs = course / "logs" / "ex01"
    with dask_cluster(tmp_path / "cluster") as (address, scheduler, _, _):
        def stop_after_the_first():
            while not list(logs.glob("*.json")):
                time.sleep(0.05)
            os.killpg(scheduler.pid, signal.SIGKILL)

        stopper = threading.Thread(target=stop_after_the_first)
        stopper.start()
        assert classroom.main(["grade", "ex01", "--course", str(course), "--scheduler", address]) == 1
        stopper.join()
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("python -m lrgrader: error: lost the Dask scheduler")
    assert error.endswith("those are recorded in the gradebook. Run the same command again to grade the rest.")
    first = {path.stem: path.stat().st_mtime_ns for path in logs.glob("*.json")}
    assert 1 <= len(first) < 5 and rows(course, "ex01") == (len(first), 4 * len(first))
    graded = grades(course, "ex01")
    assert all(graded[student] == expected_scores("ex01")[student] for student in first)

    assert classroom.main(["grade", "ex01", "--course", str(course), "--workers", "2"]) == 0
    assert f"{len(first)} of 5 submissions are graded already" in capsys.readouterr().out
    assert grades(course, "ex01") == expected_scores("ex01")
    assert all(logs.joinpath(f"{student}.json").stat().st_mtime_ns == time for student, time in first.items())
    assert rows(course, "ex01") == (5, 20)


def kills_its_worker(release: cluster.Release, submission: cluster.Submission) -> cluster.Graded:
    """The grading task, but mallory's submission takes its worker down with it."""
    if submission.student == "mallory" and submission.released_because is None:
        os._exit(1)
    return real_grade(release, submission)


real_grade = cluster.grade


def test_a_submission_that_kills_its_workers_is_graded_as_released_and_flagged(tmp_path, monkeypatch, capsys):
    course = class_of("ex01", tmp_path / "course")
    submit(course, "ex01", "mallory", answers_of("ex01", "solution"))
    monkeypatch.setattr(cluster, "grade", kills_its_worker)
    assert classroom.main(["grade", "ex01", "--course", str(course), "--workers", "2",
                           "--students", "mallory", "solution"]) == 0
    flags = json.loads((course / "logs" / "ex01" / "mallory.json").read_text())["flags"]
    assert flags == [f"its task killed {LIMITS.worker_deaths + 1} grading workers (KilledWorker), so the "
                     "notebooks were graded as released, with no answers"]
    url = classroom.gradebook_url(course)
    assert classroom.scores(url, "ex01", "mallory") == expected_scores("ex01")["untouched"]
    assert classroom.scores(url, "ex01", "solution") == expected_scores("ex01")["solution"]

    # Changed since, the submission is graded again; the unchanged one is not.
    submit(course, "ex01", "mallory", answers_of("ex01", "two_wrong"))
    monkeypatch.undo()
    capsys.readouterr()
    assert classroom.main(["grade", "ex01", "--course", str(course), "--workers", "1",
                           "--students", "mallory", "solution"]) == 0
    assert "1 of 2 submissions are graded already" in capsys.readouterr().out
    assert classroom.scores(url, "ex01", "mallory") == expected_scores("ex01")["two_wrong"]
