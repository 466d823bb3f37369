"""Hidden checks of exercise 3's ``nesterov_step(param, grad, velocity, lr, momentum, dampening, weight_decay)``:
one step of SGD with Nesterov momentum in PyTorch's convention (``nesterov=True``).

The reference is ``torch.optim.sgd.sgd``, the update that ``torch.optim.SGD.step`` applies: calling it directly
gives the same numbers without building an optimizer around each tensor.
"""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import helpers
from lrgrader.checks import genuine, requirement
from helpers import MOMENTUM_X0, describe_momentum_settings, momentum_answer_run
from helpers import (test_momentum_step_keeps_shape_and_dtype as test_keeps_shape_and_dtype,  # noqa: F401
                     test_momentum_step_returns_tensors_of_its_own as test_returns_tensors_of_its_own)


REQUIREMENTS = {
    "behaviour": ("takes PyTorch's Nesterov step: param - lr * (g + momentum * new velocity)", 70),
    "contract": ("returns new tensors of the parameters' shape and dtype and leaves its inputs alone", 15),
    "validation": ("refuses dampening, no momentum, or a bad lr, momentum or weight decay with ValueError", 15),
}

SETTINGS = {
    "classic": {"lr": 0.1, "momentum": 0.9},
    "small momentum": {"lr": 0.2, "momentum": 0.3},
    "weight decay": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05},
    "heavy momentum": {"lr": 0.02, "momentum": 0.99, "weight_decay": 0.1},
}


def sgd_step(*args, **settings):
    return helpers.sgd_step(*args, nesterov=True, **settings)


def torch_run(x0, steps, **settings):
    return helpers.momentum_torch_run(x0, steps, nesterov=True, **settings)


def step(answer, *args, **settings):
    """The answer's (new_param, new_velocity), as genuine tensors. The answer gets copies of the tensors: the
    values checked here do not depend on whether it leaves its inputs alone, which other checks see to."""
    args = [arg.clone() if isinstance(arg, torch.Tensor) else arg for arg in args]
    return genuine(answer(*args, **settings), (torch.Tensor, torch.Tensor), "(new_param, new_velocity)")


@requirement("behaviour")
def test_first_step(answer):
    """starts the velocity at the gradient and steps by lr * (1 + momentum) * gradient"""
    param, grad = torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([0.4, -0.2], dtype=torch.float64)
    new_param, velocity = step(answer, param, grad, None, lr=0.5, momentum=0.9)
    assert torch.allclose(velocity, grad, rtol=1e-12, atol=0), \
        "with velocity None the new velocity should be the gradient itself"
    assert torch.allclose(new_param, param - 0.5 * 1.9 * grad, rtol=1e-12, atol=0), \
        "on the first step the parameters should move by -lr * (gradient + momentum * gradient)"


@requirement("behaviour")
def test_steps_along_gradient_plus_velocity(answer):
    """steps along gradient + momentum * (new velocity), not along the velocity alone"""
    param = torch.tensor([1.0, -2.0], dtype=torch.float64)
    grad = torch.tensor([0.4, -0.2], dtype=torch.float64)
    velocity = torch.tensor([1.0, 1.0], dtype=torch.float64)
    new_param, new_velocity = step(answer, param, grad, velocity, lr=0.5, momentum=0.9)
    expected_velocity = 0.9 * velocity + grad
    assert torch.allclose(new_velocity, expected_velocity, rtol=1e-12, atol=0), \
        "from a given velocity the new one should be momentum * velocity + gradient, as in heavy ball"
    assert torch.allclose(new_param, param - 0.5 * (grad + 0.9 * expected_velocity), rtol=1e-12, atol=0), \
        "the parameters should move by -lr * (gradient + momentum * new velocity)"


@requirement("behaviour")
@pytest.mark.parametrize("weight_decay", [0.1, 1.0])
def test_weight_decay_joins_the_gradient(answer, weight_decay):
    """adds weight_decay * param to the gradient, in the velocity and in the step"""
    param = torch.tensor([2.0, -1.0], dtype=torch.float64)
    grad = torch.tensor([0.5, 0.5], dtype=torch.float64)
    velocity = torch.tensor([0.2, -0.4], dtype=torch.float64)
    new_param, new_velocity = step(answer, param, grad, velocity, lr=0.1, momentum=0.8, weight_decay=weight_decay)
    decayed = grad + weight_decay * param
    assert torch.allclose(new_velocity, 0.8 * velocity + decayed, rtol=1e-12, atol=0), \
        f"with weight decay {weight_decay:g} the gradient is grad + weight_decay * param, and that is what joins " \
        "the velocity"
    assert torch.allclose(new_param, param - 0.1 * (decayed + 0.8 * (0.8 * velocity + decayed)), rtol=1e-12, atol=0), \
        "with weight decay the step uses the decayed gradient too: g = grad + weight_decay * param"


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_matches_torch_sgd(answer, name):
    """follows torch.optim.SGD(nesterov=True) for 120 steps on a quadratic (float64)"""
    settings = SETTINGS[name]
    result = momentum_answer_run(answer, MOMENTUM_X0, 120, **settings)
    assert result.shape == (120, 3), "the parameters lost their shape along the way"
    assert torch.allclose(result, torch_run(MOMENTUM_X0, 120, **settings), rtol=1e-9, atol=1e-12), \
        f"with {describe_momentum_settings(settings)} the iterates drift away from torch.optim.SGD(nesterov=True)'s"


