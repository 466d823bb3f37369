"""Hidden checks of exercise 2's ``minibatches(x, y, batch_size, rng, drop_last=False)``: one shuffled epoch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("cuts one epoch into batches that hold every sample once, x and y paired, "
                  "with a smaller last batch or none (drop_last)", 45),
    "behaviour_order": ("draws a fresh order from rng for each epoch, and from rng only", 25),
    "contract": ("yields pairs of NumPy arrays and leaves x and y alone", 15),
    "validation": ("refuses a batch_size that is not a positive integer, or x and y of different lengths, "
                   "with ValueError", 15),
}


def paired_data(n, features=3):
    """x whose row i is i * 10 + [0, 1, 2], so a batch shows which samples it holds and whether x and y match."""
    return np.arange(n)[:, None] * 10 + np.arange(features), np.arange(n)


def batches_of(answer, *args, **kwargs):
    """The answer's batches, each a genuine pair of arrays."""
    return [genuine(pair, (np.ndarray, np.ndarray), f"batch {index}")
            for index, pair in enumerate(answer(*args, **kwargs))]


def epoch(answer, n, batch_size, seed=0, drop_last=False):
    x, y = paired_data(n)
    return batches_of(answer, x, y, batch_size, np.random.default_rng(seed), drop_last=drop_last)


def order_of(batches):
    return np.concatenate([y for _, y in batches]) if batches else np.array([], dtype=int)


@requirement("behaviour")
def test_every_sample_once(answer):
    """visits every sample exactly once in an epoch"""
    seen = order_of(epoch(answer, 23, 5))
    assert sorted(seen.tolist()) == list(range(23)), "over one epoch each sample should appear exactly once"


