"""Hidden checks of exercise 2's ``Standardizer``: statistics learned on training data only."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("learns each feature's mean and population std on the training data and applies them to any data",
                  70),
    "contract": ("returns new float64 arrays, fit returns self, and the data given are left alone", 15),
    "validation": ("refuses input that is not 2-D, the wrong number of features, or transform before fit, "
                   "with ValueError", 15),
}

# Features on very different scales, as in real tabular data (areas in the hundreds next to ratios near 0.1);
# the test set comes from a shifted distribution, so that its own statistics differ from the training ones.
_rng = np.random.default_rng(2)
_SCALES = np.geomspace(1e-3, 1e3, 12)
_OFFSETS = _rng.uniform(0, 5, 12) * _SCALES
TRAIN = _OFFSETS + _SCALES * _rng.lognormal(size=(200, 12))
TEST = 0.5 * _OFFSETS + 1.5 * _SCALES * _rng.lognormal(size=(60, 12))


def standardized(train, data):
    std = train.std(axis=0)
    return (data - train.mean(axis=0)) / np.where(std > 0, std, 1.0)


def array(value, what="the result"):
    return genuine(value, np.ndarray, what)


@requirement("behaviour")
def test_standardizes_the_training_data(answer):
    """standardizes the training data to (x - mean) / std, column by column"""
    result = array(answer().fit(TRAIN.copy()).transform(TRAIN.copy()))
    assert result.shape == TRAIN.shape and np.allclose(result, standardized(TRAIN, TRAIN), rtol=1e-10, atol=1e-10), \
        "the standardized training data differ from (x - mean) / std, column by column"


@requirement("behaviour")
def test_new_data_use_the_training_statistics(answer):
    """transforms new data with the statistics of the data it was fitted on"""
    result = array(answer().fit(TRAIN.copy()).transform(TEST.copy()))
    assert result.shape == TEST.shape and np.allclose(result, standardized(TRAIN, TEST), rtol=1e-10, atol=1e-10), \
        "test data must be scaled with the training mean and std, not their own"


@requirement("behaviour")
def test_one_new_sample(answer):
    """transforms a single new sample (one row) with the training statistics"""
    row = TEST[:1].copy()
    result = array(answer().fit(TRAIN.copy()).transform(row.copy()))
    assert result.shape == (1, 12) and np.allclose(result, standardized(TRAIN, row), rtol=1e-10, atol=1e-10), \
        "a single new sample (shape (1, 12)) was scaled wrongly: use the training mean_ and scale_"


@requirement("behaviour")
def test_learned_attributes(answer):
    """stores mean_ and scale_, one float per feature"""
    scaler = answer().fit(TRAIN.copy())
    mean, scale = array(scaler.mean_, "mean_"), array(scaler.scale_, "scale_")
    assert mean.shape == (12,) and scale.shape == (12,), \
        "mean_ and scale_ should each hold one value per feature (shape (12,))"
    assert np.allclose(mean, TRAIN.mean(axis=0), rtol=1e-12) and np.allclose(scale, TRAIN.std(axis=0), rtol=1e-12), \
        "mean_ or scale_ is off: use the column means and the population std (ddof=0)"


@requirement("contract")
def test_fit_returns_self(answer):
    """fit returns the standardizer itself, so calls can be chained"""
    scaler = answer()
    assert scaler.fit(TRAIN.copy()) is scaler, "fit should return self"


@requirement("behaviour")
def test_fit_transform(answer):
    """fit_transform equals fit followed by transform, and fits"""
    scaler = answer()
    result = array(scaler.fit_transform(TRAIN.copy()))
    assert np.allclose(result, standardized(TRAIN, TRAIN), rtol=1e-10, atol=1e-10), \
        "fit_transform(x) should equal fit(x).transform(x)"
    assert np.allclose(array(scaler.transform(TEST.copy())), standardized(TRAIN, TEST), rtol=1e-10, atol=1e-10), \
        "after fit_transform(x_train), transform(x_test) should use the statistics of x_train"


@requirement("behaviour")
def test_refitting_replaces_the_statistics(answer):
    """fitting again learns the new data's statistics"""
    scaler = answer().fit(TEST.copy()).fit(TRAIN.copy())
    assert np.allclose(array(scaler.transform(TEST.copy())), standardized(TRAIN, TEST), rtol=1e-10, atol=1e-10), \
        "after fit(a) and then fit(b), transform should use the statistics of b only"


