"""The class command against plain nbgrader, on the same submissions, side by side in one run on this machine.

COUNT submissions of one assignment (its sample submissions of tests/submissions/, in turn) are graded twice, each
time into a course folder and gradebook of its own: by plain ``nbgrader autograde <assignment>`` (one call, with
the course's nbgrader_config.py: one kernel after another, each starting its own grader) and by the class command
(``python -m lrgrader grade``, through :func:`lrgrader.classroom.grade_class`: sandboxed, WORKERS at a time).
Prints both times, the ratio and the machine's load (other work on the machine slows both); fails if either
run's grades differ from the samples' expected grades.

    .venv/bin/python benchmarks/class_grading.py                 (20 submissions of ex01: about 6 minutes
    .venv/bin/python benchmarks/class_grading.py --count 40       on 2 cores)
"""

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

from lrgrader.classroom import grade_class, gradebook_url, scores
from lrgrader.instructor import ROOT, course_with, nbgrader, submit

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20, help="submissions to generate (default 20)")
    parser.add_argument("--assignment", default="ex01", help="the assignment (default ex01)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the class command (default 2)")
    args = parser.parse_args()
    print(f"{args.count} submissions of {args.assignment} on {len(os.sched_getaffinity(0))} cores; {load()}",
          flush=True)
    wrong = []
    with tempfile.TemporaryDirectory() as plain_folder, tempfile.TemporaryDirectory() as class_folder:
        course, students = course_of(args.assignment, args.count, Path(plain_folder))
        started = time.perf_counter()
        nbgrader(course, "autograde", args.assignment)
        plain = time.perf_counter() - started
        print(f"plain nbgrader autograde: {plain:.1f} s; {load()}", flush=True)
        wrong += wrong_grades(gradebook_url(course), args.assignment, students)

        course, students = course_of(args.assignment, args.count, Path(class_folder))
        started = time.perf_counter()
        grade_class(course, args.assignment, list(students), gradebook_url(course), args.workers, progress=False)
        sandboxed = time.perf_counter() - started
        print(f"class command, {args.workers} workers: {sandboxed:.1f} s; {load()}", flush=True)
        wrong += wrong_grades(gradebook_url(course), args.assignment, students)
    print(f"the class command is {plain / sandboxed:.2f}x as fast as plain nbgrader "
          f"({args.count / plain * 60:.1f} against {args.count / sandboxed * 60:.1f} submissions per minute)")
    print("every grade is the sample's expected grade" if not wrong else "grades differ from the expected:",
          *wrong, sep="\n  ")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
