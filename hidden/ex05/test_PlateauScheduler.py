"""Hidden checks of exercise 5's ``PlateauScheduler(lr, factor=0.1, patience=10, threshold=1e-4, cooldown=0,
min_lr=0.0)``: torch's ReduceLROnPlateau (mode "min", relative threshold) without an optimizer."""

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from helpers import describe_schedule_settings, optimizer
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("lowers the rate as ReduceLROnPlateau does: after more than patience calls without a relative "
                  "improvement, then a cooldown, never below min_lr", 70),
    "contract": ("returns the rate as a Python float, keeps it in the attribute lr, and keeps its state in the "
                 "object (none shared between schedulers)", 15),
    "validation": ("refuses a bad rate, factor, patience, cooldown, threshold or min_lr with ValueError", 15),
}


def torch_plateau(metrics, lr=0.1, **settings):
    sgd = optimizer(lr)
    scheduler = lr_scheduler.ReduceLROnPlateau(sgd, **settings)
    rates = []
    for metric in metrics:
        scheduler.step(metric)
        rates.append(sgd.param_groups[0]["lr"])
    return rates


def run(answer, metrics, lr=0.1, **settings):
    scheduler = answer(lr, **settings)
    return [genuine(scheduler.step(metric), float, "the rate step returned") for metric in metrics]


def noisy_loss(seed, calls=300):
    """A loss that falls, stalls, jumps and falls again, with noise: what a validation loss looks like."""
    generator = random.Random(seed)
    return [1 / (1 + 0.1 * t) + (0.3 if 100 < t < 140 else 0) + 0.02 * generator.random() for t in range(calls)]


SETTINGS = {
    "defaults": {},
    "patience 3, cooldown 2, halving, floor": {"patience": 3, "cooldown": 2, "factor": 0.5, "min_lr": 0.002},
    "patience 0, threshold 0.1": {"patience": 0, "threshold": 0.1},
    "patience 5, cooldown 10": {"patience": 5, "cooldown": 10, "factor": 0.3},
}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_matches_reducelronplateau(answer, name):
    """gives torch's ReduceLROnPlateau rates over 300 calls of a noisy loss"""
    settings = SETTINGS[name]
    metrics = noisy_loss(1)
    ours, theirs = run(answer, metrics, **settings), torch_plateau(metrics, **settings)
    wrong = [call for call, (a, b) in enumerate(zip(ours, theirs), start=1) if not math.isclose(a, b, rel_tol=1e-9)]
    assert not wrong, f"with {describe_schedule_settings(settings) or 'the defaults'} the rate after call " \
                      f"{wrong[:1]} differs from ReduceLROnPlateau's"


@requirement("behaviour")
@given(metrics=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=60), patience=st.integers(0, 5),
       cooldown=st.integers(0, 4), threshold=st.floats(0.0, 0.5), factor=st.floats(0.05, 0.95))
def test_matches_for_any_metrics(answer, metrics, patience, cooldown, threshold, factor):
    """gives torch's rates for random sequences of metrics and random settings"""
    settings = {"patience": patience, "cooldown": cooldown, "threshold": threshold, "factor": factor}
    assert run(answer, metrics, **settings) == pytest.approx(torch_plateau(metrics, **settings), rel=1e-9), \
        f"with {describe_schedule_settings(settings)} the rates differ from ReduceLROnPlateau's for some sequence " \
        "of metrics"


@requirement("behaviour")
def test_defaults(answer):
    """takes factor 0.1, patience 10, threshold 1e-4, cooldown 0 and min_lr 0 when they are not given"""
    rates = run(answer, [1.0] + [2.0] * 22, lr=1.0)
    expected = [1.0] * 11 + [0.1] * 11 + [0.01]
    assert rates == pytest.approx(expected, rel=1e-9), (
        "with the defaults, the 11th call in a row without improvement (patience 10) divides the rate by 10 and, "
        f"with no cooldown, the 22nd does again: expected {expected}, got {rates}")
    rates = run(answer, [1.0, 1 - 1.5e-4], lr=1.0, patience=0)
    assert rates == [1.0, 1.0], (
        "with the default threshold 1e-4, a value 1.5e-4 (relatively) below the best is an improvement, so with "
        f"patience 0 the rate stays; got {rates}")


@requirement("behaviour")
def test_waits_out_its_patience(answer):
    """lowers the rate on the (patience + 1)-th call in a row without improvement, not before"""
    rates = run(answer, [1.0] + [2.0] * 4, lr=1.0, patience=3, factor=0.5)
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5], \
        f"with patience 3, after a first value 4 calls without improvement give {rates}, expected [1, 1, 1, 1, 0.5]"


@requirement("behaviour")
def test_cools_down_after_a_reduction(answer):
    """ignores bad calls during the cooldown after a reduction"""
    rates = run(answer, [1.0] + [2.0] * 8, lr=1.0, patience=1, factor=0.5, cooldown=3)
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25], \
        f"with patience 1 and cooldown 3 the rates should be [1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25], got {rates}"


