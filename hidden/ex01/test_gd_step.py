"""Hidden checks of exercise 1's ``gd_step(x, grad_fn, lr)``: one gradient-descent step."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("takes the step x - lr * grad_fn(x)", 70),
    "contract": ("returns a new float64 array shaped like x, leaves x alone and calls grad_fn once, at a float point",
                 15),
    "validation": ("refuses a learning rate that is negative, infinite or NaN with ValueError", 15),
}

A = np.array([[3.0, 1.0], [1.0, 2.0]])


def grad(x):
    return A @ x


@requirement("behaviour")
def test_one_step_on_a_quadratic(answer):
    """takes the step x - lr * grad_fn(x) on a 2-D quadratic"""
    x = np.array([1.0, -2.0])
    expected = x - 0.1 * grad(x)
    result = genuine(answer(x.copy(), grad, 0.1), np.ndarray)
    assert result.shape == (2,) and np.allclose(result, expected, rtol=1e-12, atol=0), \
        "one step from x = [1, -2] with lr = 0.1 landed in the wrong place: the step is x - lr * grad_fn(x)"


@requirement("contract")
def test_returns_a_float_array_of_the_same_shape(answer):
    """returns a float64 NumPy array shaped like x"""
    result = answer(np.array([1.0, -2.0]), grad, 0.1)
    assert type(result) is np.ndarray, f"return a NumPy array, not {type(result).__name__}"
    assert result.shape == (2,), f"x has shape (2,) but the result has shape {result.shape}"
    assert result.dtype == np.float64, f"return float64 values, not {result.dtype}"


@requirement("contract")
def test_leaves_x_unchanged(answer):
    """does not modify the x it is given"""
    x = np.array([1.0, -2.0])
    answer(x, grad, 0.1)
    assert np.array_equal(x, [1.0, -2.0]), "x was changed in place: compute a new array instead of updating x"


@requirement("contract")
def test_returns_a_new_array(answer):
    """returns a new array, not x itself, even when lr = 0"""
    x = np.array([0.5, 4.0])
    result = answer(x, grad, 0.0)
    assert result is not x, "with lr = 0 the x given came back itself: return a new array (x - lr * grad_fn(x))"
    result = answer(x, grad, 0.1)
    assert result is not x, "the x given came back itself (updated in place?): return a new array"


@requirement("behaviour")
def test_accepts_integer_x(answer):
    """steps from an integer array x without rounding"""
    result = genuine(answer(np.array([1, -2]), grad, 0.1), np.ndarray)
    assert result.shape == (2,) and np.allclose(result, [0.9, -1.7], rtol=1e-12), \
        "with x = np.array([1, -2]) (integers) the step went wrong: convert x to float before stepping"
    result = genuine(answer(np.array([3, 1]), lambda z: 0.5 * z, 1.0), np.ndarray)
    assert result.shape == (2,) and np.allclose(result, [1.5, 0.5], rtol=1e-12), \
        "from the integer x = [3, 1] with the gradient x / 2 and lr = 1 the step should reach [1.5, 0.5]: " \
        "is the result stored in an integer array?"


@requirement("contract")
def test_evaluates_the_gradient_at_a_float_point(answer):
    """evaluates grad_fn at a float point even when x holds integers"""
    result = genuine(answer(np.array([2, 4]), lambda z: 1 - np.reciprocal(z), 1.0), np.ndarray)
    assert result.shape == (2,) and np.allclose(result, [1.5, 3.25], rtol=1e-12), \
        "from the integer x = [2, 4] with the gradient 1 - np.reciprocal(x) (that is, 1 - 1 / x) and lr = 1 the " \
        "step should reach [1.5, 3.25]: convert x to float64 before calling grad_fn, since NumPy's integer " \
        "arithmetic rounds (np.reciprocal(2) is 0)"


@requirement("contract")
def test_integer_inputs_give_floats(answer):
    """returns float64 even when x, the gradient and lr are all integers"""
    for lr in (0.1, 1, 0):
        result = answer(np.array([1, -2]), lambda z: 2 * z, lr)
        assert type(result) is np.ndarray and result.dtype == np.float64, \
            f"with the integer x = [1, -2], an integer gradient and lr = {lr!r} the result has dtype " \
            f"{getattr(result, 'dtype', type(result).__name__)}: return float64 (convert x first)"


@requirement("behaviour")
def test_zero_learning_rate_stays_put(answer):
    """with lr = 0 returns a point equal to x"""
    x = np.array([0.5, 4.0])
    assert np.array_equal(genuine(answer(x, grad, 0.0), np.ndarray), x), "with lr = 0 the step should not move"


@requirement("contract")
def test_deterministic(answer):
    """gives the same point when called twice with the same arguments"""
    x = np.array([0.3, -0.7])
    first = genuine(answer(x.copy(), grad, 0.2), np.ndarray)
    second = genuine(answer(x.copy(), grad, 0.2), np.ndarray)
    assert np.array_equal(first, second), "two identical calls gave different results: is state kept between calls?"


@requirement("contract")
def test_evaluates_the_gradient_once(answer):
    """calls grad_fn exactly once per step"""
    calls = []

    def counting_grad(x):
        calls.append(1)
        return grad(x)

    answer(np.array([1.0, 1.0]), counting_grad, 0.1)
    assert len(calls) == 1, f"grad_fn was called {len(calls)} times; a gradient can be expensive, call it once"


@requirement("behaviour")
def test_one_dimensional_problem(answer):
    """works on a 1-D problem, f(x) = 2 x^2"""
    result = genuine(answer(np.array([3.0]), lambda x: 4.0 * x, 0.25), np.ndarray)
    assert result.shape == (1,) and np.allclose(result, [0.0]), \
        "on f(x) = 2 x^2 from x = 3 with lr = 0.25 the step should reach 0"


@requirement("validation")
@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf"), float("-inf")],
                         ids=["negative", "nan", "infinite", "minus infinity"])
def test_rejects_a_bad_learning_rate(answer, lr):
    """raises ValueError for a learning rate that is not a finite number >= 0"""
    with pytest.raises(ValueError):
        answer(np.array([1.0, 1.0]), grad, lr)


@requirement("behaviour")
@given(x=hnp.arrays(np.float64, 3, elements=st.floats(-1e3, 1e3)), lr=st.floats(0, 10),
       scale=hnp.arrays(np.float64, 3, elements=st.floats(-10, 10)))
def test_matches_the_rule_for_any_input(answer, x, lr, scale):
    """matches x - lr * grad_fn(x) for random points, rates and gradients"""
    expected = x - lr * (scale * x)
    result = genuine(answer(x.copy(), lambda z: scale * z, lr), np.ndarray)
    assert result.shape == (3,) and np.allclose(result, expected, rtol=1e-12, atol=1e-9), \
        "for some x, lr and gradient the step differs from x - lr * grad_fn(x)"
