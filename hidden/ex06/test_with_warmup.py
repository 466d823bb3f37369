"""Hidden checks of exercise 6's ``with_warmup(factor, warmup_steps, start_factor=0.1)``: a LambdaLR factor
with a linear warmup in front of ``factor``, which starts afresh after it (as SequentialLR does)."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import LambdaLR

from helpers import first_difference_strict, sequential_warmup, torch_warmup_rates, warmed_up
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("ramps linearly from start_factor * factor(0) for W steps, then gives factor(t - W), as "
                  "SequentialLR(LinearLR, LambdaLR) does", 70),
    "contract": ("returns a new function of its own that gives Python floats and never calls factor with a "
                 "negative step", 15),
    "validation": ("refuses a bad warmup length or start factor with ValueError", 15),
}

# Factors with factor(0) = 1, for which SequentialLR(LinearLR, LambdaLR(factor)) gives what with_warmup should.
FACTORS = {
    "cosine": lambda t: 0.5 * (1 + math.cos(math.pi * min(t, 1000) / 1000)),
    "exponential": lambda t: 0.997 ** t,
    "step": lambda t: 0.5 ** (t // 300),
    "constant": lambda t: 1,
    "inverse square root": lambda t: 1 / math.sqrt(t + 1),
}
CASES = {  # factor, warmup_steps, start_factor
    "cosine after 100 steps from 0.1": ("cosine", 100, 0.1),
    "exponential after 20 steps from 0.01": ("exponential", 20, 0.01),
    "step decay after 250 steps from 0.5": ("step", 250, 0.5),
    "constant after 1 step from 0.1": ("constant", 1, 0.1),
    "inverse square root after 500 steps from 0.001": ("inverse square root", 500, 0.001),
}
HORIZON = 1500


def value(g, step):
    """g(step), as a genuine float."""
    return genuine(g(step), float, f"g({step})")


def checked(g):
    """g, whose every value is checked to be a genuine float: what LambdaLR is given."""
    return lambda step: value(g, step)


def negative_step_guard(factor, calls=None):
    """``factor``, which fails loudly when called with a negative step (and records its steps in ``calls``)."""
    def guarded(step):
        if calls is not None:
            calls.append(step)
        if step < 0:
            raise AssertionError(f"g called factor({step}): factor must never see a negative step; "
                                 "during the warmup use factor(0)")
        return factor(step)
    return guarded


@requirement("behaviour")
@pytest.mark.parametrize("name", list(CASES))
def test_matches_sequentiallr(answer, name):
    """used by LambdaLR, gives the rates of SequentialLR(LinearLR warmup, LambdaLR(factor)) over 1500 steps"""
    factor_name, warmup_steps, start_factor = CASES[name]
    factor = FACTORS[factor_name]
    ours = torch_warmup_rates(lambda optimizer: LambdaLR(optimizer, checked(answer(factor, warmup_steps,
                                                                                   start_factor))),
                              HORIZON, 0.1)
    theirs = torch_warmup_rates(sequential_warmup(factor, warmup_steps, start_factor), HORIZON, 0.1)
    step = first_difference_strict(ours, theirs)
    assert step is None, (
        f"with the {factor_name} factor, {warmup_steps} warmup steps from {start_factor} and lr = 0.1, the rate of "
        f"step {step} is {ours[step]:.10g} instead of SequentialLR's {theirs[step]:.10g}"
        + (": the warmup should rise linearly from start_factor * factor(0)" if step < warmup_steps else
           f": after the warmup, step t gets factor(t - {warmup_steps}), the schedule delayed, not multiplied"))


@requirement("behaviour")
def test_no_warmup_is_the_factor_itself(answer):
    """with warmup_steps = 0, gives factor(t) at every step t"""
    for name, factor in FACTORS.items():
        g = answer(negative_step_guard(factor), 0)
        for step in range(400):
            assert math.isclose(value(g, step), factor(step), rel_tol=1e-12), \
                f"with warmup_steps = 0 and the {name} factor, g({step}) should be factor({step}) = {factor(step):.10g}"


@requirement("behaviour")
def test_default_start_factor(answer):
    """starts the ramp at 0.1 * factor(0) when no start_factor is given"""
    g = answer(lambda t: 2.0 * 0.99 ** t, 10)
    got = [value(g, step) for step in (0, 5, 10)]
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(got, [0.2, 1.1, 2.0])), (
        "with the default start_factor = 0.1, 10 warmup steps in front of 2 * 0.99**t give 0.2, 1.1 and 2 at steps "
        f"0, 5 and 10; got {got}")


@requirement("behaviour")
def test_scales_the_ramp_by_the_first_factor(answer):
    """when factor(0) is not 1, rises from start_factor * factor(0) to factor(0) (the closed form)"""
    for factor, description in ((lambda t: 2.0 * 0.99 ** t, "2 * 0.99**t"), (lambda t: 0.25, "0.25")):
        g = answer(factor, 10, 0.2)
        for step in range(40):
            expected, got = warmed_up(factor, 10, 0.2, step), value(g, step)
            assert math.isclose(got, expected, rel_tol=1e-12), (
                f"for the factor {description}, 10 warmup steps from 0.2: g({step}) should be {expected:.10g}, got "
                f"{got:.10g}" + (" (the ramp rises from start_factor * factor(0))" if step < 10 else ""))


@requirement("behaviour")
@settings(max_examples=60)
@given(warmup_steps=st.integers(0, 500), start_factor=st.floats(1e-3, 1.0), step=st.integers(0, 3000),
       scale=st.floats(0.01, 10.0))
def test_closed_form_for_any_setting(answer, warmup_steps, start_factor, step, scale):
    """follows the closed form for any warmup length, start factor and step"""
    factor = lambda t: scale * 0.999 ** t  # noqa: E731
    expected = warmed_up(factor, warmup_steps, start_factor, step)
    got = value(answer(factor, warmup_steps, start_factor), step)
    assert math.isclose(got, expected, rel_tol=1e-9), (
        f"with warmup_steps = {warmup_steps}, start_factor = {start_factor!r} and the factor {scale!r} * 0.999**t, "
        f"g({step}) should be {expected:.10g}, got {got:.10g}")


@requirement("behaviour")
def test_no_jump_at_the_end_of_the_warmup(answer):
    """reaches factor(0) at step W in the ramp's own increments: no jump where the schedule takes over"""
    factor = FACTORS["exponential"]
    for warmup_steps, start_factor in ((5, 0.1), (64, 0.5), (1000, 0.001)):
        g = answer(factor, warmup_steps, start_factor)
        increment = (1 - start_factor) / warmup_steps
        at_end, last = value(g, warmup_steps), value(g, warmup_steps - 1)
        assert math.isclose(at_end, 1.0, rel_tol=1e-12), \
            f"with {warmup_steps} warmup steps, step {warmup_steps} should get factor(0) = 1, got {at_end}"
        assert math.isclose(at_end - last, increment, rel_tol=1e-6), (
            f"with {warmup_steps} warmup steps from {start_factor}, the last warmup step should get "
            f"{1 - increment:.10g}, one increment (1 - start_factor) / W below factor(0); got {last:.10g}")


