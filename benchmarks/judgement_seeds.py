"""Items graded by what the answer achieves: the score of every sample answer under five task seeds, and the time to
autograde each such assignment's full solution.

Each ``[[outcome_graded]]`` item (listed in ``hidden/<assignment>/mutants.toml``) draws its tasks from
``LRGRADER_SEED``. For seeds 0 to 4 this grades, through the grader (the answer in its own confined process),
the instructor's answer, every sample submission holding an answer to the item (``tests/submissions``) and the
untouched release, and prints the scores and their spread over the seeds. Then it autogrades the instructor's
whole notebook of each such assignment through the class command, one worker, and prints the wall time.

    .venv/bin/python benchmarks/judgement_seeds.py            (about 5 minutes on 2 cores)
"""

import os
from contextlib import contextmanager
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from threadpoolctl import threadpool_limits

from lrgrader import mutants, server
from lrgrader.classroom import grade_class, gradebook_url
from lrgrader.instructor import assignments, course_with, solution_answers, submit

ROOT = Path(__file__).resolve().parents[1]
SEEDS = range(5)


def released(assignment: str, name: str) -> str:
    """The answer cell of ``name`` as the student receives it."""
    for path in sorted((ROOT / "exercises" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == name:
                return cell.source
    raise LookupError(f"no answer cell {name} in exercises/{assignment}")


def samples(assignment: str, name: str) -> dict[str, str]:
    found = {"solution": solution_answers(assignment)[name]}
    for path in sorted((ROOT / "tests" / "submissions" / assignment).glob(f"*/{name}.py")):
        found[path.parent.name] = path.read_text()
    found["untouched"] = released(assignment, name)
    return found


def score(item: str, source: str, seed: int) -> float:
    os.environ["LRGRADER_SEED"] = str(seed)  # read by the suite in the checks' process, forked from this one
    assignment = item.partition("/")[0]
    payload = mutants.answer_of(assignment, mutants.Mutant(item, "sample", source), item)
    with threadpool_limits(1), quiet():  # NumPy is loaded: its BLAS gets one thread in the forks, as in a grader
        return server.run_item(item, payload).score


@contextmanager
def quiet():
    """Standard output closed for the processes forked meanwhile (the checks' pytest prints its dots there)."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def main():
    judged = [(assignment, item) for assignment in assignments() for item in sorted(mutants.outcome_graded(assignment))]
    if not judged:
        sys.exit("no item is listed as [[outcome_graded]]")
    server.one_thread_each()
    print(f"{'item':<28}{'sample':<16}" + "".join(f"{f'seed {seed}':>9}" for seed in SEEDS) + f"{'spread':>9}")
    for assignment, item in judged:
        server.import_for(assignment)
        for sample, source in samples(assignment, item.partition("/")[2]).items():
            scores = [score(item, source, seed) for seed in SEEDS]
            print(f"{item:<28}{sample:<16}" + "".join(f"{value:>9.2f}" for value in scores)
                  + f"{max(scores) - min(scores):>9.2f}", flush=True)
    os.environ.pop("LRGRADER_SEED")
    print("\nautograde of the instructor's whole notebook, class command, one worker:")
    for assignment in sorted({assignment for assignment, _ in judged}):
        with tempfile.TemporaryDirectory() as folder:
            course = course_with(assignment, Path(folder))
            submit(course, assignment, "solution", solution_answers(assignment))
            start = time.perf_counter()
            [outcome] = grade_class(course, assignment, ["solution"], gradebook_url(course), workers=1, progress=False)
            seconds = time.perf_counter() - start
        total = sum(verdict.score for verdict in outcome.verdicts)
        print(f"{assignment}: {seconds:.1f} s wall, {total:g} of {sum(v.points for v in outcome.verdicts):g} points")


if __name__ == "__main__":
    main()
