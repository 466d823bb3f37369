"""Hidden checks of exercise 4's ``adamw_step(param, grad, state, lr, betas, eps, weight_decay)``:
one step of torch.optim.AdamW (no amsgrad) as a pure function."""

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
    "behaviour": ("takes torch.optim.AdamW's step: the weights shrink by 1 - lr * weight_decay, then Adam's step", 70),
    "contract": ("returns new tensors of the parameters' shape and dtype, a new state dictionary, and leaves its "
                 "inputs alone", 15),
    "validation": ("refuses a setting out of its range with ValueError", 15),
}

ALGORITHM = ALGORITHMS["adamw"]


@pytest.fixture
def algorithm():
    return ALGORITHM


SETTINGS = {
    "lr 0.01": {"lr": 0.01},
    "strong decay": {"lr": 0.01, "weight_decay": 0.5},
    "no decay": {"lr": 0.01, "weight_decay": 0.0},
    "betas (0.5, 0.9)": {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.1},
    "all at once": {"lr": 0.03, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.05},
}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_runs_like_torch_in_float64(answer, name):
    """takes the same 100 steps as torch.optim.AdamW on a noisy quadratic, in float64"""
    assert_runs_like_torch(answer, ALGORITHM, SETTINGS[name])


@requirement("behaviour")
@pytest.mark.parametrize("name", ["lr 0.01", "all at once"])
def test_runs_like_torch_in_float32(answer, name):
    """takes the same 100 steps as torch.optim.AdamW in float32"""
    assert_runs_like_torch(answer, ALGORITHM, SETTINGS[name], dtype=torch.float32)


@requirement("behaviour")
def test_decay_shrinks_the_weights_directly(answer):
    """with a zero gradient, only multiplies the weights by 1 - lr * weight_decay"""
    param = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
    new_param, state = adaptive_step(answer, param, torch.zeros(3, dtype=torch.float64), None, lr=0.1,
                                     weight_decay=0.2)
    assert torch.allclose(new_param, 0.98 * param, rtol=1e-12), \
        "with a zero gradient the weights should only shrink by the factor 1 - lr * weight_decay"
    assert not state_tensor(state, "exp_avg").any() and not state_tensor(state, "exp_avg_sq").any(), \
        "the decay must stay out of the moments: with a zero gradient they stay zero"


@requirement("behaviour")
def test_decay_is_decoupled_from_the_moments(answer):
    """keeps the weight decay out of the moments and decays the weights before the step"""
    param, grad = torch.tensor([2.0, -1.0], dtype=torch.float64), torch.tensor([0.5, 0.25], dtype=torch.float64)
    new_param, state = adaptive_step(answer, param, grad, None, lr=0.1, betas=(0.9, 0.99), eps=1e-8,
                                     weight_decay=0.5)
    assert torch.allclose(state_tensor(state, "exp_avg"), 0.1 * grad, rtol=1e-12), \
        'state["exp_avg"] should average the plain gradient: AdamW does not add weight_decay * param to it'
    expected = 0.95 * param - 0.1 * grad / (grad.abs() + 1e-8)
    assert torch.allclose(new_param, expected, rtol=1e-9), \
        "the new weights should be (1 - lr * weight_decay) * param minus Adam's bias-corrected step"


@requirement("behaviour")
def test_default_decay_is_torchs(answer):
    """decays by torch.optim.AdamW's default weight_decay, 0.01, when none is given"""
    param = torch.tensor([2.0, -1.0], dtype=torch.float64)
    new_param, _ = adaptive_step(answer, param, torch.zeros(2, dtype=torch.float64), None, lr=0.5)
    assert torch.allclose(new_param, (1 - 0.5 * 0.01) * param, rtol=1e-12), \
        "without a weight_decay argument the weights should shrink by 1 - lr * 0.01 (the default is 1e-2)"


@requirement("behaviour")
@settings(max_examples=25)
@given(lr=st.floats(1e-4, 0.1), beta1=st.floats(0, 0.99), beta2=st.floats(0.5, 0.9999), eps=st.floats(1e-10, 1e-3),
       weight_decay=st.floats(0, 1.0))
def test_matches_torch_for_random_settings(answer, lr, beta1, beta2, eps, weight_decay):
    """matches torch.optim.AdamW over 30 steps for settings drawn at random"""
    assert_runs_like_torch(answer, ALGORITHM, {"lr": lr, "betas": (beta1, beta2), "eps": eps,
                                               "weight_decay": weight_decay}, steps=30)


BAD = {"negative lr": {"lr": -0.1}, "infinite lr": {"lr": math.inf}, "beta2 of 1": {"betas": (0.9, 1.0)},
       "negative beta1": {"betas": (-0.1, 0.999)}, "negative eps": {"eps": -1e-8},
       "negative weight_decay": {"weight_decay": -0.01}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for a setting torch.optim.AdamW rejects"""
    with pytest.raises(ValueError):
        answer(torch.ones(2), torch.ones(2), None, **BAD[bad])
