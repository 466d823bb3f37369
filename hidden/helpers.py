"""The references and shared checks that several hidden suites use, in one module for every assignment.

One section per exercise: the problems its suites run on, torch's reference runs and rates, closed forms, and
the checks that every answer of a kind owes its caller, each marked with the requirement it checks (a suite that
imports a check declares that requirement in its ``REQUIREMENTS``). The suites import those checks (the
``test_*`` functions) so that pytest collects them as their own, under the names the suites import them as. The grader
puts this folder first on ``sys.path``, so a suite uses ``from helpers import ...``. The module imports torch:
the NumPy-only suites of exercises 1 and 2 do not import it.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from torch.optim.adagrad import adagrad
from torch.optim.adam import adam
from torch.optim.adamw import adamw
from torch.optim.rmsprop import rmsprop
from torch.optim.sgd import sgd

from lrgrader.checks import genuine, requirement


# ---- momentum steps (ex03)
#
# Shared by the heavy-ball and Nesterov suites of exercise 3: the quadratic they run on, torch's reference
# run, the answer's run, and the checks that hold for both step functions (what a pure function of tensors
# owes its caller).
#
# The reference is ``torch.optim.sgd.sgd``, the update that ``torch.optim.SGD.step`` applies: calling it directly
# gives the same numbers without building an optimizer around each tensor.

# A quadratic f(x) = x^T A x / 2 with eigenvalues of about 0.5, 1.9 and 3.6.
A = torch.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]], dtype=torch.float64)
MOMENTUM_X0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)


def describe_momentum_settings(settings):
    return ", ".join(f"{name} = {value:g}" for name, value in settings.items())


def sgd_step(param, grad, buffers, lr, momentum, dampening=0.0, weight_decay=0.0, nesterov=False):
    """torch.optim.SGD's update of ``param`` in place; ``buffers`` holds its momentum buffer (or None)."""
    sgd([param], [grad], buffers, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
        nesterov=nesterov, maximize=False, foreach=False)


def momentum_torch_run(x0, steps, **settings):
    """The iterates of torch.optim.SGD on the quadratic, starting after x0."""
    param, buffers, hessian = x0.clone(), [None], A.to(x0.dtype)
    iterates = []
    for _ in range(steps):
        sgd_step(param, hessian @ param, buffers, **settings)
        iterates.append(param.clone())
    return torch.stack(iterates)


def momentum_answer_run(answer, x0, steps, **settings):
    """The iterates of the answer's step function on the quadratic, starting after x0."""
    param, velocity, hessian = x0.clone(), None, A.to(x0.dtype)
    iterates = []
    for _ in range(steps):
        param, velocity = genuine(answer(param, hessian @ param, velocity, **settings), (torch.Tensor, torch.Tensor),
                                  "the step's (new_param, new_velocity)")
        iterates.append(param)
    return torch.stack(iterates)


@requirement("contract")
def test_momentum_step_returns_tensors_of_its_own(answer):
    """returns tensors that share no memory with its inputs"""
    param, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25])
    new_param, velocity = answer(param, grad, None, lr=0.1, momentum=0.9)
    # genuine() copies: the copies are what the returned tensors must still equal once the inputs change
    returned_param, returned_velocity = genuine((new_param, velocity), (torch.Tensor, torch.Tensor),
                                                "(new_param, new_velocity)")
    grad.zero_()
    assert torch.equal(velocity, returned_velocity), \
        "zeroing the gradient afterwards also changed the velocity: on the first step return a copy (clone) of it"
    param.fill_(7.0)
    assert torch.equal(new_param, returned_param), \
        "changing param afterwards also changed the new parameters: return a new tensor"


@requirement("contract")
def test_momentum_step_keeps_shape_and_dtype(answer):
    """returns tensors with the shape and dtype of a 2-D parameter"""
    param = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3)
    result = answer(param, 0.5 * param, None, lr=0.1, momentum=0.9)
    new_param, velocity = genuine(result, (torch.Tensor, torch.Tensor), "(new_param, new_velocity)")
    for name, value in (("the new parameters", new_param), ("the new velocity", velocity)):
        assert value.shape == (4, 3), f"for a (4, 3) parameter {name} have shape {tuple(value.shape)}"
        assert value.dtype == torch.float64, f"for float64 parameters {name} have dtype {value.dtype}"


