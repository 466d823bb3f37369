"""Hidden checks of exercise 2's ``scaled_lr(base_lr, base_batch_size, batch_size, rule="linear")``."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("multiplies base_lr by batch_size / base_batch_size (linear) or its square root (sqrt)", 70),
    "contract": ("returns a plain float", 15),
    "validation": ("refuses a bad base_lr, batch sizes that are not positive integers, or an unknown rule, "
                   "with ValueError", 15),
}

sizes = st.integers(1, 2**16)


def scaled(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), float, "the learning rate")


@requirement("behaviour")
def test_goyal_example(answer):
    """scales 0.1 at batch 256 to 3.2 at batch 8192 (the linear rule of Goyal et al.)"""
    assert math.isclose(scaled(answer, 0.1, 256, 8192), 3.2, rel_tol=1e-12), \
        "32 times the batch should give 32 times the rate"


@requirement("behaviour")
def test_linear_is_the_default(answer):
    """uses the linear rule when no rule is given"""
    assert math.isclose(scaled(answer, 0.2, 100, 50), 0.1, rel_tol=1e-12), "half the batch, half the rate (linear rule)"
    assert math.isclose(scaled(answer, 0.2, 100, 50, rule="linear"), 0.1, rel_tol=1e-12), \
        'with rule="linear": half the batch, half the rate'


@requirement("behaviour")
def test_ratios_that_are_not_whole(answer):
    """scales by ratios that are not whole numbers, up and down"""
    assert math.isclose(scaled(answer, 0.3, 64, 96), 0.45, rel_tol=1e-12), \
        "from batch 64 to 96 (1.5 times) the rate should be 1.5 times larger: divide with /, not //"
    assert math.isclose(scaled(answer, 0.3, 96, 64), 0.2, rel_tol=1e-12), \
        "from batch 96 to 64 the rate should shrink by 2/3: the factor is batch_size / base_batch_size"


@requirement("behaviour")
def test_square_root_rule(answer):
    """scales by the square root of the batch ratio with rule="sqrt\""""
    assert math.isclose(scaled(answer, 0.1, 64, 256, rule="sqrt"), 0.2, rel_tol=1e-12), \
        "4 times the batch: twice the rate"
    assert math.isclose(scaled(answer, 0.3, 900, 100, rule="sqrt"), 0.1, rel_tol=1e-12), "a ninth of the batch: a third"
    assert math.isclose(scaled(answer, 0.5, 32, 64, rule="sqrt"), 0.5 * math.sqrt(2), rel_tol=1e-12), \
        "twice the batch with base_lr = 0.5: the rate should be 0.5 * sqrt(2), the root of the ratio only"


@requirement("behaviour")
def test_same_batch_same_rate(answer):
    """returns base_lr unchanged when the batch size does not change"""
    assert math.isclose(scaled(answer, 0.05, 32, 32), 0.05) and \
        math.isclose(scaled(answer, 0.05, 32, 32, rule="sqrt"), 0.05), \
        "for the same batch size the rate should not change"


@requirement("behaviour")
def test_batches_of_one(answer):
    """accepts a batch size of 1, as base or as target"""
    assert math.isclose(scaled(answer, 0.1, 1, 4), 0.4, rel_tol=1e-12) and \
        math.isclose(scaled(answer, 0.4, 4, 1, rule="sqrt"), 0.2, rel_tol=1e-12), \
        "a batch size of 1 is a positive integer: scaling to or from it should work"


@requirement("contract")
def test_returns_a_float(answer):
    """returns a plain float, also for NumPy integer sizes and the square-root rule"""
    for args, rule in (((0.1, 32, 64), "linear"), ((0.1, np.int64(32), np.int64(128)), "linear"),
                       ((0.1, 32, 64), "sqrt"), ((np.float64(0.1), np.int32(32), 8), "sqrt")):
        result = answer(*args, rule=rule)
        assert type(result) is float, f"return a float (use float(...)), not {type(result).__name__}"


@requirement("behaviour")
def test_accepts_numpy_numbers(answer):
    """accepts NumPy integer batch sizes and a NumPy float rate"""
    assert math.isclose(scaled(answer, 0.1, np.int64(32), np.int64(128)), 0.4, rel_tol=1e-12), "np.int64 sizes failed"
    assert math.isclose(scaled(answer, np.float64(0.1), np.int32(32), 8, rule="sqrt"), 0.05, rel_tol=1e-12), \
        "np.float64 rate and np.int32 size failed"


@requirement("validation")
@pytest.mark.parametrize("args", [(0.0, 32, 64), (-0.1, 32, 64), (float("inf"), 32, 64), (float("nan"), 32, 64)],
                         ids=["zero lr", "negative lr", "infinite lr", "nan lr"])
def test_rejects_a_bad_rate(answer, args):
    """raises ValueError for a base_lr that is not a positive finite number"""
    with pytest.raises(ValueError):
        answer(*args)


@requirement("validation")
@pytest.mark.parametrize("args", [(0.1, 0, 64), (0.1, 32, -64), (0.1, 32, 64.5), (0.1, 2.5, 64)],
                         ids=["zero base batch", "negative batch", "fractional batch", "fractional base batch"])
def test_rejects_bad_batch_sizes(answer, args):
    """raises ValueError for batch sizes that are not positive integers"""
    with pytest.raises(ValueError):
        answer(*args)


@requirement("validation")
@pytest.mark.parametrize("rule", ["cubic", ""], ids=["cubic", "empty"])
def test_rejects_an_unknown_rule(answer, rule):
    """raises ValueError for a rule other than "linear" and "sqrt\""""
    with pytest.raises(ValueError):
        answer(0.1, 32, 64, rule=rule)


@requirement("behaviour")
@given(lr=st.floats(1e-6, 10), a=sizes, b=sizes, c=sizes, rule=st.sampled_from(["linear", "sqrt"]))
def test_rescaling_composes(answer, lr, a, b, c, rule):
    """rescaling a to b and then b to c equals rescaling a to c, for both rules"""
    once = scaled(answer, lr, a, c, rule=rule)
    twice = scaled(answer, scaled(answer, lr, a, b, rule=rule), b, c, rule=rule)
    assert math.isclose(twice, once, rel_tol=1e-9), \
        "two rescalings in a row disagree with one: is the ratio batch_size / base?"
    factor = c / a if rule == "linear" else math.sqrt(c / a)
    assert math.isclose(once, lr * factor, rel_tol=1e-12), "for some sizes the rate is not base_lr times the factor"


@requirement("behaviour")
@given(lr=st.floats(1e-6, 10), a=sizes, b=sizes)
def test_grows_with_the_batch(answer, lr, a, b):
    """gives a larger rate for a larger batch, linear more than square root"""
    small, large = sorted((a, b))
    linear, root = scaled(answer, lr, small, large), scaled(answer, lr, small, large, rule="sqrt")
    assert linear >= root >= lr * (1 - 1e-12), "a larger batch should get a larger rate, linear the most"
