"""Hidden checks of exercise 5's ``step_lr(step, base_lr, milestones, gamma=0.1)``: StepLR, MultiStepLR and
ExponentialLR as one function of the step."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from helpers import first_difference, torch_schedule_rates
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("gives base_lr * gamma ** k, k the drops at or before the step, as StepLR and MultiStepLR do", 70),
    "contract": ("returns a Python float and leaves the milestones alone", 15),
    "validation": ("refuses a bad step, rate, gamma, step size or list of milestones with ValueError", 15),
}


def rate(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), float, "the rate")


STEP_SIZES = {"every 30 steps by 0.5": (30, 0.5), "every 7 steps by 0.9": (7, 0.9),
              "every 100 steps by 0.1": (100, 0.1)}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(STEP_SIZES))
def test_matches_steplr(answer, name):
    """gives torch's StepLR rates over 500 steps"""
    size, gamma = STEP_SIZES[name]
    ours = [rate(answer, step, 0.1, size, gamma) for step in range(500)]
    theirs = torch_schedule_rates(lambda sgd: lr_scheduler.StepLR(sgd, size, gamma), 500, 0.1)
    step = first_difference(ours, theirs)
    assert step is None, f"with a drop {name} the rate at step {step} differs from StepLR's"


@requirement("behaviour")
def test_step_size_one_is_exponential_decay(answer):
    """gives torch's ExponentialLR rates over 600 steps when the step size is 1"""
    ours = [rate(answer, step, 0.3, 1, 0.99) for step in range(600)]
    theirs = torch_schedule_rates(lambda sgd: lr_scheduler.ExponentialLR(sgd, 0.99), 600, 0.3)
    step = first_difference(ours, theirs)
    assert step is None, f"with a step size of 1 the rate at step {step} differs from ExponentialLR's"


MILESTONES = {"[50, 120, 400] by 0.3": ([50, 120, 400], 0.3), "[1, 2, 3] by 0.5": ([1, 2, 3], 0.5),
              "[250] by 0.1": ([250], 0.1)}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(MILESTONES))
def test_matches_multisteplr(answer, name):
    """gives torch's MultiStepLR rates over 500 steps for a list of milestones"""
    milestones, gamma = MILESTONES[name]
    ours = [rate(answer, step, 0.1, list(milestones), gamma) for step in range(500)]
    theirs = torch_schedule_rates(lambda sgd: lr_scheduler.MultiStepLR(sgd, milestones, gamma), 500, 0.1)
    step = first_difference(ours, theirs)
    assert step is None, f"with milestones {name} the rate at step {step} differs from MultiStepLR's"


@requirement("behaviour")
def test_drops_exactly_at_a_milestone(answer):
    """drops at the milestone step itself, not one step later"""
    assert math.isclose(rate(answer, 49, 1.0, [50], 0.1), 1.0), "one step before the milestone the rate has not dropped"
    assert math.isclose(rate(answer, 50, 1.0, [50], 0.1), 0.1), \
        "at step 50 a milestone of 50 has been passed: drop there"
    assert math.isclose(rate(answer, 20, 1.0, 10, 0.5), 0.25), "with a step size of 10, step 20 comes after two drops"


@requirement("behaviour")
def test_default_gamma(answer):
    """drops by gamma = 0.1 when no gamma is given"""
    got = [rate(answer, step, 2.0, 10) for step in (0, 10, 25)] + [rate(answer, 70, 2.0, [20, 60])]
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got, [2.0, 0.2, 0.02, 0.02])), \
        f"with the default gamma = 0.1 the rate should fall tenfold at each drop; got {got}"


@requirement("behaviour")
def test_takes_any_sequence_of_milestones_and_any_positive_gamma(answer):
    """takes milestones as a tuple too, and a gamma above 1 (a rate that grows) like torch"""
    assert math.isclose(rate(answer, 60, 0.1, (20, 50), 0.5), 0.025), "milestones given as a tuple (20, 50) work too"
    ours = [rate(answer, step, 0.01, 10, 2.0) for step in range(60)]
    theirs = torch_schedule_rates(lambda sgd: lr_scheduler.StepLR(sgd, 10, 2.0), 60, 0.01)
    assert first_difference(ours, theirs) is None, "with gamma = 2 the rate should double every step size, as StepLR's"


@requirement("behaviour")
@given(step=st.integers(0, 2000), size=st.integers(1, 200), gamma=st.floats(0.01, 0.99),
       base=st.floats(1e-5, 10.0))
def test_never_rises_and_follows_the_formula(answer, step, size, gamma, base):
    """never rises from one step to the next and equals base_lr * gamma ** (step // step_size)"""
    now, after = rate(answer, step, base, size, gamma), rate(answer, step + 1, base, size, gamma)
    assert after <= now, f"with gamma = {gamma} < 1 the rate rose from step {step} to {step + 1}"
    assert math.isclose(now, base * gamma ** (step // size), rel_tol=1e-9), \
        f"at step {step} with a step size of {size} the rate should be base_lr * gamma ** {step // size}"


@requirement("contract")
def test_returns_a_float_and_leaves_the_milestones_alone(answer):
    """returns a float, even for an integer base_lr and gamma, and does not change the milestones it is given"""
    milestones = [10, 20, 30]
    for args in ((25, 1, milestones, 0.5), (25, 1, 10, 2), (0, 3, [5], 1), (7, 2, 1, 3)):
        value = answer(*args)
        assert type(value) is float, \
            f"step_lr{args} returned a {type(value).__name__}: return a float (base_lr and gamma may be ints)"
    assert milestones == [10, 20, 30], "step_lr changed the list of milestones it was given"


BAD = {"negative step": (-1, 0.1, 30, 0.1), "fractional step": (2.5, 0.1, 30, 0.1),
       "zero base_lr": (0, 0.0, 30, 0.1), "infinite base_lr": (0, math.inf, 30, 0.1),
       "step size 0": (0, 0.1, 0, 0.1),
       "decreasing milestones": (0, 0.1, [30, 10], 0.1), "milestone 0": (0, 0.1, [0, 10], 0.1),
       "fractional milestone": (0, 0.1, [2.5, 10], 0.1), "negative gamma": (0, 0.1, 30, -0.5),
       "zero gamma": (0, 0.1, 30, 0.0), "infinite gamma": (0, 0.1, 30, math.inf)}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_input(answer, bad):
    """raises ValueError for an argument out of its range"""
    with pytest.raises(ValueError):
        answer(*BAD[bad])
