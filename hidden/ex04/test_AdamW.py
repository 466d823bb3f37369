"""Hidden checks of exercise 4's ``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)``:
a ``torch.optim.Optimizer`` that trains a model to the same weights as ``torch.optim.AdamW``."""

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from lrgrader.checks import derives_from, genuine, is_class, requirement

REQUIREMENTS = {
    "behaviour": ("trains a model to the same weights as torch.optim.AdamW, with each parameter group's settings", 45),
    "behaviour_state": ("keeps each parameter's step count and moments in self.state[p], so that training resumes "
                        "from state_dict()", 25),
    "contract": ("is a torch.optim.Optimizer with its settings in param_groups, whose step() returns None and "
                 "leaves p.grad alone", 15),
    "validation": ("refuses the settings torch.optim.AdamW refuses with ValueError", 15),
}


class ReferenceAdamW(torch.optim.AdamW):
    """torch.optim.AdamW with its one-tensor-at-a-time implementation, the order of operations a student writes."""

    def __init__(self, params, **settings):
        super().__init__(params, foreach=False, **settings)


# A small classification problem: 64 random points in 8-D, 3 classes.
_generator = torch.Generator().manual_seed(4)
INPUTS = torch.randn(64, 8, generator=_generator)
LABELS = torch.randint(0, 3, (64,), generator=_generator)

SETTINGS = {
    "defaults": {},
    "lr 0.01": {"lr": 0.01},
    "strong decay": {"lr": 0.01, "weight_decay": 0.3},
    "betas (0.8, 0.99)": {"lr": 0.005, "betas": (0.8, 0.99)},
    "all at once": {"lr": 0.01, "betas": (0.5, 0.99), "eps": 1e-6, "weight_decay": 0.1},
}
# Adam's steps divide by the root of small averages, so rounding differences between two correct codings grow
# over a run; on this problem and with these settings they stay below the tolerances over 100 steps.


def describe(settings):
    return ", ".join(f"{name} = {value}" for name, value in settings.items()) or "the default settings"


def make_model(dtype=torch.float32):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).to(dtype)


def loss_of(model):
    dtype = next(model.parameters()).dtype
    return torch.nn.functional.cross_entropy(model(INPUTS.to(dtype)), LABELS)


def train(optimizer_class, settings, steps, dtype=torch.float32, groups=None, frozen_for=0):
    """Train the small model full-batch; ``frozen_for`` steps leave the first layer's weight without a gradient."""
    model = make_model(dtype)
    optimizer = optimizer_class(model.parameters() if groups is None else groups(model), **settings)
    for step in range(steps):
        optimizer.zero_grad()
        loss_of(model).backward()
        if step < frozen_for:
            model[0].weight.grad = None
        optimizer.step()
    return model, optimizer


def assert_same_weights(model, reference, message, float32=True):
    tolerance = {"rtol": 1e-4, "atol": 1e-5} if float32 else {"rtol": 1e-8, "atol": 1e-11}
    for (name, weight), expected in zip(model.named_parameters(), reference.parameters()):
        weight = genuine(weight, torch.Tensor, f"parameter {name}")
        assert torch.isfinite(weight).all(), f"{message}: the weights blew up to inf or nan"
        assert torch.allclose(weight, expected, **tolerance), f"{message} (first in parameter {name})"


@requirement("contract")
def test_is_an_optimizer(answer):
    """is a subclass of torch.optim.Optimizer of its own, holding the parameters it is given"""
    assert is_class(answer) and derives_from(answer, torch.optim.Optimizer), \
        "AdamW must be a class that subclasses torch.optim.Optimizer"
    assert not (derives_from(answer, torch.optim.Adam) or derives_from(answer, torch.optim.AdamW)), \
        "write the update yourself: do not subclass torch.optim.Adam or torch.optim.AdamW"
    model = make_model()
    optimizer = answer(model.parameters())
    held = [weight for group in optimizer.param_groups for weight in group["params"]]
    assert len(held) == 4 and all(a is b for a, b in zip(held, model.parameters())), \
        "the optimizer's param_groups do not hold the parameters it was given: call super().__init__(params, defaults)"


