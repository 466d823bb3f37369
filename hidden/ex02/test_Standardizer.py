"""Hidden checks of exercise 2's ``Standardizer``: statistics learned on training data only."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

X = load_breast_cancer().data
TRAIN, TEST = X[:400], X[400:]


def test_matches_scikit_learn_on_training_data(answer):
    """standardizes the breast-cancer training data as scikit-learn's StandardScaler does"""
    result = answer().fit(TRAIN.copy()).transform(TRAIN.copy())
    assert np.allclose(result, StandardScaler().fit_transform(TRAIN), atol=1e-10), \
        "the standardized training data differ from (x - mean) / std, column by column"


def test_new_data_use_the_training_statistics(answer):
    """transforms new data with the statistics of the data it was fitted on"""
    result = answer().fit(TRAIN.copy()).transform(TEST.copy())
    assert np.allclose(result, StandardScaler().fit(TRAIN).transform(TEST), atol=1e-10), \
        "test data must be scaled with the training mean and std, not their own"


def test_learned_attributes(answer):
    """stores mean_ and scale_, one float per feature"""
    scaler = answer().fit(TRAIN.copy())
    assert np.shape(scaler.mean_) == (30,) and np.shape(scaler.scale_) == (30,), \
        "mean_ and scale_ should each hold one value per feature (shape (30,))"
    assert np.allclose(scaler.mean_, TRAIN.mean(axis=0)) and np.allclose(scaler.scale_, TRAIN.std(axis=0)), \
        "mean_ or scale_ is off: use the column means and the population std (ddof=0)"


def test_fit_returns_self(answer):
    """fit returns the standardizer itself, so calls can be chained"""
    scaler = answer()
    assert scaler.fit(TRAIN.copy()) is scaler, "fit should return self"


def test_fit_transform(answer):
    """fit_transform equals fit followed by transform"""
    assert np.allclose(answer().fit_transform(TRAIN.copy()), StandardScaler().fit_transform(TRAIN), atol=1e-10), \
        "fit_transform(x) should equal fit(x).transform(x)"


def test_constant_feature(answer):
    """maps a feature that is constant in training to 0, not NaN"""
    x = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    result = answer().fit(x).transform(np.array([[2.0, 5.0], [4.0, 7.0]]))
    assert np.all(np.isfinite(result)), "a constant training feature produced NaN or inf: use a scale of 1 for it"
    assert np.allclose(result[:, 1], [0.0, 2.0]), "with a scale of 1, a constant feature is just centred"


def test_leaves_inputs_unchanged(answer):
    """does not modify the arrays it is given"""
    train, test = TRAIN.copy(), TEST.copy()
    answer().fit(train).transform(test)
    assert np.array_equal(train, TRAIN) and np.array_equal(test, TEST), "fit or transform changed its input in place"


def test_integer_input(answer):
    """accepts integer arrays and returns floats"""
    result = answer().fit_transform(np.array([[1, 2], [3, 4], [5, 9]]))
    assert np.asarray(result).dtype == np.float64, f"return float64 values, not {np.asarray(result).dtype}"
    assert np.allclose(np.asarray(result).mean(axis=0), 0), "integer input went wrong"


def test_transform_before_fit(answer):
    """raises ValueError when transform is called before fit"""
    with pytest.raises(ValueError):
        answer().transform(TRAIN.copy())


@pytest.mark.parametrize("case", ["1-D input to fit", "wrong number of features"])
def test_rejects_bad_shapes(answer, case):
    """raises ValueError for input that is not 2-D or has the wrong number of features"""
    with pytest.raises(ValueError):
        if case == "1-D input to fit":
            answer().fit(np.arange(5.0))
        else:
            answer().fit(TRAIN.copy()).transform(TRAIN[:, :10].copy())


@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=8),
                    elements=st.floats(-1e3, 1e3)))
def test_any_data(answer, x):
    """agrees with (x - mean) / std for random data"""
    std = x.std(axis=0)
    expected = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    assert np.allclose(answer().fit_transform(x.copy()), expected, atol=1e-8), "for some data the result is off"