@requirement("behaviour")
@pytest.mark.parametrize("name", ["classic", "heavy momentum"])
def test_matches_torch_sgd_in_float32(answer, name):
    """keeps float32 and follows torch.optim.SGD(nesterov=True) in float32 for 120 steps"""
    settings = SETTINGS[name]
    x0 = MOMENTUM_X0.float()
    result = momentum_answer_run(answer, x0, 120, **settings)
    assert result.dtype == torch.float32, f"float32 parameters came back as {result.dtype}"
    assert torch.allclose(result, torch_run(x0, 120, **settings), rtol=1e-4, atol=1e-5), \
        f"in float32 with {describe_momentum_settings(settings)} the iterates drift away from " \
        "torch.optim.SGD(nesterov=True)'s"


@requirement("behaviour")
def test_zero_gradient_keeps_moving(answer):
    """keeps moving with a zero gradient: by lr * momentum**2 * velocity"""
    param = torch.tensor([1.0, 1.0], dtype=torch.float64)
    velocity = torch.tensor([2.0, -1.0], dtype=torch.float64)
    new_param, new_velocity = step(answer, param, torch.zeros(2, dtype=torch.float64), velocity, lr=0.1,
                                   momentum=0.5)
    assert torch.allclose(new_velocity, 0.5 * velocity, rtol=1e-12, atol=0), \
        "with a zero gradient the velocity should become momentum * velocity"
    assert torch.allclose(new_param, param - 0.1 * 0.25 * velocity, rtol=1e-12, atol=0), \
        "with a zero gradient the parameters should still move, by -lr * momentum * (new velocity)"


@requirement("contract")
def test_leaves_its_inputs_unchanged(answer):
    """does not modify param, grad or velocity"""
    param, grad, velocity = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25]), torch.tensor([0.1, 0.1])
    answer(param, grad, velocity, lr=0.1, momentum=0.9, weight_decay=0.01)
    assert torch.equal(param, torch.tensor([1.0, -2.0])), "param was changed in place: return a new tensor"
    assert torch.equal(grad, torch.tensor([0.5, 0.25])), "grad was changed in place (weight decay with add_?)"
    assert torch.equal(velocity, torch.tensor([0.1, 0.1])), "velocity was changed in place: return a new tensor"


@requirement("contract")
def test_deterministic(answer):
    """gives the same result when called twice with the same arguments"""
    param, grad, velocity = torch.tensor([0.3, -0.7]), torch.tensor([1.0, 2.0]), torch.tensor([0.5, -0.5])
    first = step(answer, param, grad, velocity, lr=0.2, momentum=0.7)
    second = step(answer, param, grad, velocity, lr=0.2, momentum=0.7)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1]), \
        "two identical calls gave different results: is state kept between calls?"


@requirement("validation")
@pytest.mark.parametrize("settings", [{"momentum": 0.0}, {"dampening": 0.1}, {"lr": -0.1}, {"lr": math.nan},
                                      {"momentum": 1.0}, {"weight_decay": -0.01}],
                         ids=["no momentum", "dampening", "negative lr", "nan lr", "momentum 1",
                              "negative weight decay"])
def test_rejects_bad_settings(answer, settings):
    """raises ValueError without momentum, with dampening, or for a bad lr, momentum or weight decay"""
    arguments = {"lr": 0.1, "momentum": 0.9, **settings}
    with pytest.raises(ValueError):
        answer(torch.ones(2), torch.ones(2), None, **arguments)


values = st.lists(st.floats(-10, 10), min_size=3, max_size=3)


@requirement("behaviour")
@given(param=values, grad=values, velocity=st.none() | values, lr=st.floats(0, 1), momentum=st.floats(0.001, 0.999),
       weight_decay=st.floats(0, 0.5))
def test_matches_torch_sgd_from_any_state(answer, param, grad, velocity, lr, momentum, weight_decay):
    """matches one step of torch.optim.SGD(nesterov=True) from random states and settings"""
    param, grad = torch.tensor(param, dtype=torch.float64), torch.tensor(grad, dtype=torch.float64)
    if velocity is not None:
        velocity = torch.tensor(velocity, dtype=torch.float64)
    reference = param.clone()
    buffers = [None if velocity is None else velocity.clone()]
    sgd_step(reference, grad.clone(), buffers, lr=lr, momentum=momentum, weight_decay=weight_decay)
    new_param, new_velocity = step(answer, param, grad, velocity, lr=lr, momentum=momentum, weight_decay=weight_decay)
    assert torch.allclose(new_param, reference, rtol=1e-9, atol=1e-9), \
        "for some state and settings one step differs from torch.optim.SGD(nesterov=True)'s"
    assert torch.allclose(new_velocity, buffers[0], rtol=1e-9, atol=1e-9), \
        "for some state and settings the new velocity differs from torch.optim.SGD(nesterov=True)'s " \
        "(g if velocity is None, else momentum * velocity + g)"
