"""Hidden checks of exercise 3's ``heavy_ball_step(param, grad, velocity, lr, momentum, dampening, weight_decay)``:
one step of SGD with momentum in PyTorch's convention.

The reference is ``torch.optim.sgd.sgd``, the update that ``torch.optim.SGD.step`` applies: calling it directly
gives the same numbers without building an optimizer around each tensor.
"""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

from helpers import MOMENTUM_X0, describe_momentum_settings, momentum_answer_run, momentum_torch_run, sgd_step
from helpers import (test_momentum_step_keeps_shape_and_dtype as test_keeps_shape_and_dtype,  # noqa: F401
                     test_momentum_step_returns_tensors_of_its_own as test_returns_tensors_of_its_own)


REQUIREMENTS = {
    "behaviour": ("takes PyTorch's momentum step: velocity from the (decayed) gradient, then param - lr * velocity",
                  70),
    "contract": ("returns new tensors of the parameters' shape and dtype and leaves its inputs alone", 15),
    "validation": ("refuses a bad lr, momentum or weight decay with ValueError", 15),
}

SETTINGS = {
    "classic": {"lr": 0.1, "momentum": 0.9},
    "dampening": {"lr": 0.05, "momentum": 0.5, "dampening": 0.5},
    "weight decay": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05},
    "all at once": {"lr": 0.02, "momentum": 0.99, "dampening": 0.1, "weight_decay": 0.1},
    "no momentum": {"lr": 0.3, "momentum": 0.0},
}


def step(answer, *args, **settings):
    """The answer's (new_param, new_velocity), as genuine tensors. The answer gets copies of the tensors: the
    values checked here do not depend on whether it leaves its inputs alone, which other checks see to."""
    args = [arg.clone() if isinstance(arg, torch.Tensor) else arg for arg in args]
    return genuine(answer(*args, **settings), (torch.Tensor, torch.Tensor), "(new_param, new_velocity)")


@requirement("behaviour")
def test_first_step_starts_the_velocity_at_the_gradient(answer):
    """starts the velocity at the gradient itself on the first step, without dampening"""
    param, grad = torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([0.4, -0.2], dtype=torch.float64)
    new_param, velocity = step(answer, param, grad, None, lr=0.5, momentum=0.9, dampening=0.5)
    assert torch.allclose(velocity, grad, rtol=1e-12, atol=0), \
        "with velocity None the new velocity should be the gradient itself: " \
        "PyTorch applies no dampening on the first step"
    assert torch.allclose(new_param, param - 0.5 * grad, rtol=1e-12, atol=0), \
        "on the first step the parameters should move by -lr * gradient"


@requirement("behaviour")
def test_later_steps_damp_the_gradient(answer):
    """updates the velocity as momentum * velocity + (1 - dampening) * gradient"""
    param = torch.tensor([1.0, -2.0], dtype=torch.float64)
    grad = torch.tensor([0.4, -0.2], dtype=torch.float64)
    velocity = torch.tensor([1.0, 1.0], dtype=torch.float64)
    new_param, new_velocity = step(answer, param, grad, velocity, lr=0.5, momentum=0.9, dampening=0.25)
    expected = 0.9 * velocity + 0.75 * grad
    assert torch.allclose(new_velocity, expected, rtol=1e-12, atol=0), \
        "from a given velocity the new one should be momentum * velocity + (1 - dampening) * gradient"
    assert torch.allclose(new_param, param - 0.5 * expected, rtol=1e-12, atol=0), \
        "the parameters should move by -lr * (the new velocity)"


@requirement("behaviour")
@pytest.mark.parametrize("weight_decay", [0.1, 1.0])
def test_weight_decay_joins_the_gradient(answer, weight_decay):
    """adds weight_decay * param to the gradient before updating the velocity"""
    param = torch.tensor([2.0, -1.0], dtype=torch.float64)
    grad = torch.tensor([0.5, 0.5], dtype=torch.float64)
    velocity = torch.tensor([0.2, -0.4], dtype=torch.float64)
    new_param, new_velocity = step(answer, param, grad, velocity, lr=0.1, momentum=0.8, weight_decay=weight_decay)
    expected = 0.8 * velocity + (grad + weight_decay * param)
    assert torch.allclose(new_velocity, expected, rtol=1e-12, atol=0), \
        f"with weight decay {weight_decay:g} the gradient is grad + weight_decay * param, and that is what joins " \
        "the velocity"
    assert torch.allclose(new_param, param - 0.1 * expected, rtol=1e-12, atol=0), \
        f"with weight decay {weight_decay:g} the parameters moved to the wrong place"


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_matches_torch_sgd(answer, name):
    """follows torch.optim.SGD for 120 steps on a quadratic (float64)"""
    settings = SETTINGS[name]
    result = momentum_answer_run(answer, MOMENTUM_X0, 120, **settings)
    assert result.shape == (120, 3), "the parameters lost their shape along the way"
    assert torch.allclose(result, momentum_torch_run(MOMENTUM_X0, 120, **settings), rtol=1e-9, atol=1e-12), \
        f"with {describe_momentum_settings(settings)} the iterates drift away from torch.optim.SGD's"


