"""Hidden checks of exercise 5's ``polynomial_lr(step, base_lr, total_steps, power=1.0)``: torch's PolynomialLR
as a function of the step."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from helpers import first_difference, torch_schedule_rates
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("gives base_lr * (1 - min(step, T) / T) ** power, as PolynomialLR does", 70),
    "contract": ("returns a Python float", 15),
    "validation": ("refuses a bad step, rate, total_steps or power with ValueError", 15),
}


def rate(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), float, "the rate")


SETTINGS = {"linear over 400": (400, 1.0), "squared over 250": (250, 2.0), "square root over 300": (300, 0.5),
            "cubed over 7": (7, 3.0)}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_matches_polynomiallr(answer, name):
    """gives torch's PolynomialLR rates until twice the decay's length"""
    total, power = SETTINGS[name]
    ours = [rate(answer, step, 0.1, total, power) for step in range(2 * total)]
    theirs = torch_schedule_rates(lambda sgd: lr_scheduler.PolynomialLR(sgd, total, power), 2 * total, 0.1)
    step = first_difference(ours, theirs, atol=1e-15)
    assert step is None, f"decaying {name} steps the rate at step {step} differs from PolynomialLR's"


@requirement("behaviour")
def test_default_power_is_linear(answer):
    """decays along a straight line when no power is given"""
    got = [rate(answer, step, 0.2, 8) for step in (0, 2, 6)]
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got, [0.2, 0.15, 0.05])), \
        f"with the default power 1, 8 steps from 0.2 give 0.2, 0.15 and 0.05 at steps 0, 2 and 6; got {got}"


@requirement("behaviour")
def test_ends_at_zero_and_stays_there(answer):
    """reaches zero at total_steps and stays at zero after"""
    assert rate(answer, 100, 0.1, 100) == 0.0, "at step total_steps the rate should be exactly 0"
    assert rate(answer, 10_000, 0.1, 100, 2.0) == 0.0, "after total_steps the rate should stay 0 (use min(step, T))"


@requirement("behaviour")
def test_a_single_step_of_decay(answer):
    """handles total_steps = 1: base_lr at step 0, zero from step 1"""
    assert math.isclose(rate(answer, 0, 0.5, 1), 0.5) and rate(answer, 1, 0.5, 1) == 0.0, \
        "with total_steps = 1 the rate is base_lr at step 0 and 0 from step 1 on"


@requirement("behaviour")
@given(step=st.integers(0, 1000), total=st.integers(1, 500), power=st.floats(0.1, 5.0), base=st.floats(1e-5, 10.0))
def test_stays_between_zero_and_base_and_never_rises(answer, step, total, power, base):
    """stays in [0, base_lr] and never rises from one step to the next"""
    now, after = rate(answer, step, base, total, power), rate(answer, step + 1, base, total, power)
    assert 0 <= now <= base, f"at step {step} the rate {now} is outside [0, base_lr]"
    assert after <= now, f"the rate rose from step {step} to step {step + 1}"


@requirement("behaviour")
@given(total=st.integers(2, 500), data=st.data())
def test_linear_decay_is_symmetric(answer, total, data):
    """with power 1, the rates at steps t and T - t add up to base_lr"""
    step = data.draw(st.integers(0, total))
    assert math.isclose(rate(answer, step, 1.0, total) + rate(answer, total - step, 1.0, total), 1.0, rel_tol=1e-9), \
        f"with power 1 and T = {total} the rates at steps {step} and {total - step} should add up to base_lr"


@requirement("behaviour")
@given(total=st.integers(2, 500), power=st.floats(0.1, 5.0), data=st.data())
def test_the_power_shapes_the_curve(answer, total, power, data):
    """falls faster than the straight line for a power above 1, slower for a power below 1"""
    step = data.draw(st.integers(1, total - 1))
    line, curve = rate(answer, step, 1.0, total), rate(answer, step, 1.0, total, power)
    if power > 1.001:
        assert curve < line, f"with power {power:g} the rate at step {step} should be below the straight line's"
    elif power < 0.999:
        assert curve > line, f"with power {power:g} the rate at step {step} should be above the straight line's"


@requirement("contract")
def test_returns_a_float(answer):
    """returns a Python float, even for an integer base_lr or NumPy numbers"""
    for args in ((3, 1, 10), (10, 2, 10), (3, 1, 10, 2), (3, np.float64(0.1), 10), (3, 0.1, 10, np.float64(2.0)),
                 (3, np.float32(0.5), 10)):
        value = answer(*args)
        assert type(value) is float, \
            f"polynomial_lr{args} returned a {type(value).__name__}: return a Python float (use float(...))"


BAD = {"negative step": (-1, 0.1, 100), "fractional step": (1.5, 0.1, 100), "negative base_lr": (0, -0.1, 100),
       "zero base_lr": (0, 0.0, 100), "infinite base_lr": (0, math.inf, 100),
       "total_steps 0": (0, 0.1, 0), "fractional total_steps": (0, 0.1, 10.5), "zero power": (0, 0.1, 100, 0.0),
       "negative power": (0, 0.1, 100, -1.0), "infinite power": (0, 0.1, 100, math.inf)}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_input(answer, bad):
    """raises ValueError for an argument out of its range"""
    with pytest.raises(ValueError):
        answer(*BAD[bad])
