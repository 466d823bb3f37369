"""Hidden checks of exercise 8's ``update_ratios(model, optimizer, loss)``: one optimizer step, and for every
parameter with a gradient the norm of its change over the norm of its weights before the step."""

import copy
import math

from collections import OrderedDict, defaultdict

import pytest
import torch

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("gives ||change|| / ||weights before|| for every parameter that received a gradient", 60),
    "behaviour_step": ("takes exactly one optimizer step on fresh gradients, and keeps it", 25),
    "contract": ("returns a dict of Python floats named as named_parameters() names them", 15),
}


def ratios_of(value):
    """The ratios an answer returned: a dict from names to genuine floats; anything else fails the check."""
    assert type(value) in (dict, OrderedDict, defaultdict), f"return a dict, not a {type(value).__name__}"
    assert all(type(name) is str for name in value), "the keys should be the parameters' names, strings"
    return {name: genuine(ratio, float, f"the ratio of {name}") for name, ratio in value.items()}

_generator = torch.Generator().manual_seed(8)
INPUTS = torch.randn(32, 6, generator=_generator)
LABELS = torch.randint(0, 3, (32,), generator=_generator)


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def loss_of(model):
    return torch.nn.functional.cross_entropy(model(INPUTS), LABELS)


def expected_ratios(model, optimizer_class, **settings):
    """Ratios computed here on a copy, with the same optimizer."""
    model = copy.deepcopy(model)
    optimizer = optimizer_class(model.parameters(), **settings)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer.zero_grad()
    loss_of(model).backward()
    optimizer.step()
    return {name: ((p.detach() - before[name]).norm() / before[name].norm()).item()
            for name, p in model.named_parameters()}, model


@pytest.mark.parametrize("optimizer_class, settings", [(torch.optim.SGD, {"lr": 0.1}),
                                                       (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
                                                       (torch.optim.Adam, {"lr": 0.01})],
                         ids=["SGD", "momentum", "Adam"])
@requirement("behaviour")
def test_matches_the_ratios_of_one_step(answer, optimizer_class, settings):
    """gives ||change|| / ||weights before|| for every parameter of an MLP after one step"""
    model = make_model()
    expected, _ = expected_ratios(model, optimizer_class, **settings)
    ratios = ratios_of(answer(model, optimizer_class(model.parameters(), **settings), loss_of(model)))
    assert set(ratios) == set(expected), \
        f"expected one ratio per parameter, named {sorted(expected)}; got {sorted(ratios)}"
    for name, value in expected.items():
        assert math.isclose(ratios[name], value, rel_tol=1e-5), f"the ratio of {name} should be {value:.4g}"


@requirement("behaviour_step")
def test_keeps_the_step(answer):
    """leaves the model with the step taken, as one optimizer step would"""
    model = make_model()
    _, stepped = expected_ratios(model, torch.optim.SGD, lr=0.1)
    answer(model, torch.optim.SGD(model.parameters(), lr=0.1), loss_of(model))
    for (name, weight), expected in zip(model.named_parameters(), stepped.parameters()):
        assert torch.allclose(weight, expected, atol=1e-7), \
            f"after update_ratios, {name} should hold the stepped weights"


@requirement("behaviour")
def test_adams_first_step_moves_every_weight_by_lr(answer):
    """measures Adam's first step, which moves every weight by about lr: ratio = lr * sqrt(n) / ||w||"""
    model = make_model()
    weight_norm = model[0].weight.detach().norm().item()
    ratios = ratios_of(answer(model, torch.optim.Adam(model.parameters(), lr=0.001), loss_of(model)))
    expected = 0.001 * math.sqrt(48) / weight_norm
    assert math.isclose(ratios["0.weight"], expected, rel_tol=1e-3), \
        "Adam's first step moves each of the 48 weights of the first layer by lr: the ratio is lr * sqrt(48) / ||w||"


@requirement("behaviour_step")
def test_clears_old_gradients(answer):
    """zeroes the gradients first, so that gradients left from before do not add to the step"""
    # The answer against itself, with and without stale gradients: a wrong ratio elsewhere does not fail this.
    clean, stale = make_model(), make_model()
    loss_of(stale).backward()  # stale gradients that must not count
    fresh = ratios_of(answer(clean, torch.optim.SGD(clean.parameters(), lr=0.1), loss_of(clean)))
    ratios = ratios_of(answer(stale, torch.optim.SGD(stale.parameters(), lr=0.1), loss_of(stale)))
    assert math.isclose(ratios["2.bias"], fresh["2.bias"], rel_tol=1e-5), \
        "old gradients were added to the step: call optimizer.zero_grad() before loss.backward()"


@requirement("behaviour")
def test_only_parameters_with_a_gradient(answer):
    """reports only the parameters that received a gradient"""
    model = make_model()
    model[0].weight.requires_grad_(False)
    extra = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad] + [extra], lr=0.1)
    ratios = ratios_of(answer(model, optimizer, loss_of(model)))
    assert set(ratios) == {"0.bias", "2.weight", "2.bias"}, \
        f"a frozen weight has no gradient and gets no ratio; got the names {sorted(ratios)}"


@requirement("behaviour")
def test_weights_that_were_zero(answer):
    """gives 0.0 for zero weights that did not move, and inf for zero weights that did"""
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    loss = (model(torch.tensor([[1.0, 0.0]])) - 1.0).pow(2).sum()
    ratios = ratios_of(answer(model, torch.optim.SGD(model.parameters(), lr=0.1), loss))
    assert ratios["bias"] == math.inf, "the zero bias moved (its gradient is -2): its ratio is infinite"
    assert ratios["weight"] == math.inf, "the zero weight moved in its first entry: its ratio is infinite"
    still = torch.nn.Linear(2, 1)
    with torch.no_grad():
        still.weight.zero_()
        still.bias.fill_(1.0)
    ratios = ratios_of(answer(still, torch.optim.SGD(still.parameters(), lr=0.1),
                              still(torch.zeros(1, 2)).sum() * 0.0))
    assert ratios["weight"] == 0.0, "a zero weight with a zero gradient did not move: its ratio is 0.0"


@requirement("contract")
def test_returns_floats(answer):
    """returns a dictionary of floats"""
    model = make_model()
    ratios = answer(model, torch.optim.SGD(model.parameters(), lr=0.1), loss_of(model))
    assert isinstance(ratios, dict) and all(type(value) is float for value in ratios.values()), \
        "return a dict of Python floats (use .item())"


@requirement("contract")
def test_names_of_nested_modules(answer):
    """names each ratio as named_parameters() names it, also in nested modules"""
    model = torch.nn.Sequential()
    model.add_module("body", make_model())
    model.add_module("head", torch.nn.Linear(3, 3))
    loss = torch.nn.functional.cross_entropy(model(INPUTS), LABELS)
    ratios = ratios_of(answer(model, torch.optim.SGD(model.parameters(), lr=0.1), loss))
    assert set(ratios) == {name for name, _ in model.named_parameters()}, \
        f"expected the names {sorted(name for name, _ in model.named_parameters())}, got {sorted(ratios)}"
