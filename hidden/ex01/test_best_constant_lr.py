"""Hidden checks of exercise 1's ``best_constant_lr(hessian)``: the fastest constant rate on a quadratic, 2 / (L + mu),
and its contraction factor (L - mu) / (L + mu)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("gives the fastest constant rate and its contraction factor", 70),
    "contract": ("returns a tuple of two plain floats and leaves the Hessian alone", 15),
    "validation": ("refuses a Hessian that is not square, symmetric and positive definite", 15),
}


CUBE = np.ones((2, 2, 2))
CUBE[0, 0, 0] = CUBE[1, 1, 1] = 3.0  # unchanged by any transpose, and each 2 x 2 slice is positive definite


def random_spd(seed, size, condition):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(size, size)))
    return q @ np.diag(np.geomspace(1, condition, size)) @ q.T


def contraction(hessian, lr):
    return np.abs(1 - lr * np.linalg.eigvalsh(hessian)).max()


def rate_and_factor(answer, hessian):
    return genuine(answer(hessian), (float, float), "(lr, factor)")


@requirement("behaviour")
def test_diagonal_hessian(answer):
    """gives lr = 2 / (L + mu) for a diagonal Hessian"""
    lr, _ = rate_and_factor(answer, np.diag([1.0, 9.0]))
    assert np.isclose(lr, 0.2, rtol=1e-10), "for eigenvalues 1 and 9 the learning rate is off"


@requirement("behaviour")
def test_contraction_factor(answer):
    """gives the contraction factor (L - mu) / (L + mu)"""
    _, factor = rate_and_factor(answer, np.diag([1.0, 9.0]))
    assert np.isclose(factor, 0.8, rtol=1e-10), "for eigenvalues 1 and 9 the contraction factor is off"


@requirement("behaviour")
def test_eigenvalues_in_any_order(answer):
    """finds L and mu wherever they sit on the diagonal, with eigenvalues in between"""
    lr, factor = rate_and_factor(answer, np.diag([4.0, 10.0, 2.0, 6.0]))
    assert np.isclose(lr, 1 / 6, rtol=1e-10) and np.isclose(factor, 2 / 3, rtol=1e-10), \
        "for eigenvalues 4, 10, 2 and 6 expected lr = 2 / 12 and factor = 8 / 12: L and mu are the largest and " \
        "smallest eigenvalues"


@requirement("behaviour")
@pytest.mark.parametrize("condition", [2.0, 100.0, 1e4])
def test_full_hessian(answer, condition):
    """gives both numbers for rotated Hessians of several condition numbers"""
    lr, factor = rate_and_factor(answer, random_spd(int(condition), 4, condition))
    assert np.isclose(lr, 2 / (1 + condition), rtol=1e-7), \
        f"with condition number {condition:g} the learning rate is off: use the eigenvalues, not the diagonal"
    assert np.isclose(factor, (condition - 1) / (condition + 1), rtol=1e-7), \
        f"with condition number {condition:g} the contraction factor is off"


@requirement("behaviour")
def test_perfectly_conditioned(answer):
    """for a Hessian 5 I gives lr = 1/5 and a contraction factor of 0"""
    lr, factor = rate_and_factor(answer, 5.0 * np.eye(3))
    assert np.isclose(lr, 0.2) and np.isclose(factor, 0.0, atol=1e-12), \
        "when all eigenvalues are equal one step reaches the minimum: the factor should be 0"


@requirement("behaviour")
def test_accepts_nested_lists(answer):
    """accepts a nested list as well as an array"""
    lr, factor = rate_and_factor(answer, [[2.0, 0.0], [0.0, 1.0]])
    assert np.isclose(lr, 2 / 3) and np.isclose(factor, 1 / 3), "with hessian [[2, 0], [0, 1]] the answer is off"


@requirement("contract")
def test_returns_two_floats(answer):
    """returns a tuple (lr, factor) of two plain floats"""
    result = answer(np.diag([1.0, 3.0]))
    assert type(result) is tuple and len(result) == 2, \
        f"return a tuple of two numbers, (learning rate, contraction factor), not {type(result).__name__}"
    assert all(type(value) is float for value in result), \
        f"return plain floats (use float(...)), not {', '.join(type(value).__name__ for value in result)}"


@requirement("behaviour")
def test_no_rate_contracts_faster(answer):
    """is optimal: nudging the rate either way contracts more slowly"""
    hessian = random_spd(7, 3, 30.0)
    lr, _ = rate_and_factor(answer, hessian)
    best = contraction(hessian, lr)
    assert contraction(hessian, 0.97 * lr) > best and contraction(hessian, 1.03 * lr) > best, \
        "a slightly different rate contracts faster than yours, so yours is not the best constant rate"


@requirement("behaviour")
def test_bounds_the_distance_to_the_minimum(answer):
    """its factor bounds how fast gradient descent closes in on the minimum"""
    hessian = random_spd(8, 3, 10.0)
    lr, factor = rate_and_factor(answer, hessian)
    x = np.array([1.0, -1.0, 0.5])
    distances = [np.linalg.norm(x)]
    for _ in range(20):
        x = x - lr * hessian @ x
        distances.append(np.linalg.norm(x))
    ratios = np.array(distances[1:]) / np.array(distances[:-1])
    assert (ratios <= factor + 1e-9).all(), \
        "gradient descent at your rate shrinks the distance by less than your factor"


@requirement("contract")
def test_leaves_the_hessian_unchanged(answer):
    """does not modify the Hessian it is given"""
    hessian = random_spd(9, 3, 5.0)
    original = hessian.copy()
    answer(hessian)
    assert np.array_equal(hessian, original), "the Hessian was changed in place"


@requirement("validation")
@pytest.mark.parametrize("hessian", [np.array([[1.0, 2.0], [0.0, 1.0]]), np.diag([0.0, 2.0]), np.diag([-1.0, 2.0]),
                                     np.ones((2, 3)), np.zeros((2, 2)), np.array([1.0, 2.0]), CUBE],
                         ids=["not symmetric", "singular", "negative eigenvalue", "not square", "zero", "1-D", "3-D"])
def test_rejects_bad_hessians(answer, hessian):
    """raises ValueError unless the Hessian is square, symmetric and positive definite"""
    with pytest.raises(ValueError):
        answer(hessian)


@requirement("behaviour")
@given(eigenvalues=st.lists(st.floats(1e-2, 1e2), min_size=2, max_size=5))
def test_any_diagonal_hessian(answer, eigenvalues):
    """its factor equals max |1 - lr * lambda_i| for random diagonal Hessians"""
    hessian = np.diag(eigenvalues)
    lr, factor = rate_and_factor(answer, hessian)
    assert np.isclose(factor, contraction(hessian, lr), rtol=1e-9, atol=1e-12), \
        "for some Hessian your factor is not max |1 - lr * lambda| at your own rate"
    assert np.isclose(lr, 2 / (max(eigenvalues) + min(eigenvalues)), rtol=1e-9), \
        "for some diagonal Hessian the learning rate is not 2 / (L + mu)"
