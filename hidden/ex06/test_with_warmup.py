"""Hidden checks of exercise 6's ``with_warmup(factor, warmup_steps)``: a LambdaLR factor with chapter 6's linear
warmup, min(1, (t + 1) / W), in front of ``factor``, which starts afresh after it (as SequentialLR does)."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import LambdaLR, LinearLR, SequentialLR

from helpers import first_difference_strict, torch_warmup_rates
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("ramps from factor(0) / W at step 0 up to factor(0) at step W - 1, then gives factor(t - W), as "
                  "SequentialLR of chapter 6's warmup and LambdaLR does", 70),
    "contract": ("returns a new function of its own that gives Python floats and never calls factor with a "
                 "negative step", 15),
    "validation": ("refuses a bad warmup length with ValueError", 15),
}

# Factors with factor(0) = 1, for which SequentialLR(warmup, LambdaLR(factor)) gives what with_warmup should.
FACTORS = {
    "cosine": lambda t: 0.5 * (1 + math.cos(math.pi * min(t, 1000) / 1000)),
    "exponential": lambda t: 0.997 ** t,
    "step": lambda t: 0.5 ** (t // 300),
    "constant": lambda t: 1,
    "inverse square root": lambda t: 1 / math.sqrt(t + 1),
}
CASES = {  # factor, warmup_steps
    "cosine after 100 steps": ("cosine", 100),
    "exponential after 20 steps": ("exponential", 20),
    "step decay after 250 steps": ("step", 250),
    "constant after 1 step": ("constant", 1),
    "inverse square root after 500 steps": ("inverse square root", 500),
}
HORIZON = 1500


def chapter_warmup(warmup_steps):
    """Chapter 6's factor: the step with index t (from 0) uses lr * min(1, (t + 1) / W)."""
    return lambda t: min(1.0, (t + 1) / warmup_steps)


def sequential(factor, warmup, warmup_steps):
    """A scheduler factory: ``warmup(optimizer)`` for the first steps, then LambdaLR(factor) from step W."""
    return lambda optimizer: SequentialLR(optimizer, [warmup(optimizer), LambdaLR(optimizer, factor)],
                                          milestones=[warmup_steps])


def closed_form(factor, warmup_steps, step):
    """What with_warmup's factor gives at ``step``."""
    return factor(0) * (step + 1) / warmup_steps if step < warmup_steps else factor(step - warmup_steps)


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


def assert_same_rates(answer, factor_name, warmup_steps, warmup, reference):
    factor = FACTORS[factor_name]
    ours = torch_warmup_rates(lambda optimizer: LambdaLR(optimizer, checked(answer(factor, warmup_steps))),
                              HORIZON, 0.1)
    theirs = torch_warmup_rates(sequential(factor, warmup, warmup_steps), HORIZON, 0.1)
    step = first_difference_strict(ours, theirs)
    assert step is None, (
        f"with the {factor_name} factor, {warmup_steps} warmup steps and lr = 0.1, the rate of step {step} is "
        f"{ours[step]:.10g} instead of {reference}'s {theirs[step]:.10g}"
        + (": during the warmup, step t gets factor(0) * (t + 1) / W" if step < warmup_steps else
           f": after the warmup, step t gets factor(t - {warmup_steps}), the schedule delayed, not multiplied"))


@requirement("behaviour")
@pytest.mark.parametrize("name", list(CASES))
def test_matches_sequentiallr(answer, name):
    """used by LambdaLR, gives the rates of SequentialLR(LambdaLR(min(1, (t + 1) / W)), LambdaLR(factor)) over
    1500 steps"""
    factor_name, warmup_steps = CASES[name]
    assert_same_rates(answer, factor_name, warmup_steps,
                      lambda optimizer: LambdaLR(optimizer, chapter_warmup(warmup_steps)), "SequentialLR")


@requirement("behaviour")
@pytest.mark.parametrize("warmup_steps", [2, 7, 64])
def test_matches_the_chapters_linearlr(answer, warmup_steps):
    """gives the rates of the chapter's SequentialLR(LinearLR(start_factor=1/W, total_iters=W-1), LambdaLR)"""
    assert_same_rates(answer, "exponential", warmup_steps,
                      lambda optimizer: LinearLR(optimizer, 1 / warmup_steps, 1.0, total_iters=warmup_steps - 1),
                      "SequentialLR(LinearLR, LambdaLR)")


@requirement("behaviour")
def test_no_warmup_is_the_factor_itself(answer):
    """with warmup_steps = 0, gives factor(t) at every step t"""
    for name, factor in FACTORS.items():
        g = answer(negative_step_guard(factor), 0)
        for step in range(400):
            assert math.isclose(value(g, step), factor(step), rel_tol=1e-12), \
                f"with warmup_steps = 0 and the {name} factor, g({step}) should be factor({step}) = {factor(step):.10g}"


@requirement("behaviour")
def test_first_step_already_moves(answer):
    """gives step 0 the factor factor(0) / W, (t + 1) / W at t = 0, not 0"""
    for warmup_steps, scale in ((10, 1.0), (1000, 3.0), (1, 0.5), (4, 2.0)):
        got = value(answer(lambda t: scale * 0.9 ** t, warmup_steps), 0)
        assert math.isclose(got, scale / warmup_steps, rel_tol=1e-12), (
            f"with {warmup_steps} warmup steps and factor(0) = {scale}, g(0) should be factor(0) / W = "
            f"{scale / warmup_steps:g}, not {got}: the first step of the warmup already takes 1/W of the rate")


