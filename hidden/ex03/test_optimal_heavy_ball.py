"""Hidden checks of exercise 3's ``optimal_heavy_ball(mu, L)``: Polyak's lr = 4 / (sqrt(L) + sqrt(mu))^2 and
momentum = ((sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu)))^2. NumPy only: this suite does not pay for importing torch.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("gives Polyak's lr = 4 / (sqrt(L) + sqrt(mu))^2 and momentum = ((sqrt(L) - sqrt(mu)) / "
                  "(sqrt(L) + sqrt(mu)))^2", 70),
    "contract": ("returns a tuple of two floats", 15),
    "validation": ("refuses mu <= 0, L < mu or numbers that are not finite with ValueError", 15),
}


def constants(answer, mu, L):
    """The answer's (lr, momentum), as genuine floats."""
    return genuine(answer(mu, L), (float, float), "(lr, momentum)")


def polyak(mu, L):
    root_l, root_mu = math.sqrt(L), math.sqrt(mu)
    return 4 / (root_l + root_mu) ** 2, ((root_l - root_mu) / (root_l + root_mu)) ** 2


def heavy_ball_distances(eigenvalues, lr, momentum, steps):
    """Distances to the minimum of heavy ball (PyTorch's convention) on the diagonal quadratic, one per step."""
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    x = np.ones_like(eigenvalues)
    velocity = eigenvalues * x
    distances = []
    with np.errstate(all="ignore"):  # bad constants may diverge; the checks say so in words
        for step in range(steps):
            if step:
                velocity = momentum * velocity + eigenvalues * x
            x = x - lr * velocity
            distances.append(np.linalg.norm(x))
    return np.array(distances)


@requirement("behaviour")
def test_example(answer):
    """gives lr = 0.25 and momentum = 0.25 for mu = 1 and L = 9"""
    lr, momentum = constants(answer, 1.0, 9.0)
    assert np.isclose(lr, 0.25, rtol=1e-12), "for mu = 1 and L = 9 the learning rate should be 4 / (3 + 1)^2 = 0.25"
    assert np.isclose(momentum, 0.25, rtol=1e-12), \
        "for mu = 1 and L = 9 the momentum should be ((3 - 1) / (3 + 1))^2 = 0.25"


@requirement("behaviour")
@pytest.mark.parametrize("mu, L", [(0.5, 2.0), (1e-3, 1.0), (2.0, 1e4)], ids=["kappa 4", "kappa 1000", "kappa 5000"])
def test_closed_form(answer, mu, L):
    """matches Polyak's formulas across condition numbers and scales"""
    lr, momentum = constants(answer, mu, L)
    expected_lr, expected_momentum = polyak(mu, L)
    assert np.isclose(lr, expected_lr, rtol=1e-10), f"for mu = {mu:g} and L = {L:g} the learning rate is off"
    assert np.isclose(momentum, expected_momentum, rtol=1e-10), f"for mu = {mu:g} and L = {L:g} the momentum is off"


@requirement("behaviour")
def test_perfect_conditioning(answer):
    """for mu = L = 4 gives lr = 1/4 and no momentum"""
    lr, momentum = constants(answer, 4.0, 4.0)
    assert np.isclose(lr, 0.25, rtol=1e-12), "with mu = L = 4 the learning rate should be 1 / L = 0.25"
    assert abs(momentum) < 1e-15, "with mu = L (condition number 1) no momentum is needed: it should be 0"


INPUT_KINDS = {"integers": (1, 4), "NumPy scalars": (np.float64(1.0), np.float32(4.0))}


@requirement("contract")
@pytest.mark.parametrize("kind", list(INPUT_KINDS))
def test_returns_two_floats(answer, kind):
    """returns a tuple (lr, momentum) of two floats, also for integer or NumPy inputs"""
    result = answer(*INPUT_KINDS[kind])
    assert type(result) is tuple, \
        f"return a tuple of two numbers (learning rate, momentum), not a {type(result).__name__}"
    genuine(result, (float, float), "(lr, momentum)")
    assert all(isinstance(value, (float, np.floating)) for value in result), \
        f"return two floats, not {[type(value).__name__ for value in result]}"


@requirement("behaviour")
@pytest.mark.parametrize("kind", list(INPUT_KINDS))
def test_integer_and_numpy_inputs(answer, kind):
    """gives lr = 4/9 and momentum = 1/9 for mu = 1 and L = 4 given as integers or NumPy scalars"""
    lr, momentum = constants(answer, *INPUT_KINDS[kind])
    assert np.isclose(lr, 4 / 9, rtol=1e-6) and np.isclose(momentum, 1 / 9, rtol=1e-6), \
        f"for mu = 1 and L = 4 given as {kind} the constants are off"


