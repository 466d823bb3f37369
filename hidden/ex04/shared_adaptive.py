"""Shared by the four step-function suites of exercise 4: the problem they run on, torch's reference run,
the answer's run, and the checks that hold for every step function (what a pure function of tensors owes its
caller). Each suite defines the fixture ``algorithm``, an :class:`Algorithm`, which these checks use.

The references are torch.optim's functional updates (``torch.optim.adam.adam`` and its siblings), the
updates the optimizer classes apply: calling them directly gives the same numbers without building an optimizer
around each tensor.
"""

from dataclasses import dataclass

import torch
from torch.optim.adagrad import adagrad
from torch.optim.adam import adam
from torch.optim.adamw import adamw
from torch.optim.rmsprop import rmsprop

# A badly scaled noisy quadratic in 6-D, like a minibatch loss: curvatures 0.1 to 10, fresh noise at every step,
# and a last coordinate that sees a gradient on one step in ten only, like a rare feature.
_generator = torch.Generator().manual_seed(4)
CURVATURES = torch.tensor([10.0, 3.0, 1.0, 0.3, 0.1, 1.0], dtype=torch.float64)
X0 = torch.tensor([1.0, -2.0, 0.5, 3.0, -1.0, 2.0], dtype=torch.float64)
STEPS = 250
NOISE = 0.1 * torch.randn(STEPS, 6, generator=_generator, dtype=torch.float64)
RARE = torch.ones(STEPS, 6, dtype=torch.float64)
RARE[:, 5] = (torch.arange(STEPS) % 10 == 0).double()


def gradient(param, step):
    """The gradient at ``param`` on step ``step`` (0-based), in the dtype of ``param``."""
    dtype = param.dtype
    return (RARE[step].to(dtype) * (CURVATURES.to(dtype) * param + NOISE[step].to(dtype)))


@dataclass
class Algorithm:
    name: str
    state_keys: tuple[str, ...]
    defaults: dict

    def reference_step(self, param, grad, state, **settings):
        """Apply torch's update to ``param`` in place; ``state`` (a dict, empty before the first step) too."""
        settings = {**self.defaults, **settings}
        if not state:
            state.update({"step": torch.tensor(0.0, dtype=torch.float32), "grad_avg": torch.zeros_like(param)},
                         **{key: torch.zeros_like(param) for key in self.state_keys})
        if self.name == "adagrad":
            adagrad([param], [grad], [state["sum"]], [state["step"]], foreach=False, maximize=False, **settings)
        elif self.name == "rmsprop":
            grad_avgs = [state["grad_avg"]] if settings.get("centered") else []
            rmsprop([param], [grad], [state["square_avg"]], grad_avgs, [], [state["step"]], foreach=False,
                    momentum=0.0, **settings)
        else:
            beta1, beta2 = settings.pop("betas")
            update = adam if self.name == "adam" else adamw
            update([param], [grad], [state["exp_avg"]], [state["exp_avg_sq"]], [], [state["step"]], foreach=False,
                   amsgrad=False, beta1=beta1, beta2=beta2, maximize=False, **settings)


ALGORITHMS = {
    "adagrad": Algorithm("adagrad", ("sum",), {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "eps": 1e-10}),
    "rmsprop": Algorithm("rmsprop", ("square_avg",),
                         {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "centered": False}),
    "adam": Algorithm("adam", ("exp_avg", "exp_avg_sq"),
                      {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}),
    "adamw": Algorithm("adamw", ("exp_avg", "exp_avg_sq"),
                       {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2}),
}


def describe(settings):
    def show(value):
        return f"({value[0]:g}, {value[1]:g})" if isinstance(value, tuple) else f"{value:g}"
    return ", ".join(f"{name} = {show(value)}" for name, value in settings.items()) or "the defaults"


def torch_run(algorithm, x0, steps, **settings):
    """The iterates of torch's update on the noisy quadratic, starting after x0."""
    param, state, iterates = x0.clone(), {}, []
    for step in range(steps):
        algorithm.reference_step(param, gradient(param, step), state, **settings)
        iterates.append(param.clone())
    return torch.stack(iterates)


def answer_run(answer, x0, steps, **settings):
    """The iterates of the answer's step function on the noisy quadratic, starting after x0."""
    param, state, iterates = x0.clone(), None, []
    for step in range(steps):
        param, state = answer(param, gradient(param, step), state, **settings)
        iterates.append(param)
    return torch.stack(iterates)


def assert_runs_like_torch(answer, algorithm, settings, dtype=torch.float64, steps=STEPS):
    ours = answer_run(answer, X0.to(dtype), steps, **settings)
    theirs = torch_run(algorithm, X0.to(dtype), steps, **settings)
    tolerance = {"rtol": 1e-9, "atol": 1e-11} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-6}
    where = f"with {describe(settings)} in {str(dtype).removeprefix('torch.')}"
    assert ours.dtype == dtype, f"{where} the parameters came back as {ours.dtype}"
    assert torch.isfinite(ours).all(), f"{where} the parameters became inf or nan"
    close = torch.isclose(ours, theirs, **tolerance).all(dim=1)
    if not close.all():
        first = int((~close).nonzero()[0])
        raise AssertionError(f"{where} the parameters first differ from torch.optim's at step {first + 1} of {steps}")


