"""Hidden checks of exercise 1's ``gradient_descent(grad_fn, x0, lr, num_steps)``: a whole run."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("returns every iterate x0, x1, ..., x_num_steps of gradient descent", 45),
    "behaviour_divergence": ("stops at the first iterate that is not finite and keeps it", 25),
    "contract": ("returns a new float64 array of shape (num_steps + 1, d) and leaves x0 alone", 15),
    "validation": ("refuses a bad lr or num_steps with ValueError", 15),
}

A = np.array([[3.0, 1.0], [1.0, 2.0]])  # eigenvalues 1.38 and 3.62: stable for lr < 0.553
X0 = np.array([1.0, -2.0])


def grad(x):
    return A @ x


def closed_form(hessian, x0, lr, num_steps):
    """Iterates of gradient descent on f(x) = x^T H x / 2: x_k = (I - lr H)^k x0."""
    step = np.eye(len(x0)) - lr * hessian
    return np.array([np.linalg.matrix_power(step, k) @ x0 for k in range(num_steps + 1)])


def trajectory(answer, *args):
    return genuine(answer(*args), np.ndarray, "the trajectory")


@requirement("contract")
def test_shape_and_type(answer):
    """returns a float64 NumPy array of shape (num_steps + 1, d)"""
    result = answer(grad, X0.copy(), 0.1, 10)
    assert type(result) is np.ndarray, f"return a NumPy array, not {type(result).__name__} (use np.array(...))"
    assert result.shape == (11, 2), f"10 steps from a 2-D point should give shape (11, 2), got {result.shape}"
    assert result.dtype == np.float64, f"return float64 iterates, not {result.dtype}"


@requirement("behaviour")
def test_first_row_is_x0(answer):
    """starts the trajectory at x0 itself"""
    result = trajectory(answer, grad, X0.copy(), 0.1, 10)
    assert result.shape == (11, 2), f"10 steps from a 2-D point should give shape (11, 2), got {result.shape}"
    assert np.array_equal(result[0], X0), "the first row of the trajectory must be x0 itself"


@requirement("behaviour")
@pytest.mark.parametrize("lr", [0.01, 0.3, 0.5], ids=["small rate", "good rate", "oscillating rate"])
def test_matches_the_closed_form(answer, lr):
    """matches (I - lr A)^k x0 on a quadratic for 60 steps"""
    result = trajectory(answer, grad, X0.copy(), lr, 60)
    assert result.shape == (61, 2), f"60 steps from a 2-D point should give shape (61, 2), got {result.shape}"
    assert np.allclose(result, closed_form(A, X0, lr, 60), rtol=1e-9, atol=1e-12), \
        f"with lr = {lr} the iterates drift away from the exact ones: is each step x - lr * grad_fn(x)?"


@requirement("behaviour")
def test_zero_steps(answer):
    """with num_steps = 0 returns only x0, with shape (1, d)"""
    result = trajectory(answer, grad, X0.copy(), 0.1, 0)
    assert result.shape == (1, 2) and np.array_equal(result[0], X0), \
        f"with num_steps = 0 expected just x0 with shape (1, 2), got shape {result.shape}"


@requirement("contract")
def test_leaves_x0_unchanged(answer):
    """does not modify the x0 it is given"""
    x0 = X0.copy()
    answer(grad, x0, 0.1, 5)
    assert np.array_equal(x0, X0), "x0 was changed in place: copy it before stepping"


@requirement("contract")
def test_returns_an_array_of_its_own(answer):
    """returns an array that shares no memory with x0"""
    x0 = X0.copy()
    result = answer(grad, x0, 0.1, 3)
    x0[:] = 9.0
    assert np.array_equal(genuine(result, np.ndarray, "the trajectory")[0], X0), \
        "changing x0 afterwards changed the trajectory: build the result from copies"


@requirement("behaviour")
def test_integer_start(answer):
    """accepts an integer x0"""
    result = trajectory(answer, grad, np.array([1, -2]), 0.1, 3)
    assert result.shape == (4, 2) and np.allclose(result, closed_form(A, X0, 0.1, 3), rtol=1e-12), \
        "with the integer x0 = np.array([1, -2]) the iterates went wrong"


@requirement("contract")
def test_integer_start_gives_floats(answer):
    """returns float64 iterates for an integer x0, even with no step"""
    for num_steps in (3, 0):
        result = answer(lambda x: 2 * x, np.array([1, -2]), 0.1, num_steps)
        dtype = getattr(result, "dtype", type(result).__name__)
        assert type(result) is np.ndarray and result.dtype == np.float64, \
            f"with an integer x0 and num_steps = {num_steps} the trajectory has dtype {dtype}: convert x0 to float"


@requirement("behaviour")
def test_scalar_start(answer):
    """treats a plain number x0 as a 1-D point: shape (num_steps + 1, 1)"""
    result = trajectory(answer, lambda x: 4.0 * x, 3.0, 0.1, 4)
    assert result.shape == (5, 1), f"4 steps from x0 = 3.0 should give shape (5, 1), got {result.shape}"
    assert np.allclose(np.ravel(result), 3.0 * 0.6 ** np.arange(5)), "on f(x) = 2 x^2 the iterates went wrong"


@requirement("contract")
def test_deterministic(answer):
    """gives the same trajectory when called twice with the same arguments"""
    first = trajectory(answer, grad, X0.copy(), 0.3, 20)
    second = trajectory(answer, grad, X0.copy(), 0.3, 20)
    assert np.array_equal(first, second), \
        "two identical calls gave different trajectories: is state kept between calls?"


@requirement("behaviour")
def test_gradient_evaluations(answer):
    """calls grad_fn exactly num_steps times"""
    calls = []

    def counting_grad(x):
        calls.append(1)
        return grad(x)

    answer(counting_grad, X0.copy(), 0.1, 7)
    assert len(calls) == 7, f"7 steps should evaluate the gradient 7 times, not {len(calls)}"


@requirement("behaviour_divergence")
def test_stops_when_the_run_blows_up(answer):
    """stops at the first iterate that is not finite and returns the trajectory up to it"""
    with np.errstate(over="ignore", invalid="ignore"):
        result = trajectory(answer, lambda x: 1e200 * x, np.array([1.0, 1.0]), 1.0, 1000)
    assert len(result) < 1001, "the run overflowed to inf but kept going for all 1000 steps: stop there"
    assert len(result) == 3 and np.isfinite(result[:-1]).all() and not np.isfinite(result[-1]).all(), \
        "the trajectory should end with the first non-finite iterate (here the third row)"
    assert np.array_equal(result[:2], [[1.0, 1.0], [1.0 - 1e200, 1.0 - 1e200]]), \
        "the finite iterates before the blow-up are wrong"


@requirement("behaviour_divergence")
def test_stops_at_nan(answer):
    """stops at the first iterate that is NaN, not only at inf"""
    def grad_fn(x):
        return -x if np.abs(x).max() < 10 else np.full_like(x, np.nan)

    with np.errstate(invalid="ignore"):
        result = trajectory(answer, grad_fn, np.array([1.0, -1.0]), 1.0, 50)
    assert len(result) == 6 and np.isnan(result[-1]).all() and np.isfinite(result[:-1]).all(), \
        f"with a gradient that turns NaN once |x| reaches 10 the run should end with its first NaN iterate (the " \
        f"6th row), got {len(result)} rows: test np.isfinite, which is False for NaN as well as inf"


@requirement("behaviour_divergence")
def test_stops_when_one_coordinate_blows_up(answer):
    """stops as soon as any one coordinate is not finite"""
    with np.errstate(over="ignore", invalid="ignore"):
        result = trajectory(answer, lambda x: np.array([1e200 * x[0], 0.0]), np.array([-1.0, 5.0]), 1.0, 20)
    assert len(result) == 3 and np.isinf(result[-1, 0]) and result[-1, 1] == 5.0, \
        f"when only the first coordinate overflows the run should stop there (3 rows), got {len(result)} rows"


@requirement("validation")
@pytest.mark.parametrize("kwargs", [{"lr": -0.1}, {"lr": float("nan")}, {"lr": float("inf")}, {"num_steps": -1},
                                    {"num_steps": 2.5}, {"lr": -0.1, "num_steps": 0},
                                    {"lr": float("nan"), "num_steps": 0}],
                         ids=["negative lr", "nan lr", "infinite lr", "negative num_steps", "fractional num_steps",
                              "negative lr and no step", "nan lr and no step"])
def test_rejects_bad_arguments(answer, kwargs):
    """raises ValueError for a bad lr or num_steps"""
    arguments = {"lr": 0.1, "num_steps": 5, **kwargs}
    with pytest.raises(ValueError):
        answer(grad, X0.copy(), **arguments)


@requirement("behaviour")
@given(eigenvalues=st.lists(st.floats(0.1, 10), min_size=1, max_size=4),
       fraction=st.floats(0.05, 0.95), num_steps=st.integers(1, 30))
def test_matches_the_closed_form_for_any_diagonal_quadratic(answer, eigenvalues, fraction, num_steps):
    """matches the closed form on random diagonal quadratics at stable rates"""
    hessian = np.diag(eigenvalues)
    lr = fraction * 2 / max(eigenvalues)
    x0 = np.linspace(1, -1, len(eigenvalues))
    result = trajectory(answer, lambda x: hessian @ x, x0.copy(), lr, num_steps)
    assert result.shape == (num_steps + 1, len(x0)) and \
        np.allclose(result, closed_form(hessian, x0, lr, num_steps), rtol=1e-9, atol=1e-12), \
        "on some diagonal quadratic the iterates differ from the exact ones"
