"""Hidden checks of exercise 2's ``sgd_linear_regression(x, y, lr, batch_size, num_epochs, seed=0)``."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

RNG = np.random.default_rng(42)
X = RNG.normal(size=(30, 3))
W_TRUE, B_TRUE = np.array([1.5, -2.0, 0.5]), 0.7
Y = X @ W_TRUE + B_TRUE


def full_batch_gd(x, y, lr, steps):
    """Exact full-batch gradient descent on the mean squared error, with its losses."""
    w, b, losses = np.zeros(x.shape[1]), 0.0, []
    for _ in range(steps):
        r = x @ w + b - y
        losses.append(np.mean(r**2))
        w, b = w - lr * 2 * x.T @ r / len(y), b - lr * 2 * r.mean()
    return w, b, np.array(losses)


def test_full_batch_is_gradient_descent(answer):
    """with batch_size = n takes exactly the gradient-descent steps"""
    w, b, losses = answer(X.copy(), Y.copy(), 0.05, 30, 25)
    w_ref, b_ref, losses_ref = full_batch_gd(X, Y, 0.05, 25)
    assert np.allclose(losses, losses_ref, rtol=1e-9), "with one batch per epoch the losses differ from gradient descent"
    assert np.allclose(w, w_ref, rtol=1e-9) and np.isclose(b, b_ref, rtol=1e-9), \
        "with one batch per epoch the final weights differ from gradient descent: check the gradients' factor 2/m"


def test_shapes(answer):
    """returns w of shape (d,), a scalar b and one loss per step"""
    w, b, losses = answer(X.copy(), Y.copy(), 0.05, 7, 3)
    assert np.shape(w) == (3,), f"w should have shape (3,), got {np.shape(w)}"
    assert np.ndim(b) == 0, "b should be a single number"
    assert np.shape(losses) == (15,), f"30 samples in batches of 7 for 3 epochs make 15 steps, got {np.shape(losses)}"


def test_first_loss_is_at_zero_weights(answer):
    """records each batch's loss before its step, starting from w = 0, b = 0"""
    _, _, losses = answer(X.copy(), Y.copy(), 0.05, 30, 2)
    assert np.isclose(losses[0], np.mean(Y**2)), "the first loss should be the loss of w = 0, b = 0 (before any step)"


def test_learns_noise_free_data(answer):
    """recovers the true weights from noise-free data with small batches"""
    w, b, losses = answer(X.copy(), Y.copy(), 0.05, 5, 150)
    assert np.allclose(w, W_TRUE, atol=1e-4) and np.isclose(b, B_TRUE, atol=1e-4), \
        "on data with no noise, SGD should converge to the true weights"


def test_zero_learning_rate(answer):
    """with lr = 0 keeps w = 0 and b = 0"""
    w, b, losses = answer(X.copy(), Y.copy(), 0.0, 10, 2)
    assert np.allclose(w, 0) and b == 0, "with lr = 0 nothing should move"


def test_zero_epochs(answer):
    """with num_epochs = 0 returns zero weights and no losses"""
    w, b, losses = answer(X.copy(), Y.copy(), 0.1, 10, 0)
    assert np.allclose(w, 0) and b == 0 and len(losses) == 0, "with 0 epochs there are no steps and no losses"


def test_deterministic(answer):
    """gives the same result for the same seed"""
    first, second = answer(X.copy(), Y.copy(), 0.05, 4, 3, seed=5), answer(X.copy(), Y.copy(), 0.05, 4, 3, seed=5)
    assert np.array_equal(first[2], second[2]) and np.array_equal(first[0], second[0]), \
        "two runs with the same seed differ"


def test_seed_changes_the_order(answer):
    """gives different loss histories for different seeds (other minibatch orders)"""
    first, second = answer(X.copy(), Y.copy(), 0.05, 4, 3, seed=1), answer(X.copy(), Y.copy(), 0.05, 4, 3, seed=2)
    assert not np.allclose(first[2], second[2]), "two seeds gave the same losses: is the seed used for the order?"


def test_epochs_reshuffle(answer):
    """uses one generator for all epochs, so epochs differ in order"""
    _, _, losses = answer(X.copy(), Y.copy(), 0.0, 5, 2, seed=3)
    assert not np.allclose(losses[:6], losses[6:]), \
        "with lr = 0 the two epochs gave identical batch losses, so they used the same order: create rng once"


def test_leaves_the_data_unchanged(answer):
    """does not modify x or y"""
    x, y = X.copy(), Y.copy()
    answer(x, y, 0.05, 4, 2)
    assert np.array_equal(x, X) and np.array_equal(y, Y), "x or y was changed in place"


@pytest.mark.parametrize("kwargs", [{"lr": -0.1}, {"lr": float("nan")}, {"num_epochs": -1}, {"num_epochs": 1.5}],
                         ids=["negative lr", "nan lr", "negative num_epochs", "fractional num_epochs"])
def test_rejects_bad_arguments(answer, kwargs):
    """raises ValueError for a bad lr or num_epochs"""
    arguments = {"lr": 0.05, "batch_size": 5, "num_epochs": 2, **kwargs}
    with pytest.raises(ValueError):
        answer(X.copy(), Y.copy(), **arguments)


@given(lr=st.floats(0.0, 0.2), steps=st.integers(1, 15), seed=st.integers(0, 100))
def test_full_batch_for_any_rate(answer, lr, steps, seed):
    """matches gradient descent for any rate and number of epochs when the batch is the whole set"""
    w, b, losses = answer(X.copy(), Y.copy(), lr, 30, steps, seed=seed)
    w_ref, b_ref, losses_ref = full_batch_gd(X, Y, lr, steps)
    assert np.allclose(w, w_ref, rtol=1e-8, atol=1e-10) and np.allclose(losses, losses_ref, rtol=1e-8), \
        "for some rate the full-batch run differs from gradient descent"
