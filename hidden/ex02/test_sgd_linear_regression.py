"""Hidden checks of exercise 2's ``sgd_linear_regression(x, y, lr, batch_size, num_epochs, seed=0)``."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("takes minibatch SGD steps on the mean squared error from w = 0, b = 0 and records each batch's "
                  "loss before its step", 70),
    "contract": ("returns w (a float64 array), b (a float) and the losses (a float64 array), deterministically, "
                 "leaving x and y alone", 15),
    "validation": ("refuses a bad lr or num_epochs with ValueError", 15),
}

RNG = np.random.default_rng(42)
X = RNG.normal(size=(30, 3))
W_TRUE, B_TRUE = np.array([1.5, -2.0, 0.5]), 0.7
Y = X @ W_TRUE + B_TRUE

# For the minibatch check: 13 samples whose squared targets are 4^i / 4096, so that a batch's loss at w = 0,
# b = 0 (the mean of its squared targets) tells which samples it holds, whatever order the answer draws.
X13 = np.random.default_rng(5).normal(size=(13, 2))
Y13 = 2.0 ** np.arange(13) / 64


def run(answer, *args, **kwargs):
    """The answer's (w, b, losses), each genuine."""
    return genuine(answer(*args, **kwargs), (np.ndarray, float, np.ndarray), "(w, b, losses)")


def full_batch_gd(x, y, lr, steps):
    """Exact full-batch gradient descent on the mean squared error, with its losses."""
    w, b, losses = np.zeros(x.shape[1]), 0.0, []
    for _ in range(steps):
        r = x @ w + b - y
        losses.append(np.mean(r**2))
        w, b = w - lr * 2 * x.T @ r / len(y), b - lr * 2 * r.mean()
    return w, b, np.array(losses)


def batches_from_losses(losses, sizes):
    """The samples of each batch of a run at lr = 0 on (X13, Y13), read off its losses; None where they do not
    describe a batch of the expected size."""
    batches = []
    for loss, size in zip(losses, sizes):
        total = round(float(loss) * size * 4096)
        members = [i for i in range(13) if total >> (2 * i) & 1]
        if sum(4**i for i in members) != total or len(members) != size:
            return None
        batches.append(members)
    return batches


@requirement("behaviour")
def test_full_batch_is_gradient_descent(answer):
    """with batch_size = n takes exactly the gradient-descent steps"""
    w, b, losses = run(answer, X.copy(), Y.copy(), 0.05, 30, 25)
    w_ref, b_ref, losses_ref = full_batch_gd(X, Y, 0.05, 25)
    assert losses.shape == (25,) and np.allclose(losses, losses_ref, rtol=1e-9), \
        "with one batch per epoch the losses differ from gradient descent"
    assert w.shape == (3,) and np.allclose(w, w_ref, rtol=1e-9) and np.isclose(b, b_ref, rtol=1e-9), \
        "with one batch per epoch the final weights differ from gradient descent: check the gradients' factor 2/m"


@requirement("behaviour")
def test_minibatch_steps(answer):
    """takes exact SGD steps on each minibatch, a smaller last one included"""
    sizes = [5, 5, 3] * 3
    _, _, losses = run(answer, X13.copy(), Y13.copy(), 0.0, 5, 3, seed=4)
    assert losses.shape == (9,), \
        f"13 samples in batches of 5 for 3 epochs make 9 steps (sizes 5, 5, 3), got {losses.shape[0]} losses"
    batches = batches_from_losses(losses, sizes)
    assert batches is not None, \
        "with lr = 0 the recorded losses are not the mean squared errors of batches of 5, 5 and 3 samples at " \
        "w = 0, b = 0: record np.mean(residual ** 2) of each batch, before its step"
    w, b, losses = run(answer, X13.copy(), Y13.copy(), 0.01, 5, 3, seed=4)
    w_ref, b_ref, losses_ref = np.zeros(2), 0.0, []
    for members in batches:
        r = X13[members] @ w_ref + b_ref - Y13[members]
        losses_ref.append(np.mean(r**2))
        w_ref, b_ref = w_ref - 0.01 * 2 * X13[members].T @ r / len(members), b_ref - 0.01 * 2 * r.mean()
    assert losses.shape == (9,) and np.allclose(losses, losses_ref, rtol=1e-9), \
        "with batches of 5, 5 and 3 samples the losses differ from SGD's: is each step's gradient " \
        "(2/m) X_B^T r with m the size of that batch, and each loss recorded before its step?"
    assert np.allclose(w, w_ref, rtol=1e-9) and np.isclose(b, b_ref, rtol=1e-9), \
        "with batches of 5, 5 and 3 samples the final weights differ from SGD's: divide by the size of each batch"