@requirement("behaviour")
def test_full_rate_at_the_last_warmup_step(answer):
    """reaches factor(0) at step W - 1, the last of the warmup, and starts the schedule from it at step W"""
    factor = FACTORS["exponential"]
    for warmup_steps in (2, 5, 64, 1000):
        g = answer(factor, warmup_steps)
        last, first_after = value(g, warmup_steps - 1), value(g, warmup_steps)
        assert math.isclose(last, 1.0, rel_tol=1e-12), (
            f"with {warmup_steps} warmup steps, step {warmup_steps - 1}, the last of the warmup, should get the full "
            f"factor(0) = 1, got {last}")
        assert math.isclose(first_after, 1.0, rel_tol=1e-12), (
            f"with {warmup_steps} warmup steps, step {warmup_steps} should get factor(0) = 1, where the schedule "
            f"starts, got {first_after}")


@requirement("behaviour")
def test_scales_the_ramp_by_the_first_factor(answer):
    """when factor(0) is not 1, rises from factor(0) / W to factor(0) (the closed form)"""
    for factor, description in ((lambda t: 2.0 * 0.99 ** t, "2 * 0.99**t"), (lambda t: 0.25, "0.25")):
        g = answer(factor, 10)
        for step in range(40):
            expected, got = closed_form(factor, 10, step), value(g, step)
            assert math.isclose(got, expected, rel_tol=1e-12), (
                f"for the factor {description} and 10 warmup steps, g({step}) should be {expected:.10g}, got "
                f"{got:.10g}" + (" (the warmup rises to factor(0), not to 1)" if step < 10 else ""))


@requirement("behaviour")
@settings(max_examples=60)
@given(warmup_steps=st.integers(0, 500), step=st.integers(0, 3000), scale=st.floats(0.01, 10.0))
def test_closed_form_for_any_setting(answer, warmup_steps, step, scale):
    """follows the closed form for any warmup length and step"""
    factor = lambda t: scale * 0.999 ** t  # noqa: E731
    expected = closed_form(factor, warmup_steps, step)
    got = value(answer(factor, warmup_steps), step)
    assert math.isclose(got, expected, rel_tol=1e-9), (
        f"with warmup_steps = {warmup_steps} and the factor {scale!r} * 0.999**t, g({step}) should be "
        f"{expected:.10g}, got {got:.10g}")


@requirement("behaviour")
@settings(max_examples=30)
@given(warmup_steps=st.integers(2, 200), scale=st.floats(0.01, 10.0))
def test_warmup_rises_in_equal_increments(answer, warmup_steps, scale):
    """rises by factor(0) / W at every step of the warmup"""
    g = answer(lambda t: scale * 0.5 ** t, warmup_steps)
    values = [value(g, step) for step in range(warmup_steps)]
    for step in range(warmup_steps - 1):
        rise = values[step + 1] - values[step]
        assert math.isclose(rise, scale / warmup_steps, rel_tol=1e-6), (
            f"with {warmup_steps} warmup steps and factor(0) = {scale!r}, g should rise by factor(0) / W = "
            f"{scale / warmup_steps:.10g} from step {step} to {step + 1}; it rises by {rise:.10g}")


@requirement("behaviour")
def test_trains_with_lambdalr(answer):
    """drives SGD through LambdaLR: 60 steps on a quadratic end where the closed form's rates lead"""
    factor, warmup_steps = FACTORS["cosine"], 20
    weight = torch.nn.Parameter(torch.tensor([4.0, -2.0], dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=0.05)
    expected = torch.tensor([4.0, -2.0], dtype=torch.float64)
    curvature = torch.tensor([1.0, 3.0], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = LambdaLR(optimizer, checked(answer(factor, warmup_steps)))
        for step in range(60):
            optimizer.zero_grad()
            (0.5 * (curvature * weight**2).sum()).backward()
            optimizer.step()
            scheduler.step()
            expected = expected - 0.05 * closed_form(factor, warmup_steps, step) * curvature * expected
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
        g = answer(factor, warmup_steps)
        for step in (0, 3, 4, 9, 20):
            result = g(step)
            assert type(result) is float, (
                f"for a factor that gives {description} and {warmup_steps} warmup steps, g({step}) returned a "
                f"{type(result).__name__}: return a Python float (float(...))")


@requirement("contract")
def test_each_call_makes_its_own_factor(answer):
    """builds a new factor at each call: a second warmup does not change the first"""
    factor, steps = FACTORS["exponential"], (0, 5, 9, 10, 15, 150, 250)
    short = answer(factor, 10)
    before = [value(short, step) for step in steps]
    long = answer(factor, 200)
    after = [value(short, step) for step in steps]
    assert after == before, (
        "after a second call with_warmup(factor, 200), the first factor (10 warmup steps) gives other values: keep "
        "each warmup's length in its own function (a closure), not in globals")
    assert value(long, 5) != value(short, 5), "two warmups of different lengths give the same value at step 5"


BAD = {"negative": -1, "fractional": 2.5, "a fraction of a step": 0.5}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError, as soon as it is called, for a warmup length that is not an integer >= 0"""
    with pytest.raises(ValueError):
        answer(FACTORS["constant"], BAD[bad])