@requirement("behaviour")
@settings(max_examples=30)
@given(warmup_steps=st.integers(1, 200), start_factor=st.floats(1e-3, 0.99), scale=st.floats(0.01, 10.0))
def test_warmup_rises_at_every_step(answer, warmup_steps, start_factor, scale):
    """rises at every step of the warmup, up to factor(0) at step W"""
    g = answer(lambda t: scale * 0.5 ** t, warmup_steps, start_factor)
    values = [value(g, step) for step in range(warmup_steps + 1)]
    for step in range(warmup_steps):
        assert values[step + 1] > values[step], (
            f"with {warmup_steps} warmup steps from {start_factor!r} and factor(0) = {scale!r}, "
            f"g({step + 1}) = {values[step + 1]:.10g} is not above g({step}) = {values[step]:.10g}")


@requirement("behaviour")
def test_starts_at_start_factor(answer):
    """gives step 0 the factor start_factor * factor(0)"""
    for start_factor, scale in ((0.1, 1.0), (0.001, 3.0), (1.0, 0.5), (0.25, 2.0)):
        got = value(answer(lambda t: scale * 0.9 ** t, 10, start_factor), 0)
        assert math.isclose(got, start_factor * scale, rel_tol=1e-12), \
            f"with start_factor = {start_factor} and factor(0) = {scale}, " \
            f"g(0) should be {start_factor * scale:g}, not {got}"


