"""Throughput of class grading on this machine: COUNT generated submissions of one assignment (the solution,
the untouched release and the sample submissions of tests/submissions/, in turn) autograded one at a time
(1 worker) and in parallel (2 workers, or --workers), each into its own course folder and gradebook.
Prints submissions per minute for both and the machine's load before and after (other work on the machine
slows both); fails if the two runs' grades differ in any cell. Feedback, export and the report are not timed.

    .venv/bin/python benchmarks/class_grading.py                 (100 submissions of ex01: about half an hour
    .venv/bin/python benchmarks/class_grading.py --count 20       on 2 cores)
"""

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

from lrgrader.classroom import cell_scores, gradebook_url, grade_class
from lrgrader.instructor import ROOT, course_with, submit

sys.path.insert(0, str(ROOT / "tests"))
from test_exercises import answers_of, expected_scores  # noqa: E402 (the samples, as the tests build them)


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(*os.getloadavg())


def grade_run(assignment: str, count: int, workers: int, folder: Path) -> dict:
    """Grade ``count`` generated submissions with ``workers`` workers; print the throughput; return the grades."""
    course = course_with(assignment, folder)
    samples = itertools.cycle(expected_scores(assignment))
    students = [f"s{number:03d}_{sample}" for number, sample in zip(range(count), samples)]
    for student in students:
        submit(course, assignment, student, answers_of(assignment, student.split("_", 1)[1]))
    url = gradebook_url(course)
    started = time.perf_counter()
    outcomes = grade_class(course, assignment, students, url, workers)
    minutes = (time.perf_counter() - started) / 60
    flagged = sum(bool(outcome.flags) for outcome in outcomes)
    print(f"{workers} worker(s): {count} submissions in {minutes:.1f} min, {count / minutes:.1f} submissions/minute, "
          f"{flagged} flagged; {load()}", flush=True)
    return {student: cell_scores(url, assignment, student) for student in students}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="submissions to generate (default 100)")
    parser.add_argument("--assignment", default="ex01", help="the assignment (default ex01)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel run (default 2)")
    args = parser.parse_args()
    print(f"{args.count} submissions of {args.assignment} on {os.cpu_count()} cores; {load()}", flush=True)
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as several:
        sequential = grade_run(args.assignment, args.count, 1, Path(one))
        parallel = grade_run(args.assignment, args.count, args.workers, Path(several))
    differing = {student: (sequential[student], parallel[student]) for student in sequential
                 if sequential[student] != parallel[student]}
    print("the grades of both runs are identical" if not differing else "the grades differ:")
    for student, (one, several) in differing.items():
        print(f"  {student}: " + ", ".join(f"{cell} {one[cell][0]:g} / {several[cell][0]:g}" for cell in one
                                           if one[cell] != several[cell]) + " (one worker / several)")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
