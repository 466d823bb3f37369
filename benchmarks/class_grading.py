"""The class command on Dask against today's process pool and plain nbgrader, on the same submissions, side by side
in one run on this machine; and what Dask's scheduling costs a task.

COUNT submissions of one assignment (its sample submissions of tests/submissions/, in turn) are graded three times,
each time into a course folder and gradebook of its own:

- by plain ``nbgrader autograde <assignment>`` (one call, with the course's nbgrader_config.py: one kernel after
  another, each starting its own grader);
- by the process pool the class command used before Dask (each of WORKERS spawned processes running
  :func:`lrgrader.sandbox.autograde_one` into the shared gradebook, as in commit 6990212);
- by the class command (:func:`lrgrader.classroom.grade_class`: a Dask ``LocalCluster`` of WORKERS processes,
  each task carrying a submission's bytes and returning what it wrote).

Prints the three times, submissions per minute, the ratios and the machine's load; then the scheduling overhead:
the round trip of a task that carries one submission and the release and returns a result of the same size,
grading nothing. Fails if any run's grades differ from the samples' expected grades.

    .venv/bin/python benchmarks/class_grading.py                 (20 submissions of ex01: about 8 minutes
    .venv/bin/python benchmarks/class_grading.py --count 40       on 2 cores)
"""

import argparse
import itertools
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from nbgrader.api import Gradebook

from lrgrader import cluster
from lrgrader.classroom import grade_class, gradebook_url, scores
from lrgrader.instructor import ROOT, course_with, nbgrader, submit
from lrgrader.sandbox import autograde_one

sys.path.insert(0, str(ROOT / "tests"))
from test_exercises import answers_of, expected_scores  # noqa: E402 (the samples, as the tests build them)


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(*os.getloadavg())


def course_of(assignment: str, count: int, folder: Path) -> tuple[Path, dict[str, str]]:
    """A course with ``count`` submissions, the samples in turn; each student's sample."""
    course = course_with(assignment, folder)
    samples = itertools.cycle(expected_scores(assignment))
    students = {f"s{number:03d}_{sample}": sample for number, sample in zip(range(count), samples)}
    for student, sample in students.items():
        submit(course, assignment, student, answers_of(assignment, sample))
    return course, students


def wrong_grades(url: str, assignment: str, students: dict[str, str]) -> list[str]:
    expected = expected_scores(assignment)
    wrong = []
    for student, sample in students.items():
        earned = scores(url, assignment, student)
        if earned.keys() != expected[sample].keys() or any(abs(earned[cell] - expected[sample][cell]) > 1e-9
                                                          for cell in earned):
            wrong.append(f"{student}: {earned}, expected {expected[sample]}")
    return wrong


def process_pool(course: Path, assignment: str, students: list[str], workers: int):
    """The class command's grading before Dask: a pool of spawned processes, each writing the shared gradebook."""
    url = gradebook_url(course)
    with Gradebook(url) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for _ in pool.map(pooled_autograde, [(course, assignment, student, url) for student in students]):
            pass


def pooled_autograde(job: tuple[Path, str, str, str]):
    course, assignment, student, url = job
    return autograde_one(course, assignment, student, db_url=url)


def echo(release: cluster.Release, submission: cluster.Submission, result: cluster.Graded) -> cluster.Graded:
    """A task that grades nothing: it takes what a grading task takes and returns what one returns."""
    return result


def scheduling_overhead(course: Path, assignment: str, student: str, workers: int, tasks: int = 50) -> float:
    """The median round trip, in seconds, of a task carrying a real release and submission and returning the
    real result of grading it, on a local cluster like the class command's: what Dask adds to each submission."""
    url = gradebook_url(course)
    release = cluster.release_of(course, url, assignment)
    with Gradebook(url) as gradebook:
        submission = cluster.submission_of(course, gradebook, assignment, student)
    result = cluster.grade(release, submission)
    times = []
    with cluster.connect(None, workers) as client:
        client.submit(echo, release, submission, result, pure=False).result()  # the workers' first import
        for _ in range(tasks):
            started = time.perf_counter()
            client.submit(echo, release, submission, result, pure=False).result()
            times.append(time.perf_counter() - started)
    size = sum(len(data) for _, data in (*release.notebooks, *submission.files, *result.autograded))
    print(f"a task's payload: {len(release.gradebook) / 1e3:.0f} kB of gradebook and {size / 1e3:.0f} kB of "
          f"notebooks, each way together")
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20, help="submissions to generate (default 20)")
    parser.add_argument("--assignment", default="ex01", help="the assignment (default ex01)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the pool and of the local "
                                                               "cluster (default 2)")
    args = parser.parse_args()
    print(f"{args.count} submissions of {args.assignment} on {len(os.sched_getaffinity(0))} cores; {load()}",
          flush=True)
    wrong, seconds = [], {}
    runs = {
        "plain nbgrader autograde": lambda course, students: nbgrader(course, "autograde", args.assignment),
        f"process pool (before Dask), {args.workers} workers":
            lambda course, students: process_pool(course, args.assignment, list(students), args.workers),
        f"class command on a Dask LocalCluster, {args.workers} workers":
            lambda course, students: grade_class(course, args.assignment, list(students), gradebook_url(course),
                                                 args.workers, progress=False),
    }
    for name, run in runs.items():
        with tempfile.TemporaryDirectory() as folder:
            course, students = course_of(args.assignment, args.count, Path(folder))
            started = time.perf_counter()
            run(course, students)
            seconds[name] = time.perf_counter() - started
            print(f"{name}: {seconds[name]:.1f} s, {args.count / seconds[name] * 60:.1f} submissions per minute; "
                  f"{load()}", flush=True)
            wrong += [f"{name}: {line}" for line in wrong_grades(gradebook_url(course), args.assignment, students)]
            if name.startswith("class command"):
                overhead = scheduling_overhead(course, args.assignment, next(iter(students)), args.workers)
    plain, pool, dask_run = seconds.values()
    print(f"the class command on Dask is {plain / dask_run:.2f}x as fast as plain nbgrader and "
          f"{pool / dask_run:.2f}x as fast as the process pool")
    print(f"Dask's scheduling overhead: {overhead * 1e3:.1f} ms a task (median round trip of a task that grades "
          f"nothing), {overhead / (dask_run / args.count * args.workers):.2%} of the time a worker spends on a "
          "submission")
    print("every grade is the sample's expected grade" if not wrong else "grades differ from the expected:",
          *wrong, sep="\n  ")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