# ---- adaptive steps (ex04)
#
# Shared by the four step-function suites of exercise 4: the problem they run on, torch's reference run,
# the answer's run, and the checks that hold for every step function (what a pure function of tensors owes its
# caller). Each suite defines the fixture ``algorithm``, an :class:`Algorithm`, which these checks use.
#
# The references are torch.optim's functional updates (``torch.optim.adam.adam`` and its siblings), the
# updates the optimizer classes apply: calling them directly gives the same numbers without building an optimizer
# around each tensor.

# A badly scaled noisy quadratic in 6-D, like a minibatch loss: curvatures 0.1 to 10, fresh noise at every step,
# and a last coordinate that sees a gradient on one step in ten only, like a rare feature.
_generator = torch.Generator().manual_seed(4)
CURVATURES = torch.tensor([10.0, 3.0, 1.0, 0.3, 0.1, 1.0], dtype=torch.float64)
ADAPTIVE_X0 = torch.tensor([1.0, -2.0, 0.5, 3.0, -1.0, 2.0], dtype=torch.float64)
STEPS = 100
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


def describe_adaptive_settings(settings):
    def show(value):
        return f"({value[0]:g}, {value[1]:g})" if isinstance(value, tuple) else f"{value:g}"
    return ", ".join(f"{name} = {show(value)}" for name, value in settings.items()) or "the defaults"


def adaptive_torch_run(algorithm, x0, steps, **settings):
    """The iterates of torch's update on the noisy quadratic, starting after x0."""
    param, state, iterates = x0.clone(), {}, []
    for step in range(steps):
        algorithm.reference_step(param, gradient(param, step), state, **settings)
        iterates.append(param.clone())
    return torch.stack(iterates)


def adaptive_result(result):
    """The answer's ``(new_param, new_state)``: the parameters as a genuine tensor, the state as the dictionary
    it is (whose entries a check compares only through :func:`state_tensor` and :func:`step_count`)."""
    if type(result) not in (tuple, list) or len(result) != 2:
        raise AssertionError("return a tuple (new_param, new_state)")
    new_param, new_state = result
    if type(new_state) is not dict:
        raise AssertionError(f"the new state should be a dictionary, not a {type(new_state).__name__}")
    return genuine(new_param, torch.Tensor, "new_param"), new_state


def state_tensor(state, key):
    """``state[key]`` as a genuine tensor."""
    assert key in state, f'the state has no entry "{key}" (PyTorch\'s name for it)'
    return genuine(state[key], torch.Tensor, f'state["{key}"]')


def step_count(state):
    """``state["step"]`` as a genuine number (a one-element tensor is taken too)."""
    assert "step" in state, 'the state has no entry "step"'
    value = state["step"]
    if type(value) in (torch.Tensor, torch.nn.Parameter):
        value = genuine(value, torch.Tensor, 'state["step"]')
        assert value.numel() == 1, 'state["step"] should be one number'
        return float(value.reshape(()))
    return genuine(value, float, 'state["step"]')


def adaptive_step(answer, param, grad, state, **settings):
    """One step of the answer, given copies of its inputs (the values a check compares then do not depend on
    whether the answer leaves its inputs alone, which other checks see to), as :func:`adaptive_result`."""
    if state is not None:
        state = {key: value.clone() if isinstance(value, torch.Tensor) else value for key, value in state.items()}
    return adaptive_result(answer(param.clone(), grad.clone(), state, **settings))


def adaptive_answer_run(answer, x0, steps, **settings):
    """The iterates of the answer's step function on the noisy quadratic, starting after x0."""
    param, state, iterates = x0.clone(), None, []
    for step in range(steps):
        param, state = adaptive_result(answer(param, gradient(param, step), state, **settings))
        iterates.append(param)
    return torch.stack(iterates)


def assert_runs_like_torch(answer, algorithm, settings, dtype=torch.float64, steps=STEPS):
    ours = adaptive_answer_run(answer, ADAPTIVE_X0.to(dtype), steps, **settings)
    theirs = adaptive_torch_run(algorithm, ADAPTIVE_X0.to(dtype), steps, **settings)
    tolerance = {"rtol": 1e-9, "atol": 1e-11} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-6}
    where = f"with {describe_adaptive_settings(settings)} in {str(dtype).removeprefix('torch.')}"
    assert ours.dtype == dtype, f"{where} the parameters came back as {ours.dtype}"
    assert torch.isfinite(ours).all(), f"{where} the parameters became inf or nan"
    close = torch.isclose(ours, theirs, **tolerance).all(dim=1)
    if not close.all():
        first = int((~close).nonzero()[0])
        raise AssertionError(f"{where} the parameters first differ from torch.optim's at step {first + 1} of {steps}")


# checks shared by the four suites

