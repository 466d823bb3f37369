"""Hidden checks of exercise 5's ``one_cycle_lr(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
final_div_factor=1e4, base_momentum=0.85, max_momentum=0.95)``: torch's OneCycleLR, rate and momentum."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from helpers import describe_schedule_settings, first_difference, torch_schedule_rates
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("gives OneCycleLR's rate and momentum: half cosines up to the peak at step pct_start * N - 1, "
                  "then down to the end", 70),
    "contract": ("returns the pair (lr, momentum) as two Python floats", 15),
    "validation": ("refuses a bad step, a step past N - 1, a bad total_steps, pct_start or factor, or an empty "
                   "warm-up with ValueError", 15),
}


def pair(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), (float, float), "the pair (lr, momentum)")


SETTINGS = {
    "1000 steps": {"total_steps": 1000},
    "97 steps, 40% up": {"total_steps": 97, "pct_start": 0.4},
    "500 steps, other factors": {"total_steps": 500, "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0},
    "other momenta": {"total_steps": 300, "base_momentum": 0.8, "max_momentum": 0.99},
    "10 steps": {"total_steps": 10},
    "10 steps, peak at step 1": {"total_steps": 10, "pct_start": 0.2},
    "4 steps, peak at step 0.6": {"total_steps": 4, "pct_start": 0.4},
}


def both(answer, name, max_lr=0.5):
    settings = SETTINGS[name]
    total = settings["total_steps"]
    ours = [pair(answer, step, max_lr, **settings) for step in range(total)]
    theirs = torch_schedule_rates(lambda sgd: lr_scheduler.OneCycleLR(sgd, max_lr, **settings), total, max_lr,
                                  with_momentum=True)
    return ours, theirs


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_rate_matches_onecyclelr(answer, name):
    """gives torch's OneCycleLR learning rates at every step of the run"""
    ours, theirs = both(answer, name)
    step = first_difference([lr for lr, _ in ours], [lr for lr, _ in theirs], rtol=1e-7, atol=1e-14)
    assert step is None, \
        f"with {describe_schedule_settings(SETTINGS[name])} the rate at step {step} differs from OneCycleLR's"


@requirement("behaviour")
@pytest.mark.parametrize("name", ["1000 steps", "other momenta", "10 steps", "4 steps, peak at step 0.6"])
def test_momentum_matches_onecyclelr(answer, name):
    """gives torch's OneCycleLR momentum at every step of the run"""
    ours, theirs = both(answer, name)
    step = first_difference([m for _, m in ours], [m for _, m in theirs], rtol=1e-9)
    assert step is None, \
        f"with {describe_schedule_settings(SETTINGS[name])} the momentum at step {step} differs from OneCycleLR's"


@requirement("behaviour")
def test_start_peak_and_end(answer):
    """starts at max_lr / div_factor, peaks at step pct_start * N - 1, ends at max_lr / div_factor / final_div_factor"""
    assert math.isclose(pair(answer, 0, 2.0, 200, div_factor=4.0)[0], 0.5), "the run starts at max_lr / div_factor"
    assert math.isclose(pair(answer, 59, 2.0, 200)[0], 2.0), "with N = 200 and pct_start = 0.3 the peak is at step 59"
    assert math.isclose(pair(answer, 199, 2.0, 200, div_factor=4.0, final_div_factor=10.0)[0], 0.05), \
        "the last step (N - 1) is at max_lr / div_factor / final_div_factor"


@requirement("behaviour")
@given(total=st.integers(20, 3000), pct=st.floats(0.05, 0.95), data=st.data())
def test_rises_to_the_peak_then_falls(answer, total, pct, data):
    """rises (and the momentum falls) until the peak, then falls (and the momentum rises) until the end"""
    peak = pct * total - 1
    assume(peak > 0)
    step = data.draw(st.integers(0, total - 2))
    (lr, momentum), (next_lr, next_momentum) = pair(answer, step, 1.0, total, pct), pair(answer, step + 1, 1.0, total,
                                                                                         pct)
    if step + 1 <= peak:
        assert next_lr >= lr and next_momentum <= momentum, f"before the peak (step {peak:g}) the rate should rise"
    elif step > peak:
        assert next_lr <= lr and next_momentum >= momentum, f"after the peak (step {peak:g}) the rate should fall"


@requirement("behaviour")
@given(total=st.integers(2, 3000), pct=st.floats(0.05, 0.95), data=st.data())
def test_stays_within_its_bounds(answer, total, pct, data):
    """keeps the rate in [final rate, max_lr] and the momentum in [base_momentum, max_momentum]"""
    assume(pct * total - 1 > 0)
    step = data.draw(st.integers(0, total - 1))
    lr, momentum = pair(answer, step, 1.0, total, pct)
    assert 1 / 25 / 1e4 * (1 - 1e-9) <= lr <= 1.0 + 1e-12, f"at step {step} the rate {lr} leaves its bounds"
    assert 0.85 - 1e-12 <= momentum <= 0.95 + 1e-12, f"at step {step} the momentum {momentum} leaves its bounds"


@requirement("behaviour")
@given(total=st.integers(20, 3000), pct=st.floats(0.05, 0.95), scale=st.floats(0.01, 100.0), data=st.data())
def test_the_rate_scales_with_max_lr(answer, total, pct, scale, data):
    """scales the whole rate curve with max_lr and leaves the momentum alone"""
    assume(pct * total - 1 > 0)
    step = data.draw(st.integers(0, total - 1))
    (lr, momentum), (scaled, same) = pair(answer, step, 1.0, total, pct), pair(answer, step, scale, total, pct)
    assert math.isclose(scaled, scale * lr, rel_tol=1e-9), f"multiplying max_lr by {scale:g} should scale every rate"
    assert math.isclose(same, momentum, rel_tol=1e-12), "the momentum does not depend on max_lr"


@requirement("contract")
def test_returns_floats(answer):
    """returns the rate and the momentum as a tuple of two Python floats, even for ints or NumPy numbers"""
    for args in ((5, 1, 100), (50, 1, 100), (99, 2, 100, 0.5, 4, 10, 0, 1), (5, np.float64(0.1), 100),
                 (50, np.float32(0.1), 100), (5, 0.1, 100, 0.3, 25.0, 1e4, np.float64(0.8), np.float64(0.9))):
        result = answer(*args)
        assert type(result) is tuple and len(result) == 2, \
            f"one_cycle_lr{args} returned {result!r}: return the tuple (lr, momentum)"
        lr, momentum = result
        assert type(lr) is float and type(momentum) is float, \
            f"one_cycle_lr{args} returned ({type(lr).__name__}, {type(momentum).__name__}): return two Python floats"


BAD = {"negative step": (-1, 0.1, 100), "fractional step": (0.5, 0.1, 100), "step past the end": (100, 0.1, 100),
       "pct_start 0": (0, 0.1, 100, 0.0), "pct_start 1": (0, 0.1, 100, 1.0), "zero max_lr": (0, 0.0, 100),
       "infinite max_lr": (0, math.inf, 100), "zero total_steps": (0, 0.1, 0),
       "fractional total_steps": (0, 0.1, 100.5), "zero div_factor": (0, 0.1, 100, 0.3, 0.0),
       "zero final_div_factor": (0, 0.1, 100, 0.3, 25.0, 0.0), "no steps to warm up": (0, 0.1, 10, 0.1)}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_input(answer, bad):
    """raises ValueError for an argument out of its range, a step after the last one, or an empty warm-up"""
    with pytest.raises(ValueError):
        answer(*BAD[bad])
