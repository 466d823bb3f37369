"""Shared by the three rule suites of exercise 7: curves with known answers, references, and the checks every
rule owes its caller (a float, untouched inputs, readable errors). Each suite defines the fixture ``rule``:
the answer called with the suite's own extra arguments."""

import numpy as np
import pytest
from hypothesis import strategies as st


def cosine_valley(points=121):
    """Flat at 2 below 1e-4, down along a half cosine to 0 at 1e-2 (falling fastest at 1e-3), then up steeply."""
    log_lrs = np.linspace(-6, 0, points)
    falling = np.clip((log_lrs + 4) / 2, 0, 1)
    losses = 1 + np.cos(np.pi * falling) + np.where(log_lrs > -2, 10 * (log_lrs + 2) ** 2, 0)
    return list(10 ** log_lrs), list(losses)


def random_curves(min_size=3, max_size=60):
    """Evenly log-spaced rates from 1e-6 with random losses (ties included, from a small set of values)."""
    return st.integers(min_size, max_size).flatmap(lambda n: st.tuples(
        st.just(list(np.geomspace(1e-6, 1.0, n))),
        st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0]) | st.floats(0.01, 10.0), min_size=n, max_size=n)))


def test_returns_a_float(rule):
    """returns a float"""
    lrs, losses = cosine_valley()
    value = rule(lrs, losses)
    assert isinstance(value, float), f"return a float, not a {type(value).__name__} (use float(...))"


def test_leaves_the_curve_alone(rule):
    """does not change the lists it is given, and takes numpy arrays as well"""
    lrs, losses = cosine_valley()
    kept = list(lrs), list(losses)
    from_lists = rule(lrs, losses)
    assert (lrs, losses) == kept, "the rule changed the lists it was given"
    assert rule(np.array(lrs), np.array(losses)) == pytest.approx(from_lists), "numpy arrays should work like lists"


def test_refuses_lists_of_different_lengths(rule):
    """raises ValueError when the rates and the losses differ in length"""
    lrs, losses = cosine_valley()
    with pytest.raises(ValueError):
        rule(lrs, losses[:-1])


def test_refuses_a_curve_of_two_points(rule):
    """raises ValueError for a curve of fewer than 3 points"""
    with pytest.raises(ValueError):
        rule([1e-3, 1e-2], [1.0, 0.5])
