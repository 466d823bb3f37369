"""Hidden checks of exercise 9's ``min_max_scale(x_train, x)``: each column of ``x`` mapped to
(x - min) / (max - min) with the minimum and maximum of that column in ``x_train``, as scikit-learn's
``MinMaxScaler`` fitted on ``x_train`` does; a column constant in ``x_train`` is only shifted by its minimum."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.preprocessing import MinMaxScaler

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("maps each column to (x - min) / (max - min) with the minimum and maximum of x_train, as "
                  "MinMaxScaler does, a column constant in x_train only shifted", 70),
    "contract": ("returns a new float64 array, whatever the numeric type of its inputs, and leaves them alone", 15),
    "validation": ("refuses inputs that are not 2-D or that differ in their number of columns with ValueError", 15),
}

# Features on scales from 1e-3 to 1e3, as in tabular data; the new data come from a shifted, wider distribution,
# so that their own minimum and maximum differ from the training ones.
_rng = np.random.default_rng(9)
_SCALES = np.geomspace(1e-3, 1e3, 8)
TRAIN = _rng.uniform(-1, 3, 8) * _SCALES + _SCALES * _rng.lognormal(size=(150, 8))
NEW = 0.5 * _rng.uniform(-1, 3, 8) * _SCALES + 2.0 * _SCALES * _rng.lognormal(size=(40, 8))


def sklearn_scaled(x_train, x):
    return MinMaxScaler().fit(np.asarray(x_train, dtype=np.float64)).transform(np.asarray(x, dtype=np.float64))


def scaled(answer, x_train, x):
    return genuine(answer(x_train, x), np.ndarray, "the scaled array")


def agrees(got, want):
    # MinMaxScaler computes x * scale + offset, which rounds differently from (x - min) / range
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-7, atol=1e-7)


@requirement("behaviour")
def test_the_training_data_fill_zero_to_one(answer):
    """maps the training data into [0, 1], each column's minimum to 0 and its maximum to 1"""
    got = scaled(answer, TRAIN.copy(), TRAIN.copy())
    assert agrees(got, sklearn_scaled(TRAIN, TRAIN)), \
        "the scaled training data differ from (x - min) / (max - min), column by column"
    assert np.allclose(got.min(axis=0), 0.0) and np.allclose(got.max(axis=0), 1.0), \
        "each column of the scaled training data should run from exactly 0 to 1"


@requirement("behaviour")
def test_new_data_use_the_training_statistics(answer):
    """scales new data with the training minimum and maximum, not their own (the result may leave [0, 1])"""
    got = scaled(answer, TRAIN.copy(), NEW.copy())
    assert agrees(got, sklearn_scaled(TRAIN, NEW)), (
        "new data must be scaled with the minimum and maximum of x_train, not their own: values below the "
        "training minimum become negative, values above its maximum exceed 1")


@requirement("behaviour")
@pytest.mark.parametrize("seed", range(5))
def test_matches_min_max_scaler(answer, seed):
    """agrees with sklearn's MinMaxScaler fitted on x_train, on random data of random shapes"""
    rng = np.random.default_rng(seed)
    columns = int(rng.integers(1, 6))
    x_train = rng.normal(rng.normal(0, 10, columns), rng.uniform(0.01, 100, columns),
                         (int(rng.integers(2, 30)), columns))
    x = rng.normal(0, 50, (int(rng.integers(1, 20)), columns))
    assert agrees(scaled(answer, x_train.copy(), x.copy()), sklearn_scaled(x_train, x)), \
        f"for random data of {columns} columns the result differs from MinMaxScaler().fit(x_train).transform(x)"


@requirement("behaviour")
def test_one_new_row(answer):
    """scales a single new row (shape (1, columns)) with the training statistics"""
    row = NEW[:1].copy()
    assert agrees(scaled(answer, TRAIN.copy(), row.copy()), sklearn_scaled(TRAIN, row)), \
        "a single new row (shape (1, 8)) was scaled wrongly: the statistics come from x_train, by column"