@requirement("behaviour")
def test_trains_with_lambdalr(answer):
    """drives SGD through LambdaLR: 60 steps on a quadratic end where the closed form's rates lead"""
    factor, warmup_steps, start_factor = FACTORS["cosine"], 20, 0.1
    weight = torch.nn.Parameter(torch.tensor([4.0, -2.0], dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=0.05)
    expected = torch.tensor([4.0, -2.0], dtype=torch.float64)
    curvature = torch.tensor([1.0, 3.0], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = LambdaLR(optimizer, checked(answer(factor, warmup_steps, start_factor)))
        for step in range(60):
            optimizer.zero_grad()
            (0.5 * (curvature * weight**2).sum()).backward()
            optimizer.step()
            scheduler.step()
            expected = expected - 0.05 * warmed_up(factor, warmup_steps, start_factor, step) * curvature * expected
    assert torch.allclose(weight.detach(), expected, rtol=1e-9), \
        "after 60 SGD steps under LambdaLR with your factor, the weights differ from the closed form's"


@requirement("contract")
def test_never_calls_factor_with_a_negative_step(answer):
    """never calls factor with a negative step, neither when built nor during the warmup"""
    calls = []
    g = answer(negative_step_guard(lambda t: 1 / math.sqrt(t + 1), calls), 50)
    for step in range(120):
        g(step)
    steps = [genuine(step, float, "a step g gave factor") for step in calls]
    assert min(steps, default=0) >= 0, "factor was called with a negative step"
    assert steps, "g never called factor: after the warmup, step t gets factor(t - W)"


@requirement("contract")
def test_returns_floats(answer):
    """returns a Python float at every step, even for a factor that gives ints or NumPy numbers"""
    for description, factor, warmup_steps in (("ints", lambda t: 2 if t < 5 else 1, 4),
                                              ("NumPy floats", lambda t: np.float64(0.9) ** t, 4),
                                              ("NumPy floats", lambda t: np.float32(0.5), 0)):
        g = answer(factor, warmup_steps, 0.5)
        for step in (0, 3, 4, 9, 20):
            result = g(step)
            assert type(result) is float, (
                f"for a factor that gives {description} and {warmup_steps} warmup steps, g({step}) returned a "
                f"{type(result).__name__}: return a Python float (float(...))")


@requirement("contract")
def test_each_call_makes_its_own_factor(answer):
    """builds a new factor at each call: a second warmup does not change the first"""
    factor, steps = FACTORS["exponential"], (0, 5, 9, 10, 15, 150, 250)
    short = answer(factor, 10, 0.1)
    before = [value(short, step) for step in steps]
    long = answer(factor, 200, 0.5)
    after = [value(short, step) for step in steps]
    assert after == before, (
        "after a second call with_warmup(factor, 200, 0.5), the first factor (10 steps from 0.1) gives other "
        "values: keep each warmup's settings in its own function (a closure), not in globals")
    assert value(long, 5) != value(short, 5), \
        "two warmups of different lengths and start factors give the same value at step 5"


BAD = {"negative warmup_steps": {"warmup_steps": -1}, "fractional warmup_steps": {"warmup_steps": 2.5},
       "start_factor 0": {"start_factor": 0.0}, "negative start_factor": {"start_factor": -0.5},
       "start_factor above 1": {"start_factor": 1.5}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError, as soon as it is called, for a warmup length or start factor out of range"""
    settings = {"warmup_steps": 10, "start_factor": 0.1, **BAD[bad]}
    with pytest.raises(ValueError):
        answer(FACTORS["constant"], **settings)
