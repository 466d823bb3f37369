"""Hidden checks of exercise 6's ``wsd_lr(step, base_lr, warmup_steps, stable_steps, decay_steps, min_lr=0.0)``:
warmup-stable-decay with chapter 6's linear warmup, min(1, (t + 1) / W), against its closed form and torch's
SequentialLR(LambdaLR, ConstantLR, LinearLR)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import ConstantLR, LambdaLR, LinearLR, SequentialLR

from helpers import describe_schedule_settings, first_difference_strict, torch_warmup_rates
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("ramps from base_lr / W to base_lr at step W - 1, holds base_lr for S more steps, falls linearly "
                  "to min_lr over D steps and stays there, as SequentialLR(LambdaLR, ConstantLR, LinearLR) does", 70),
    "contract": ("returns a Python float", 15),
    "validation": ("refuses a bad step, phase length or rate with ValueError", 15),
}

CASES = {  # base_lr, warmup_steps, stable_steps, decay_steps, min_lr
    "100 + 500 + 200 steps": (0.1, 100, 500, 200, 0.0),
    "down to a floor": (3e-4, 20, 100, 50, 3e-5),
    "no stable phase": (1.0, 10, 0, 40, 0.1),
    "no warmup": (0.5, 0, 30, 30, 0.0),
    "no warmup and no stable phase": (1.0, 0, 0, 5, 0.2),
    "one step each": (2.0, 1, 1, 1, 0.5),
}


def wsd(step, base_lr, warmup_steps, stable_steps, decay_steps, min_lr=0.0):
    """The closed form."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if step < warmup_steps + stable_steps:
        return base_lr
    if step <= warmup_steps + stable_steps + decay_steps:
        return base_lr + (min_lr - base_lr) * (step - warmup_steps - stable_steps) / decay_steps
    return min_lr


def sequential_wsd(base_lr, warmup_steps, stable_steps, decay_steps, min_lr):
    """A scheduler factory: the chapter's warmup LambdaLR(min(1, (t + 1) / W)), ConstantLR(1) and a LinearLR decay
    to min_lr, chained by SequentialLR; a phase of length 0 is left out."""
    def factory(optimizer):
        schedulers, milestones = [], []
        if warmup_steps:
            schedulers.append(LambdaLR(optimizer, lambda t: min(1.0, (t + 1) / warmup_steps)))
            milestones.append(warmup_steps)
        if stable_steps:
            schedulers.append(ConstantLR(optimizer, 1.0))
            milestones.append(warmup_steps + stable_steps)
        schedulers.append(LinearLR(optimizer, 1.0, min_lr / base_lr, total_iters=decay_steps))
        return SequentialLR(optimizer, schedulers, milestones) if milestones else schedulers[0]
    return factory


def rate(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), float, "the rate")


def rates(answer, steps, *settings):
    return [rate(answer, step, *settings) for step in range(steps + 1)]


def where(base_lr, warmup_steps, stable_steps, decay_steps, min_lr):
    return describe_schedule_settings({"base_lr": base_lr, "warmup_steps": warmup_steps, "stable_steps": stable_steps,
                                       "decay_steps": decay_steps, "min_lr": min_lr})


@requirement("behaviour")
def test_closed_form_values(answer):
    """gives the closed form's rates at every step of a small schedule, and past its end"""
    expected = [0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 0.85, 0.7, 0.55, 0.4, 0.25, 0.1, 0.1]
    got = rates(answer, 14, 1.0, 4, 3, 6, 0.1)
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(got, expected)), (
        f"with 4 warmup steps, 3 stable steps and 6 decay steps from 1.0 to 0.1, steps 0 to 14 should get "
        f"{expected}; got {[round(value, 6) for value in got]}")


@requirement("behaviour")
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(answer, name):
    """gives the rates of SequentialLR(LambdaLR, ConstantLR, LinearLR) at every step, 100 past the decay"""
    base_lr, warmup_steps, stable_steps, decay_steps, min_lr = CASES[name]
    steps = warmup_steps + stable_steps + decay_steps + 100
    ours = rates(answer, steps, *CASES[name])
    theirs = torch_warmup_rates(sequential_wsd(*CASES[name]), steps, base_lr)
    step = first_difference_strict(ours, theirs, atol=1e-12 * base_lr)
    assert step is None, (f"with {where(*CASES[name])}, the rate of step {step} is {ours[step]:.10g} instead of "
                          f"torch's {theirs[step]:.10g}"
                          + (" (in the warmup, where step t gets base_lr * (t + 1) / W)" if step < warmup_steps
                             else ""))


