"""Checks that hold for both step functions of exercise 3 (heavy ball and Nesterov): what a pure
function of tensors owes its caller. Both suites import them, so both items are held to the same."""

import torch


def test_returns_tensors_of_its_own(answer):
    """returns tensors that share no memory with its inputs"""
    param, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25])
    new_param, velocity = answer(param, grad, None, lr=0.1, momentum=0.9)
    returned_param, returned_velocity = new_param.clone(), velocity.clone()
    grad.zero_()
    assert torch.equal(velocity, returned_velocity), \
        "zeroing the gradient afterwards also changed the velocity: on the first step return a copy (clone) of it"
    param.fill_(7.0)
    assert torch.equal(new_param, returned_param), \
        "changing param afterwards also changed the new parameters: return a new tensor"


def test_keeps_shape_and_dtype(answer):
    """returns tensors with the shape and dtype of a 2-D parameter"""
    param = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3)
    new_param, velocity = answer(param, 0.5 * param, None, lr=0.1, momentum=0.9)
    for name, value in (("the new parameters", new_param), ("the new velocity", velocity)):
        assert isinstance(value, torch.Tensor), f"{name} should be a tensor, not a {type(value).__name__}"
        assert value.shape == (4, 3), f"for a (4, 3) parameter {name} have shape {tuple(value.shape)}"
        assert value.dtype == torch.float64, f"for float64 parameters {name} have dtype {value.dtype}"