@requirement("contract")
def test_starts_its_state_from_none(answer, algorithm):
    """starts from state None and returns a state dictionary with the step count and its running tensors"""
    param = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    _, state = adaptive_result(answer(param, 0.5 * param, None))
    assert step_count(state) == 1, f'after the first step state["step"] should be 1, got {step_count(state)!r}'
    for key in algorithm.state_keys:
        assert state_tensor(state, key).shape == param.shape, \
            f'state["{key}"] should be a tensor shaped like the parameters'
    _, state = adaptive_result(answer(param, 0.5 * param, state))
    assert step_count(state) == 2, f'after the second step state["step"] should be 2, got {step_count(state)!r}'


@requirement("behaviour")
def test_uses_torchs_defaults(answer, algorithm):
    """takes torch.optim's default settings when none are given"""
    ours = adaptive_answer_run(answer, ADAPTIVE_X0, 20)
    theirs = adaptive_torch_run(algorithm, ADAPTIVE_X0, 20)
    assert torch.allclose(ours, theirs, rtol=1e-9, atol=1e-11), (
        "called with no settings the steps differ from torch.optim's with its defaults "
        f"({describe_adaptive_settings(algorithm.defaults)})")


@requirement("contract")
def test_leaves_its_inputs_alone(answer):
    """changes neither the parameters, nor the gradient, nor the state it is given"""
    param, grad = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.3, -0.1, 2.0])
    _, state = adaptive_result(answer(param, grad, None, lr=0.1, weight_decay=0.1))
    # the entries a check can compare without running anything of the answer's: tensors and numbers
    saved = {key: genuine(value, torch.Tensor) if type(value) in (torch.Tensor, torch.nn.Parameter) else value
             for key, value in state.items() if type(value) in (torch.Tensor, torch.nn.Parameter, int, float)}
    answer(param, grad, state, lr=0.1, weight_decay=0.1)
    assert torch.equal(param, torch.tensor([1.0, -2.0, 0.5])), "the parameters given were changed: return new ones"
    assert torch.equal(grad, torch.tensor([0.3, -0.1, 2.0])), \
        "the gradient given was changed (weight decay added in place?): compute with new tensors"
    for key, value in saved.items():
        now = state.get(key)
        if isinstance(value, torch.Tensor):
            same = type(now) in (torch.Tensor, torch.nn.Parameter) and torch.equal(genuine(now, torch.Tensor), value)
        else:
            same = type(now) in (int, float) and now == value
        assert same, f'the state given was changed (state["{key}"]): build a new state dictionary with new tensors'


@requirement("contract")
def test_adaptive_step_returns_tensors_of_its_own(answer):
    """returns parameters and state tensors that share no memory with its inputs"""
    param, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25])
    new_param, state = answer(param, grad, None, lr=0.1)
    # genuine() copies: the copies are what the returned tensors must still equal once the inputs change
    kept = adaptive_result((new_param, state))[0], {key: genuine(value, torch.Tensor, f'state["{key}"]')
                                                    for key, value in state.items() if isinstance(value, torch.Tensor)}
    param.fill_(7.0)
    grad.fill_(-3.0)
    assert torch.equal(new_param, kept[0]), "changing param afterwards also changed the new parameters"
    for key, value in kept[1].items():
        assert torch.equal(state[key], value), \
            f'changing the gradient or parameters afterwards also changed state["{key}"]: store new tensors'


@requirement("contract")
def test_adaptive_step_keeps_shape_and_dtype(answer):
    """returns parameters and state with the shape and dtype of a 2-D float32 parameter"""
    param = torch.linspace(-1, 1, 12).reshape(4, 3)
    new_param, state = adaptive_result(answer(param, 0.5 * param, None, lr=0.1))
    new_param, state = adaptive_result(answer(new_param, 0.5 * new_param, state, lr=0.1))
    assert new_param.shape == (4, 3), f"for a (4, 3) parameter the new parameters have shape {tuple(new_param.shape)}"
    assert new_param.dtype == torch.float32, f"for float32 parameters the new ones have dtype {new_param.dtype}"
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            value = genuine(value, torch.Tensor, f'state["{key}"]')
            assert value.shape == (4, 3) and value.dtype == torch.float32, \
                f'state["{key}"] should have the shape and dtype of the parameters'


