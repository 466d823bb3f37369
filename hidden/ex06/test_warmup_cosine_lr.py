"""Hidden checks of exercise 6's ``warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0)``: chapter
6's linear warmup, min(1, (t + 1) / W), then CosineAnnealingLR started at step W, as one function of the step."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR

from helpers import describe_schedule_settings, first_difference_strict, torch_warmup_rates
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("ramps from base_lr / W at step 0 to base_lr at step W - 1, then follows the cosine from step W "
                  "down to min_lr at step T, as chapter 6's SequentialLR(LinearLR, CosineAnnealingLR) does", 70),
    "contract": ("returns a Python float", 15),
    "validation": ("refuses a bad step, warmup, total or rate with ValueError", 15),
}

CASES = {  # base_lr, warmup_steps, total_steps, min_lr
    "1000 steps, 100 of warmup": (0.1, 100, 1000, 0.0),
    "down to a floor": (3e-4, 50, 600, 3e-5),
    "one warmup step": (1.0, 1, 200, 0.0),
    "two warmup steps": (0.05, 2, 300, 0.0),
    "one cosine step": (0.2, 99, 100, 0.02),
    "a floor at the peak": (0.1, 10, 100, 0.1),
}


def chapter_schedule(warmup_steps, total_steps, min_lr, lambda_warmup=False):
    """A scheduler factory: chapter 6's cosine_schedule, with a floor. Its warmup is LinearLR(1/W, total_iters=W-1),
    or (``lambda_warmup``) LambdaLR of min(1, (t + 1) / W), which gives the same rates."""
    def factory(optimizer):
        cosine = CosineAnnealingLR(optimizer, T_max=total_steps - warmup_steps, eta_min=min_lr)
        if warmup_steps == 0:
            return cosine
        ramp = (LambdaLR(optimizer, lambda t: min(1.0, (t + 1) / warmup_steps)) if lambda_warmup else
                LinearLR(optimizer, start_factor=1 / warmup_steps, total_iters=warmup_steps - 1))
        return SequentialLR(optimizer, [ramp, cosine], milestones=[warmup_steps])
    return factory


def rate(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), float, "the rate")


def rates(answer, base_lr, warmup_steps, total_steps, min_lr):
    return [rate(answer, step, base_lr, warmup_steps, total_steps, min_lr) for step in range(total_steps + 1)]


def assert_matches_torch(answer, base_lr, warmup_steps, total_steps, min_lr, rtol=1e-9, lambda_warmup=False):
    ours = rates(answer, base_lr, warmup_steps, total_steps, min_lr)
    theirs = torch_warmup_rates(chapter_schedule(warmup_steps, total_steps, min_lr, lambda_warmup), total_steps,
                                base_lr)
    step = first_difference_strict(ours, theirs, rtol=rtol, atol=1e-12 * base_lr)
    where = describe_schedule_settings({"base_lr": base_lr, "warmup_steps": warmup_steps, "total_steps": total_steps,
                                        "min_lr": min_lr})
    assert step is None, (
        f"with {where}, the rate of step {step} is {ours[step]:.10g} instead of torch's {theirs[step]:.10g}"
        + (" (in the warmup, where step t gets base_lr * (t + 1) / W)" if step < warmup_steps else
           " (in the cosine, which starts at step warmup_steps)"))


@requirement("behaviour")
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(answer, name):
    """gives the rates of the chapter's SequentialLR(LinearLR, CosineAnnealingLR) at every step"""
    assert_matches_torch(answer, *CASES[name])


@requirement("behaviour")
def test_without_warmup_is_cosineannealinglr(answer):
    """with warmup_steps = 0, gives CosineAnnealingLR's rates from step 0"""
    for base_lr, total_steps, min_lr in ((0.1, 500, 0.0), (2.0, 7, 0.5), (1e-3, 1, 1e-4)):
        ours = rates(answer, base_lr, 0, total_steps, min_lr)
        theirs = torch_warmup_rates(lambda optimizer: CosineAnnealingLR(optimizer, total_steps, min_lr), total_steps,
                                    base_lr)
        step = first_difference_strict(ours, theirs, atol=1e-12 * base_lr)
        assert step is None, (f"with no warmup, {total_steps} steps from {base_lr} to {min_lr}: the rate of step "
                              f"{step} should be CosineAnnealingLR's {theirs[step]:.10g}, got {ours[step]:.10g}")


