"""Hidden checks of exercise 7's ``valley(lrs, losses)``: the rate halfway along the longest strictly decreasing
subsequence of the losses, counted back from its last point."""

import math

import pytest
from hypothesis import given

from helpers import cosine_valley, random_curves
from helpers import (test_leaves_the_curve_alone, test_refuses_a_curve_of_two_points,  # noqa: F401
                     test_refuses_lists_of_different_lengths, test_returns_a_float)
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("suggests lrs[e - L_e // 2] for the first end e of the longest strictly falling subsequence", 70),
    "contract": ("returns a Python float and leaves the curve alone", 15),
    "validation": ("refuses curves of different lengths or of fewer than 3 points with ValueError", 15),
}


@pytest.fixture
def rule(answer):
    return answer


def reference(lrs, losses):
    longest = []
    for i, loss in enumerate(losses):
        longest.append(1 + max([longest[j] for j in range(i) if losses[j] > loss], default=0))
    end = longest.index(max(longest))
    return lrs[end - longest[end] // 2]


def suggestion(answer, lrs, losses):
    return genuine(answer(lrs, losses), float, "the suggested rate")


@requirement("behaviour")
def test_on_a_known_curve(answer):
    """suggests 1e-3 on a curve whose descent runs from 1e-4 to 1e-2"""
    assert math.isclose(suggestion(answer, *cosine_valley()), 1e-3, rel_tol=1e-9), \
        "the descent spans 41 points from 1e-4 to 1e-2, so its middle is at 1e-3"


@requirement("behaviour")
def test_the_middle_of_the_longest_descent(answer):
    """counts the descent's points back from its last one: index e - L // 2"""
    lrs = [10.0 ** k for k in range(-10, 1)]
    losses = [3.0, 2.5, 3.2, 3.1, 3.0, 2.0, 1.5, 1.2, 1.0, 4.0, 9.0]
    assert suggestion(answer, lrs, losses) == pytest.approx(lrs[5]), \
        "the longest descent (3.2, 3.1, 3.0, 2.0, 1.5, 1.2, 1.0) has 7 points and ends at index 8: index 8 - 3 = 5"


@requirement("behaviour")
def test_equal_values_do_not_extend_a_descent(answer):
    """counts only strictly falling values as a descent"""
    lrs = [10.0 ** k for k in range(-8, 1)]
    losses = [5.0, 5.0, 5.0, 5.0, 5.0, 4.0, 3.0, 9.0, 9.0]
    assert suggestion(answer, lrs, losses) == pytest.approx(lrs[5]), \
        "the flat 5.0s count once: the descent 5, 4, 3 has 3 points and ends at index 6, so index 6 - 1 = 5"


@requirement("behaviour")
def test_the_first_of_equally_long_descents(answer):
    """takes the first descent when two are equally long"""
    lrs = [10.0 ** k for k in range(-5, 1)]
    losses = [3.0, 2.0, 1.0, 9.0, 8.0, 7.0]
    assert suggestion(answer, lrs, losses) == pytest.approx(lrs[1]), \
        "two descents of 3 points end at indices 2 and 5: take the first, e = 2, so index 2 - 1 = 1"


@requirement("behaviour")
@given(curve=random_curves())
def test_any_curve(answer, curve):
    """matches the longest-descent rule for any curve, ties included"""
    lrs, losses = curve
    assert math.isclose(suggestion(answer, lrs, losses), reference(lrs, losses), rel_tol=1e-12), \
        "the suggestion should be lrs[e - L_e // 2] for the first index e with the longest strictly decreasing " \
        "subsequence ending there"
