"""Hidden checks of exercise 1's ``max_stable_lr(hessian)``: the edge of stability, 2 / lambda_max."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("gives 2 / lambda_max, the edge of stability", 70),
    "contract": ("returns a plain float and leaves the Hessian alone", 15),
    "validation": ("refuses a Hessian that is not square, symmetric, positive semidefinite and nonzero", 15),
}


def random_spd(seed, size, condition=50.0):
    """A symmetric positive definite matrix with eigenvalues from 1 to ``condition``."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(size, size)))
    return q @ np.diag(np.geomspace(1, condition, size)) @ q.T


def runs_converge(hessian, lr, steps=3000):
    x = np.ones(len(hessian))
    for _ in range(steps):
        x = x - lr * hessian @ x
    return np.linalg.norm(x) < 1.0


def rate(answer, hessian):
    return genuine(answer(hessian), float, "the learning rate")


@requirement("behaviour")
def test_diagonal_hessian(answer):
    """gives 2 / lambda_max for a diagonal Hessian"""
    assert np.isclose(rate(answer, np.diag([0.5, 4.0, 2.0])), 0.5, rtol=1e-10), \
        "for eigenvalues 0.5, 4 and 2 the answer is off: which eigenvalue limits the step?"


@requirement("behaviour")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_hessian(answer, seed):
    """gives 2 / lambda_max for a rotated (non-diagonal) Hessian"""
    assert np.isclose(rate(answer, random_spd(seed, 5)), 2 / 50.0, rtol=1e-8), \
        "for a non-diagonal Hessian the answer is off: use its eigenvalues, not its diagonal"


@requirement("behaviour")
def test_one_by_one(answer):
    """handles a 1 x 1 Hessian"""
    assert np.isclose(rate(answer, np.array([[8.0]])), 0.25), "for f(x) = 4 x^2 (Hessian [[8]]) the answer is off"


@requirement("behaviour")
def test_singular_hessian(answer):
    """handles a singular Hessian (a flat direction)"""
    assert np.isclose(rate(answer, np.diag([0.0, 5.0])), 0.4), "with eigenvalues 0 and 5 the answer is off"


@requirement("behaviour")
@pytest.mark.parametrize("jacobian", [[[7, 3, 0, -4], [-4, -9, -8, -9]], [[-8, -2, -4, 4], [5, 4, 8, 8]]],
                         ids=["first", "second"])
def test_singular_hessian_with_rounding(answer, jacobian):
    """handles a singular Hessian J^T J whose zero eigenvalues come out slightly negative"""
    jacobian = np.array(jacobian, dtype=float)
    hessian = jacobian.T @ jacobian  # exactly symmetric positive semidefinite, of rank 2
    largest = np.linalg.eigvalsh(hessian).max()
    assert np.isclose(rate(answer, hessian), 2 / largest, rtol=1e-9), \
        "for a singular Hessian J^T J (positive semidefinite, of rank 2) the answer is off: rounding makes " \
        "eigvalsh give its zero eigenvalues as tiny negative numbers (near -1e-14), so allow a small tolerance"


@requirement("behaviour")
def test_accepts_nested_lists(answer):
    """accepts a nested list as well as an array"""
    assert np.isclose(rate(answer, [[2.0, 0.0], [0.0, 1.0]]), 1.0), "with hessian [[2, 0], [0, 1]] the answer is off"


@requirement("contract")
def test_returns_a_float(answer):
    """returns one plain float, not a NumPy number or an array"""
    for hessian in (np.diag([1.0, 2.0]), [[3.0]]):
        result = answer(hessian)
        assert type(result) is float, f"return a float (use float(...)), not {type(result).__name__}"


@requirement("contract")
def test_leaves_the_hessian_unchanged(answer):
    """does not modify the Hessian it is given"""
    hessian = random_spd(3, 4)
    original = hessian.copy()
    answer(hessian)
    assert np.array_equal(hessian, original), "the Hessian was changed in place"


@requirement("behaviour")
def test_is_the_edge_of_stability(answer):
    """is the rate where gradient descent turns from converging to diverging"""
    hessian = random_spd(4, 3, condition=10.0)
    edge = rate(answer, hessian)
    assert runs_converge(hessian, 0.98 * edge), "gradient descent diverges just below your rate"
    assert not runs_converge(hessian, 1.02 * edge), "gradient descent still converges just above your rate"


@requirement("validation")
@pytest.mark.parametrize("hessian", [np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones((2, 3)), np.diag([-1.0, 2.0]),
                                     np.zeros((2, 2)), np.array([1.0, 2.0]), np.ones((2, 2, 2))],
                         ids=["not symmetric", "not square", "negative eigenvalue", "no curvature", "1-D",
                              "3-D"])
def test_rejects_bad_hessians(answer, hessian):
    """raises ValueError unless the Hessian is a square, symmetric, positive semidefinite, nonzero matrix"""
    with pytest.raises(ValueError):
        answer(hessian)


@requirement("behaviour")
@given(eigenvalues=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=6))
def test_any_diagonal_hessian(answer, eigenvalues):
    """gives 2 / lambda_max for random diagonal Hessians"""
    assert np.isclose(rate(answer, np.diag(eigenvalues)), 2 / max(eigenvalues), rtol=1e-10), \
        "for some diagonal Hessian the answer is not 2 / (largest eigenvalue)"
