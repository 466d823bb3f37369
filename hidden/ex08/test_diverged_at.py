"""Hidden checks of exercise 8's ``diverged_at(losses, factor=4.0, window=10)``: the first step at which a loss
history is not finite or its trailing mean passes ``factor`` times its lowest trailing mean so far."""

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from helpers import sgd_losses
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("finds the first non-finite loss or trailing mean above factor x the lowest trailing mean so far",
                  70),
    "contract": ("returns a Python int or None and leaves the history alone", 15),
    "validation": ("refuses a factor <= 1 or a window that is not an integer >= 1 with ValueError", 15),
}


def step_of(value):
    """The step an answer returned, a genuine int, or None."""
    return None if value is None else genuine(value, int, "the step of divergence")


def reference(losses, factor, window):
    lowest = math.inf
    for i, loss in enumerate(losses):
        if not math.isfinite(loss):
            return i
        recent = losses[max(0, i - window + 1):i + 1]
        mean = sum(recent) / len(recent)
        lowest = min(lowest, mean)
        if mean > factor * lowest:
            return i
    return None


def blow_up(at, steps=200):
    """A loss that falls like 1/t, then grows by 10% a step from step ``at`` on."""
    return [1 / (1 + 0.05 * t) if t < at else 1 / (1 + 0.05 * at) * 1.1 ** (t - at) for t in range(steps)]


CASES = {
    "a falling loss": ([1 / (1 + t) for t in range(100)], 4.0, 10, None),
    "a blow-up at step 120": (blow_up(120), 4.0, 10, reference(blow_up(120), 4.0, 10)),
    "a single spike, smoothed away": ([1.0] * 30 + [3.5] + [1.0] * 30, 4.0, 10, None),
    "a single spike, window 1": ([1.0] * 30 + [4.5] + [1.0] * 30, 4.0, 1, 30),
    "a nan at step 7": ([1.0] * 7 + [math.nan] + [1.0] * 5, 4.0, 10, 7),
    "an inf at step 0": ([math.inf, 1.0, 1.0], 4.0, 10, 0),
    "a mean that only reaches factor x the lowest": ([1.0, 2.0, 2.0, 2.5], 2.0, 1, 3),
}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(CASES))
def test_known_histories(answer, name):
    """finds the step of divergence in histories with known answers"""
    losses, factor, window, expected = CASES[name]
    got = step_of(answer(list(losses), factor=factor, window=window))
    assert got == expected, f"for {name} (factor {factor}, window {window}) expected {expected}, got {got}"


@requirement("behaviour")
@given(losses=st.lists(st.floats(0.01, 100.0) | st.sampled_from([math.nan, math.inf]), max_size=80),
       factor=st.floats(1.01, 10.0), window=st.integers(1, 20))
@example(losses=[10.0] * 5 + [1.0] * 5 + [5.0] * 5, factor=2.0, window=1)  # a fall, then a blow-up from its low
def test_any_history(answer, losses, factor, window):
    """matches the rule for random histories, factors and windows"""
    assert step_of(answer(list(losses), factor=factor, window=window)) == reference(losses, factor, window), \
        f"with factor {factor:g} and window {window} the step differs from the rule's " \
        "(trailing mean over up to `window` steps, lowest trailing mean so far, first non-finite loss)"


@requirement("behaviour")
def test_uses_the_default_factor_and_window(answer):
    """uses factor=4 and window=10 when none are given"""
    assert step_of(answer([1.0] * 10 + [32.0, 1.0])) == 10, \
        "by default the trailing mean at step 10 is (9 x 1 + 32) / 10 = 4.1, which exceeds 4 x the lowest mean 1"
    assert step_of(answer([1.0] * 10 + [30.0, 1.0])) is None, \
        "by default the trailing mean at step 10 is (9 x 1 + 30) / 10 = 3.9, which does not exceed 4 x 1"


@requirement("behaviour")
def test_the_trailing_mean_uses_fewer_steps_at_the_start(answer):
    """averages only the steps available at the start of the history"""
    assert step_of(answer([1.0, 5.0], factor=2.0, window=10)) == 1, \
        "at step 1 the trailing mean is (1 + 5) / 2 = 3 > 2 x 1: the start of the history has fewer than 10 steps"


@requirement("contract")
def test_returns_a_python_int_or_none(answer):
    """returns a plain int (not a NumPy integer), or None"""
    got = answer(np.array([1.0, 1.0, 100.0]), factor=2.0, window=1)
    assert type(got) is int, f"return the step as a Python int, not a {type(got).__name__}"
    assert answer(np.array([1.0, 0.5])) is None, "a run that never diverged gives None"


@requirement("contract")
def test_leaves_the_history_alone(answer):
    """does not change the list it is given"""
    losses = [1.0, 0.5, 9.0, 0.2]
    answer(losses, factor=2.0, window=1)
    assert losses == [1.0, 0.5, 9.0, 0.2], "diverged_at changed the list it was given"


@requirement("validation")
@pytest.mark.parametrize("bad", [{"factor": 1.0}, {"factor": 0.5}, {"window": 0}, {"window": 2.5}],
                         ids=["factor 1", "factor below 1", "window 0", "fractional window"])
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a factor of 1 or less, or a window that is not an integer >= 1"""
    with pytest.raises(ValueError):
        answer([1.0, 2.0], **bad)


@requirement("behaviour")
@given(losses=st.lists(st.floats(0.01, 100.0), max_size=60), factor=st.floats(1.01, 5.0),
       more=st.floats(1.0, 5.0), window=st.integers(1, 10))
def test_a_larger_factor_diverges_no_sooner(answer, losses, factor, more, window):
    """finds divergence no sooner with a larger factor (and never where the smaller one finds none)"""
    sooner = step_of(answer(list(losses), factor=factor, window=window))
    later = step_of(answer(list(losses), factor=factor * more, window=window))
    assert later is None or (sooner is not None and later >= sooner), \
        f"with factor {factor * more:g} divergence came at step {later}, sooner than with {factor:g} ({sooner})"


@requirement("behaviour")
def test_a_real_run_at_too_large_a_rate(answer):
    """finds where a real least-squares run blows up, and nothing in a run at a good rate"""
    runs = {lr: sgd_losses(lr, steps=60, samples=200) for lr in (0.05, 1.0)}
    assert step_of(answer(runs[0.05])) is None, "gradient descent at lr 0.05 converges: no divergence"
    step = step_of(answer(runs[1.0]))
    assert step == reference(runs[1.0], 4.0, 10) and step is not None, \
        "at lr 1 the run blows up: diverged_at should give the step where the rule first fires"
