"""Hidden checks of exercise 4's ``adam_step(param, grad, state, lr, betas, eps, weight_decay)``:
one step of torch.optim.Adam (L2 weight decay, no amsgrad) as a pure function."""

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
    "behaviour": ("takes torch.optim.Adam's step: bias-corrected moments of g = grad + weight_decay * param", 70),
    "contract": ("returns new tensors of the parameters' shape and dtype, a new state dictionary, and leaves its "
                 "inputs alone", 15),
    "validation": ("refuses a setting out of its range with ValueError", 15),
}

ALGORITHM = ALGORITHMS["adam"]


@pytest.fixture
def algorithm():
    return ALGORITHM


SETTINGS = {
    "lr 0.01": {"lr": 0.01},
    "betas (0.5, 0.9)": {"lr": 0.01, "betas": (0.5, 0.9)},
    "no first moment": {"lr": 0.01, "betas": (0.0, 0.99)},
    "weight decay": {"lr": 0.01, "weight_decay": 0.1},
    "all at once": {"lr": 0.03, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.01},
}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_runs_like_torch_in_float64(answer, name):
    """takes the same 100 steps as torch.optim.Adam on a noisy quadratic, in float64"""
    assert_runs_like_torch(answer, ALGORITHM, SETTINGS[name])


@requirement("behaviour")
@pytest.mark.parametrize("name", ["lr 0.01", "all at once"])
def test_runs_like_torch_in_float32(answer, name):
    """takes the same 100 steps as torch.optim.Adam in float32"""
    assert_runs_like_torch(answer, ALGORITHM, SETTINGS[name], dtype=torch.float32)


@requirement("behaviour")
def test_first_step_is_bias_corrected(answer):
    """takes a first step of lr * g / (|g| + eps) in every coordinate, whatever the gradient's size"""
    param = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    grad = torch.tensor([1e-3, -40.0, 2.0], dtype=torch.float64)
    new_param, state = adaptive_step(answer, param, grad, None, lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    expected = param - 0.1 * grad / (grad.abs() + 1e-8)
    assert torch.allclose(new_param, expected, rtol=1e-9), \
        "the first step should be lr * g / (|g| + eps): divide the moments by 1 - beta**t (bias correction)"
    assert torch.allclose(state_tensor(state, "exp_avg"), 0.1 * grad, rtol=1e-12), \
        'state["exp_avg"] holds the uncorrected average: (1 - beta1) * g after one step'
    assert torch.allclose(state_tensor(state, "exp_avg_sq"), 0.01 * grad**2, rtol=1e-12), \
        'state["exp_avg_sq"] holds the uncorrected average: (1 - beta2) * g**2 after one step'


@requirement("behaviour")
def test_later_steps_use_the_step_count(answer):
    """corrects the bias with the step count t of the state (1 - beta1**t, 1 - beta2**t)"""
    param, grad = torch.tensor([1.0], dtype=torch.float64), torch.tensor([0.5], dtype=torch.float64)
    state = {"step": 2, "exp_avg": torch.tensor([0.3], dtype=torch.float64),
             "exp_avg_sq": torch.tensor([0.02], dtype=torch.float64)}
    new_param, new_state = adaptive_step(answer, param, grad, state, lr=0.1, betas=(0.9, 0.99), eps=0.0)
    m, v = 0.9 * 0.3 + 0.1 * 0.5, 0.99 * 0.02 + 0.01 * 0.25
    expected = 1.0 - 0.1 * (m / (1 - 0.9**3)) / math.sqrt(v / (1 - 0.99**3))
    assert step_count(new_state) == 3, "the step count should go from 2 to 3"
    assert math.isclose(new_param.item(), expected, rel_tol=1e-9), \
        "on step 3 the moments should be divided by 1 - beta1**3 and 1 - beta2**3"


@requirement("behaviour")
def test_weight_decay_is_an_l2_penalty(answer):
    """adds weight_decay * param to the gradient, which then goes through the moments"""
    param, grad = torch.tensor([2.0, -1.0], dtype=torch.float64), torch.tensor([0.5, 0.5], dtype=torch.float64)
    _, state = adaptive_step(answer, param, grad, None, lr=0.1, weight_decay=0.5)
    assert torch.allclose(state_tensor(state, "exp_avg"), 0.1 * (grad + 0.5 * param), rtol=1e-12), \
        "with weight decay the gradient that enters the moments is grad + weight_decay * param"


@requirement("behaviour")
@settings(max_examples=25)
@given(lr=st.floats(1e-4, 0.1), beta1=st.floats(0, 0.99), beta2=st.floats(0.5, 0.9999), eps=st.floats(1e-10, 1e-3),
       weight_decay=st.floats(0, 0.1))
def test_matches_torch_for_random_settings(answer, lr, beta1, beta2, eps, weight_decay):
    """matches torch.optim.Adam over 30 steps for settings drawn at random"""
    assert_runs_like_torch(answer, ALGORITHM, {"lr": lr, "betas": (beta1, beta2), "eps": eps,
                                               "weight_decay": weight_decay}, steps=30)


BAD = {"negative lr": {"lr": -0.1}, "nan lr": {"lr": math.nan}, "beta1 of 1": {"betas": (1.0, 0.999)},
       "negative beta2": {"betas": (0.9, -0.1)}, "negative eps": {"eps": -1e-8},
       "negative weight_decay": {"weight_decay": -0.01}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a setting torch.optim.Adam rejects"""
    with pytest.raises(ValueError):
        answer(torch.ones(2), torch.ones(2), None, **BAD[bad])