@requirement("behaviour")
@pytest.mark.parametrize("kappa", [10.0, 100.0], ids=["kappa 10", "kappa 100"])
def test_heavy_ball_contracts_at_the_optimal_rate(answer, kappa):
    """makes heavy ball on a quadratic contract by (sqrt(kappa) - 1) / (sqrt(kappa) + 1) per step"""
    eigenvalues = np.geomspace(0.5, 0.5 * kappa, 7)
    lr, momentum = constants(answer, 0.5, 0.5 * kappa)
    distances = heavy_ball_distances(eigenvalues, lr, momentum, 301)
    measured = (distances[300] / distances[100]) ** (1 / 200)
    expected = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    assert np.isfinite(measured), f"with condition number {kappa:g} heavy ball at your constants diverges"
    assert abs(measured - expected) < 0.01, \
        f"with condition number {kappa:g} heavy ball at your constants contracts by {measured:.3f} per step " \
        f"instead of (sqrt(kappa) - 1) / (sqrt(kappa) + 1) = {expected:.3f}"


@requirement("behaviour")
def test_every_direction_contracts_at_most_at_that_rate(answer):
    """makes every eigen-direction in [mu, L] contract by at most (sqrt(kappa) - 1) / (sqrt(kappa) + 1)"""
    mu, L = 0.2, 50.0
    lr, momentum = constants(answer, mu, L)
    rate = (math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)
    for eigenvalue in np.linspace(mu, L, 25):
        step = np.array([[1 + momentum - lr * eigenvalue, -momentum], [1.0, 0.0]])
        radius = np.abs(np.linalg.eigvals(step)).max()
        assert radius <= rate * (1 + 1e-6), \
            f"along the eigenvalue {eigenvalue:.3g} heavy ball at your constants contracts more slowly " \
            "than the optimal rate"


@requirement("behaviour")
def test_beats_the_best_gradient_descent(answer):
    """lets heavy ball close in on the minimum faster than the best plain gradient descent"""
    eigenvalues = np.geomspace(1.0, 100.0, 5)
    lr, momentum = constants(answer, 1.0, 100.0)
    heavy_ball = heavy_ball_distances(eigenvalues, lr, momentum, 100)[-1]
    gradient_descent = np.linalg.norm((1 - 2 / 101 * eigenvalues) ** 100)
    assert heavy_ball < 1e-3 * gradient_descent, \
        "after 100 steps heavy ball at your constants is not far ahead of gradient descent at lr = 2 / (L + mu)"


@requirement("validation")
@pytest.mark.parametrize("mu, L", [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0), (math.nan, 1.0), (1.0, math.inf)],
                         ids=["mu = 0", "negative mu", "L < mu", "nan mu", "infinite L"])
def test_rejects_bad_eigenvalues(answer, mu, L):
    """raises ValueError unless 0 < mu <= L are finite"""
    with pytest.raises(ValueError):
        answer(mu, L)


positive = st.floats(1e-4, 1e4)


@requirement("behaviour")
@given(mu=positive, L=positive)
def test_momentum_and_lr_fit_together(answer, mu, L):
    """momentum = (1 - sqrt(lr * mu))^2 = (sqrt(lr * L) - 1)^2, in [0, 1), for random mu <= L"""
    mu, L = min(mu, L), max(mu, L)
    lr, momentum = constants(answer, mu, L)
    assert lr > 0 and 0 <= momentum < 1, "the learning rate should be positive and the momentum in [0, 1)"
    assert np.isclose(momentum, (1 - math.sqrt(lr * mu)) ** 2, rtol=1e-8, atol=1e-12) and \
        np.isclose(momentum, (math.sqrt(lr * L) - 1) ** 2, rtol=1e-8, atol=1e-12), \
        "for some mu and L your momentum does not fit your learning rate as Polyak's constants do"


@requirement("behaviour")
@given(mu=positive, L=positive, scale=st.floats(1e-3, 1e3))
def test_scaling_the_quadratic(answer, mu, L, scale):
    """scaling mu and L by c divides the learning rate by c and keeps the momentum"""
    mu, L = min(mu, L), max(mu, L)
    lr, momentum = constants(answer, mu, L)
    scaled_lr, scaled_momentum = constants(answer, scale * mu, scale * L)
    assert np.isclose(scaled_lr, lr / scale, rtol=1e-8), \
        "multiplying mu and L by a constant should divide the learning rate by it"
    assert np.isclose(scaled_momentum, momentum, rtol=1e-8, atol=1e-12), \
        "multiplying mu and L by a constant should leave the momentum unchanged (it depends on L / mu only)"