@requirement("behaviour")
@settings(max_examples=30)
@given(warmup_steps=st.integers(0, 100), stable_steps=st.integers(0, 100), decay_steps=st.integers(1, 100),
       floor=st.floats(0.0, 1.0))
def test_phases(answer, warmup_steps, stable_steps, decay_steps, floor):
    """rises during the warmup up to base_lr at its last step, holds base_lr, falls during the decay, then holds
    min_lr, for any lengths"""
    settings = (2.0, warmup_steps, stable_steps, decay_steps, 2.0 * floor)
    decay_start, end = warmup_steps + stable_steps, warmup_steps + stable_steps + decay_steps
    values = rates(answer, end + 20, *settings)
    prefix = f"with {where(*settings)}: "
    for step in range(warmup_steps - 1):
        assert values[step] < values[step + 1] <= 2.0 * (1 + 1e-12), \
            prefix + f"the rate should rise towards base_lr during the warmup (steps 0 to {warmup_steps - 1})"
    for step in range(max(warmup_steps - 1, 0), decay_start + 1):
        assert math.isclose(values[step], 2.0, rel_tol=1e-12), \
            prefix + (f"step {step} should get base_lr (the last warmup step, the stable phase and the first step "
                      "of the decay)")
    for step in range(decay_start, end):
        assert values[step + 1] <= values[step] and values[step + 1] >= 2.0 * floor - 1e-12, \
            prefix + f"the rate should fall from base_lr to min_lr during the decay (steps {decay_start} to {end})"
    for step in range(end, end + 21):
        assert math.isclose(values[step], 2.0 * floor, rel_tol=1e-9, abs_tol=1e-15), \
            prefix + f"step {step} should get min_lr (the decay ends at step {end})"


@requirement("behaviour")
def test_no_jump_between_phases(answer):
    """joins its phases without a jump: base_lr from the last warmup step to the first of the decay, min_lr where
    the decay ends"""
    for arguments in CASES.values():
        base_lr, warmup_steps, stable_steps, decay_steps, min_lr = arguments
        prefix = f"with {where(*arguments)}: "
        decay_start = warmup_steps + stable_steps
        if warmup_steps:
            assert math.isclose(rate(answer, warmup_steps - 1, *arguments), base_lr, rel_tol=1e-12), \
                prefix + f"step {warmup_steps - 1}, the last of the warmup, should reach base_lr"
        assert math.isclose(rate(answer, warmup_steps, *arguments), base_lr, rel_tol=1e-12), \
            prefix + f"step {warmup_steps}, right after the warmup, should get base_lr"
        assert math.isclose(rate(answer, decay_start, *arguments), base_lr, rel_tol=1e-12), \
            prefix + f"step {decay_start}, the first step of the decay, should still get base_lr"
        assert math.isclose(rate(answer, decay_start + decay_steps, *arguments), min_lr, rel_tol=1e-9, abs_tol=1e-15), \
            prefix + f"step {decay_start + decay_steps}, the last step of the decay, should get min_lr"


@requirement("behaviour")
def test_empty_phases(answer):
    """handles a warmup or a stable phase of length 0"""
    assert math.isclose(rate(answer, 0, 0.5, 0, 10, 10), 0.5), "with no warmup, step 0 should get base_lr"
    assert math.isclose(rate(answer, 4, 1.0, 5, 0, 10, 0.0), 1.0), \
        "with no stable phase, the last warmup step (step 4 of a 5-step warmup) should reach base_lr"
    assert math.isclose(rate(answer, 5, 1.0, 5, 0, 10, 0.0), 1.0), \
        "with no stable phase, the decay starts at base_lr right after the warmup (step 5 of a 5-step warmup)"
    assert math.isclose(rate(answer, 6, 1.0, 5, 0, 10, 0.0), 0.9), \
        "with no stable phase, the step after the warmup is the second of the decay"
    got = [rate(answer, step, 1.0, 0, 0, 4) for step in range(6)]
    assert all(math.isclose(a, b, abs_tol=1e-15) for a, b in zip(got, [1.0, 0.75, 0.5, 0.25, 0.0, 0.0])), \
        f"with no warmup and no stable phase, a decay over 4 steps gives [1, 0.75, 0.5, 0.25, 0, 0], got {got}"


@requirement("behaviour")
def test_min_lr_long_after_the_decay(answer):
    """gives min_lr at any step after the decay, however far"""
    for step in (811, 10_000, 10**9):
        got = rate(answer, step, 0.1, 100, 500, 200, 0.001)
        assert math.isclose(got, 0.001, rel_tol=1e-12), f"step {step}, after the decay (it ends at 800), gets {got}"


