"""Hidden checks of exercise 7's ``smoothed(losses, weight=0.05)``: the bias-corrected moving average."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("gives the bias-corrected moving average a_k / (1 - (1 - w)^(k + 1))", 70),
    "contract": ("returns a new list of Python floats and leaves the losses alone", 15),
    "validation": ("refuses a weight outside (0, 1] with ValueError", 15),
}


def reference(losses, weight):
    average, result = 0.0, []
    for k, loss in enumerate(losses):
        average = (1 - weight) * average + weight * loss
        result.append(average / (1 - (1 - weight) ** (k + 1)))
    return result


def values(got, expected_length):
    """The smoothed values an answer returned, as an array of numbers of the expected length."""
    got = genuine(got, np.ndarray, "the smoothed values")
    assert got.shape == (expected_length,), \
        f"expected {expected_length} smoothed values, one per loss, got an array of shape {got.shape}"
    return got


@requirement("behaviour")
@given(losses=st.lists(st.floats(-100, 100), max_size=200), weight=st.floats(0.001, 1.0))
def test_matches_the_formula(answer, losses, weight):
    """matches a_k / (1 - (1 - w)**(k + 1)) for any losses and weight"""
    expected = reference(losses, weight)
    got = values(answer(losses, weight), len(expected))
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-9), \
        f"with weight {weight:g} the smoothed values differ from the bias-corrected moving average"


@requirement("behaviour")
def test_uses_the_default_weight(answer):
    """uses a weight of 0.05 when none is given"""
    losses = list(np.linspace(3.0, 1.0, 40))
    expected = reference(losses, 0.05)
    got = values(answer(losses), 40)
    assert np.allclose(got, expected, rtol=1e-12, atol=0), "the default weight should be 0.05"


@requirement("behaviour")
def test_starts_at_the_first_loss(answer):
    """equals the first loss at the first step, thanks to the bias correction"""
    got = values(answer([7.5, 1.0], 0.01), 2)
    assert math.isclose(got[0], 7.5), \
        "the first smoothed value should be the first loss itself: divide by 1 - (1 - w)**(k + 1)"
    assert math.isclose(got[1], (0.99 * 0.075 + 0.01) / (1 - 0.99 ** 2)), \
        "the second smoothed value should be ((1 - w) * w * 7.5 + w * 1.0) / (1 - (1 - w)**2)"


@requirement("behaviour")
def test_a_constant_curve_stays_constant(answer):
    """leaves a constant curve unchanged"""
    assert np.allclose(values(answer([2.0] * 100, 0.02), 100), 2.0), "a constant loss should stay constant"


@requirement("behaviour")
def test_weight_one_is_no_smoothing(answer):
    """returns the losses themselves for a weight of 1"""
    assert np.allclose(values(answer([3.0, 1.0, 4.0, 1.0, 5.0], 1.0), 5), [3.0, 1.0, 4.0, 1.0, 5.0]), \
        "with weight 1 only the newest loss counts"


@requirement("behaviour")
def test_takes_an_array_or_a_tuple(answer):
    """smooths a NumPy array or a tuple like a list"""
    losses = [4.0, 2.0, 3.0, 1.0]
    for given_as in (np.array(losses), tuple(losses)):
        got = values(answer(given_as, 0.5), 4)
        assert np.allclose(got, reference(losses, 0.5), rtol=1e-12, atol=0), \
            f"a {type(given_as).__name__} of losses should give the same values as a list"


@requirement("contract")
def test_returns_a_list_of_floats(answer):
    """returns a list of Python floats, for a list, an array or an empty input"""
    for losses in ([1, 2, 3], np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0], dtype=np.float32)):
        got = answer(losses, 0.5)
        assert type(got) is list and all(type(value) is float for value in got), \
            f"for a {type(losses).__name__} of losses, return a list of Python floats (convert each value with " \
            f"float(...)), not {type(got).__name__} of {sorted({type(value).__name__ for value in got})}"
    got = answer([], 0.5)
    assert type(got) is list and len(got) == 0, "no losses give an empty list"


@requirement("contract")
def test_leaves_the_losses_alone(answer):
    """does not change the sequence it is given"""
    losses = [3.0, 2.0, 1.0]
    answer(losses, 0.5)
    assert losses == [3.0, 2.0, 1.0], "smoothed changed the list it was given"
    array = np.array([3.0, 2.0, 1.0])
    answer(array, 0.5)
    assert np.array_equal(array, [3.0, 2.0, 1.0]), "smoothed changed the array it was given"


@requirement("validation")
@pytest.mark.parametrize("weight", [0.0, -0.1, 1.5], ids=["zero", "negative", "above one"])
def test_rejects_a_bad_weight(answer, weight):
    """raises ValueError for a weight outside (0, 1]"""
    with pytest.raises(ValueError):
        answer([1.0, 2.0], weight)