@requirement("behaviour")
def test_rows_stay_paired(answer):
    """keeps each x row with its own y"""
    for x_batch, y_batch in epoch(answer, 20, 5):
        assert x_batch.shape == (len(y_batch), 3), \
            f"a batch of {len(y_batch)} targets came with inputs of shape {x_batch.shape}: take whole rows of x"
        assert np.array_equal(x_batch[:, 0] // 10, y_batch) and \
            np.array_equal(x_batch % 10, [[0, 1, 2]] * len(y_batch)), \
            "an x row ended up in a batch with another sample's y"


@requirement("behaviour")
def test_batch_sizes_with_a_partial_last_batch(answer):
    """makes full batches and a smaller last one when n is not a multiple of batch_size, by default"""
    sizes = [len(y) for _, y in epoch(answer, 23, 5)]
    assert sizes == [5, 5, 5, 5, 3], f"23 samples in batches of 5 should come as sizes [5, 5, 5, 5, 3], got {sizes}"
    x, y = paired_data(23)
    sizes = [len(y) for _, y in batches_of(answer, x, y, 5, np.random.default_rng(0))]
    assert sizes == [5, 5, 5, 5, 3], \
        f"called without drop_last, 23 samples in batches of 5 should come as sizes [5, 5, 5, 5, 3], got {sizes}: " \
        "drop_last should default to False"


@requirement("behaviour")
def test_batches_of_one(answer):
    """with batch_size = 1 makes one batch per sample"""
    batches = epoch(answer, 6, 1)
    assert [len(y) for _, y in batches] == [1] * 6 and sorted(order_of(batches).tolist()) == list(range(6)), \
        "6 samples in batches of 1 should make 6 batches of one sample each"


@requirement("behaviour")
def test_drop_last(answer):
    """with drop_last=True leaves out the smaller last batch"""
    batches = epoch(answer, 23, 5, drop_last=True)
    sizes = [len(y) for _, y in batches]
    assert sizes == [5, 5, 5, 5], f"with drop_last the sizes should be [5, 5, 5, 5], got {sizes}"
    assert len(set(order_of(batches).tolist())) == 20, "with drop_last the 20 samples kept should all differ"
    assert len(epoch(answer, 20, 5, drop_last=True)) == 4, "with no partial batch, drop_last should drop nothing"


@requirement("behaviour")
def test_batch_larger_than_the_data(answer):
    """with batch_size > n gives one batch of everything, or none with drop_last"""
    assert [len(y) for _, y in epoch(answer, 7, 10)] == [7], "7 samples in batches of 10 make one batch of 7"
    assert epoch(answer, 7, 10, drop_last=True) == [], "with drop_last, a batch of 7 < 10 is dropped"


@requirement("behaviour_order")
def test_order_is_shuffled(answer):
    """shuffles the order instead of keeping the original one"""
    order = order_of(epoch(answer, 50, 10))
    assert not np.array_equal(order, np.arange(50)), "the samples came in their original order: shuffle them"
    assert not np.array_equal(order_of(epoch(answer, 50, 50)), np.arange(50)), \
        "with one batch of all 50 samples they came in their original order: shuffle the samples, not the batches"


@requirement("behaviour_order")
def test_same_seed_same_batches(answer):
    """gives the same batches for the same seed"""
    first, second = epoch(answer, 30, 5, seed=7), epoch(answer, 30, 5, seed=7)
    assert len(first) == len(second) and all(np.array_equal(a[1], b[1]) for a, b in zip(first, second)), \
        "the same seed gave different batches"


@requirement("behaviour_order")
def test_seed_decides_the_order(answer):
    """gives other batches for another seed"""
    first, second = order_of(epoch(answer, 30, 5, seed=7)), order_of(epoch(answer, 30, 5, seed=8))
    assert not np.array_equal(first, second), "two different seeds gave the same order: draw it from rng"


@requirement("behaviour_order")
def test_ignores_the_global_random_state(answer):
    """takes its randomness from rng only, not from np.random"""
    np.random.seed(1)
    first = epoch(answer, 30, 5, seed=7)
    np.random.seed(2)
    second = epoch(answer, 30, 5, seed=7)
    assert len(first) == len(second) and all(np.array_equal(a[1], b[1]) for a, b in zip(first, second)), \
        "the batches changed with np.random.seed: draw the order from the rng argument"


@requirement("behaviour_order")
def test_each_epoch_reshuffles(answer):
    """reshuffles when called again with the same generator (the next epoch)"""
    x, y = paired_data(40)
    rng = np.random.default_rng(3)
    first = order_of(batches_of(answer, x, y, 8, rng))
    second = order_of(batches_of(answer, x, y, 8, rng))
    assert not np.array_equal(first, second), "two epochs from one generator came in the same order"


@requirement("contract")
def test_yields_pairs_of_arrays(answer):
    """yields (x_batch, y_batch) pairs of NumPy arrays"""
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    for pair in answer(x, y, 3, np.random.default_rng(0)):
        assert type(pair) is tuple and len(pair) == 2, f"yield (x_batch, y_batch) tuples, not {type(pair).__name__}"
        assert all(type(part) is np.ndarray for part in pair), \
            f"x_batch and y_batch should be NumPy arrays, not {', '.join(type(part).__name__ for part in pair)}"


@requirement("contract")
def test_leaves_the_data_unchanged(answer):
    """does not modify x or y"""
    x, y = paired_data(12)
    batches_of(answer, x, y, 4, np.random.default_rng(0))
    assert np.array_equal(x, paired_data(12)[0]) and np.array_equal(y, np.arange(12)), \
        "x or y was changed (shuffled in place?): shuffle an index instead"


@requirement("behaviour")
def test_one_dimensional_inputs(answer):
    """works when x is 1-D"""
    x, y = np.arange(8) * 1.0, np.arange(8)
    batches = batches_of(answer, x, y, 4, np.random.default_rng(0))
    assert all(np.array_equal(xb, yb) for xb, yb in batches) and sum(len(b) for _, b in batches) == 8, \
        "with a 1-D x (one feature per sample) the batches went wrong"


@requirement("behaviour")
def test_higher_dimensional_inputs(answer):
    """works when each sample of x is a matrix and y has several columns"""
    x, y = np.arange(6)[:, None, None] * np.ones((6, 2, 3)), np.arange(6)[:, None] * np.ones((6, 2))
    batches = batches_of(answer, x, y, 3, np.random.default_rng(0))
    assert [(xb.shape, yb.shape) for xb, yb in batches] == [((3, 2, 3), (3, 2))] * 2, \
        "with x of shape (6, 2, 3) and y of shape (6, 2) the batches should have shapes (3, 2, 3) and (3, 2)"
    assert all(np.array_equal(xb[:, 0, 0], yb[:, 0]) for xb, yb in batches), \
        "with x of shape (6, 2, 3) and y of shape (6, 2) the samples of x and y got separated"


@requirement("validation")
@pytest.mark.parametrize("batch_size", [0, -2, 2.5], ids=["zero", "negative", "fractional"])
def test_rejects_a_bad_batch_size(answer, batch_size):
    """raises ValueError for a batch_size that is not a positive integer"""
    x, y = paired_data(10)
    with pytest.raises(ValueError):
        list(answer(x, y, batch_size, np.random.default_rng(0)))


@requirement("validation")
def test_rejects_mismatched_data(answer):
    """raises ValueError when x and y hold different numbers of samples"""
    for n_x, n_y in ((10, 9), (9, 10)):
        with pytest.raises(ValueError):
            list(answer(np.zeros((n_x, 2)), np.zeros(n_y), 3, np.random.default_rng(0)))


@requirement("behaviour")
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), drop_last=st.booleans(), seed=st.integers(0, 1000))
def test_counts_for_any_sizes(answer, n, batch_size, drop_last, seed):
    """has the right number and sizes of batches for any n and batch_size"""
    batches = epoch(answer, n, batch_size, seed, drop_last)
    sizes = [len(y) for _, y in batches]
    full, rest = divmod(n, batch_size)
    expected = [batch_size] * full + ([rest] if rest and not drop_last else [])
    assert sizes == expected, "for some n and batch_size the batch sizes are wrong"
    assert len(set(order_of(batches).tolist())) == sum(expected), "for some n and batch_size a sample came twice"
