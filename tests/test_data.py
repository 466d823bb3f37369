"""lrcourse.data: real offline data sets, split three ways without leaks and standardized on the training split."""

import numpy as np
import pytest
import torch

from lrcourse import data


@pytest.mark.parametrize("name, features, classes, total", [
    ("mnist", 784, 10, 5000), ("digits", 64, 10, 1797), ("breast_cancer", 30, 2, 569),
    ("diabetes", 10, None, 442), ("mnist1d", 40, 10, 5000)])
def test_every_data_set_loads_with_its_shape(name, features, classes, total):
    d = data.load(name, device="cpu")
    assert d.num_features == features and d.num_classes == classes
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == total
    if name != "mnist1d":  # MNIST-1D brings its own test split; the others are 60% / 20% / 20%
        assert abs(len(d.x_val) - 0.2 * total) <= 1 and abs(len(d.x_test) - 0.2 * total) <= 1
    assert d.x_train.dtype == torch.float32 and d.device.type == "cpu"
    assert d.y_train.dtype == (torch.int64 if classes else torch.float32)
    if classes:
        assert set(d.y_train.tolist()) == set(range(classes))


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "diabetes"])
def test_standardized_with_training_statistics(name):
    d = data.load(name, device="cpu")
    per_feature = name != "digits"
    dims = 0 if per_feature else None
    mean = d.x_train.double().mean(dim=dims) if per_feature else d.x_train.double().mean()
    std = d.x_train.double().std(dim=dims, unbiased=False) if per_feature else d.x_train.double().std(unbiased=False)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)
    assert torch.allclose(std, torch.ones_like(std), atol=1e-4)
    for split in (d.x_val, d.x_test):
        assert not torch.allclose(split.double().mean(dim=0), torch.zeros(d.num_features, dtype=torch.float64),
                                  atol=1e-5), "validation and test must not be standardized with their own statistics"


@pytest.mark.parametrize("name", ["digits", "mnist1d", "sort"])
def test_the_three_splits_share_no_sample(name):
    d = data.load(name, device="cpu")
    rows = [{tuple(row) for row in split.tolist()} for split in (d.x_train, d.x_val, d.x_test)]
    # digits holds a few exact duplicates, drawn sequences may repeat: overlaps stay at chance level
    assert all(len(a & b) <= 0.01 * min(len(a), len(b)) for a, b in ((rows[0], rows[1]), (rows[0], rows[2]),
                                                                     (rows[1], rows[2])))


def test_regression_targets_are_standardized():
    d = data.load("diabetes", device="cpu")
    assert abs(d.y_train.mean().item()) < 1e-5 and abs(d.y_train.std(unbiased=False).item() - 1) < 1e-4


