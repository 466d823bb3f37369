"""The hidden suites' quality, and the mutation tool that measures it (lrgrader/mutants.py).

The tool's full run, on every assignment, is a step of ``make test`` of its own (``python -m lrgrader mutants``),
so that its report is printed in CI's log; the tests here check the tool's parts, that each suite splits its
points as the course's standard says, and that each notebook tells students what the points are for.
"""

import textwrap

import pytest

from lrgrader import instructor, mutants, suites
from lrgrader.instructor import assignments, solution_answers
from lrgrader.mutants import Mutant, Result, generated, handwritten, sort
from lrgrader.records import Check, Requirement, Verdict

ITEMS = [f"{assignment}/{name}" for assignment in assignments() for name in solution_answers(assignment)]

# The course's standard for the split of an item's points (COURSE_STANDARD.md): most of them for what the item
# teaches, and every requirement worth enough that missing it is never a rounding error.
LEAST_BEHAVIOUR, LEAST_CORE_REQUIREMENT, LEAST_REQUIREMENT = 60, 25, 15

ANSWER = textwrap.dedent('''
    def step(x, lr):
        """Docstrings are never mutated: 1 + 1."""
        if lr < 0 or lr != lr:
            raise ValueError(f"lr must be >= 0, got {lr - 1}")
        return x.clone() - lr * x
''')


def names(source: str) -> set[str]:
    return {mutant.name for mutant in generated("demo/step", source)}


def test_generated_mutants_change_one_thing_each_and_leave_docstrings_and_messages_alone():
    made = generated("demo/step", ANSWER)
    assert {mutant.name for mutant in made} == {
        "4:7 or becomes and", "4:7 < becomes <=", "4:7 < becomes >=", "4:17 != becomes ==", "4:12 0 becomes 1",
        "5:8 raise removed", "6:11 - becomes +", "6:11 .clone() dropped", "6:23 * becomes /"}
    for mutant in made:
        assert '"""Docstrings are never mutated: 1 + 1."""' in mutant.source
        assert "lr - 1" in mutant.source or mutant.name == "5:8 raise removed"
    dropped = next(mutant for mutant in made if mutant.name == "6:11 .clone() dropped")
    assert "return x - lr * x" in dropped.source and dropped.line == "return x.clone() - lr * x"


def test_a_statement_is_removed_and_a_number_changed():
    assert names("def f(x):\n    y = 1\n    return x\n") == {"2:8 1 becomes 2", "2:4 statement removed"}


def test_a_mistake_whose_text_is_not_in_the_solution_exactly_once_is_refused(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "hidden" / "ex01").mkdir(parents=True)
    (course / "hidden" / "ex01" / "mutants.toml").write_text(textwrap.dedent('''
        [[mistake]]
        item = "gd_step"
        name = "a step of the wrong sign"
        requirement = "behaviour"
        replace = [["no such text", "x + lr"]]
    '''))
    monkeypatch.setenv("LRGRADER_COURSE", str(course))
    with pytest.raises(ValueError, match="found 0 times in the solution, not once"):
        handwritten("ex01")


def test_a_helper_that_other_answers_call_is_graded_with_their_suites_too():
    users = mutants.helper_users("ex06")  # with_warmup's cell defines _check_rates, which the next parts call
    assert users["with_warmup"] == ["ex06/warmup_cosine_lr", "ex06/wsd_lr"]
    assert users["wsd_lr"] == []


def verdict(passed: tuple[bool, ...], requirements=(("behaviour", 70), ("contract", 30))) -> Verdict:
    keys = [key for key, _ in requirements]
    checks = tuple(Check(f"check {index}", ok, requirement=keys[min(index, len(keys) - 1)])
                   for index, ok in enumerate(passed))
    return Verdict("ex01/gd_step", 2.0, checks, requirements=tuple(Requirement(k, k, s) for k, s in requirements))


@pytest.mark.parametrize("passed, fate, score", [
    ((True, True, True), "survived", 2.0),
    ((False, True, True), "killed", 0.6),  # the behaviour check fails: 70% lost
    ((True, False, True), "killed", 1.4),
    ((True, True, False), "killed", 1.4),
])
def test_a_mutant_is_killed_weak_or_survives(passed, fate, score):
    result = sort(Mutant("ex01/gd_step", "m", ""), verdict(passed), equivalent=False)
    assert (result.fate, result.score) == (fate, score)


def test_a_mutant_killed_by_one_check_that_costs_little_is_weak():
    cheap = verdict((True, True, False), (("behaviour", 95), ("contract", 5)))
    assert sort(Mutant("ex01/gd_step", "m", ""), cheap, equivalent=False).fate == "weak"


def test_a_survivor_listed_as_equivalent_is_not_a_hole():
    assert sort(Mutant("ex01/gd_step", "m", ""), verdict((True, True, True)), equivalent=True).fate == "equivalent"


def test_a_suite_that_fails_to_run_stops_the_tool_instead_of_counting_a_kill():
    broken = Verdict("ex01/gd_step", 2.0, problem="the hidden suite is malformed (x). Please tell your instructor.")
    with pytest.raises(mutants.MutationError, match="malformed"):
        sort(Mutant("ex01/gd_step", "m", ""), broken, equivalent=False)


def test_the_report_counts_each_fate_and_the_median_core_mistake():
    results = [Result(Mutant("ex01/gd_step", f"m{i}", "", requirement="behaviour"), "killed", score, 2.0, ("c",))
               for i, score in enumerate((0.6, 0.6, 1.4))]
    results.append(Result(Mutant("ex01/gd_step", "s", ""), "survived", 2.0, 2.0, ()))
    assert mutants.summary(results) == {"mutants": 4, "killed": 3, "weak": 0, "survived": 1, "equivalent": 0,
                                        "core_mistakes": 3, "median_core_lost": pytest.approx(0.7),
                                        "least_core_lost": pytest.approx(0.3)}
    assert "SURVIVED ex01/gd_step [s]" in mutants.report(results, ["ex01"])


@pytest.mark.parametrize("item", ITEMS)
def test_every_suite_splits_its_points_as_the_course_standard_says(item):
    shares = {key: share for key, (title, share) in instructor.requirements(item).items()}
    behaviour = {key: share for key, share in shares.items() if key.startswith("behaviour")}
    assert sum(shares.values()) == 100
    assert sum(behaviour.values()) >= LEAST_BEHAVIOUR, "most of the points go to what the item teaches"
    if item not in mutants.outcome_graded(item.partition("/")[0]):  # those have one requirement per kind of task
        assert min(behaviour.values()) >= LEAST_CORE_REQUIREMENT
    assert min(shares.values()) >= LEAST_REQUIREMENT


@pytest.mark.parametrize("assignment", assignments())
def test_every_part_says_what_its_points_are_for(assignment):
    texts = instructor.part_texts(assignment)
    for name in solution_answers(assignment):
        line = instructor.points_line(f"{assignment}/{name}")
        assert line in texts[name], (
            f"the text of {name} does not say what its points are for: run "
            f"`python -c 'from lrgrader.instructor import write_points_lines; write_points_lines(\"{assignment}\")'`"
            f" then `nbgrader generate_assignment {assignment} --force`")


@pytest.mark.parametrize("assignment", assignments())
def test_every_hand_written_mistake_applies_and_names_a_requirement_of_its_suite(assignment):
    made = handwritten(assignment)
    assert made, f"hidden/{assignment}/mutants.toml has no hand-written mistake"
    for mutant in made:
        assert mutant.requirement in instructor.requirements(mutant.item), mutant.name
        assert suites.suite(mutant.item)
