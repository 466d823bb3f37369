"""Hidden checks of exercise 1's ``max_stable_lr(hessian)``: the edge of stability, 2 / lambda_max."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st


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


def test_diagonal_hessian(answer):
    """gives 2 / lambda_max for a diagonal Hessian"""
    result = answer(np.diag([0.5, 4.0, 2.0]))
    assert np.isclose(result, 0.5, rtol=1e-10), \
        "for eigenvalues 0.5, 4 and 2 the answer is off: which eigenvalue limits the step?"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_hessian(answer, seed):
    """gives 2 / lambda_max for a rotated (non-diagonal) Hessian"""
    hessian = random_spd(seed, 5)
    assert np.isclose(answer(hessian), 2 / 50.0, rtol=1e-8), \
        "for a non-diagonal Hessian the answer is off: use its eigenvalues, not its diagonal"


def test_one_by_one(answer):
    """handles a 1 x 1 Hessian"""
    assert np.isclose(answer(np.array([[8.0]])), 0.25), "for f(x) = 4 x^2 (Hessian [[8]]) the answer is off"


def test_singular_hessian(answer):
    """handles a singular Hessian (a flat direction)"""
    assert np.isclose(answer(np.diag([0.0, 5.0])), 0.4), "with eigenvalues 0 and 5 the answer is off"


def test_accepts_nested_lists(answer):
    """accepts a nested list as well as an array"""
    assert np.isclose(answer([[2.0, 0.0], [0.0, 1.0]]), 1.0), "with hessian [[2, 0], [0, 1]] the answer is off"


def test_returns_a_scalar(answer):
    """returns one number, not an array of them"""
    result = answer(np.diag([1.0, 2.0]))
    assert np.ndim(result) == 0, f"return a single number; got something of shape {np.shape(result)}"


def test_leaves_the_hessian_unchanged(answer):
    """does not modify the Hessian it is given"""
    hessian = random_spd(3, 4)
    original = hessian.copy()
    answer(hessian)
    assert np.array_equal(hessian, original), "the Hessian was changed in place"


def test_is_the_edge_of_stability(answer):
    """is the rate where gradient descent turns from converging to diverging"""
    hessian = random_spd(4, 3, condition=10.0)
    edge = float(answer(hessian))
    assert runs_converge(hessian, 0.98 * edge), "gradient descent diverges just below your rate"
    assert not runs_converge(hessian, 1.02 * edge), "gradient descent still converges just above your rate"


@pytest.mark.parametrize("hessian", [np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones((2, 3)), np.diag([-1.0, 2.0]),
                                     np.zeros((2, 2))],
                         ids=["not symmetric", "not square", "negative eigenvalue", "no curvature"])
def test_rejects_bad_hessians(answer, hessian):
    """raises ValueError unless the Hessian is square, symmetric, positive semidefinite and not zero"""
    with pytest.raises(ValueError):
        answer(hessian)


@given(eigenvalues=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=6))
def test_any_diagonal_hessian(answer, eigenvalues):
    """gives 2 / lambda_max for random diagonal Hessians"""
    assert np.isclose(answer(np.diag(eigenvalues)), 2 / max(eigenvalues), rtol=1e-10), \
        "for some diagonal Hessian the answer is not 2 / (largest eigenvalue)"