@requirement("contract")
def test_returns_arrays_and_a_float(answer):
    """returns w as a float64 array of shape (d,), b as a float and the losses as a float64 array"""
    for epochs in (3, 0):
        w, b, losses = answer(X.copy(), Y.copy(), 0.05, 7, epochs)
        assert type(w) is np.ndarray and w.dtype == np.float64 and w.shape == (3,), \
            f"w should be a float64 array of shape (3,), not {type(w).__name__} {getattr(w, 'shape', '')}"
        assert type(b) is float, f"b should be a float (use float(b)), not {type(b).__name__}"
        assert type(losses) is np.ndarray and losses.dtype == np.float64, \
            f"the losses should be a float64 array (use np.array), not {type(losses).__name__}"
        assert losses.shape == (5 * epochs,), \
            f"30 samples in batches of 7 for {epochs} epochs make {5 * epochs} steps, got {losses.shape}"


@requirement("contract")
def test_float32_data_are_computed_in_float64(answer):
    """computes in float64 when x and y are float32 arrays"""
    x32, y32 = X.astype(np.float32), Y.astype(np.float32)
    w, b, losses = run(answer, x32.copy(), y32.copy(), 0.05, 7, 2, seed=1)
    w64, b64, losses64 = run(answer, x32.astype(np.float64), y32.astype(np.float64), 0.05, 7, 2, seed=1)
    assert np.allclose(w, w64, rtol=1e-12, atol=1e-14) and np.isclose(b, b64, rtol=1e-12, atol=1e-14) and \
        np.allclose(losses, losses64, rtol=1e-12, atol=1e-14), \
        "float32 data gave other results than the same data in float64 (rounded to float32 on the way?): " \
        "convert x and y with np.asarray(..., dtype=np.float64) first"


@requirement("behaviour")
def test_number_of_steps(answer):
    """records one loss per step: num_epochs * ceil(n / batch_size) of them"""
    for batch_size, epochs, steps in ((7, 3, 15), (10, 2, 6), (1, 1, 30), (40, 2, 2)):
        _, _, losses = run(answer, X.copy(), Y.copy(), 0.01, batch_size, epochs)
        assert losses.shape == (steps,), f"30 samples in batches of {batch_size} for {epochs} epochs make " \
            f"{steps} steps (the last batch may be smaller), got {losses.shape[0]} losses"


@requirement("behaviour")
def test_first_loss_is_at_zero_weights(answer):
    """records each batch's loss before its step, starting from w = 0, b = 0"""
    _, _, losses = run(answer, X.copy(), Y.copy(), 0.05, 30, 2)
    assert np.isclose(losses[0], np.mean(Y**2)), "the first loss should be the loss of w = 0, b = 0 (before any step)"


@requirement("behaviour")
def test_learns_noise_free_data(answer):
    """recovers the true weights from noise-free data with small batches"""
    w, b, _ = run(answer, X.copy(), Y.copy(), 0.05, 5, 150)
    assert np.allclose(w, W_TRUE, atol=1e-4) and np.isclose(b, B_TRUE, atol=1e-4), \
        "on data with no noise, SGD should converge to the true weights"


@requirement("behaviour")
def test_zero_learning_rate(answer):
    """with lr = 0 keeps w = 0 and b = 0"""
    w, b, _ = run(answer, X.copy(), Y.copy(), 0.0, 10, 2)
    assert np.array_equal(w, np.zeros(3)) and b == 0, "with lr = 0 nothing should move"


