"""Hidden checks of exercise 7's ``smoothed(losses, weight=0.05)``: the bias-corrected moving average."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st


def reference(losses, weight):
    average, result = 0.0, []
    for k, loss in enumerate(losses):
        average = (1 - weight) * average + weight * loss
        result.append(average / (1 - (1 - weight) ** (k + 1)))
    return result


@given(losses=st.lists(st.floats(-100, 100), max_size=200), weight=st.floats(0.001, 1.0))
def test_matches_the_formula(answer, losses, weight):
    """matches a_k / (1 - (1 - w)**(k + 1)) for any losses and weight"""
    assert answer(losses, weight) == pytest.approx(reference(losses, weight), rel=1e-9, abs=1e-9), \
        f"with weight {weight:g} the smoothed values differ from the bias-corrected moving average"


def test_uses_the_default_weight(answer):
    """uses a weight of 0.05 when none is given"""
    losses = list(np.linspace(3.0, 1.0, 40))
    assert answer(losses) == pytest.approx(reference(losses, 0.05), rel=1e-12), "the default weight should be 0.05"


def test_starts_at_the_first_loss(answer):
    """equals the first loss at the first step, thanks to the bias correction"""
    assert math.isclose(answer([7.5, 1.0], 0.01)[0], 7.5), \
        "the first smoothed value should be the first loss itself: divide by 1 - (1 - w)**(k + 1)"


def test_a_constant_curve_stays_constant(answer):
    """leaves a constant curve unchanged"""
    assert answer([2.0] * 100, 0.02) == pytest.approx([2.0] * 100), "a constant loss should stay constant"


def test_weight_one_is_no_smoothing(answer):
    """returns the losses themselves for a weight of 1"""
    losses = [3.0, 1.0, 4.0, 1.0, 5.0]
    assert answer(losses, 1.0) == pytest.approx(losses), "with weight 1 only the newest loss counts"


def test_returns_a_list_of_floats(answer):
    """returns a list of floats, for a list, an array or an empty input"""
    values = answer(np.array([1.0, 2.0, 3.0]), 0.5)
    assert isinstance(values, list) and all(isinstance(value, float) for value in values), \
        "return a list of floats (convert each value with float(...))"
    assert answer([], 0.5) == [], "no losses give an empty list"


def test_leaves_the_losses_alone(answer):
    """does not change the sequence it is given"""
    losses = [3.0, 2.0, 1.0]
    answer(losses, 0.5)
    assert losses == [3.0, 2.0, 1.0], "smoothed changed the list it was given"


@pytest.mark.parametrize("weight", [0.0, -0.1, 1.5], ids=["zero", "negative", "above one"])
def test_rejects_a_bad_weight(answer, weight):
    """raises ValueError for a weight outside (0, 1]"""
    with pytest.raises(ValueError):
        answer([1.0, 2.0], weight)
