"""Hidden checks of exercise 2's ``minibatches(x, y, batch_size, rng, drop_last=False)``: one shuffled epoch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st


def paired_data(n, features=3):
    """x whose row i is i * 10 + [0, 1, 2], so a batch shows which samples it holds and whether x and y match."""
    return np.arange(n)[:, None] * 10 + np.arange(features), np.arange(n)


def epoch(answer, n, batch_size, seed=0, drop_last=False):
    x, y = paired_data(n)
    return list(answer(x, y, batch_size, np.random.default_rng(seed), drop_last=drop_last))


def test_every_sample_once(answer):
    """visits every sample exactly once in an epoch"""
    batches = epoch(answer, 23, 5)
    seen = np.concatenate([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(23)), "over one epoch each sample should appear exactly once"


def test_rows_stay_paired(answer):
    """keeps each x row with its own y"""
    for x_batch, y_batch in epoch(answer, 23, 5):
        assert np.array_equal(x_batch[:, 0] // 10, y_batch), "an x row ended up in a batch with another sample's y"


def test_batch_sizes_with_a_partial_last_batch(answer):
    """makes full batches and a smaller last one when n is not a multiple of batch_size"""
    sizes = [len(y) for _, y in epoch(answer, 23, 5)]
    assert sizes == [5, 5, 5, 5, 3], f"23 samples in batches of 5 should come as sizes [5, 5, 5, 5, 3], got {sizes}"


def test_drop_last(answer):
    """with drop_last=True leaves out the smaller last batch"""
    sizes = [len(y) for _, y in epoch(answer, 23, 5, drop_last=True)]
    assert sizes == [5, 5, 5, 5], f"with drop_last the sizes should be [5, 5, 5, 5], got {sizes}"
    assert len(epoch(answer, 20, 5, drop_last=True)) == 4, "with no partial batch, drop_last should drop nothing"


def test_batch_larger_than_the_data(answer):
    """with batch_size > n gives one batch of everything, or none with drop_last"""
    assert [len(y) for _, y in epoch(answer, 7, 10)] == [7], "7 samples in batches of 10 make one batch of 7"
    assert epoch(answer, 7, 10, drop_last=True) == [], "with drop_last, a batch of 7 < 10 is dropped"


def test_order_is_shuffled(answer):
    """shuffles the order instead of keeping the original one"""
    order = np.concatenate([y for _, y in epoch(answer, 50, 10)])
    assert not np.array_equal(order, np.arange(50)), "the samples came in their original order: shuffle them"


def test_same_seed_same_batches(answer):
    """gives the same batches for the same seed"""
    first, second = epoch(answer, 30, 4, seed=7), epoch(answer, 30, 4, seed=7)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, second)), "the same seed gave different batches"


def test_ignores_the_global_random_state(answer):
    """takes its randomness from rng only, not from np.random"""
    np.random.seed(1)
    first = epoch(answer, 30, 4, seed=7)
    np.random.seed(2)
    second = epoch(answer, 30, 4, seed=7)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, second)), \
        "the batches changed with np.random.seed: draw the order from the rng argument"


def test_each_epoch_reshuffles(answer):
    """reshuffles when called again with the same generator (the next epoch)"""
    x, y = paired_data(40)
    rng = np.random.default_rng(3)
    first = np.concatenate([b for _, b in answer(x, y, 8, rng)])
    second = np.concatenate([b for _, b in answer(x, y, 8, rng)])
    assert not np.array_equal(first, second), "two epochs from one generator came in the same order"


def test_leaves_the_data_unchanged(answer):
    """does not modify x or y"""
    x, y = paired_data(12)
    list(answer(x, y, 5, np.random.default_rng(0)))
    assert np.array_equal(x, paired_data(12)[0]) and np.array_equal(y, np.arange(12)), "x or y was changed"


def test_one_dimensional_inputs(answer):
    """works when x is 1-D"""
    x, y = np.arange(9) * 1.0, np.arange(9)
    batches = list(answer(x, y, 4, np.random.default_rng(0)))
    assert all(np.array_equal(xb, yb) for xb, yb in batches) and sum(len(b) for _, b in batches) == 9, \
        "with a 1-D x (one feature per sample) the batches went wrong"


@pytest.mark.parametrize("batch_size", [0, -2, 2.5], ids=["zero", "negative", "fractional"])
def test_rejects_a_bad_batch_size(answer, batch_size):
    """raises ValueError for a batch_size that is not a positive integer"""
    x, y = paired_data(10)
    with pytest.raises(ValueError):
        list(answer(x, y, batch_size, np.random.default_rng(0)))


def test_rejects_mismatched_data(answer):
    """raises ValueError when x and y hold different numbers of samples"""
    with pytest.raises(ValueError):
        list(answer(np.zeros((10, 2)), np.zeros(9), 3, np.random.default_rng(0)))


@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), drop_last=st.booleans(), seed=st.integers(0, 1000))
def test_counts_for_any_sizes(answer, n, batch_size, drop_last, seed):
    """has the right number and sizes of batches for any n and batch_size"""
    sizes = [len(y) for _, y in epoch(answer, n, batch_size, seed, drop_last)]
    full, rest = divmod(n, batch_size)
    expected = [batch_size] * full + ([rest] if rest and not drop_last else [])
    assert sizes == expected, "for some n and batch_size the batch sizes are wrong"
