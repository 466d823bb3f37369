"""Hidden checks of exercise 1's ``gradient_descent(grad_fn, x0, lr, num_steps)``: a whole run."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

A = np.array([[3.0, 1.0], [1.0, 2.0]])  # eigenvalues 1.38 and 3.62: stable for lr < 0.553
X0 = np.array([1.0, -2.0])


def grad(x):
    return A @ x


def closed_form(hessian, x0, lr, num_steps):
    """Iterates of gradient descent on f(x) = x^T H x / 2: x_k = (I - lr H)^k x0."""
    step = np.eye(len(x0)) - lr * hessian
    return np.array([np.linalg.matrix_power(step, k) @ x0 for k in range(num_steps + 1)])


def test_shape_and_first_row(answer):
    """returns an array of shape (num_steps + 1, d) that starts at x0"""
    result = answer(grad, X0.copy(), 0.1, 10)
    assert isinstance(result, np.ndarray), f"return a NumPy array, not a {type(result).__name__}"
    assert result.shape == (11, 2), f"10 steps from a 2-D point should give shape (11, 2), got {result.shape}"
    assert np.array_equal(result[0], X0), "the first row of the trajectory must be x0 itself"


@pytest.mark.parametrize("lr", [0.01, 0.3, 0.5], ids=["small rate", "good rate", "oscillating rate"])
def test_matches_the_closed_form(answer, lr):
    """matches (I - lr A)^k x0 on a quadratic for 60 steps"""
    result = answer(grad, X0.copy(), lr, 60)
    assert np.shape(result) == (61, 2), f"expected shape (61, 2), got {np.shape(result)}"
    assert np.allclose(result, closed_form(A, X0, lr, 60), rtol=1e-9, atol=1e-12), \
        f"with lr = {lr} the iterates drift away from the exact ones: is each step x - lr * grad_fn(x)?"


def test_zero_steps(answer):
    """with num_steps = 0 returns only x0, with shape (1, d)"""
    result = answer(grad, X0.copy(), 0.1, 0)
    assert np.shape(result) == (1, 2) and np.array_equal(result[0], X0), \
        f"with num_steps = 0 expected just x0 with shape (1, 2), got shape {np.shape(result)}"


def test_leaves_x0_unchanged(answer):
    """does not modify the x0 it is given"""
    x0 = X0.copy()
    answer(grad, x0, 0.1, 5)
    assert np.array_equal(x0, X0), "x0 was changed in place: copy it before stepping"


def test_integer_start(answer):
    """accepts an integer x0 and returns float64 iterates"""
    result = answer(grad, np.array([1, -2]), 0.1, 3)
    assert np.asarray(result).dtype == np.float64, f"return float64 iterates, not {np.asarray(result).dtype}"
    assert np.allclose(result, closed_form(A, X0, 0.1, 3)), "with an integer x0 the iterates went wrong"


def test_scalar_start(answer):
    """treats a plain number x0 as a 1-D point: shape (num_steps + 1, 1)"""
    result = answer(lambda x: 4.0 * x, 3.0, 0.1, 4)
    assert np.shape(result) == (5, 1), f"4 steps from x0 = 3.0 should give shape (5, 1), got {np.shape(result)}"
    assert np.allclose(np.ravel(result), 3.0 * 0.6 ** np.arange(5)), "on f(x) = 2 x^2 the iterates went wrong"


def test_deterministic(answer):
    """gives the same trajectory when called twice with the same arguments"""
    first, second = answer(grad, X0.copy(), 0.3, 20), answer(grad, X0.copy(), 0.3, 20)
    assert np.array_equal(first, second), "two identical calls gave different trajectories: is state kept between calls?"


def test_gradient_evaluations(answer):
    """calls grad_fn exactly num_steps times"""
    calls = []

    def counting_grad(x):
        calls.append(1)
        return grad(x)

    answer(counting_grad, X0, 0.1, 7)
    assert len(calls) == 7, f"7 steps should evaluate the gradient 7 times, not {len(calls)}"


def test_stops_when_the_run_blows_up(answer):
    """stops at the first iterate that is not finite and returns the trajectory up to it"""
    with np.errstate(over="ignore", invalid="ignore"):
        result = answer(lambda x: 1e200 * x, np.array([1.0, 1.0]), 1.0, 1000)
    result = np.asarray(result)
    assert len(result) < 1001, "the run overflowed to inf but kept going for all 1000 steps: stop there"
    assert len(result) == 3 and np.isfinite(result[:-1]).all() and not np.isfinite(result[-1]).all(), \
        "the trajectory should end with the first non-finite iterate (here the third row)"


@pytest.mark.parametrize("kwargs, name", [({"lr": -0.1}, "lr"), ({"lr": float("nan")}, "lr"),
                                          ({"num_steps": -1}, "num_steps"), ({"num_steps": 2.5}, "num_steps")],
                         ids=["negative lr", "nan lr", "negative num_steps", "fractional num_steps"])
def test_rejects_bad_arguments(answer, kwargs, name):
    """raises ValueError for a bad lr or num_steps"""
    arguments = {"lr": 0.1, "num_steps": 5, **kwargs}
    with pytest.raises(ValueError):
        answer(grad, X0.copy(), **arguments)


@given(eigenvalues=st.lists(st.floats(0.1, 10), min_size=1, max_size=4),
       fraction=st.floats(0.05, 0.95), num_steps=st.integers(1, 30))
def test_matches_the_closed_form_for_any_diagonal_quadratic(answer, eigenvalues, fraction, num_steps):
    """matches the closed form on random diagonal quadratics at stable rates"""
    hessian = np.diag(eigenvalues)
    lr = fraction * 2 / max(eigenvalues)
    x0 = np.linspace(1, -1, len(eigenvalues))
    result = answer(lambda x: hessian @ x, x0, lr, num_steps)
    assert np.allclose(result, closed_form(hessian, x0, lr, num_steps), rtol=1e-9, atol=1e-12), \
        "on some diagonal quadratic the iterates differ from the exact ones"