@requirement("behaviour")
def test_zero_epochs(answer):
    """with num_epochs = 0 returns zero weights and no losses"""
    w, b, losses = run(answer, X.copy(), Y.copy(), 0.1, 10, 0)
    assert np.array_equal(w, np.zeros(3)) and b == 0 and len(losses) == 0, \
        "with 0 epochs there are no steps and no losses"


@requirement("contract")
def test_deterministic(answer):
    """gives the same result for the same seed"""
    first = run(answer, X.copy(), Y.copy(), 0.05, 4, 3, seed=5)
    second = run(answer, X.copy(), Y.copy(), 0.05, 4, 3, seed=5)
    assert np.array_equal(first[2], second[2]) and np.array_equal(first[0], second[0]) and first[1] == second[1], \
        "two runs with the same seed differ"


@requirement("contract")
def test_default_seed_is_zero(answer):
    """uses seed = 0 when no seed is given"""
    first = run(answer, X.copy(), Y.copy(), 0.05, 4, 2)
    second = run(answer, X.copy(), Y.copy(), 0.05, 4, 2, seed=0)
    assert np.array_equal(first[2], second[2]) and np.array_equal(first[0], second[0]) and first[1] == second[1], \
        "a run without a seed differs from one with seed=0: the default seed should be 0"


@requirement("behaviour")
def test_seed_changes_the_order(answer):
    """gives different loss histories for different seeds (other minibatch orders)"""
    first = run(answer, X.copy(), Y.copy(), 0.05, 4, 3, seed=1)
    second = run(answer, X.copy(), Y.copy(), 0.05, 4, 3, seed=2)
    assert not np.allclose(first[2], second[2]), "two seeds gave the same losses: is the seed used for the order?"


@requirement("behaviour")
def test_epochs_reshuffle(answer):
    """uses one generator for all epochs, so epochs differ in order"""
    _, _, losses = run(answer, X.copy(), Y.copy(), 0.0, 5, 2, seed=3)
    assert losses.shape == (12,) and not np.allclose(losses[:6], losses[6:]), \
        "with lr = 0 the two epochs gave identical batch losses, so they used the same order: create rng once"


@requirement("contract")
def test_leaves_the_data_unchanged(answer):
    """does not modify x or y"""
    x, y = X.copy(), Y.copy()
    answer(x, y, 0.05, 4, 2)
    assert np.array_equal(x, X) and np.array_equal(y, Y), "x or y was changed in place"


@requirement("validation")
@pytest.mark.parametrize("kwargs", [{"lr": -0.1}, {"lr": float("nan")}, {"lr": float("inf")}, {"num_epochs": -1},
                                    {"num_epochs": 1.5}, {"lr": -0.1, "num_epochs": 0}],
                         ids=["negative lr", "nan lr", "infinite lr", "negative num_epochs", "fractional num_epochs",
                              "negative lr and no epoch"])
def test_rejects_bad_arguments(answer, kwargs):
    """raises ValueError for a bad lr or num_epochs"""
    arguments = {"lr": 0.05, "batch_size": 5, "num_epochs": 2, **kwargs}
    with pytest.raises(ValueError):
        answer(X.copy(), Y.copy(), **arguments)


@requirement("behaviour")
@given(lr=st.floats(0.0, 0.2), steps=st.integers(1, 15), seed=st.integers(0, 100))
def test_full_batch_for_any_rate(answer, lr, steps, seed):
    """matches gradient descent for any rate and number of epochs when the batch is the whole set"""
    w, b, losses = run(answer, X.copy(), Y.copy(), lr, 30, steps, seed=seed)
    w_ref, b_ref, losses_ref = full_batch_gd(X, Y, lr, steps)
    assert losses.shape == (steps,) and np.allclose(w, w_ref, rtol=1e-8, atol=1e-10) and \
        np.isclose(b, b_ref, rtol=1e-8, atol=1e-10) and np.allclose(losses, losses_ref, rtol=1e-8), \
        "for some rate the full-batch run differs from gradient descent"