@requirement("behaviour")
@settings(max_examples=30)
@given(warmup_steps=st.integers(0, 50), stable_steps=st.integers(0, 50), decay_steps=st.integers(1, 500),
       floor=st.floats(0.0, 0.99), data=st.data())
def test_decay_is_linear(answer, warmup_steps, stable_steps, decay_steps, floor, data):
    """falls by the same amount, (base_lr - min_lr) / D, at every step of the decay"""
    step = warmup_steps + stable_steps + data.draw(st.integers(0, decay_steps - 1))
    arguments = (1.0, warmup_steps, stable_steps, decay_steps, floor)
    drop = rate(answer, step, *arguments) - rate(answer, step + 1, *arguments)
    assert math.isclose(drop, (1 - floor) / decay_steps, rel_tol=1e-6), (
        f"with {where(*arguments)}, the rate should fall by (base_lr - min_lr) / decay_steps = "
        f"{(1 - floor) / decay_steps:.10g} from step {step} to {step + 1}; it falls by {drop:.10g}")


@requirement("behaviour")
@settings(max_examples=30)
@given(warmup_steps=st.integers(1, 1000), data=st.data())
def test_warmup_is_the_chapters(answer, warmup_steps, data):
    """ramps up like with_warmup: base_lr * (t + 1) / W at every warmup step t"""
    step = data.draw(st.integers(0, warmup_steps - 1))
    got = rate(answer, step, 3.0, warmup_steps, 10, 10)
    expected = wsd(step, 3.0, warmup_steps, 10, 10)
    assert math.isclose(got, expected, rel_tol=1e-9), (
        f"with base_lr = 3 and warmup_steps = {warmup_steps}, warmup step {step} should get base_lr * (t + 1) / W = "
        f"{expected:.10g}, got {got:.10g}")


@requirement("behaviour")
def test_first_step_already_moves(answer):
    """gives step 0 the rate base_lr / W, (t + 1) / W at t = 0, not 0"""
    for base_lr, warmup_steps in ((0.1, 10), (2.0, 1000), (0.5, 1), (3.0, 4)):
        got = rate(answer, 0, base_lr, warmup_steps, 5, 5)
        assert math.isclose(got, base_lr / warmup_steps, rel_tol=1e-12), (
            f"with base_lr = {base_lr} and {warmup_steps} warmup steps, step 0 should get base_lr / W = "
            f"{base_lr / warmup_steps:g}, not {got}: the first step of the warmup already takes 1/W of the rate")


@requirement("behaviour")
def test_default_min_lr(answer):
    """decays to 0 when min_lr is not given"""
    got = [rate(answer, step, 2.0, 4, 2, 4) for step in (0, 2, 5, 8, 12)]
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15) for a, b in zip(got, [0.5, 1.5, 2.0, 1.0, 0.0])), (
        "with the default min_lr = 0, 4 warmup steps to 2.0, 2 stable and 4 decay steps give 0.5, 1.5, 2.0, 1.0 "
        f"and 0.0 at steps 0, 2, 5, 8 and 12; got {got}")


@requirement("contract")
def test_returns_a_float(answer):
    """returns a Python float in every phase, even when every argument is an integer or a NumPy number"""
    for step in (0, 1, 3, 5, 9, 20):
        for args in ((step, 1, 2, 3, 4, 0), (step, np.float64(0.5), 2, 3, 4), (step, 0.5, 2, 3, 4, np.float64(0.1)),
                     (step, np.float32(2.0), 2, 3, 4, np.float64(0.5))):
            value = answer(*args)
            assert type(value) is float, \
                f"wsd_lr{args} returned a {type(value).__name__}: return a Python float (float(...))"


BAD = {"negative step": {"step": -1}, "fractional step": {"step": 0.5},
       "negative warmup_steps": {"warmup_steps": -1}, "fractional warmup_steps": {"warmup_steps": 1.5},
       "negative stable_steps": {"stable_steps": -10}, "fractional stable_steps": {"stable_steps": 2.5},
       "negative decay_steps": {"decay_steps": -3}, "decay_steps 0": {"decay_steps": 0},
       "fractional decay_steps": {"decay_steps": 4.5}, "base_lr 0": {"base_lr": 0.0},
       "infinite base_lr": {"base_lr": math.inf}, "negative min_lr": {"min_lr": -0.01},
       "min_lr above base_lr": {"min_lr": 1.0}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a step or setting out of range"""
    arguments = {"step": 5, "base_lr": 0.1, "warmup_steps": 10, "stable_steps": 10, "decay_steps": 10, "min_lr": 0.0,
                 **BAD[bad]}
    with pytest.raises(ValueError):
        answer(**arguments)
