"""Hidden checks of exercise 4's ``rmsprop_step(param, grad, state, lr, alpha, eps, weight_decay, centered)``:
one step of torch.optim.RMSprop (without momentum) as a pure function."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrgrader.checks import requirement

from helpers import ALGORITHMS, adaptive_step, assert_runs_like_torch, state_tensor
from helpers import (test_adaptive_step_keeps_shape_and_dtype as test_keeps_shape_and_dtype,  # noqa: F401
                     test_leaves_its_inputs_alone,
                     test_adaptive_step_returns_tensors_of_its_own as test_returns_tensors_of_its_own,
                     test_starts_its_state_from_none, test_uses_torchs_defaults, test_zero_gradients_are_safe)

REQUIREMENTS = {
    "behaviour": ("takes torch.optim.RMSprop's step: lr * g / (sqrt(average of g**2) + eps), centered or not", 70),
    "contract": ("returns new tensors of the parameters' shape and dtype, a new state dictionary, and leaves its "
                 "inputs alone", 15),
    "validation": ("refuses a setting out of its range with ValueError", 15),
}

ALGORITHM = ALGORITHMS["rmsprop"]


@pytest.fixture
def algorithm():
    return ALGORITHM


SETTINGS = {
    "lr 0.01": {"lr": 0.01},
    "short memory": {"lr": 0.01, "alpha": 0.9},
    "weight decay": {"lr": 0.01, "weight_decay": 0.05},
    "centered": {"lr": 0.01, "centered": True},
    "all at once": {"lr": 0.003, "alpha": 0.95, "eps": 1e-6, "weight_decay": 0.01, "centered": True},
}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_runs_like_torch_in_float64(answer, name):
    """takes the same 100 steps as torch.optim.RMSprop on a noisy quadratic, in float64"""
    assert_runs_like_torch(answer, ALGORITHM, SETTINGS[name])


@requirement("behaviour")
@pytest.mark.parametrize("name", ["lr 0.01", "all at once"])
def test_runs_like_torch_in_float32(answer, name):
    """takes the same 100 steps as torch.optim.RMSprop in float32"""
    assert_runs_like_torch(answer, ALGORITHM, SETTINGS[name], dtype=torch.float32)


@requirement("behaviour")
def test_averages_squared_gradients(answer):
    """keeps in state["square_avg"] the moving average alpha * v + (1 - alpha) * g**2"""
    param, grad = torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([0.5, 3.0], dtype=torch.float64)
    state = {"step": 4, "square_avg": torch.tensor([1.0, 2.0], dtype=torch.float64)}
    new_param, new_state = adaptive_step(answer, param, grad, state, lr=0.1, alpha=0.8, eps=0.0)
    expected = 0.8 * state["square_avg"] + 0.2 * grad**2
    assert torch.allclose(state_tensor(new_state, "square_avg"), expected, rtol=1e-12), \
        'state["square_avg"] should become alpha * square_avg + (1 - alpha) * grad**2'
    assert torch.allclose(new_param, param - 0.1 * grad / expected.sqrt(), rtol=1e-12), \
        "the step should be lr * grad / (sqrt(square_avg) + eps), with the new average"


@requirement("behaviour")
def test_centered_divides_by_the_standard_deviation(answer):
    """in the centered variant, divides by sqrt(square_avg - grad_avg**2) + eps"""
    param, grad = torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([0.5, 3.0], dtype=torch.float64)
    state = {"step": 4, "square_avg": torch.tensor([1.0, 2.0], dtype=torch.float64),
             "grad_avg": torch.tensor([0.2, -0.5], dtype=torch.float64)}
    new_param, new_state = adaptive_step(answer, param, grad, state, lr=0.1, alpha=0.8, eps=0.0, centered=True)
    square_avg = 0.8 * state["square_avg"] + 0.2 * grad**2
    grad_avg = 0.8 * state["grad_avg"] + 0.2 * grad
    assert torch.allclose(state_tensor(new_state, "grad_avg"), grad_avg, rtol=1e-12), \
        'the centered variant should keep alpha * grad_avg + (1 - alpha) * grad in state["grad_avg"]'
    assert torch.allclose(new_param, param - 0.1 * grad / (square_avg - grad_avg**2).sqrt(), rtol=1e-12), \
        "the centered step should divide by sqrt(square_avg - grad_avg**2) + eps"


@requirement("behaviour")
@settings(max_examples=25)
@given(lr=st.floats(1e-4, 0.05), alpha=st.floats(0.5, 0.999), eps=st.floats(1e-10, 1e-3),
       weight_decay=st.floats(0, 0.1), centered=st.booleans())
def test_matches_torch_for_random_settings(answer, lr, alpha, eps, weight_decay, centered):
    """matches torch.optim.RMSprop over 30 steps for settings drawn at random"""
    assert_runs_like_torch(answer, ALGORITHM, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                               "centered": centered}, steps=30)


BAD = {"negative lr": {"lr": -0.1}, "infinite lr": {"lr": math.inf}, "alpha of 1": {"alpha": 1.0},
       "negative alpha": {"alpha": -0.5}, "negative eps": {"eps": -1e-8},
       "negative weight_decay": {"weight_decay": -1.0}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a setting out of its range"""
    with pytest.raises(ValueError):
        answer(torch.ones(2), torch.ones(2), None, **BAD[bad])
