"""Items graded by what the answer achieves on tasks the grader draws: the seed they draw from, and what an
instructor relies on, that the same seed gives the same grade and that the instructor's answer earns every point
on another seed than the default (tests/test_exercises.py grades the samples under the default seed, 0)."""

import pytest
from threadpoolctl import threadpool_limits

from lrgrader import mutants, server, suites
from lrgrader.instructor import assignments, solution_answers

JUDGED = [item for assignment in assignments() for item in sorted(mutants.outcome_graded(assignment))]


def test_the_task_seed_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.delenv("LRGRADER_SEED", raising=False)
    assert suites.task_seed() == 0
    monkeypatch.setenv("LRGRADER_SEED", "17")
    assert suites.task_seed() == 17
    for bad in ("-1", "1.5", "seven", ""):
        monkeypatch.setenv("LRGRADER_SEED", bad)
        with pytest.raises(ValueError, match="LRGRADER_SEED"):
            suites.task_seed()


def test_each_item_and_each_seed_draws_its_own_tasks(monkeypatch):
    def draws(item, seed):
        monkeypatch.setenv("LRGRADER_SEED", str(seed))
        return tuple(suites.task_rng(item).integers(1 << 30, size=4))

    assert draws("ex09/choose_lr", 0) == draws("ex09/choose_lr", 0)
    assert draws("ex09/choose_lr", 0) != draws("ex09/choose_lr", 1)
    assert draws("ex09/choose_lr", 0) != draws("ex07/suggest_lr", 0)


def test_some_items_are_graded_by_outcome():
    assert "ex09/choose_lr" in JUDGED


def grade(item, seed, monkeypatch):
    monkeypatch.setenv("LRGRADER_SEED", str(seed))  # the checks' process is forked from this one
    assignment, name = suites.parse(item)
    source = solution_answers(assignment)[name]
    # NumPy is loaded here already, its BLAS with a thread per core: the grader's forks get one, as a real grader's
    with threadpool_limits(1):
        return server.run_item(item, mutants.answer_of(assignment, mutants.Mutant(item, "solution", source), item))


@pytest.mark.slow
@pytest.mark.parametrize("item", JUDGED)
def test_the_instructors_answer_earns_every_point_on_another_seed_and_that_seed_grades_alike(item, monkeypatch):
    server.one_thread_each()
    first, again = grade(item, 3, monkeypatch), grade(item, 3, monkeypatch)
    assert first.score == first.points, [check.message for check in first.checks if not check.passed]
    assert [(check.name, check.passed, check.message) for check in again.checks] == \
        [(check.name, check.passed, check.message) for check in first.checks]