def test_the_split_is_stratified_and_reproducible():
    a, b = data.load("breast_cancer", device="cpu", seed=3), data.load("breast_cancer", device="cpu", seed=3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    other = data.load("breast_cancer", device="cpu", seed=4)
    assert not torch.equal(a.y_test, other.y_test)
    assert abs(a.y_train.float().mean() - a.y_test.float().mean()) < 0.02
    assert abs(a.y_train.float().mean() - a.y_val.float().mean()) < 0.02


def test_train_size_keeps_a_prefix_of_the_training_split():
    full, small = data.load("digits", device="cpu"), data.load("digits", device="cpu", train_size=100)
    assert len(small.x_train) == 100 and torch.equal(small.y_train, full.y_train[:100])
    assert torch.equal(small.y_val, full.y_val) and torch.equal(small.y_test, full.y_test)


@pytest.mark.parametrize("kwargs, argument", [({"name": "cifar"}, "name"), ({"test_fraction": 1.0}, "test_fraction"),
                                              ({"val_fraction": 0.0}, "val_fraction"),
                                              ({"val_fraction": 0.5, "test_fraction": 0.5}, "leave samples"),
                                              ({"train_size": 0}, "train_size")])
def test_bad_arguments_are_named(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        data.load(**{"name": "digits", **kwargs})


def test_a_dataset_refuses_inconsistent_tensors():
    x, y = torch.zeros(5, 3), torch.zeros(5, dtype=torch.int64)
    with pytest.raises(ValueError, match="x_train is empty"):
        data.Dataset("d", x[:0], y[:0], x, y, x, y, 2)
    with pytest.raises(ValueError, match="x_val is empty"):
        data.Dataset("d", x, y, x[:0], y[:0], x, y, 2)
    with pytest.raises(ValueError, match="y_test"):
        data.Dataset("d", x, y, x, y, x, y[:4], 2)
    with pytest.raises(ValueError, match="2-D"):
        data.Dataset("d", x.reshape(5, 3, 1), y, x, y, x, y, 2)
    with pytest.raises(ValueError, match="same number of features"):
        data.Dataset("d", x, y, x, y, torch.zeros(5, 4), y, 2)


def test_loading_leaves_the_cached_raw_arrays_alone():
    before = data._RAW["digits"]()[0].copy()
    data.load("digits", device="cpu")
    assert np.array_equal(data._RAW["digits"]()[0], before)


def test_features_can_stay_unscaled():
    raw = data.load("breast_cancer", device="cpu", standardize=False)
    assert raw.x_train.max() > 1000, "the raw breast-cancer areas are in the thousands"
    pixels = data.load("digits", device="cpu", standardize=False)
    assert pixels.x_train.min() == 0 and pixels.x_train.max() == 16


def test_the_sort_task_pairs_each_sequence_with_its_sorted_self():
    sort = data.load("sort", device="cpu", seed=3, train_size=200)
    assert sort.x_train.shape == sort.y_train.shape == (200, data.SORT_LENGTH)
    assert sort.x_val.shape[0] == sort.x_test.shape[0] == 67, "validation and test in load's proportions, 60/20/20"
    assert sort.x_train.dtype == torch.int64 and sort.num_classes == data.SORT_VOCABULARY
    assert torch.equal(sort.y_train, sort.x_train.sort(dim=1).values)
    assert torch.equal(sort.x_train, data.load("sort", device="cpu", seed=3, train_size=200).x_train)


def test_own_arrays_become_a_dataset_split_and_scaled_as_load_does_it():
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    own = data.from_arrays(bunch.data, bunch.target, name="mine", device="cpu", seed=3)
    loaded = data.load("breast_cancer", device="cpu", seed=3)
    assert torch.allclose(own.x_train, loaded.x_train) and torch.equal(own.y_test, loaded.y_test)
    assert torch.allclose(own.x_val, loaded.x_val)
    assert own.num_classes == 2 and own.name == "mine"
    assert torch.allclose(own.x_train.mean(dim=0), torch.zeros(own.num_features), atol=1e-5)
    targets = bunch.data[:, 0] * 2.0 + 1.0
    regression = data.from_arrays(bunch.data[:, 1:], targets, device="cpu")
    assert regression.num_classes is None and abs(regression.y_train.mean().item()) < 1e-5


@pytest.mark.parametrize("x, y, message", [(np.zeros((4, 2)), np.zeros(3, dtype=int), "one value per sample"),
                                           (np.zeros(4), np.zeros(4, dtype=int), "2-D"),
                                           (np.zeros((4, 2)), np.array([0, 1, -1, 1]), "class labels")])
def test_arrays_that_cannot_be_a_dataset_are_refused(x, y, message):
    with pytest.raises(ValueError, match=message):
        data.from_arrays(x, y, device="cpu")


def test_select_classes_makes_a_new_task_of_part_of_the_classes():
    digits = data.load("digits", device="cpu")
    upper = data.select_classes(digits, [7, 5, 9], train_size=100)
    assert upper.num_classes == 3 and len(upper.x_train) == 100
    for split in data.SPLITS:
        x, y = getattr(digits, f"x_{split}"), getattr(digits, f"y_{split}")
        new_x, new_y = getattr(upper, f"x_{split}"), getattr(upper, f"y_{split}")
        assert set(new_y.tolist()) <= {0, 1, 2}
        if split != "train":
            assert len(new_y) == int(((y == 5) | (y == 7) | (y == 9)).sum())
        # relabelled in the order given: 7 -> 0, 5 -> 1, 9 -> 2, with the samples' features kept
        original = {0: 7, 1: 5, 2: 9}
        first = x[y == original[int(new_y[0])]][0]
        assert torch.equal(new_x[0], first)


@pytest.mark.parametrize("classes", [[], [3, 3], [10], [-1]])
def test_select_classes_refuses_classes_it_does_not_have(classes):
    digits = data.load("digits", device="cpu")
    with pytest.raises(ValueError, match="classes must name distinct classes"):
        data.select_classes(digits, classes)