@requirement("behaviour")
def test_stops_at_min_lr(answer):
    """never goes below min_lr, and skips a reduction of 1e-8 or less"""
    rates = run(answer, [1.0] + [2.0] * 20, lr=1.0, patience=0, factor=0.5, min_lr=0.1)
    assert min(rates) == pytest.approx(0.1) and rates[-1] == pytest.approx(0.1), \
        f"with min_lr = 0.1 the rate should stop at 0.1, got {rates}"
    tiny = run(answer, [1.0, 2.0, 2.0], lr=1.5e-8, patience=0, factor=0.5)
    assert tiny == [1.5e-8] * 3, "a reduction by 1e-8 or less should be skipped, as torch does (its eps)"
    exactly = run(answer, [1.0, 2.0], lr=2e-8, patience=0, factor=0.5)
    assert exactly == [2e-8, 2e-8], \
        "a reduction from 2e-8 to 1e-8 changes the rate by exactly 1e-8, which is no more than 1e-8: skip it"
    small = run(answer, [1.0, 2.0], lr=3e-8, patience=0, factor=0.5)
    assert small == pytest.approx([3e-8, 1.5e-8], rel=1e-9), \
        "a reduction from 3e-8 to 1.5e-8 changes the rate by more than 1e-8: it should happen"


@requirement("behaviour")
def test_improvement_is_relative(answer):
    """counts a value as better only when it is below best * (1 - threshold)"""
    rates = run(answer, [1.0, 0.95, 0.91, 0.5], lr=1.0, patience=1, factor=0.5, threshold=0.1)
    assert rates == [1.0, 1.0, 0.5, 0.5], \
        f"with threshold 0.1, neither 0.95 nor 0.91 improves on 1.0 (they must be below 0.9): got {rates}"
    rates = run(answer, [1.0, 1.0, 1.0], lr=1.0, patience=0, factor=0.5, threshold=0.0)
    assert rates == [1.0, 0.5, 0.25], \
        f"with threshold 0, a value equal to the best is no improvement (it must be below): got {rates}"


@requirement("contract")
def test_keeps_the_rate_in_lr(answer):
    """keeps the current rate in the attribute lr and returns it from step as a Python float"""
    scheduler = answer(1, patience=0, factor=0.5)
    assert genuine(scheduler.lr, float, "scheduler.lr") == 1.0, "right after __init__ scheduler.lr should be 1.0"
    first, second = scheduler.step(1.0), scheduler.step(1.0)
    assert type(first) is float and type(second) is float, \
        f"step should return the rate as a Python float, not ({type(first).__name__}, {type(second).__name__})"
    lr = scheduler.lr
    assert type(lr) is float, f"scheduler.lr should be a Python float, not a {type(lr).__name__}"
    assert lr == second == 0.5, "after a reduction scheduler.lr and the value step returned should be 0.5"
    scheduler = answer(np.float64(0.2), factor=0.5, patience=0)
    values = [scheduler.step(metric) for metric in (np.float64(1.0), 2, np.float64(3.0))]
    assert all(type(value) is float for value in values), \
        "for a NumPy rate and NumPy or integer metrics, step should still return Python floats"


@requirement("contract")
def test_schedulers_keep_their_own_state(answer):
    """two schedulers stepped in turn each give what they would alone"""
    first, second = answer(1.0, patience=1, factor=0.5), answer(1.0, patience=1, factor=0.5)
    falling, stalling = [1.0, 0.8, 0.6, 0.4, 0.2], [1.0, 2.0, 2.0, 2.0, 2.0]
    ours = [(genuine(first.step(a), float), genuine(second.step(b), float)) for a, b in zip(falling, stalling)]
    expected = list(zip(torch_plateau(falling, lr=1.0, patience=1, factor=0.5),
                        torch_plateau(stalling, lr=1.0, patience=1, factor=0.5)))
    assert all(math.isclose(a, b, rel_tol=1e-9) for pairs in zip(ours, expected) for a, b in zip(*pairs)), (
        f"two schedulers stepped in turn, one with a falling and one with a stalling metric, gave {ours}; alone they "
        f"give {expected}: keep every count and the best value in the object (self.), not in the class or globals")


BAD = {"zero lr": {"lr": 0.0}, "infinite lr": {"lr": math.inf}, "factor 1": {"factor": 1.0},
       "factor 0": {"factor": 0.0}, "negative factor": {"factor": -0.1}, "negative patience": {"patience": -1},
       "fractional patience": {"patience": 2.5}, "negative cooldown": {"cooldown": -2},
       "fractional cooldown": {"cooldown": 0.5}, "negative threshold": {"threshold": -0.1},
       "negative min_lr": {"min_lr": -1.0}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError in __init__ for a setting out of its range"""
    with pytest.raises(ValueError):
        answer(**{"lr": 0.1, **BAD[bad]})