@requirement("behaviour")
def test_a_constant_column(answer):
    """maps a column constant in x_train to 0 there, and only shifts new values in it (a range of 1), no nan"""
    x_train = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    got = scaled(answer, x_train.copy(), x_train.copy())
    assert np.all(np.isfinite(got)), "a constant training column produced nan or inf: use a range of 1 for it"
    assert np.allclose(got, [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]]), \
        "the constant column should become 0 in the training data, next to the other column scaled as usual"
    new = scaled(answer, x_train.copy(), np.array([[2.0, 7.0], [4.0, 4.0]]))
    assert np.allclose(new, [[0.5, 2.0], [1.5, -1.0]]), (
        "in a column constant in x_train, new values are shifted by its minimum and not scaled (a range of 1, as "
        "MinMaxScaler does): 7 becomes 2 and 4 becomes -1")


@requirement("behaviour")
@given(x_train=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
                          elements=st.integers(-10**6, 10**6).map(lambda value: value / 1000)),
       rows=st.integers(1, 5), seed=st.integers(0, 1000))
def test_any_data(answer, x_train, rows, seed):
    """agrees with MinMaxScaler for any training data, constant columns included, and new data around it"""
    # (values on a grid of 0.001: MinMaxScaler also treats as constant a column whose range is below 1e-14 or so)
    x = np.random.default_rng(seed).uniform(-2e3, 2e3, (rows, x_train.shape[1]))
    assert agrees(scaled(answer, x_train.copy(), x.copy()), sklearn_scaled(x_train, x)), \
        "for some data the result differs from MinMaxScaler().fit(x_train).transform(x)"


@requirement("behaviour")
def test_integers_and_lists(answer):
    """scales integer arrays and nested lists like float arrays"""
    ints = np.array([[1, 20], [3, 40], [5, 10]])
    assert agrees(scaled(answer, ints.copy(), ints.copy()), sklearn_scaled(ints, ints)), \
        "integer input went wrong: convert it to float64 first (np.asarray(x, dtype=np.float64))"
    assert agrees(scaled(answer, [[0.0, 1.0], [4.0, 3.0]], [[2.0, 2.0]]), np.array([[0.5, 0.5]])), \
        "nested lists went wrong: convert them to arrays first"


@requirement("contract")
def test_returns_a_new_float64_array(answer):
    """returns a new float64 array, for float64, float32 and integer input"""
    for data in (TRAIN[:6].copy(), TRAIN[:6].astype(np.float32), np.array([[1, 2], [3, 4], [5, 9]])):
        result = answer(data, data)
        assert type(result) is np.ndarray and result.dtype == np.float64, (
            f"for a {data.dtype} array the result is {getattr(result, 'dtype', type(result).__name__)}: return "
            "float64 values")
        assert result is not data, "the result is the array given: return a new one"


@requirement("contract")
def test_leaves_inputs_alone(answer):
    """does not modify the arrays it is given"""
    x_train, x = TRAIN.copy(), NEW.copy()
    answer(x_train, x)
    answer(x, x)
    assert np.array_equal(x_train, TRAIN) and np.array_equal(x, NEW), "min_max_scale changed an array it was given"


@requirement("contract")
def test_deterministic(answer):
    """gives the same result for the same inputs, every time"""
    first, second = scaled(answer, TRAIN.copy(), NEW.copy()), scaled(answer, TRAIN.copy(), NEW.copy())
    assert np.array_equal(first, second), "two calls with the same inputs gave different results"


@requirement("validation")
@pytest.mark.parametrize("case", ["1-D x_train", "1-D x", "3-D x_train", "fewer columns in x", "more columns in x",
                                  "one column in x_train", "one column in x"])
def test_refuses_bad_shapes(answer, case):
    """raises ValueError for inputs that are not 2-D or differ in their number of columns"""
    x_train, x = TRAIN.copy(), NEW.copy()
    if case == "1-D x_train":
        x_train = TRAIN[:, 0].copy()
    elif case == "1-D x":
        x = NEW[0].copy()
    elif case == "3-D x_train":
        x_train = np.ones((4, 3, 2))
    elif case == "fewer columns in x":
        x = NEW[:, :3].copy()
    elif case == "more columns in x":
        x = np.hstack([NEW, NEW])
    elif case == "one column in x_train":  # NumPy would broadcast its statistics over every column of x
        x_train = TRAIN[:, :1].copy()
    else:  # NumPy would broadcast x's one column against every statistic of x_train
        x = NEW[:, :1].copy()
    with pytest.raises(ValueError):
        answer(x_train, x)


@requirement("validation")
def test_accepts_one_row_or_one_column(answer):
    """accepts a single training row or a single column"""
    answer(TRAIN[:1].copy(), NEW.copy())
    answer(TRAIN[:, :1].copy(), NEW[:, :1].copy())
