"""Hidden checks of exercise 7's ``minimum_over_ten(lrs, losses)``: a tenth of the rate with the lowest loss."""

import math

import numpy as np
import pytest
from hypothesis import given

from helpers import cosine_valley, random_curves
from helpers import (test_leaves_the_curve_alone, test_refuses_a_curve_of_two_points,  # noqa: F401
                     test_refuses_lists_of_different_lengths, test_returns_a_float)
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("suggests lrs[i] / 10 at the first index i of the lowest loss", 70),
    "contract": ("returns a Python float and leaves the curve alone", 15),
    "validation": ("refuses curves of different lengths or of fewer than 3 points with ValueError", 15),
}


@pytest.fixture
def rule(answer):
    return answer


def suggestion(answer, lrs, losses):
    return genuine(answer(lrs, losses), float, "the suggested rate")


@requirement("behaviour")
def test_on_a_known_curve(answer):
    """suggests 1e-3 on a curve lowest at 1e-2"""
    assert math.isclose(suggestion(answer, *cosine_valley()), 1e-3, rel_tol=1e-9), \
        "the curve is lowest at 1e-2, so the suggestion should be 1e-3"


@requirement("behaviour")
def test_takes_the_first_of_equal_minima(answer):
    """takes the first rate when the lowest loss occurs twice"""
    assert math.isclose(suggestion(answer, [1e-4, 1e-3, 1e-2, 1e-1], [2.0, 0.5, 0.5, 3.0]), 1e-4), \
        "the lowest loss 0.5 occurs at 1e-3 and at 1e-2: take the first, so the suggestion is 1e-4"


@requirement("behaviour")
def test_the_minimum_at_either_end(answer):
    """handles a lowest loss at the first or at the last point"""
    assert math.isclose(suggestion(answer, [1e-4, 1e-3, 1e-2], [0.1, 0.5, 0.9]), 1e-5), \
        "lowest at the first point: 1e-4 / 10"
    assert math.isclose(suggestion(answer, [1e-4, 1e-3, 1e-2], [0.9, 0.5, 0.1]), 1e-3), \
        "lowest at the last point: 1e-2 / 10"


@requirement("behaviour")
@given(curve=random_curves())
def test_any_curve(answer, curve):
    """suggests lrs[argmin(losses)] / 10 for any curve"""
    lrs, losses = curve
    expected = lrs[int(np.argmin(losses))] / 10
    assert math.isclose(suggestion(answer, lrs, losses), expected, rel_tol=1e-12), \
        "the suggestion should be a tenth of the rate at the (first) lowest loss"
