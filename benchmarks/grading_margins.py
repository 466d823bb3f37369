"""How far an honest answer stays from grading's limits: the instructor's answers to every assignment, graded
through the class command, with the CPU time of the slowest check and of each whole suite set against the
limits of lrgrader.limits.

The limits count CPU seconds, which a loaded machine does not inflate; the wall-clock backstops only catch code
that waits, and the last columns say how many times slower than idle the machine would have to run before the
instructor's answers reached them.

    .venv/bin/python benchmarks/grading_margins.py            (about 2 minutes on 2 cores)
"""

import sys
import tempfile
from pathlib import Path

from lrgrader.classroom import grade_class, gradebook_url
from lrgrader.instructor import assignments, course_with, solution_answers, submit
from lrgrader.limits import LIMITS


def main():
    print(f"limits: {LIMITS.check_cpu_seconds:g} CPU s a check (wall backstop {LIMITS.check_wall_seconds:g} s), "
          f"{LIMITS.suite_cpu_seconds:g} CPU s a suite (wall backstop {LIMITS.suite_wall_seconds:g} s)")
    print(f"{'item':<28}{'checks':>7}{'slowest check':>15}{'suite':>9}{'check margin':>14}{'suite margin':>14}"
          f"{'slowdown to backstop':>22}")
    tightest = float("inf")
    for assignment in assignments():
        with tempfile.TemporaryDirectory() as folder:
            course = course_with(assignment, Path(folder))
            submit(course, assignment, "solution", solution_answers(assignment))
            [outcome] = grade_class(course, assignment, ["solution"], gradebook_url(course), workers=1,
                                    progress=False)
        for verdict in outcome.verdicts:
            slowest = max(check.cpu_seconds for check in verdict.checks)
            suite = sum(check.cpu_seconds for check in verdict.checks)
            check_margin, suite_margin = LIMITS.check_cpu_seconds / slowest, LIMITS.suite_cpu_seconds / suite
            slowdown = min(LIMITS.check_wall_seconds / slowest, LIMITS.suite_wall_seconds / suite)
            tightest = min(tightest, check_margin, suite_margin)
            print(f"{verdict.item:<28}{len(verdict.checks):>7}{slowest:>13.3f} s{suite:>7.2f} s"
                  f"{check_margin:>13.1f}x{suite_margin:>13.1f}x{slowdown:>21.0f}x", flush=True)
    print(f"the tightest margin: the instructor's answers use at most 1/{tightest:.1f} of a CPU limit")
    sys.exit(0 if tightest > 1 else 1)


if __name__ == "__main__":
    main()
