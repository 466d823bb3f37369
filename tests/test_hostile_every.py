"""The generic cheats, tried on every assignment: through the class command and through a learner's ``grade()``.

For each assignment, tests/hostile/every/targets.json names one graded function (the target, which no other answer
of the assignment calls) and a call its rules forbid. Each file of tests/hostile/every/ is one case: the code of the
target's answer cell, in which ``TARGET``, ``ITEM`` and ``POINTS`` stand for the target's name, its item and its
points, ``# SOLUTION`` for the instructor's answer and ``# FORBIDDEN`` for the forbidden call. :data:`EXPECTED` says
what each case earns on its target and the flags it must raise (each a part of one flag, and no other flag); every
other cell keeps the instructor's full marks. An assignment's cases are graded in one batch on two workers, beside
the instructor's own answers, which must keep every point and raise no flag.
"""

import json
import textwrap
from pathlib import Path

import nbformat
import pytest

import lrgrader
from lrgrader import suites
from lrgrader.classroom import grade_class, gradebook_url, scores
from lrgrader.instructor import assignments, course_with, solution_answers, submit

EVERY = Path(__file__).resolve().parent / "hostile" / "every"
TARGETS = json.loads((EVERY / "targets.json").read_text())

# case: (does the target keep its points?, the parts of the flags it raises)
EXPECTED = {
    "patched_grader": (False, ["cell TARGET changes lrgrader.grade", "cell TARGET changes lrgrader.client.grade",
                               "cell TARGET_graded reported POINTS points, the grader measured 0"]),
    "kernel_tampering": (False, ["cell TARGET changes builtins.sum", "cell TARGET changes builtins.AssertionError",
                                 "cell TARGET changes np.allclose", "cell TARGET changes torch.allclose",
                                 "cell TARGET changes pytest.approx", "cell TARGET changes get_ipython().showtraceback",
                                 "cell TARGET calls get_ipython().display_formatter.formatters['text/plain'].for_type",
                                 "cell TARGET prints what looks like the grader's feedback",
                                 "cell TARGET_graded reported POINTS points, the grader measured 0"]),
    "forged_report": (False, ["cell TARGET_graded: the answer's process ended in the middle of"]),
    # The sanity-check cell calls the answer in the kernel too: the notebook tries what the answer tries.
    "answer_reaches_out": (False, [
        *(f"{who} tried to {attempt}" for who in ("the notebook", "cell TARGET_graded: the answer") for attempt in
          ("read /", "look up the network address of '127.0.0.1'", "open a network connection to ('127.0.0.1', 9)",
           "write /tmp/lrgrader-leak.txt", "list the folder /"))]),
    "delegation": (False, ["cell TARGET_graded: the answer used what the exercise forbids"]),
    "kernel_reaches_out": (True, ["the notebook tried to read /", "the notebook tried to look up the network address",
                                  "the notebook tried to open a network connection", "the notebook tried to write /"]),
    "huge_outputs": (True, []),
}
ANSWER_CASES = ["forged_report", "answer_reaches_out", "delegation"]  # cheats that run where the checks call


def case_answer(assignment: str, case: str) -> str:
    """The target's answer cell for ``case`` on ``assignment``."""
    target = TARGETS[assignment]
    item = f"{assignment}/{target['target']}"
    forbidden = textwrap.indent(target["forbidden"], "    ")
    return ((EVERY / f"{case}.py").read_text()
            .replace("# SOLUTION", solution_answers(assignment)[target["target"]])
            .replace("# FORBIDDEN", forbidden)
            .replace("TARGET", target["target"]).replace("ITEM", item)
            .replace("POINTS", f"{suites.points(item):g}"))


def expected_flags(assignment: str, case: str) -> list[str]:
    target = TARGETS[assignment]["target"]
    points = suites.points(f"{assignment}/{target}")
    return [part.replace("TARGET", target).replace("POINTS", f"{points:g}")
            for part in EXPECTED[case][1]]


def full_marks(assignment: str) -> dict[str, float]:
    return {f"{name}_graded": suites.points(f"{assignment}/{name}") for name in solution_answers(assignment)}


@pytest.fixture(scope="module", params=assignments())
def batch(request, tmp_path_factory):
    """One assignment's course after grading its cases and the instructor's answers in one batch."""
    assignment = request.param
    course = course_with(assignment, tmp_path_factory.mktemp(f"every-{assignment}"))
    solution = solution_answers(assignment)
    submit(course, assignment, "solution", solution)
    for case in EXPECTED:
        submit(course, assignment, case, {**solution, TARGETS[assignment]["target"]: case_answer(assignment, case)})
    url = gradebook_url(course)
    students = [*EXPECTED][:4] + ["solution"] + [*EXPECTED][4:]
    outcomes = grade_class(course, assignment, students, url, workers=2, progress=False)
    return assignment, course, url, {outcome.student: outcome.flags for outcome in outcomes}


@pytest.mark.slow
def test_the_instructors_answers_keep_every_point_beside_the_cheats(batch):
    assignment, _, url, flags = batch
    assert set(flags) == {"solution", *EXPECTED}
    assert scores(url, assignment, "solution") == pytest.approx(full_marks(assignment), abs=1e-9)
    assert not flags["solution"], flags["solution"]


@pytest.mark.slow
@pytest.mark.parametrize("case", EXPECTED)
def test_each_cheat_earns_nothing_on_its_target_and_is_flagged(batch, case):
    assignment, _, url, flags = batch
    graded = f"{TARGETS[assignment]['target']}_graded"
    keeps_points, _ = EXPECTED[case]
    expected = full_marks(assignment) | ({} if keeps_points else {graded: 0.0})
    assert scores(url, assignment, case) == pytest.approx(expected, abs=1e-9)
    parts = expected_flags(assignment, case)
    for part in parts:
        assert any(part in flag for flag in flags[case]), (part, flags[case])
    unexplained = [flag for flag in flags[case] if not any(part in flag for part in parts)]
    assert not unexplained, unexplained


@pytest.mark.slow
def test_outputs_of_hundreds_of_megabytes_are_cut(batch):
    assignment, course, _, _ = batch
    for notebook in (course / "autograded" / "huge_outputs" / assignment).glob("*.ipynb"):
        assert notebook.stat().st_size < 2 * 2**20, notebook


def learner_answer(assignment: str, case: str):
    """The target as a learner's kernel defines it: the released notebook's code run up to the target's cell."""
    target = TARGETS[assignment]["target"]
    namespace = {"__name__": "__main__"}
    for path in sorted((Path(lrgrader.__file__).parents[1] / "exercises" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or meta.get("grade") or meta.get("grade_id", "").endswith("_checks"):
                continue
            if meta.get("grade_id") == target:
                exec(case_answer(assignment, case), namespace)
                return namespace[target]
            exec(solution_answers(assignment).get(meta.get("grade_id"), cell.source), namespace)
    raise LookupError(f"no answer cell {target} in {assignment}")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", assignments())
@pytest.mark.parametrize("case", ANSWER_CASES)
def test_a_learners_grade_gives_the_cheat_nothing(assignment, case, capsys):
    item = f"{assignment}/{TARGETS[assignment]['target']}"
    assert lrgrader.grade(learner_answer(assignment, case), item) == 0.0
    printed = capsys.readouterr().out
    assert f"0 of {suites.points(item):g} points" in printed, printed