@requirement("behaviour")
def test_zero_gradients_are_safe(answer, algorithm):
    """stays finite and still when the gradient is exactly zero, on the first step and later"""
    param, zero = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    no_decay = {"weight_decay": 0.0}
    new_param, state = adaptive_result(answer(param, zero, None, lr=0.1, **no_decay))
    assert torch.isfinite(new_param).all(), "a zero gradient on the first step gave inf or nan (0 / 0?): add eps"
    assert torch.equal(new_param, param), "with a zero gradient and no weight decay the parameters should not move"
    expected, reference_state = param.clone(), {}
    algorithm.reference_step(expected, zero, reference_state, lr=0.1, **no_decay)
    for grad in (torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64), zero, zero):
        new_param, state = adaptive_result(answer(new_param, grad, state, lr=0.1, **no_decay))
        algorithm.reference_step(expected, grad, reference_state, lr=0.1, **no_decay)
    assert torch.isfinite(new_param).all(), "after zero gradients the parameters became inf or nan"
    assert torch.allclose(new_param, expected, rtol=1e-9, atol=1e-12), \
        "with zero gradients after a nonzero one the steps differ from torch.optim's"


# ---- learning-rate schedules (ex05)
#
# Shared by the suites of exercise 5: the rates torch.optim.lr_scheduler gives, step by step.
#
# A scheduler needs an optimizer; the one here holds a single parameter that never changes. The optimizer's own
# step is never taken (there is nothing to learn), so torch's warning about stepping a scheduler first is
# silenced: it would reach stderr, where nbgrader would score the whole cell 0.

def optimizer(lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)


def torch_schedule_rates(make_scheduler, steps, lr, with_momentum=False):
    """The rate (and momentum) of each of the first ``steps`` steps under ``make_scheduler(optimizer)``."""
    sgd = optimizer(lr)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(sgd)
        for _ in range(steps):
            rate = scheduler.get_last_lr()[0]
            rates.append((rate, sgd.param_groups[0]["momentum"]) if with_momentum else rate)
            scheduler.step()
    return rates


# Compares the common prefix only: unlike first_difference_strict (exercise 6), sequences of different
# lengths are not an error.
def first_difference(ours, theirs, rtol=1e-9, atol=1e-12):
    """The first step at which two sequences of rates differ, or None."""
    for step, (a, b) in enumerate(zip(ours, theirs)):
        if not abs(a - b) <= atol + rtol * abs(b):
            return step
    return None


# Used by the suites of exercises 5 and 6.
def describe_schedule_settings(settings):
    return ", ".join(f"{name} = {value!r}" for name, value in settings.items())


# ---- warmup (ex06)
#
# Shared by the suites of exercise 6: the rates torch.optim.lr_scheduler gives, step by step.
#
# A scheduler needs an optimizer: here plain SGD on one parameter that has no gradient, so its steps change
# nothing. Each ``optimizer.step()`` comes before ``scheduler.step()``, as torch asks, so torch has nothing to warn
# about; warnings are silenced all the same, since one on stderr would score the whole grade cell 0.

