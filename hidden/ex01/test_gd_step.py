"""Hidden checks of exercise 1's ``gd_step(x, grad_fn, lr)``: one gradient-descent step."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

A = np.array([[3.0, 1.0], [1.0, 2.0]])


def grad(x):
    return A @ x


def test_one_step_on_a_quadratic(answer):
    """takes the step x - lr * grad_fn(x) on a 2-D quadratic"""
    x = np.array([1.0, -2.0])
    expected = x - 0.1 * grad(x)
    result = answer(x.copy(), grad, 0.1)
    assert np.allclose(result, expected, rtol=1e-12, atol=0), \
        "one step from x = [1, -2] with lr = 0.1 landed in the wrong place: the step is x - lr * grad_fn(x)"


def test_returns_a_float_array_of_the_same_shape(answer):
    """returns a float64 NumPy array shaped like x"""
    result = answer(np.array([1.0, -2.0]), grad, 0.1)
    assert isinstance(result, np.ndarray), f"return a NumPy array, not a {type(result).__name__}"
    assert result.shape == (2,), f"x has shape (2,) but the result has shape {result.shape}"
    assert result.dtype == np.float64, f"return float64 values, not {result.dtype}"


def test_leaves_x_unchanged(answer):
    """does not modify the x it is given"""
    x = np.array([1.0, -2.0])
    answer(x, grad, 0.1)
    assert np.array_equal(x, [1.0, -2.0]), "x was changed in place: compute a new array instead of updating x"


def test_accepts_integer_x(answer):
    """accepts an integer array x and returns floats"""
    result = answer(np.array([1, -2]), grad, 0.1)
    assert np.asarray(result).dtype == np.float64 and np.allclose(result, [0.9, -1.7]), \
        "with x = np.array([1, -2]) (integers) the step went wrong: convert x to float before stepping"


def test_zero_learning_rate_stays_put(answer):
    """with lr = 0 returns a point equal to x"""
    x = np.array([0.5, 4.0])
    assert np.array_equal(answer(x, grad, 0.0), x), "with lr = 0 the step should not move"


def test_deterministic(answer):
    """gives the same point when called twice with the same arguments"""
    x = np.array([0.3, -0.7])
    assert np.array_equal(answer(x.copy(), grad, 0.2), answer(x.copy(), grad, 0.2)), \
        "two identical calls gave different results: is state kept between calls?"


def test_evaluates_the_gradient_once(answer):
    """calls grad_fn exactly once per step"""
    calls = []

    def counting_grad(x):
        calls.append(1)
        return grad(x)

    answer(np.array([1.0, 1.0]), counting_grad, 0.1)
    assert len(calls) == 1, f"grad_fn was called {len(calls)} times; a gradient can be expensive, call it once"


def test_one_dimensional_problem(answer):
    """works on a 1-D problem, f(x) = 2 x^2"""
    result = answer(np.array([3.0]), lambda x: 4.0 * x, 0.25)
    assert np.allclose(result, [0.0]), "on f(x) = 2 x^2 from x = 3 with lr = 0.25 the step should reach 0"


@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf")], ids=["negative", "nan", "infinite"])
def test_rejects_a_bad_learning_rate(answer, lr):
    """raises ValueError for a learning rate that is not a finite number >= 0"""
    with pytest.raises(ValueError):
        answer(np.array([1.0, 1.0]), grad, lr)


@given(x=hnp.arrays(np.float64, 3, elements=st.floats(-1e3, 1e3)), lr=st.floats(0, 10),
       scale=hnp.arrays(np.float64, 3, elements=st.floats(-10, 10)))
def test_matches_the_rule_for_any_input(answer, x, lr, scale):
    """matches x - lr * grad_fn(x) for random points, rates and gradients"""
    expected = x - lr * (scale * x)
    result = answer(x.copy(), lambda z: scale * z, lr)
    assert np.allclose(result, expected, rtol=1e-12, atol=1e-9), \
        "for some x, lr and gradient the step differs from x - lr * grad_fn(x)"
