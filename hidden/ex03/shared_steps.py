"""Shared by the heavy-ball and Nesterov suites of exercise 3: the quadratic they run on, torch's reference
run, the answer's run, and the checks that hold for both step functions (what a pure function of tensors
owes its caller).

The reference is ``torch.optim.sgd.sgd``, the update that ``torch.optim.SGD.step`` applies: calling it directly
gives the same numbers without building an optimizer around each tensor.
"""

import torch
from torch.optim.sgd import sgd

# A quadratic f(x) = x^T A x / 2 with eigenvalues of about 0.5, 1.9 and 3.6.
A = torch.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]], dtype=torch.float64)
X0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)


def describe(settings):
    return ", ".join(f"{name} = {value:g}" for name, value in settings.items())


def sgd_step(param, grad, buffers, lr, momentum, dampening=0.0, weight_decay=0.0, nesterov=False):
    """torch.optim.SGD's update of ``param`` in place; ``buffers`` holds its momentum buffer (or None)."""
    sgd([param], [grad], buffers, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
        nesterov=nesterov, maximize=False, foreach=False)


def torch_run(x0, steps, **settings):
    """The iterates of torch.optim.SGD on the quadratic, starting after x0."""
    param, buffers, hessian = x0.clone(), [None], A.to(x0.dtype)
    iterates = []
    for _ in range(steps):
        sgd_step(param, hessian @ param, buffers, **settings)
        iterates.append(param.clone())
    return torch.stack(iterates)


def answer_run(answer, x0, steps, **settings):
    """The iterates of the answer's step function on the quadratic, starting after x0."""
    param, velocity, hessian = x0.clone(), None, A.to(x0.dtype)
    iterates = []
    for _ in range(steps):
        param, velocity = answer(param, hessian @ param, velocity, **settings)
        iterates.append(param)
    return torch.stack(iterates)


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