# ------------------------------------------------------------------ checks shared by the four suites

def test_starts_its_state_from_none(answer, algorithm):
    """starts from state None and returns a state dictionary with the step count and its running tensors"""
    param = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    _, state = answer(param, 0.5 * param, None)
    assert isinstance(state, dict), f"the new state should be a dictionary, not a {type(state).__name__}"
    assert state.get("step") == 1, f'after the first step state["step"] should be 1, got {state.get("step")!r}'
    for key in algorithm.state_keys:
        assert key in state, f'the state has no entry "{key}" (PyTorch\'s name for it)'
        assert isinstance(state[key], torch.Tensor) and state[key].shape == param.shape, \
            f'state["{key}"] should be a tensor shaped like the parameters'
    _, state = answer(param, 0.5 * param, state)
    assert state.get("step") == 2, f'after the second step state["step"] should be 2, got {state.get("step")!r}'


def test_uses_torchs_defaults(answer, algorithm):
    """takes torch.optim's default settings when none are given"""
    ours = answer_run(answer, X0, 20)
    theirs = torch_run(algorithm, X0, 20)
    assert torch.allclose(ours, theirs, rtol=1e-9, atol=1e-11), (
        "called with no settings the steps differ from torch.optim's with its defaults "
        f"({describe(algorithm.defaults)})")


def test_leaves_its_inputs_alone(answer):
    """changes neither the parameters, nor the gradient, nor the state it is given"""
    param, grad = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.3, -0.1, 2.0])
    _, state = answer(param, grad, None, lr=0.1, weight_decay=0.1)
    saved = {key: value.clone() if isinstance(value, torch.Tensor) else value for key, value in state.items()}
    answer(param, grad, state, lr=0.1, weight_decay=0.1)
    assert torch.equal(param, torch.tensor([1.0, -2.0, 0.5])), "the parameters given were changed: return new ones"
    assert torch.equal(grad, torch.tensor([0.3, -0.1, 2.0])), \
        "the gradient given was changed (weight decay added in place?): compute with new tensors"
    for key, value in saved.items():
        now = state[key]
        same = torch.equal(now, value) if isinstance(value, torch.Tensor) else now == value
        assert same, f'the state given was changed (state["{key}"]): build a new state dictionary with new tensors'


def test_returns_tensors_of_its_own(answer):
    """returns parameters and state tensors that share no memory with its inputs"""
    param, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25])
    new_param, state = answer(param, grad, None, lr=0.1)
    kept = new_param.clone(), {key: value.clone() for key, value in state.items() if isinstance(value, torch.Tensor)}
    param.fill_(7.0)
    grad.fill_(-3.0)
    assert torch.equal(new_param, kept[0]), "changing param afterwards also changed the new parameters"
    for key, value in kept[1].items():
        assert torch.equal(state[key], value), \
            f'changing the gradient or parameters afterwards also changed state["{key}"]: store new tensors'


def test_keeps_shape_and_dtype(answer):
    """returns parameters and state with the shape and dtype of a 2-D float32 parameter"""
    param = torch.linspace(-1, 1, 12).reshape(4, 3)
    new_param, state = answer(param, 0.5 * param, None, lr=0.1)
    new_param, state = answer(new_param, 0.5 * new_param, state, lr=0.1)
    assert isinstance(new_param, torch.Tensor), f"the new parameters should be a tensor, not {type(new_param).__name__}"
    assert new_param.shape == (4, 3), f"for a (4, 3) parameter the new parameters have shape {tuple(new_param.shape)}"
    assert new_param.dtype == torch.float32, f"for float32 parameters the new ones have dtype {new_param.dtype}"
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            assert value.shape == (4, 3) and value.dtype == torch.float32, \
                f'state["{key}"] should have the shape and dtype of the parameters'


def test_zero_gradients_are_safe(answer, algorithm):
    """stays finite and still when the gradient is exactly zero, on the first step and later"""
    param, zero = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    no_decay = {"weight_decay": 0.0}
    new_param, state = answer(param, zero, None, lr=0.1, **no_decay)
    assert torch.isfinite(new_param).all(), "a zero gradient on the first step gave inf or nan (0 / 0?): add eps"
    assert torch.equal(new_param, param), "with a zero gradient and no weight decay the parameters should not move"
    expected, reference_state = param.clone(), {}
    algorithm.reference_step(expected, zero, reference_state, lr=0.1, **no_decay)
    for grad in (torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64), zero, zero):
        new_param, state = answer(new_param, grad, state, lr=0.1, **no_decay)
        algorithm.reference_step(expected, grad, reference_state, lr=0.1, **no_decay)
    assert torch.isfinite(new_param).all(), "after zero gradients the parameters became inf or nan"
    assert torch.allclose(new_param, expected, rtol=1e-9, atol=1e-12), \
        "with zero gradients after a nonzero one the steps differ from torch.optim's"
