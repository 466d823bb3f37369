"""Hidden checks of exercise 5's ``PlateauScheduler(lr, factor=0.1, patience=10, threshold=1e-4, cooldown=0,
min_lr=0.0)``: torch's ReduceLROnPlateau (mode "min", relative threshold) without an optimizer."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from helpers import describe_schedule_settings, optimizer


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
    return [scheduler.step(metric) for metric in metrics]


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


@pytest.mark.parametrize("name", list(SETTINGS))
def test_matches_reducelronplateau(answer, name):
    """gives torch's ReduceLROnPlateau rates over 300 calls of a noisy loss"""
    settings = SETTINGS[name]
    metrics = noisy_loss(1)
    ours, theirs = run(answer, metrics, **settings), torch_plateau(metrics, **settings)
    wrong = [call for call, (a, b) in enumerate(zip(ours, theirs), start=1) if not math.isclose(a, b, rel_tol=1e-9)]
    assert not wrong, f"with {describe_schedule_settings(settings) or 'the defaults'} the rate after call " \
                      f"{wrong[:1]} differs from ReduceLROnPlateau's"


@given(metrics=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=60), patience=st.integers(0, 5),
       cooldown=st.integers(0, 4), threshold=st.floats(0.0, 0.5), factor=st.floats(0.05, 0.95))
def test_matches_for_any_metrics(answer, metrics, patience, cooldown, threshold, factor):
    """gives torch's rates for random sequences of metrics and random settings"""
    settings = {"patience": patience, "cooldown": cooldown, "threshold": threshold, "factor": factor}
    assert run(answer, metrics, **settings) == pytest.approx(torch_plateau(metrics, **settings), rel=1e-9), \
        f"with {describe_schedule_settings(settings)} the rates differ from ReduceLROnPlateau's for some sequence " \
        "of metrics"


def test_waits_out_its_patience(answer):
    """lowers the rate on the (patience + 1)-th call in a row without improvement, not before"""
    rates = run(answer, [1.0] + [2.0] * 4, lr=1.0, patience=3, factor=0.5)
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5], \
        f"with patience 3, after a first value 4 calls without improvement give {rates}, expected [1, 1, 1, 1, 0.5]"


def test_cools_down_after_a_reduction(answer):
    """ignores bad calls during the cooldown after a reduction"""
    rates = run(answer, [1.0] + [2.0] * 8, lr=1.0, patience=1, factor=0.5, cooldown=3)
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25], \
        f"with patience 1 and cooldown 3 the rates should be [1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25], got {rates}"


def test_stops_at_min_lr(answer):
    """never goes below min_lr, and ignores changes of 1e-8 or less"""
    rates = run(answer, [1.0] + [2.0] * 20, lr=1.0, patience=0, factor=0.5, min_lr=0.1)
    assert min(rates) == pytest.approx(0.1) and rates[-1] == pytest.approx(0.1), \
        f"with min_lr = 0.1 the rate should stop at 0.1, got {rates}"
    tiny = run(answer, [1.0, 2.0, 2.0], lr=1.5e-8, patience=0, factor=0.5)
    assert tiny == [1.5e-8] * 3, "a reduction by 1e-8 or less should be skipped, as torch does (its eps)"


def test_improvement_is_relative(answer):
    """counts a value as better only when it is below best * (1 - threshold)"""
    rates = run(answer, [1.0, 0.95, 0.91, 0.5], lr=1.0, patience=1, factor=0.5, threshold=0.1)
    assert rates == [1.0, 1.0, 0.5, 0.5], \
        f"with threshold 0.1, neither 0.95 nor 0.91 improves on 1.0 (they must be below 0.9): got {rates}"


def test_keeps_the_rate_in_lr(answer):
    """keeps the current rate in the attribute lr and returns it from step as a float"""
    scheduler = answer(1, patience=0, factor=0.5)
    first, second = scheduler.step(1.0), scheduler.step(1.0)
    assert isinstance(first, float) and isinstance(second, float), "step should return the rate as a float"
    assert scheduler.lr == second == 0.5, "after a reduction scheduler.lr and the value step returned should be 0.5"


BAD = {"zero lr": {"lr": 0.0}, "factor 1": {"factor": 1.0}, "negative factor": {"factor": -0.1},
       "negative patience": {"patience": -1}, "negative cooldown": {"cooldown": -2},
       "negative min_lr": {"min_lr": -1.0}}


@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError in __init__ for a setting out of its range"""
    with pytest.raises(ValueError):
        answer(**{"lr": 0.1, **BAD[bad]})
