"""The same grade at any load: the sample submissions of every assignment graded through the class command (two
workers) on an idle machine and with BUSY spinning processes per core beside the workers, into a SQLite
gradebook and, where LRCOURSE_TEST_POSTGRES_URL names a PostgreSQL server, into a PostgreSQL one. Prints each
run's time and whether every grade equals the sample's expected grade; fails if one does not.

tests/test_load.py runs the loaded half of this (each assignment once, alternating gradebooks) in CI.

    .venv/bin/python benchmarks/grading_under_load.py                        (every assignment: about an
    .venv/bin/python benchmarks/grading_under_load.py --assignments ex01 ex05  hour on 2 cores)
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from lrgrader.instructor import ROOT, assignments

sys.path.insert(0, str(ROOT / "tests"))
from test_load import POSTGRES, busy_cpus, grade_samples, postgres_database  # noqa: E402


def run(assignment: str, gradebook: str) -> tuple[float, list[str]]:
    """Grade ``assignment``'s samples into a fresh gradebook of the kind named: (seconds, the wrong grades)."""
    with tempfile.TemporaryDirectory() as folder:
        if gradebook == "postgresql":
            with postgres_database(POSTGRES) as url:
                grades, expected, seconds = grade_samples(assignment, Path(folder), url)
        else:
            grades, expected, seconds = grade_samples(assignment, Path(folder))
    wrong = [f"{student}: {grades.get(student)}, expected {scores}" for student, scores in expected.items()
             if grades.get(student, {}).keys() != scores.keys()
             or any(abs(grades[student][cell] - score) > 1e-9 for cell, score in scores.items())]
    return seconds, wrong


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="+", default=assignments(), help="default: all of them")
    parser.add_argument("--busy", type=int, default=4, help="busy processes per core under load (default 4)")
    args = parser.parse_args()
    gradebooks = ["sqlite", "postgresql"] if POSTGRES else ["sqlite"]
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; gradebooks: {', '.join(gradebooks)}; load: {args.busy} busy processes per core")
    wrong = []
    for assignment in args.assignments:
        for gradebook in gradebooks:
            idle, wrong_idle = run(assignment, gradebook)
            with busy_cpus(args.busy) as spinners:
                loaded, wrong_loaded = run(assignment, gradebook)
            wrong += wrong_idle + wrong_loaded
            same = "every grade as expected" if not wrong_idle + wrong_loaded else "GRADES DIFFER"
            print(f"{assignment} {gradebook:<10}: idle {idle:6.1f} s, beside {spinners} busy processes "
                  f"{loaded:6.1f} s ({loaded / idle:.1f}x); {same}", flush=True)
    print(*wrong, sep="\n  ")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
