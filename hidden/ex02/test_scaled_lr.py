"""Hidden checks of exercise 2's ``scaled_lr(base_lr, base_batch_size, batch_size, rule="linear")``."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

sizes = st.integers(1, 2**16)


def test_goyal_example(answer):
    """scales 0.1 at batch 256 to 3.2 at batch 8192 (the linear rule of Goyal et al.)"""
    assert math.isclose(answer(0.1, 256, 8192), 3.2, rel_tol=1e-12), "32 times the batch should give 32 times the rate"


def test_linear_is_the_default(answer):
    """uses the linear rule when no rule is given"""
    assert math.isclose(answer(0.2, 100, 50), 0.1, rel_tol=1e-12), "half the batch, half the rate (linear rule)"


def test_square_root_rule(answer):
    """scales by the square root of the batch ratio with rule="sqrt\""""
    assert math.isclose(answer(0.1, 64, 256, rule="sqrt"), 0.2, rel_tol=1e-12), "4 times the batch: twice the rate"
    assert math.isclose(answer(0.3, 900, 100, rule="sqrt"), 0.1, rel_tol=1e-12), "a ninth of the batch: a third"


def test_same_batch_same_rate(answer):
    """returns base_lr unchanged when the batch size does not change"""
    assert math.isclose(answer(0.05, 32, 32), 0.05) and math.isclose(answer(0.05, 32, 32, rule="sqrt"), 0.05), \
        "for the same batch size the rate should not change"


def test_returns_a_number(answer):
    """returns a single number"""
    assert np.ndim(answer(0.1, 32, 64)) == 0, "return one number"


def test_accepts_numpy_integers(answer):
    """accepts NumPy integer batch sizes"""
    assert math.isclose(answer(0.1, np.int64(32), np.int64(128)), 0.4, rel_tol=1e-12), "np.int64 sizes failed"


@pytest.mark.parametrize("args", [(0.0, 32, 64), (-0.1, 32, 64), (float("inf"), 32, 64)],
                         ids=["zero lr", "negative lr", "infinite lr"])
def test_rejects_a_bad_rate(answer, args):
    """raises ValueError for a base_lr that is not a positive finite number"""
    with pytest.raises(ValueError):
        answer(*args)


@pytest.mark.parametrize("args", [(0.1, 0, 64), (0.1, 32, -64), (0.1, 32, 64.5)],
                         ids=["zero base batch", "negative batch", "fractional batch"])
def test_rejects_bad_batch_sizes(answer, args):
    """raises ValueError for batch sizes that are not positive integers"""
    with pytest.raises(ValueError):
        answer(*args)


def test_rejects_an_unknown_rule(answer):
    """raises ValueError for a rule other than "linear" and "sqrt\""""
    with pytest.raises(ValueError):
        answer(0.1, 32, 64, rule="cubic")


@given(lr=st.floats(1e-6, 10), a=sizes, b=sizes, c=sizes, rule=st.sampled_from(["linear", "sqrt"]))
def test_rescaling_composes(answer, lr, a, b, c, rule):
    """rescaling a to b and then b to c equals rescaling a to c, for both rules"""
    assert math.isclose(answer(answer(lr, a, b, rule=rule), b, c, rule=rule), answer(lr, a, c, rule=rule),
                        rel_tol=1e-9), "two rescalings in a row disagree with one: is the ratio batch_size / base?"


@given(lr=st.floats(1e-6, 10), a=sizes, b=sizes)
def test_grows_with_the_batch(answer, lr, a, b):
    """gives a larger rate for a larger batch, linear more than square root"""
    small, large = sorted((a, b))
    linear, root = answer(lr, small, large), answer(lr, small, large, rule="sqrt")
    assert linear >= root >= lr * (1 - 1e-12), "a larger batch should get a larger rate, linear the most"