@requirement("behaviour")
def test_constant_feature(answer):
    """maps a feature that is constant in training to 0, not NaN"""
    x = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    scaler = answer().fit(x)
    result = array(scaler.transform(np.array([[2.0, 5.0], [4.0, 7.0]])))
    assert np.all(np.isfinite(result)), "a constant training feature produced NaN or inf: use a scale of 1 for it"
    assert np.allclose(result[:, 1], [0.0, 2.0], rtol=1e-12), "with a scale of 1, a constant feature is just centred"
    assert np.allclose(result[:, 0], [0.0, 2 / np.std([1.0, 2.0, 3.0])], rtol=1e-12), \
        "next to a constant feature, the other one was scaled wrongly"
    assert np.allclose(array(scaler.scale_, "scale_"), [np.std([1.0, 2.0, 3.0]), 1.0], rtol=1e-12), \
        "scale_ of a constant feature should be 1"


@requirement("contract")
def test_leaves_inputs_unchanged(answer):
    """does not modify the arrays it is given"""
    train, test = TRAIN.copy(), TEST.copy()
    scaler = answer().fit(train)
    scaler.transform(test)
    scaler.fit_transform(train)
    assert np.array_equal(train, TRAIN) and np.array_equal(test, TEST), "fit or transform changed its input in place"


@requirement("contract")
def test_returns_new_float_arrays(answer):
    """returns a new float64 array, for float64, float32 and integer input"""
    for data in (TRAIN[:5].copy(), TRAIN[:5].astype(np.float32), np.array([[1, 2], [3, 4], [5, 9]])):
        scaler = answer().fit(data)
        result = scaler.transform(data)
        assert type(result) is np.ndarray and result.dtype == np.float64, \
            f"for a {data.dtype} array the result is {getattr(result, 'dtype', type(result).__name__)}: " \
            "return float64 values (convert x with np.asarray(x, dtype=np.float64))"
        assert result is not data, "transform returned the array it was given: return a new one"
        mean, scale = scaler.mean_, scaler.scale_
        assert type(mean) is np.ndarray and mean.dtype == np.float64 and type(scale) is np.ndarray \
            and scale.dtype == np.float64, f"for a {data.dtype} array mean_ and scale_ should be float64 arrays"


@requirement("behaviour")
def test_integer_input(answer):
    """standardizes integer arrays like float ones"""
    ints = np.array([[1, 2], [3, 4], [5, 9]])
    result = array(answer().fit_transform(ints))
    assert result.shape == (3, 2) and np.allclose(result, standardized(ints * 1.0, ints * 1.0), rtol=1e-12), \
        "integer input went wrong: convert x to float64 first"


@requirement("validation")
def test_transform_before_fit(answer):
    """raises ValueError when transform is called before fit"""
    with pytest.raises(ValueError):
        answer().transform(TRAIN.copy())


@requirement("validation")
@pytest.mark.parametrize("case", ["1-D input to fit", "3-D input to fit", "fewer features", "one feature",
                                  "1-D input to transform"])
def test_rejects_bad_shapes(answer, case):
    """raises ValueError for input that is not 2-D or has the wrong number of features"""
    with pytest.raises(ValueError):
        if case == "1-D input to fit":
            answer().fit(np.arange(5.0))
        elif case == "3-D input to fit":
            answer().fit(np.ones((4, 3, 2)))
        elif case == "fewer features":
            answer().fit(TRAIN.copy()).transform(TRAIN[:, :5].copy())
        elif case == "one feature":
            answer().fit(TRAIN.copy()).transform(TRAIN[:, :1].copy())
        else:
            answer().fit(TRAIN.copy()).transform(TRAIN[0].copy())


@requirement("behaviour")
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=8),
                    elements=st.floats(-1e3, 1e3)))
def test_any_data(answer, x):
    """agrees with (x - mean) / std for random data"""
    assert np.allclose(array(answer().fit_transform(x.copy())), standardized(x, x), atol=1e-8), \
        "for some data the result is off"
