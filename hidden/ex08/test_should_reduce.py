"""Hidden checks of exercise 8's ``should_reduce(metrics, patience=10, threshold=1e-4)``: whether
ReduceLROnPlateau (mode min, relative threshold, no cooldown) cuts the rate right after the last value."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.optim.lr_scheduler import ReduceLROnPlateau

from lrgrader.checks import requirement

REQUIREMENTS = {
    "behaviour": ("decides as ReduceLROnPlateau does: best, count of bad values, patience, restart after a cut", 70),
    "contract": ("returns a bool, takes any sequence and leaves it alone", 15),
    "validation": ("refuses a patience that is not an integer >= 0 or a negative threshold with ValueError", 15),
}


def decision(value):
    """The answer's True or False (a bool or a NumPy bool), as a genuine bool; anything else fails the check."""
    assert type(value) in (bool, np.bool_), f"the result should be True or False, not a {type(value).__name__}"
    return bool(value)


def torch_cuts(metrics, patience, threshold):
    """For each value of ``metrics``, whether torch's ReduceLROnPlateau lowered the rate right after it."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = ReduceLROnPlateau(optimizer, patience=patience, threshold=threshold, factor=0.5)
    cuts = []
    for metric in metrics:
        before = optimizer.param_groups[0]["lr"]
        scheduler.step(metric)
        cuts.append(optimizer.param_groups[0]["lr"] < before)
    return cuts


@requirement("behaviour")
@given(metrics=st.lists(st.floats(0.0, 10.0) | st.sampled_from([1.0, 2.0]), min_size=1, max_size=40),
       patience=st.integers(0, 4), threshold=st.floats(0.0, 0.3))
def test_matches_torch_after_every_value(answer, metrics, patience, threshold):
    """agrees with torch's ReduceLROnPlateau after every value of random metric histories"""
    expected = torch_cuts(metrics, patience, threshold)
    for end in range(1, len(metrics) + 1):
        assert decision(answer(metrics[:end], patience=patience, threshold=threshold)) == expected[end - 1], \
            f"with patience {patience} and threshold {threshold:g}, after value {end} of a history torch " \
            f"{'cuts' if expected[end - 1] else 'does not cut'} the rate"


CASES = {
    "improving": ([1.0, 0.9, 0.8, 0.7], 0, False),
    "first stall, patience 0": ([1.0, 1.0], 0, True),
    "stalls after a cut, patience 0": ([1.0, 1.0, 1.0], 0, True),
    "second stall, patience 1": ([1.0, 2.0, 2.0], 1, True),
    "one stall within patience 1": ([1.0, 2.0], 1, False),
    "an improvement resets the count": ([1.0, 2.0, 0.5, 2.0], 1, False),
    "a cut resets the count": ([1.0, 2.0, 2.0, 2.0], 1, False),
}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(CASES))
def test_known_histories(answer, name):
    """decides right on histories with known answers"""
    metrics, patience, expected = CASES[name]
    assert decision(answer(metrics, patience=patience)) == expected, \
        f"for a metric that is {name}, with patience {patience}, expected {expected}"


EDGES = {"a threshold of 1": ([1.0, 1.0, 1.0], 1, 1.0), "a threshold of 2": ([1.0, 0.5, 0.25], 1, 2.0),
         "an infinite first value": ([math.inf, 2.0, 2.0], 1, 0.0),
         "infinite values, patience 0": ([math.inf, math.inf, 2.0], 0, 0.0)}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(EDGES))
def test_agrees_with_torch_at_the_edges(answer, name):
    """agrees with torch where no value can improve on infinity * (1 - threshold)"""
    metrics, patience, threshold = EDGES[name]
    expected = torch_cuts(metrics, patience, threshold)
    for end in range(1, len(metrics) + 1):
        assert decision(answer(metrics[:end], patience=patience, threshold=threshold)) == expected[end - 1], \
            f"for {name} (history {metrics[:end]}, patience {patience}, threshold {threshold:g}) torch " \
            f"{'cuts' if expected[end - 1] else 'does not cut'} the rate: the count of bad values starts at 0, " \
            "and a value that does not improve on best * (1 - threshold) adds 1 to it"


@requirement("behaviour")
def test_uses_the_default_patience_and_threshold(answer):
    """uses patience=10 and threshold=1e-4 when none are given"""
    assert decision(answer([1.0] * 12)) is True, "by default the 11th bad value in a row (the 12th value) cuts"
    assert decision(answer([1.0] * 11)) is False, "by default 10 bad values in a row are tolerated"
    assert decision(answer([1.0, 0.99985], patience=0)) is False, \
        "0.99985 is below 1.0 * (1 - 1e-4): an improvement with the default threshold"
    assert decision(answer([1.0, 0.99995], patience=0)) is True, \
        "0.99995 is not below 1.0 * (1 - 1e-4): no improvement with the default threshold"


@requirement("behaviour")
def test_the_threshold_is_relative(answer):
    """counts a value as an improvement only below best * (1 - threshold)"""
    assert decision(answer([1.0, 0.95], patience=0, threshold=0.1)) is True, \
        "0.95 is not below 1.0 * 0.9: no improvement, cut"
    assert decision(answer([1.0, 0.85], patience=0, threshold=0.1)) is False, "0.85 is below 0.9: an improvement"


@requirement("behaviour")
def test_an_empty_history_never_cuts(answer):
    """returns False for an empty history"""
    assert decision(answer([])) is False, "no values, no cut"


@requirement("contract")
def test_returns_a_bool(answer):
    """returns True or False, a bool"""
    got = answer([1.0, 1.0], patience=0)
    assert type(got) is bool, f"return a bool, not a {type(got).__name__}"


@requirement("validation")
@pytest.mark.parametrize("bad", [{"patience": -1}, {"patience": 1.5}, {"threshold": -0.1}],
                         ids=["negative patience", "fractional patience", "negative threshold"])
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a negative or fractional patience, or a negative threshold"""
    with pytest.raises(ValueError):
        answer([1.0, 2.0], **bad)


@requirement("contract")
def test_takes_any_sequence_and_leaves_it_alone(answer):
    """takes a list, a tuple or a NumPy array, and changes none of them"""
    history = [1.0, 2.0, 2.0]
    assert decision(answer(history, patience=1)) is True and decision(answer(tuple(history), patience=1)) is True, \
        "a tuple should give the same answer as a list"
    array = np.array(history)
    assert decision(answer(array, patience=1)) is True, "a NumPy array should give the same answer as a list"
    assert history == [1.0, 2.0, 2.0], "should_reduce changed the list it was given"
    assert np.array_equal(array, [1.0, 2.0, 2.0]), "should_reduce changed the array it was given"


@requirement("behaviour")
def test_a_long_stall_cuts_every_patience_plus_one_values(answer):
    """cuts at every (patience + 1)-th value of a long stall, as the count restarts after each cut"""
    history = [1.0] + [1.0] * 12
    cuts = [end for end in range(1, len(history) + 1) if decision(answer(history[:end], patience=2))]
    assert cuts == [4, 7, 10, 13], \
        f"with patience 2 a stall after the first value cuts after values 4, 7, 10 and 13, got {cuts}"