@requirement("behaviour")
@settings(max_examples=15)
@given(warmup_steps=st.integers(0, 100), cosine_steps=st.integers(1, 200), base_lr=st.floats(1e-5, 10.0),
       floor=st.floats(0.0, 1.0))
def test_matches_torch_for_random_settings(answer, warmup_steps, cosine_steps, base_lr, floor):
    """matches torch, with the warmup as LambdaLR of min(1, (t + 1) / W), at every step for settings drawn at random"""
    assert_matches_torch(answer, base_lr, warmup_steps, warmup_steps + cosine_steps, floor * base_lr, rtol=1e-8,
                         lambda_warmup=True)


@requirement("behaviour")
def test_first_step_already_moves(answer):
    """gives step 0 the rate base_lr / W, (t + 1) / W at t = 0, not 0"""
    for base_lr, warmup_steps in ((0.1, 10), (2.0, 1000), (0.5, 1), (3.0, 4)):
        got = rate(answer, 0, base_lr, warmup_steps, warmup_steps + 50)
        assert math.isclose(got, base_lr / warmup_steps, rel_tol=1e-12), (
            f"with base_lr = {base_lr} and {warmup_steps} warmup steps, step 0 should get base_lr / W = "
            f"{base_lr / warmup_steps:g}, not {got}: the first step of the warmup already takes 1/W of the rate")


@requirement("behaviour")
def test_peaks_at_the_last_warmup_step(answer):
    """reaches base_lr at step W - 1, the last of the warmup, starts the cosine from it at step W, and no step gets
    more"""
    for base_lr, warmup_steps, total_steps in ((0.1, 100, 1000), (3.0, 7, 20), (1.0, 2, 5)):
        values = rates(answer, base_lr, warmup_steps, total_steps, 0.0)
        for step in (warmup_steps - 1, warmup_steps):
            assert math.isclose(values[step], base_lr, rel_tol=1e-12), (
                f"with {warmup_steps} warmup steps, step {step} should get the peak base_lr = {base_lr} (step W - 1 "
                f"ends the warmup at the peak, step W starts the cosine there), got {values[step]}")
        assert values[warmup_steps - 2] < base_lr, "the warmup step before the last should still be below the peak"
        top = max(range(len(values)), key=values.__getitem__)
        assert values[top] <= base_lr * (1 + 1e-12), f"step {top} gets {values[top]}, above base_lr = {base_lr}"


@requirement("behaviour")
def test_ends_at_min_lr(answer):
    """gives min_lr at step total_steps"""
    for base_lr, warmup_steps, total_steps, min_lr in ((0.1, 10, 100, 0.0), (0.1, 10, 100, 0.001), (5.0, 0, 3, 1.0),
                                                       (0.3, 99, 100, 0.03)):
        got = rate(answer, total_steps, base_lr, warmup_steps, total_steps, min_lr)
        assert math.isclose(got, min_lr, rel_tol=1e-9, abs_tol=1e-15), (
            f"with total_steps = {total_steps} and min_lr = {min_lr}, the last step should get min_lr, got {got}")


@requirement("behaviour")
def test_halfway_down_the_cosine(answer):
    """is halfway between base_lr and min_lr in the middle of the cosine"""
    for warmup_steps, total_steps in ((10, 110), (3, 5), (0, 400)):
        middle = (warmup_steps + total_steps) // 2
        got = rate(answer, middle, 1.0, warmup_steps, total_steps, 0.2)
        assert math.isclose(got, 0.6, rel_tol=1e-9), (
            f"with warmup_steps = {warmup_steps} and total_steps = {total_steps}, step {middle} is the middle of the "
            f"cosine, where the rate is (base_lr + min_lr) / 2 = 0.6; got {got}")


