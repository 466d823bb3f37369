"""Times what the foundation promises: chapter 1 executes in under 60 s, one exercise-1 submission
autogrades in under 20 s (targets for the 2-core CI machine). Prints the figures; asserts nothing.

    .venv/bin/python benchmarks/foundation.py          (or: make benchmark)
"""

import tempfile
import time
from pathlib import Path

from lrcourse import book, device
from lrcourse.instructor import course_with, nbgrader, solution_answers, submit


def time_chapters():
    for path in book.chapters():
        _, seconds = book.execute(path)
        print(f"execute {path.name:<32} {seconds:6.1f} s")


def time_autograde(assignment: str = "ex01", repeats: int = 3):
    with tempfile.TemporaryDirectory() as folder:
        course = course_with(assignment, Path(folder))
        times = []
        for attempt in range(repeats):
            student = f"student{attempt}"
            submit(course, assignment, student, solution_answers(assignment))
            start = time.perf_counter()
            nbgrader(course, "autograde", assignment, "--student", student)
            times.append(time.perf_counter() - start)
        print(f"autograde one {assignment} submission     {min(times):6.1f} s best, "
              f"{sum(times) / len(times):.1f} s mean of {repeats}")


if __name__ == "__main__":
    print(device.describe(device.pick_device()))
    time_chapters()
    time_autograde()