def torch_warmup_rates(make_scheduler, steps, lr):
    """The rates of steps 0, 1, ..., ``steps`` (``steps + 1`` of them) under ``make_scheduler(optimizer)``."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(optimizer)
        rates = [scheduler.get_last_lr()[0]]
        for _ in range(steps):
            optimizer.step()
            scheduler.step()
            rates.append(scheduler.get_last_lr()[0])
    return rates


# Like first_difference (exercise 5), but sequences of different lengths raise ValueError (zip's strict).
def first_difference_strict(ours, theirs, rtol=1e-9, atol=1e-12):
    """The first step at which two sequences of rates differ, or None."""
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if not abs(a - b) <= atol + rtol * abs(b):
            return step
    return None


# ---- learning-rate finder curves (ex07)
#
# Shared by the three rule suites of exercise 7: curves with known answers, references, and the checks every
# rule owes its caller (a float, untouched inputs, readable errors). Each suite defines the fixture ``rule``:
# the answer called with the suite's own extra arguments.

def cosine_valley(points=121):
    """Flat at 2 below 1e-4, down along a half cosine to 0 at 1e-2 (falling fastest at 1e-3), then up steeply."""
    log_lrs = np.linspace(-6, 0, points)
    falling = np.clip((log_lrs + 4) / 2, 0, 1)
    losses = 1 + np.cos(np.pi * falling) + np.where(log_lrs > -2, 10 * (log_lrs + 2) ** 2, 0)
    return list(10 ** log_lrs), list(losses)


def random_curves(min_size=3, max_size=60):
    """Evenly log-spaced rates from 1e-6 with random losses (ties included, from a small set of values)."""
    return st.integers(min_size, max_size).flatmap(lambda n: st.tuples(
        st.just(list(np.geomspace(1e-6, 1.0, n))),
        st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0]) | st.floats(0.01, 10.0), min_size=n, max_size=n)))


@requirement("contract")
def test_returns_a_float(rule):
    """returns a float"""
    lrs, losses = cosine_valley()
    for given_as in ("lists", "NumPy arrays"):
        value = rule(lrs, losses) if given_as == "lists" else rule(np.array(lrs), np.array(losses))
        assert type(value) is float, \
            f"for {given_as}, return a Python float, not a {type(value).__name__} (use float(...))"


@requirement("contract")
def test_leaves_the_curve_alone(rule):
    """does not change the lists or arrays it is given, and treats arrays like lists"""
    lrs, losses = cosine_valley()
    kept = list(lrs), list(losses)
    from_lists = genuine(rule(lrs, losses), float, "the suggested rate")
    assert (lrs, losses) == kept, "the rule changed the lists it was given"
    arrays = np.array(lrs), np.array(losses)
    from_arrays = genuine(rule(*arrays), float, "the suggested rate for NumPy arrays")
    assert np.array_equal(arrays[0], kept[0]) and np.array_equal(arrays[1], kept[1]), \
        "the rule changed the arrays it was given"
    assert from_arrays == pytest.approx(from_lists), "numpy arrays should work like lists"


@requirement("validation")
def test_refuses_lists_of_different_lengths(rule):
    """raises ValueError when the rates and the losses differ in length"""
    lrs, losses = cosine_valley()
    with pytest.raises(ValueError):
        rule(lrs, losses[:-1])


@requirement("validation")
def test_refuses_a_curve_of_two_points(rule):
    """raises ValueError for a curve of fewer than 3 points"""
    with pytest.raises(ValueError):
        rule([1e-3, 1e-2], [1.0, 0.5])


# ---- monitoring (ex08)
#
# Shared by two suites of exercise 8: the loss history of a real minibatch SGD run on a least-squares problem.

def sgd_losses(lr, steps, samples, batch_size=20):
    """The minibatch loss at each step of SGD on noiseless least squares in 5-D, from zero weights."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(samples, 5, generator=generator)
    targets = inputs @ torch.arange(1.0, 6.0)
    weights, losses = torch.zeros(5), []
    for step in range(steps):
        first = batch_size * (step % (samples // batch_size))
        batch = slice(first, first + batch_size)
        residual = inputs[batch] @ weights - targets[batch]
        losses.append(float((residual ** 2).mean()))
        weights = weights - lr * 2 * inputs[batch].T @ residual / batch_size
    return losses


# ---- what moves the rate (ex09)
#
# Shared by the two suites of exercise 9 whose answers return parameter groups for torch.optim (discriminative
# rates and muP's rates): the MLPs they run on, and the reading of the groups an answer returned.

def mlp(*widths, bias=True, seed=0):
    """An nn.Sequential of nn.Linear layers of the given widths (inputs first), with a ReLU between two layers."""
    torch.manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out, bias=bias), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def groups_of(value, model, what="the parameter groups"):
    """The groups an answer returned for ``model``, as a list of (its parameters, its rate as a float).

    AssertionError, saying what is wrong, unless ``value`` is a list of dicts, each with a list of parameters of
    ``model`` (the parameters themselves, not copies) under "params" and a number under "lr"."""
    assert type(value) is list, f"{what} should be a list of dicts, not a {type(value).__name__}"
    own = {id(parameter) for parameter in model.parameters()}
    groups = []
    for index, group in enumerate(value):
        assert type(group) is dict and "params" in group and "lr" in group, \
            f'group {index} should be a dict with the keys "params" and "lr"'
        params = group["params"]
        assert type(params) in (list, tuple), \
            f'the "params" of group {index} should be a list, not a {type(params).__name__}'
        assert all(type(p) is torch.nn.Parameter and id(p) in own for p in params), (
            f'the "params" of group {index} should hold the model\'s parameters themselves (not copies or other '
            "tensors): take them from the model's modules")
        groups.append((params, genuine(group["lr"], float, f'the "lr" of group {index}')))
    return groups


def rate_of_each(groups, model):
    """{id(parameter): rate} of ``groups`` (as :func:`groups_of` reads them); AssertionError if a trainable
    parameter of ``model`` is in no group, or a parameter in more than one."""
    rates = {}
    for params, lr in groups:
        for parameter in params:
            assert id(parameter) not in rates, "a parameter is in more than one group (torch.optim refuses that)"
            rates[id(parameter)] = lr
    missing = [name for name, parameter in model.named_parameters()
               if parameter.requires_grad and id(parameter) not in rates]
    assert not missing, f"the parameters {missing} are in no group: every trainable parameter needs one"
    return rates