@requirement("behaviour")
@pytest.mark.parametrize("name", ["classic", "all at once"])
def test_matches_torch_sgd_in_float32(answer, name):
    """keeps float32 and follows torch.optim.SGD in float32 for 120 steps"""
    settings = SETTINGS[name]
    x0 = MOMENTUM_X0.float()
    result = momentum_answer_run(answer, x0, 120, **settings)
    assert result.dtype == torch.float32, f"float32 parameters came back as {result.dtype}"
    assert torch.allclose(result, momentum_torch_run(x0, 120, **settings), rtol=1e-4, atol=1e-5), \
        f"in float32 with {describe_momentum_settings(settings)} the iterates drift away from torch.optim.SGD's"


@requirement("behaviour")
def test_zero_gradient_keeps_moving(answer):
    """keeps moving with a zero gradient: the velocity shrinks by the momentum"""
    param = torch.tensor([1.0, 1.0], dtype=torch.float64)
    velocity = torch.tensor([2.0, -1.0], dtype=torch.float64)
    new_param, new_velocity = step(answer, param, torch.zeros(2, dtype=torch.float64), velocity, lr=0.1,
                                   momentum=0.5, dampening=0.3)
    assert torch.allclose(new_velocity, 0.5 * velocity, rtol=1e-12, atol=0), \
        "with a zero gradient the velocity should become momentum * velocity"
    assert torch.allclose(new_param, param - 0.1 * 0.5 * velocity, rtol=1e-12, atol=0), \
        "with a zero gradient the parameters should still coast along the velocity"


@requirement("contract")
def test_leaves_its_inputs_unchanged(answer):
    """does not modify param, grad or velocity"""
    param, grad, velocity = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25]), torch.tensor([0.1, 0.1])
    answer(param, grad, velocity, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)
    assert torch.equal(param, torch.tensor([1.0, -2.0])), "param was changed in place: return a new tensor"
    assert torch.equal(grad, torch.tensor([0.5, 0.25])), "grad was changed in place (weight decay with add_?)"
    assert torch.equal(velocity, torch.tensor([0.1, 0.1])), "velocity was changed in place: return a new tensor"


@requirement("contract")
def test_deterministic(answer):
    """gives the same result when called twice with the same arguments"""
    param, grad, velocity = torch.tensor([0.3, -0.7]), torch.tensor([1.0, 2.0]), torch.tensor([0.5, -0.5])
    first = step(answer, param, grad, velocity, lr=0.2, momentum=0.7, dampening=0.2)
    second = step(answer, param, grad, velocity, lr=0.2, momentum=0.7, dampening=0.2)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1]), \
        "two identical calls gave different results: is state kept between calls?"


@requirement("validation")
@pytest.mark.parametrize("settings", [{"lr": -0.1}, {"lr": math.nan}, {"lr": math.inf}, {"momentum": -0.1},
                                      {"momentum": 1.0}, {"weight_decay": -0.01}],
                         ids=["negative lr", "nan lr", "infinite lr", "negative momentum", "momentum 1",
                              "negative weight decay"])
def test_rejects_bad_settings(answer, settings):
    """raises ValueError for a bad lr, momentum or weight decay"""
    arguments = {"lr": 0.1, "momentum": 0.9, **settings}
    with pytest.raises(ValueError):
        answer(torch.ones(2), torch.ones(2), None, **arguments)


values = st.lists(st.floats(-10, 10), min_size=3, max_size=3)


@requirement("behaviour")
@given(param=values, grad=values, velocity=st.none() | values, lr=st.floats(0, 1), momentum=st.floats(0, 0.999),
       dampening=st.floats(0, 1), weight_decay=st.floats(0, 0.5))
def test_matches_torch_sgd_from_any_state(answer, param, grad, velocity, lr, momentum, dampening, weight_decay):
    """matches one step of torch.optim.SGD from random states and settings"""
    param, grad = torch.tensor(param, dtype=torch.float64), torch.tensor(grad, dtype=torch.float64)
    if velocity is not None:
        velocity = torch.tensor(velocity, dtype=torch.float64)
    reference = param.clone()
    sgd_step(reference, grad.clone(), [None if velocity is None else velocity.clone()], lr=lr, momentum=momentum,
             dampening=dampening, weight_decay=weight_decay)
    new_param, new_velocity = step(answer, param, grad, velocity, lr=lr, momentum=momentum, dampening=dampening,
                                   weight_decay=weight_decay)
    g = grad + weight_decay * param
    expected_velocity = g if velocity is None else momentum * velocity + (1 - dampening) * g
    if momentum == 0 and velocity is not None:  # torch keeps no velocity then; the rule damps the gradient
        expected = param - lr * expected_velocity
    else:
        expected = reference
    assert torch.allclose(new_param, expected, rtol=1e-9, atol=1e-9), \
        "for some state and settings one step differs from torch.optim.SGD's"
    assert torch.allclose(new_velocity, expected_velocity, rtol=1e-9, atol=1e-9), \
        "for some state and settings the new velocity is not g if velocity is None, else " \
        "momentum * velocity + (1 - dampening) * g (with g = grad + weight_decay * param)"
