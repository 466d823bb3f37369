"""Hidden checks of exercise 5's ``cosine_lr(step, base_lr, period, min_lr=0.0, restarts=False, period_mult=1)``:
torch's CosineAnnealingLR and CosineAnnealingWarmRestarts as one function of the step."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from helpers import first_difference, torch_schedule_rates
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("anneals along the cosine as CosineAnnealingLR does, with warm restarts as "
                  "CosineAnnealingWarmRestarts does", 70),
    "contract": ("returns a Python float", 15),
    "validation": ("refuses a bad step, rate, min_lr, period or period_mult with ValueError", 15),
}


def rate(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), float, "the rate")


ANNEALING = {"period 250 to 0": (250, 0.0), "period 100 to 0.001": (100, 0.001), "period 3 to 0.05": (3, 0.05)}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(ANNEALING))
def test_matches_cosineannealinglr(answer, name):
    """gives torch's CosineAnnealingLR rates for three periods, past the end of the first"""
    period, floor = ANNEALING[name]
    ours = [rate(answer, step, 0.1, period, floor) for step in range(3 * period)]
    theirs = torch_schedule_rates(lambda sgd: lr_scheduler.CosineAnnealingLR(sgd, period, floor), 3 * period, 0.1)
    step = first_difference(ours, theirs, rtol=1e-7, atol=1e-10)
    assert step is None, f"annealing over a {name} the rate at step {step} differs from CosineAnnealingLR's" + (
        " (past the period, the cosine goes on and climbs back, as torch's does)" if step and step > period else "")


RESTARTS = {"period 50": (50, 1, 0.0), "period 20 doubling": (20, 2, 0.001), "period 10 tripling": (10, 3, 0.0),
            "period 1": (1, 1, 0.01)}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(RESTARTS))
def test_matches_warm_restarts(answer, name):
    """gives torch's CosineAnnealingWarmRestarts rates over 600 steps"""
    period, mult, floor = RESTARTS[name]
    ours = [rate(answer, step, 0.1, period, floor, restarts=True, period_mult=mult) for step in range(600)]
    theirs = torch_schedule_rates(lambda sgd: lr_scheduler.CosineAnnealingWarmRestarts(sgd, period, mult, floor),
                                  600, 0.1)
    step = first_difference(ours, theirs, rtol=1e-7, atol=1e-10)
    assert step is None, f"with warm restarts, {name}, the rate at step {step} differs from torch's"


@requirement("behaviour")
def test_defaults(answer):
    """anneals to 0 without restarts when min_lr, restarts and period_mult are not given"""
    got = [rate(answer, step, 2.0, 10) for step in (0, 5, 10, 15)]
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(got, [2.0, 1.0, 0.0, 1.0])), (
        "with the defaults (min_lr = 0, no restarts) a period of 10 from 2.0 gives 2, 1, 0 and 1 at steps 0, 5, 10 "
        f"and 15; got {got}")
    got = [rate(answer, step, 2.0, 10, restarts=True) for step in (10, 15, 20, 25)]
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got, [2.0, 1.0, 2.0, 1.0])), (
        "with restarts and the default period_mult = 1 every period lasts 10 steps: steps 10, 15, 20 and 25 get "
        f"2, 1, 2 and 1; got {got}")


@requirement("behaviour")
def test_restarts_at_the_end_of_each_period(answer):
    """jumps back to base_lr at the first step of every period: 30, then 30 + 60, then 30 + 60 + 120"""
    for restart in (30, 90, 210):
        assert math.isclose(rate(answer, restart, 0.2, 30, restarts=True, period_mult=2), 0.2), \
            f"with periods of 30, 60, 120, ... a new period starts at step {restart}, at base_lr"
        assert rate(answer, restart - 1, 0.2, 30, restarts=True, period_mult=2) < 0.01, \
            f"the step before the restart at {restart} is at the bottom of the cosine"


@requirement("behaviour")
@given(step=st.integers(0, 5000), period=st.integers(1, 300), mult=st.integers(1, 3), restarts=st.booleans(),
       base=st.floats(1e-4, 10.0), floor_fraction=st.floats(0, 1))
def test_stays_between_the_floor_and_the_base(answer, step, period, mult, restarts, base, floor_fraction):
    """stays in [min_lr, base_lr] for any setting"""
    floor = base * floor_fraction
    value = rate(answer, step, base, period, floor, restarts, mult)
    assert floor - 1e-12 <= value <= base + 1e-12, f"at step {step} the rate {value} is outside [min_lr, base_lr]"


@requirement("behaviour")
@given(step=st.integers(0, 2000), period=st.integers(1, 200))
def test_restarts_with_a_fixed_period_repeat(answer, step, period):
    """with restarts and period_mult 1, repeats itself every period"""
    assert math.isclose(rate(answer, step, 1.0, period, restarts=True),
                        rate(answer, step + period, 1.0, period, restarts=True),
                        rel_tol=1e-9, abs_tol=1e-12), f"with a fixed period of {period} the rates at steps {step} " \
                                                       f"and {step + period} should be equal"


@requirement("behaviour")
@given(period=st.integers(1, 300), data=st.data())
def test_annealing_is_symmetric_about_the_middle(answer, period, data):
    """without restarts, the rates at steps t and T - t add up to base_lr + min_lr"""
    step = data.draw(st.integers(0, period))
    total = rate(answer, step, 1.0, period, 0.25) + rate(answer, period - step, 1.0, period, 0.25)
    assert math.isclose(total, 1.25, rel_tol=1e-9), \
        f"the rates at steps {step} and {period - step} of a period of {period} should add up to base_lr + min_lr"


@requirement("behaviour")
def test_accepts_the_ends_of_the_min_lr_range(answer):
    """takes min_lr = 0 and min_lr = base_lr (a flat rate)"""
    assert math.isclose(rate(answer, 7, 0.3, 20, 0.0), 0.15 * (1 + math.cos(math.pi * 7 / 20)), rel_tol=1e-9), \
        "min_lr = 0 is allowed: the cosine then goes down to 0"
    got = [rate(answer, step, 0.3, 20, 0.3, restarts) for step in (0, 7, 20, 33) for restarts in (False, True)]
    assert all(math.isclose(value, 0.3, rel_tol=1e-12) for value in got), \
        f"min_lr = base_lr is allowed and gives a flat rate of base_lr; got {got}"


@requirement("contract")
def test_returns_a_float(answer):
    """returns a Python float, even for an integer base_lr or NumPy numbers"""
    for args in ((3, 1, 10), (10, 2, 10, 1), (3, np.float64(0.1), 10), (3, 0.1, 10, np.float64(0.01)),
                 (12, np.float32(0.5), 10, 0.0, True)):
        value = answer(*args)
        assert type(value) is float, \
            f"cosine_lr{args} returned a {type(value).__name__}: return a Python float (use float(...))"


BAD = {"negative step": (-1, 0.1, 100), "fractional step": (0.5, 0.1, 100), "zero base_lr": (0, 0.0, 100),
       "infinite base_lr": (0, math.inf, 100), "period 0": (0, 0.1, 0), "fractional period": (0, 0.1, 10.5),
       "min_lr above base_lr": (0, 0.1, 100, 0.2), "negative min_lr": (0, 0.1, 100, -0.01),
       "period_mult 0": (0, 0.1, 100, 0.0, True, 0), "fractional period_mult": (0, 0.1, 100, 0.0, True, 1.5)}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_input(answer, bad):
    """raises ValueError for an argument out of its range"""
    with pytest.raises(ValueError):
        answer(*BAD[bad])
