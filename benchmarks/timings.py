"""Times what the course promises on the 2-core CI machine: every chapter executes in under 60 s (90 s
at most, by the course standard) and one submission of any exercise autogrades in under 20 s.
Prints the figures and the device; asserts nothing. On a GPU the chapters run their large configuration
(see lrcourse.device.large_configuration).

    .venv/bin/python benchmarks/timings.py [--only chapters|grading]          (or: make benchmark)
"""

import argparse
import tempfile
import time
from pathlib import Path

from lrcourse import book, device
from lrgrader.instructor import assignments, course_with, nbgrader, solution_answers, submit


def time_chapters():
    total = 0.0
    for path in book.chapters():
        _, seconds = book.execute(path)
        total += seconds
        print(f"execute {path.name:<36} {seconds:6.1f} s")
    print(f"execute all chapters{'':<25} {total:6.1f} s")


def time_autograde(assignment: str, repeats: int = 3):
    with tempfile.TemporaryDirectory() as folder:
        course = course_with(assignment, Path(folder))
        times = []
        for attempt in range(repeats):
            student = f"student{attempt}"
            submit(course, assignment, student, solution_answers(assignment))
            start = time.perf_counter()
            nbgrader(course, "autograde", assignment, "--student", student)
            times.append(time.perf_counter() - start)
        print(f"autograde one {assignment} submission{'':<18} {min(times):6.1f} s best, "
              f"{sum(times) / len(times):.1f} s mean of {repeats}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Time the chapters' execution and the autograding of a submission.")
    parser.add_argument("--only", choices=["chapters", "grading"], help="time only this half")
    only = parser.parse_args().only
    print(device.describe(device.pick_device()))
    if only != "grading":
        time_chapters()
    if only != "chapters":
        for assignment in assignments():
            time_autograde(assignment)
