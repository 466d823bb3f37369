"""Hidden checks of exercise 7's ``steepest(lrs, losses, skip_start=10, skip_end=5)``: the rate at which the
smoothed loss falls fastest, by np.gradient over the kept points."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import cosine_valley, random_curves
from helpers import (test_leaves_the_curve_alone, test_refuses_a_curve_of_two_points,  # noqa: F401
                     test_refuses_lists_of_different_lengths, test_returns_a_float)
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("suggests the rate of the lowest np.gradient of the losses kept after the skips", 70),
    "contract": ("returns a Python float and leaves the curve alone", 15),
    "validation": ("refuses curves of different lengths or of fewer than 3 kept points with ValueError", 15),
}


@pytest.fixture
def rule(answer):
    return lambda lrs, losses: answer(lrs, losses, skip_start=0, skip_end=0)


def reference(lrs, losses, skip_start, skip_end):
    kept_lrs = np.asarray(lrs)[skip_start:len(lrs) - skip_end]
    kept = np.asarray(losses, dtype=float)[skip_start:len(losses) - skip_end]
    return float(kept_lrs[int(np.argmin(np.gradient(kept)))])


def suggestion(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), float, "the suggested rate")


@requirement("behaviour")
def test_on_a_known_curve(answer):
    """suggests 1e-3 on a curve that falls fastest at 1e-3"""
    assert math.isclose(suggestion(answer, *cosine_valley()), 1e-3, rel_tol=1e-9), \
        "the curve falls fastest at 1e-3 (the middle of its half cosine)"


@requirement("behaviour")
def test_skips_the_ends_by_default(answer):
    """leaves out exactly the first 10 and the last 5 points by default"""
    lrs = list(np.geomspace(1e-5, 1.0, 30))
    steep_first = [9.0, 1.0] * 5 + [3.0, 1.0] + list(np.linspace(0.99, 0.8, 13)) + [0.0] * 5
    assert math.isclose(suggestion(answer, lrs, steep_first), lrs[10]), \
        "by default the first 10 points are left out and the 11th (index 10) is kept: the steepest kept fall " \
        "is at index 10 (from 3.0 to 1.0)"
    steep_last = [9.0, 1.0] * 5 + list(np.linspace(3.0, 2.8, 14)) + [1.0, -50.0, -60.0, -70.0, -80.0, -90.0]
    assert math.isclose(suggestion(answer, lrs, steep_last), lrs[24]), \
        "by default the last 5 points are left out and the one before them (index 24) is kept: the steepest " \
        "kept fall is at index 24 (from 2.8 to 1.0)"


@requirement("behaviour")
def test_skips_as_asked(answer):
    """leaves out exactly skip_start points at the start and skip_end at the end"""
    lrs = list(np.geomspace(1e-5, 1.0, 12))
    losses = [9.0, 1.0, 3.0, 2.9, 2.2, 2.15, 2.1, 2.05, 2.0, 0.1, 0.0, 0.0]
    assert math.isclose(suggestion(answer, lrs, losses, skip_start=2, skip_end=3), lrs[3]), \
        "keeping points 2 to 8, the steepest np.gradient is at point 3 (the drop from 2.9 to 2.2)"


@requirement("validation")
def test_too_few_points_left(answer):
    """raises ValueError when fewer than 3 points remain after skipping"""
    lrs, losses = cosine_valley(points=17)
    with pytest.raises(ValueError):
        answer(lrs, losses, skip_start=10, skip_end=5)


@requirement("behaviour")
@given(curve=random_curves(min_size=18), skip_start=st.integers(0, 10), skip_end=st.integers(0, 5))
def test_any_curve(answer, curve, skip_start, skip_end):
    """matches the rate of the lowest np.gradient over the kept points, for any curve"""
    lrs, losses = curve
    expected = reference(lrs, losses, skip_start, skip_end)
    got = suggestion(answer, lrs, losses, skip_start=skip_start, skip_end=skip_end)
    assert math.isclose(got, expected, rel_tol=1e-12), \
        f"with skip_start={skip_start} and skip_end={skip_end} the suggestion should be where np.gradient of the " \
        "kept losses is lowest (its first occurrence)"