@requirement("contract")
def test_keeps_its_settings_in_param_groups(answer):
    """keeps lr, betas, eps and weight_decay in each parameter group, with torch's defaults"""
    group = answer(make_model().parameters()).param_groups[0]
    expected = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2}
    missing = [key for key in expected if key not in group]
    assert not missing, \
        f"the parameter group has no entry {missing[0]!r}: pass every setting to super().__init__ in defaults"
    kinds = {"lr": float, "betas": (float, float), "eps": float, "weight_decay": float}
    values = {key: genuine(group[key], kinds[key], f'group["{key}"]') for key in expected}
    wrong = [key for key, value in expected.items() if values[key] != value]
    assert not wrong, f"with no settings given, group[{wrong[0]!r}] should be torch's default, {expected[wrong[0]]}"


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_trains_like_adamw_in_float64(answer, name):
    """trains a float64 network for 100 steps to the same weights as torch.optim.AdamW"""
    settings = SETTINGS[name]
    model, _ = train(answer, settings, 100, dtype=torch.float64)
    reference, _ = train(ReferenceAdamW, settings, 100, dtype=torch.float64)
    assert all(weight.dtype == torch.float64 for weight in model.parameters()), "float64 weights changed dtype"
    assert_same_weights(model, reference, f"in float64 with {describe(settings)} the weights after 100 steps differ "
                                          "from torch.optim.AdamW's", float32=False)


@requirement("behaviour")
@pytest.mark.parametrize("name", ["defaults", "lr 0.01", "betas (0.8, 0.99)"])
def test_trains_like_adamw_in_float32(answer, name):
    """trains a float32 network for 100 steps to the same weights as torch.optim.AdamW"""
    settings = SETTINGS[name]
    model, _ = train(answer, settings, 100)
    reference, _ = train(ReferenceAdamW, settings, 100)
    assert_same_weights(model, reference, f"with {describe(settings)} the weights after 100 steps differ from "
                                          "torch.optim.AdamW's")


def _digits():
    """scikit-learn's 8x8 digits, read from the file it ships (importing scikit-learn itself takes a second)."""
    folder = Path(importlib.util.find_spec("sklearn").submodule_search_locations[0]) / "datasets" / "data"
    table = np.loadtxt(folder / "digits.csv.gz", delimiter=",", dtype=np.float32)
    return torch.from_numpy(table[:, :-1] / 16.0), torch.from_numpy(table[:, -1]).long()


@requirement("behaviour")
def test_trains_an_mlp_on_digits_like_adamw(answer):
    """trains an MLP on the digits data set with minibatches to the same weights as torch.optim.AdamW"""
    images, labels = _digits()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    models = []
    for optimizer_class in (answer, ReferenceAdamW):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
        optimizer = optimizer_class(model.parameters(), lr=3e-3, weight_decay=0.1)
        for step in range(100):
            batch = order[(step * 64) % 1728:(step * 64) % 1728 + 64]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(images[batch]), labels[batch]).backward()
            optimizer.step()
        models.append(model)
    assert_same_weights(*models, "after 100 minibatch steps on the digits the weights differ from torch.optim.AdamW's")


