"""Hidden checks of exercise 8's ``plateaued(losses, window=50, min_drop=0.01)``: whether the mean of the last
window is no more than ``min_drop`` below the mean of the window before it."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import sgd_losses
from lrgrader.checks import requirement

REQUIREMENTS = {
    "behaviour": ("says whether the mean of the last window exceeds (1 - min_drop) x the mean of the one before", 70),
    "contract": ("returns a bool, for a list or an array, and leaves the history alone", 15),
    "validation": ("refuses a window that is not an integer >= 1 or a min_drop outside [0, 1) with ValueError", 15),
}


def decision(value):
    """The answer's True or False (a bool or a NumPy bool), as a genuine bool; anything else fails the check."""
    assert type(value) in (bool, np.bool_), f"the result should be True or False, not a {type(value).__name__}"
    return bool(value)


def reference(losses, window, min_drop):
    if len(losses) < 2 * window:
        return False
    return sum(losses[-window:]) / window > (1 - min_drop) * sum(losses[-2 * window:-window]) / window


CASES = {
    "flat": ([2.0] * 120, 50, 0.01, True),
    "falling like 1/t": ([1 / (1 + 0.1 * t) for t in range(120)], 50, 0.01, False),
    "rising": ([1 + 0.01 * t for t in range(100)], 50, 0.01, True),
    "falling 0.5% per window": ([1.0] * 50 + [0.995] * 50, 50, 0.01, True),
    "falling 2% per window": ([1.0] * 50 + [0.98] * 50, 50, 0.01, False),
    "falling 2% per window from 10, min_drop 5%": ([10.0] * 50 + [9.8] * 50, 50, 0.05, True),
    "too short to tell": ([1.0] * 99, 50, 0.01, False),
    "only the last two windows count": ([100.0] * 10 + [1.0] * 20, 10, 0.01, True),
}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(CASES))
def test_known_histories(answer, name):
    """tells a plateau from a falling loss in histories with known answers"""
    losses, window, min_drop, expected = CASES[name]
    got = decision(answer(list(losses), window=window, min_drop=min_drop))
    assert got == expected, f"for a loss {name} (window {window}, min_drop {min_drop}) expected {expected}, got {got}"


@requirement("behaviour")
def test_uses_the_default_window_and_min_drop(answer):
    """uses window=50 and min_drop=0.01 when none are given"""
    assert decision(answer([1.0] * 100)) is True, "100 flat losses fill two default windows of 50: a plateau"
    assert decision(answer([1.0] * 50 + [0.985] * 50)) is False, \
        "a drop of 1.5% from one window of 50 to the next is more than the default min_drop of 1%: still falling"


@requirement("behaviour")
def test_the_boundary_is_still_falling(answer):
    """counts a drop of exactly min_drop as still falling (the test is strictly greater)"""
    assert decision(answer([1.0, 1.0, 0.5, 0.5], window=2, min_drop=0.5)) is False, \
        "a drop of exactly min_drop: the last mean is not above (1 - min_drop) times the one before"


@requirement("behaviour")
@given(losses=st.lists(st.floats(0.0, 10.0), max_size=60), window=st.integers(1, 20), min_drop=st.floats(0.0, 0.5))
def test_any_history(answer, losses, window, min_drop):
    """matches the rule for random histories"""
    expected = reference(losses, window, min_drop)
    assert decision(answer(list(losses), window=window, min_drop=min_drop)) == expected, \
        f"with window {window} and min_drop {min_drop:g} the answer differs from the rule's"


@requirement("contract")
def test_returns_a_bool_and_takes_arrays(answer):
    """returns True or False (a bool), for a list or a NumPy array"""
    for losses in ([1.0] * 4, np.ones(4)):
        got = answer(losses, window=2)
        assert type(got) is bool, f"return a bool, not a {type(got).__name__} (wrap a NumPy comparison in bool())"


@requirement("contract")
def test_leaves_the_history_alone(answer):
    """does not change the list it is given"""
    losses = [3.0, 2.0, 1.0, 1.0]
    answer(losses, window=2)
    assert losses == [3.0, 2.0, 1.0, 1.0], "plateaued changed the list it was given"


@requirement("validation")
@pytest.mark.parametrize("bad", [{"window": 0}, {"window": 1.5}, {"min_drop": 1.0}, {"min_drop": -0.1}],
                         ids=["window 0", "fractional window", "min_drop 1", "negative min_drop"])
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a window or min_drop out of range"""
    with pytest.raises(ValueError):
        answer([1.0] * 10, **bad)


@requirement("behaviour")
@given(losses=st.lists(st.floats(0.0, 10.0), min_size=2, max_size=60), window=st.integers(1, 20),
       min_drop=st.floats(0.0, 0.4), more=st.floats(0.0, 0.5))
def test_a_larger_min_drop_finds_more_plateaus(answer, losses, window, min_drop, more):
    """calls a run plateaued with a larger min_drop whenever it is with a smaller one"""
    if decision(answer(list(losses), window=window, min_drop=min_drop)):
        assert decision(answer(list(losses), window=window, min_drop=min(min_drop + more, 0.99))), \
            "a history that has plateaued by a small min_drop has plateaued by a larger one too"


@requirement("behaviour")
def test_a_real_run_that_stalls(answer):
    """says a run with a zero learning rate has plateaued, and one that learns has not"""
    runs = {lr: sgd_losses(lr, steps=100, samples=400) for lr in (0.0, 0.01)}
    assert decision(answer(runs[0.0], window=50, min_drop=0.05)), "with lr 0 the loss only fluctuates: a plateau"
    assert not decision(answer(runs[0.01], window=50, min_drop=0.05)), "at lr 0.01 the loss is still falling fast"
