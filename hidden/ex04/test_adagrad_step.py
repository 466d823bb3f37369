"""Hidden checks of exercise 4's ``adagrad_step(param, grad, state, lr, lr_decay, weight_decay, eps)``:
one step of torch.optim.Adagrad as a pure function."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrgrader.checks import requirement

from helpers import ALGORITHMS, adaptive_step, assert_runs_like_torch, state_tensor, step_count
from helpers import (test_adaptive_step_keeps_shape_and_dtype as test_keeps_shape_and_dtype,  # noqa: F401
                     test_leaves_its_inputs_alone,
                     test_adaptive_step_returns_tensors_of_its_own as test_returns_tensors_of_its_own,
                     test_starts_its_state_from_none, test_uses_torchs_defaults, test_zero_gradients_are_safe)

REQUIREMENTS = {
    "behaviour": ("takes torch.optim.Adagrad's step: lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum of g**2) + eps)",
                  70),
    "contract": ("returns new tensors of the parameters' shape and dtype, a new state dictionary, and leaves its "
                 "inputs alone", 15),
    "validation": ("refuses a setting out of its range with ValueError", 15),
}

ALGORITHM = ALGORITHMS["adagrad"]


@pytest.fixture
def algorithm():
    return ALGORITHM


SETTINGS = {
    "lr 0.1": {"lr": 0.1},
    "lr decay": {"lr": 0.5, "lr_decay": 0.01},
    "weight decay": {"lr": 0.1, "weight_decay": 0.05},
    "large eps": {"lr": 0.1, "eps": 0.1},
    "all at once": {"lr": 0.3, "lr_decay": 0.001, "weight_decay": 0.01, "eps": 1e-6},
}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_runs_like_torch_in_float64(answer, name):
    """takes the same 100 steps as torch.optim.Adagrad on a noisy quadratic, in float64"""
    assert_runs_like_torch(answer, ALGORITHM, SETTINGS[name])


@requirement("behaviour")
@pytest.mark.parametrize("name", ["lr 0.1", "all at once"])
def test_runs_like_torch_in_float32(answer, name):
    """takes the same 100 steps as torch.optim.Adagrad in float32"""
    assert_runs_like_torch(answer, ALGORITHM, SETTINGS[name], dtype=torch.float32)


@requirement("behaviour")
@pytest.mark.parametrize("weight_decay", [0.1, 1.0])
def test_accumulates_squared_gradients(answer, weight_decay):
    """keeps in state["sum"] the sum of all squared gradients (weight decay included)"""
    param = torch.tensor([1.0, -2.0], dtype=torch.float64)
    state, total = None, torch.zeros(2, dtype=torch.float64)
    for grad in ([0.5, 1.0], [-1.0, 0.0], [2.0, 3.0]):
        grad = torch.tensor(grad, dtype=torch.float64)
        total += (grad + weight_decay * param) ** 2
        param, state = adaptive_step(answer, param, grad, state, lr=0.01, weight_decay=weight_decay)
    assert torch.allclose(state_tensor(state, "sum"), total, rtol=1e-6), \
        f'with weight decay {weight_decay:g} state["sum"] should add up (grad + weight_decay * param)**2 over all steps'


@requirement("behaviour")
def test_decays_the_learning_rate(answer):
    """divides the learning rate by 1 + (t - 1) * lr_decay on step t"""
    param, grad = torch.tensor([1.0], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)
    state = {"step": 9, "sum": torch.tensor([4.0], dtype=torch.float64)}
    new_param, new_state = adaptive_step(answer, param, grad, state, lr=1.0, lr_decay=0.5, eps=0.0)
    expected = 1.0 - (1.0 / (1 + 9 * 0.5)) * 2.0 / math.sqrt(8.0)
    assert step_count(new_state) == 10, "the step count should go from 9 to 10"
    assert math.isclose(new_param.item(), expected, rel_tol=1e-9), \
        "on step 10 with lr_decay = 0.5 the learning rate should be lr / (1 + 9 * 0.5)"


@requirement("behaviour")
@settings(max_examples=25)
@given(lr=st.floats(1e-3, 1.0), lr_decay=st.floats(0, 0.1), weight_decay=st.floats(0, 0.1),
       eps=st.floats(1e-10, 1e-2))
def test_matches_torch_for_random_settings(answer, lr, lr_decay, weight_decay, eps):
    """matches torch.optim.Adagrad over 30 steps for settings drawn at random"""
    assert_runs_like_torch(answer, ALGORITHM, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                               "eps": eps}, steps=30)


BAD = {"negative lr": {"lr": -0.1}, "nan lr": {"lr": math.nan}, "negative lr_decay": {"lr_decay": -0.1},
       "negative weight_decay": {"weight_decay": -0.01}, "negative eps": {"eps": -1e-8}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a setting torch.optim.Adagrad rejects"""
    with pytest.raises(ValueError):
        answer(torch.ones(2), torch.ones(2), None, **BAD[bad])