def two_groups(model):
    return [{"params": model[0].parameters(), "lr": 0.03, "weight_decay": 0.0},
            {"params": model[2].parameters(), "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.2}]


@requirement("behaviour")
def test_parameter_groups(answer):
    """uses each parameter group's own lr, betas, eps and weight decay"""
    model, _ = train(answer, {"lr": 0.01}, 60, groups=two_groups)
    reference, _ = train(ReferenceAdamW, {"lr": 0.01}, 60, groups=two_groups)
    assert_same_weights(model, reference, "with two parameter groups of different settings the weights differ "
                                          "from torch's: read the settings from each group, not from self.defaults")


@requirement("behaviour")
def test_step_with_a_closure(answer):
    """calls the closure once per step, returns its loss, and trains like torch.optim.AdamW with it"""
    model, reference = make_model(), make_model()
    optimizer = answer(model.parameters(), lr=0.01)
    reference_optimizer = ReferenceAdamW(reference.parameters(), lr=0.01)
    calls = []

    def closure():
        calls.append(1)
        optimizer.zero_grad()
        loss = loss_of(model)
        loss.backward()
        return loss

    def reference_closure():
        reference_optimizer.zero_grad()
        loss = loss_of(reference)
        loss.backward()
        return loss

    for step in range(30):
        loss = optimizer.step(closure)
        expected = reference_optimizer.step(reference_closure)
        assert len(calls) == step + 1, f"step(closure) called the closure {len(calls)} times in {step + 1} steps"
        loss = genuine(loss, torch.Tensor, "the loss that step(closure) returned")
        assert torch.allclose(loss, expected, rtol=1e-4), \
            "step(closure) should return the loss that the closure returned"
    assert_same_weights(model, reference, "trained with a closure the weights differ from torch.optim.AdamW's")


@requirement("contract")
def test_step_without_a_closure_returns_none(answer):
    """returns None from step() without a closure"""
    model = make_model()
    optimizer = answer(model.parameters())
    loss_of(model).backward()
    assert optimizer.step() is None, "step() without a closure should return None"


@requirement("behaviour")
def test_skips_parameters_without_a_gradient(answer):
    """leaves a parameter whose grad is None untouched (no weight decay, no state)"""
    model = make_model()
    unused = torch.nn.Parameter(torch.ones(5))
    optimizer = answer([*model.parameters(), unused], lr=0.01, weight_decay=0.1)
    reference = make_model()
    reference_optimizer = ReferenceAdamW(reference.parameters(), lr=0.01, weight_decay=0.1)
    for _ in range(10):
        for opt, net in ((optimizer, model), (reference_optimizer, reference)):
            opt.zero_grad()
            loss_of(net).backward()
            opt.step()
    assert torch.equal(genuine(unused, torch.Tensor, "the unused parameter"), torch.ones(5)), \
        "a parameter without a gradient (grad is None) moved: skip it, weight decay included"
    assert not optimizer.state.get(unused), "a parameter that never had a gradient should get no state"
    assert_same_weights(model, reference, "with an unused parameter in the group the others trained differently")


@requirement("behaviour")
def test_a_layer_that_starts_late(answer):
    """counts steps per parameter: a layer frozen for 10 steps starts its bias correction at its own step 1"""
    settings = {"lr": 0.01, "weight_decay": 0.05}
    model, _ = train(answer, settings, 40, frozen_for=10)
    reference, _ = train(ReferenceAdamW, settings, 40, frozen_for=10)
    assert_same_weights(model, reference, "when a layer gets its first gradient only at step 11 the weights differ "
                                          "from torch's: keep the step count in each parameter's own state")


@requirement("behaviour_state")
def test_keeps_the_moments_in_state(answer):
    """keeps each parameter's step, exp_avg and exp_avg_sq in self.state[p], equal to torch's"""
    settings = {"lr": 0.01, "weight_decay": 0.1}
    model, optimizer = train(answer, settings, 5)
    reference, reference_optimizer = train(ReferenceAdamW, settings, 5)
    for (name, weight), expected in zip(model.named_parameters(), reference.parameters()):
        state, expected_state = optimizer.state[weight], reference_optimizer.state[expected]
        for key in ("exp_avg", "exp_avg_sq"):
            assert key in state, f'no {key} in self.state[p] for parameter {name}'
            value = genuine(state[key], torch.Tensor, f'self.state[p]["{key}"] of {name}')
            assert torch.allclose(value, expected_state[key], rtol=1e-4, atol=1e-8), \
                f'after 5 steps self.state[p]["{key}"] of parameter {name} differs from torch\'s'
        assert "step" in state, f'no step in self.state[p] for parameter {name}'
        step = state["step"]
        step = genuine(step, torch.Tensor if type(step) in (torch.Tensor, torch.nn.Parameter) else float,
                       f'self.state[p]["step"] of {name}')
        assert float(step) == 5, \
            f'after 5 steps self.state[p]["step"] of parameter {name} should be 5'


@requirement("behaviour_state")
def test_state_dict_round_trip(answer):
    """resumes identically after state_dict() and load_state_dict() into a new optimizer"""
    settings = {"lr": 0.01, "weight_decay": 0.1}
    model, optimizer = train(answer, settings, 20)
    saved = copy.deepcopy(optimizer.state_dict())  # as if saved to a file: the live one shares its tensors
    resumed_model = copy.deepcopy(model)
    resumed = answer(resumed_model.parameters(), **settings)
    resumed.load_state_dict(saved)
    for opt, net in ((optimizer, model), (resumed, resumed_model)):
        for _ in range(20):
            opt.zero_grad()
            loss_of(net).backward()
            opt.step()
    assert_same_weights(resumed_model, model, "a run resumed from state_dict() went differently from the original: "
                                              "keep the step count and both moments in self.state[p]")


@requirement("contract")
def test_leaves_the_gradients_unchanged(answer):
    """does not change p.grad while stepping"""
    model = make_model()
    optimizer = answer(model.parameters(), lr=0.01, weight_decay=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        loss_of(model).backward()
        gradients = [weight.grad.clone() for weight in model.parameters()]
        optimizer.step()
        for weight, gradient in zip(model.parameters(), gradients):
            assert torch.equal(genuine(weight.grad, torch.Tensor, "p.grad"), gradient), \
                "step() changed p.grad: compute with new tensors"


@requirement("validation")
@pytest.mark.parametrize("settings", [{"lr": -0.1}, {"betas": (1.0, 0.999)}, {"betas": (0.9, -0.1)}, {"eps": -1e-8},
                                      {"weight_decay": -0.01}],
                         ids=["negative lr", "beta1 of 1", "negative beta2", "negative eps", "negative weight decay"])
def test_rejects_bad_settings(answer, settings):
    """raises ValueError for the settings torch.optim.AdamW rejects"""
    with pytest.raises(ValueError):
        answer(make_model().parameters(), **settings)


# One short run outside the timed checks, so that none of them pays for first-time set-up.
train(ReferenceAdamW, {}, 1)