@requirement("behaviour")
@settings(max_examples=40)
@given(warmup_steps=st.integers(0, 300), cosine_steps=st.integers(1, 300), floor=st.floats(0.0, 1.0), data=st.data())
def test_stays_within_bounds(answer, warmup_steps, cosine_steps, floor, data):
    """stays in [min_lr, base_lr] from the end of the warmup on, and in [base_lr / W, base_lr] before"""
    total_steps = warmup_steps + cosine_steps
    step = data.draw(st.integers(0, total_steps))
    value = rate(answer, step, 0.5, warmup_steps, total_steps, 0.5 * floor)
    low = 0.5 * floor if step >= warmup_steps else 0.5 / warmup_steps
    assert low * (1 - 1e-12) - 1e-15 <= value <= 0.5 * (1 + 1e-12), (
        f"with base_lr = 0.5, warmup_steps = {warmup_steps}, total_steps = {total_steps}, min_lr = {0.5 * floor!r}: "
        f"the rate of step {step}, {value!r}, is outside [{low!r}, 0.5]")


@requirement("behaviour")
@settings(max_examples=25)
@given(warmup_steps=st.integers(0, 200), cosine_steps=st.integers(1, 200), floor=st.floats(0.0, 1.0))
def test_rises_then_falls(answer, warmup_steps, cosine_steps, floor):
    """rises at every step of the warmup and never rises after it"""
    total_steps = warmup_steps + cosine_steps
    values = rates(answer, 1.0, warmup_steps, total_steps, floor)
    for step in range(total_steps):
        before, after = values[step], values[step + 1]
        if step < warmup_steps - 1:
            assert after > before, \
                f"the rate does not rise from step {step} to {step + 1}, in the warmup ({warmup_steps} steps)"
        else:
            assert after <= before * (1 + 1e-12), \
                f"the rate rises from step {step} to {step + 1}, after the warmup ({warmup_steps} steps)"


@requirement("behaviour")
def test_default_min_lr(answer):
    """ends at 0 when min_lr is not given"""
    got = [rate(answer, step, 2.0, 4, 8) for step in (0, 2, 3, 6, 8)]
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15) for a, b in zip(got, [0.5, 1.5, 2.0, 1.0, 0.0])), (
        "with the default min_lr = 0, 4 warmup steps to 2.0 and a cosine to step 8 give 0.5, 1.5, 2.0, 1.0 and 0.0 "
        f"at steps 0, 2, 3, 6 and 8; got {got}")


@requirement("contract")
def test_returns_a_float(answer):
    """returns a Python float, even when every argument is an integer or a NumPy number"""
    for args in ((0, 1, 2, 6, 0), (1, 1, 2, 6, 0), (2, 1, 2, 6, 0), (5, 1, 2, 6, 0), (6, 1, 2, 6, 0), (3, 1, 0, 6, 1),
                 (0, np.float64(0.5), 2, 6), (1, np.float64(0.5), 2, 6), (4, np.float64(0.5), 2, 6),
                 (4, 0.5, 2, 6, np.float64(0.05)), (5, 0.5, 2, 6, np.float32(0.1))):
        value = answer(*args)
        assert type(value) is float, \
            f"warmup_cosine_lr{args} returned a {type(value).__name__}: return a Python float (float(...))"


BAD = {"negative step": {"step": -1}, "step past total_steps": {"step": 101},
       "fractional step": {"step": 2.5}, "negative warmup_steps": {"warmup_steps": -5},
       "fractional warmup_steps": {"warmup_steps": 2.5}, "fractional total_steps": {"total_steps": 100.5},
       "warmup as long as the run": {"warmup_steps": 100}, "warmup longer than the run": {"warmup_steps": 120},
       "base_lr 0": {"base_lr": 0.0}, "infinite base_lr": {"base_lr": math.inf},
       "negative min_lr": {"min_lr": -0.01}, "min_lr above base_lr": {"min_lr": 0.2}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a step or setting out of range"""
    arguments = {"step": 50, "base_lr": 0.1, "warmup_steps": 10, "total_steps": 100, "min_lr": 0.0, **BAD[bad]}
    with pytest.raises(ValueError):
        answer(**arguments)
