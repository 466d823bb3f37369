"""Hidden checks of exercise 9's ``mup_adam_lrs(model, base_lr, base_width)``: muP's per-layer rates for Adam on an
MLP (Yang et al. 2021): the first Linear layer's weight and every bias keep base_lr; every later Linear layer's
weight gets base_lr * base_width / fan_in."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import groups_of, mlp, rate_of_each
from lrgrader.checks import requirement

REQUIREMENTS = {
    "behaviour": ("keeps base_lr for the first layer's weight and every bias, and gives every later layer's weight "
                  "base_lr * base_width / fan_in", 70),
    "contract": ("returns parameter groups that torch.optim.Adam accepts, with every parameter in one group and "
                 "float rates, and leaves the model alone", 15),
    "validation": ("refuses a base_lr <= 0, a base_width < 1 or a model without an nn.Linear layer with ValueError",
                   15),
}


def linear_layers(model):
    return [module for module in model.modules() if isinstance(module, torch.nn.Linear)]


def mup_rates(model, base_lr, base_width):
    """{id(parameter): (its rate, what it is)} by the rule."""
    rates = {}
    for index, layer in enumerate(linear_layers(model)):
        scaled = base_lr if index == 0 else base_lr * base_width / layer.in_features
        what = "the first layer's weight" if index == 0 else f"the weight of layer {index} (fan_in {layer.in_features})"
        rates[id(layer.weight)] = (scaled, what)
        if layer.bias is not None:
            rates[id(layer.bias)] = (base_lr, f"the bias of layer {index}")
    return rates


def answer_rates(answer, model, base_lr, base_width):
    return rate_of_each(groups_of(answer(model, base_lr, base_width), model), model)


def check_rates(answer, model, base_lr, base_width, hint=""):
    got = answer_rates(answer, model, base_lr, base_width)
    for key, (rate, what) in mup_rates(model, base_lr, base_width).items():
        assert math.isclose(got[key], rate, rel_tol=1e-9), (
            f"with base_lr = {base_lr:g} and base_width = {base_width:g}, {what} should get {rate:.4g}, got "
            f"{got[key]:.4g}{hint}")


@requirement("behaviour")
@pytest.mark.parametrize("widths, base_width", [((10, 64, 64, 3), 16), ((784, 256, 256, 256, 10), 64),
                                                ((5, 1024, 2), 32), ((20, 128, 128, 1), 128)],
                         ids=["10-64-64-3", "784-256-256-256-10", "5-1024-2", "20-128-128-1"])
def test_rates_of_mlps(answer, widths, base_width):
    """gives every parameter of an MLP the rate of muP's rule for Adam"""
    check_rates(answer, mlp(*widths), 1e-3, base_width)


@requirement("behaviour")
def test_the_first_layer_keeps_base_lr(answer):
    """keeps base_lr for the first layer's weight, whose fan-in (the data's dimension) does not grow with the width"""
    model = mlp(7, 512, 512, 4)
    got = answer_rates(answer, model, 0.01, 32)
    assert math.isclose(got[id(model[0].weight)], 0.01, rel_tol=1e-9), (
        "the first layer's weight keeps base_lr = 0.01: its fan-in is the number of input features (7), which "
        f"does not grow with the width; got {got[id(model[0].weight)]:.4g}")


@requirement("behaviour")
def test_biases_keep_base_lr(answer):
    """keeps base_lr for every bias, the output layer's included"""
    model = mlp(6, 256, 256, 3)
    got = answer_rates(answer, model, 0.002, 16)
    for index, layer in enumerate(linear_layers(model)):
        assert math.isclose(got[id(layer.bias)], 0.002, rel_tol=1e-9), \
            f"the bias of layer {index} keeps base_lr = 0.002 (a bias has a fan-in of 1); got {got[id(layer.bias)]:.4g}"


@requirement("behaviour")
def test_the_output_layer_uses_its_fan_in(answer):
    """scales the output weight by base_width / fan_in, its number of inputs (not its number of outputs)"""
    model = mlp(8, 400, 10)
    got = answer_rates(answer, model, 1e-3, 100)
    assert math.isclose(got[id(model[2].weight)], 1e-3 * 100 / 400, rel_tol=1e-9), (
        "the output layer Linear(400, 10) has fan_in 400 (in_features, weight.shape[1]): its weight gets "
        f"1e-3 * 100 / 400 = 2.5e-4; got {got[id(model[2].weight)]:.4g}")


@requirement("behaviour")
def test_each_layer_uses_its_own_fan_in(answer):
    """scales each later weight by its own fan-in when the hidden widths differ"""
    check_rates(answer, mlp(5, 32, 64, 128, 3), 1e-3, 16,
                " (each layer's fan_in is its own in_features: 32, 64 and 128 here)")


@requirement("behaviour")
def test_doubling_the_width_halves_the_rates(answer):
    """halves the rate of the hidden and output weights when the width doubles, and keeps the others"""
    narrow, wide = mlp(10, 128, 128, 5), mlp(10, 256, 256, 5)
    small, large = answer_rates(answer, narrow, 3e-3, 64), answer_rates(answer, wide, 3e-3, 64)
    for index in (2, 4):
        assert math.isclose(large[id(wide[index].weight)], small[id(narrow[index].weight)] / 2, rel_tol=1e-9), \
            "at twice the width, the hidden and output weights get half the rate (their fan-in doubled)"
    for index in (0, 2, 4):
        assert math.isclose(large[id(wide[index].bias)], small[id(narrow[index].bias)], rel_tol=1e-9), \
            "the biases keep the same rate at any width"
    assert math.isclose(large[id(wide[0].weight)], small[id(narrow[0].weight)], rel_tol=1e-9), \
        "the first layer's weight keeps the same rate at any width"


@requirement("behaviour")
def test_the_base_model_keeps_base_lr(answer):
    """gives every parameter base_lr when the model's width is base_width"""
    model = mlp(12, 48, 48, 48, 2)
    got = answer_rates(answer, model, 5e-4, 48)
    assert all(math.isclose(rate, 5e-4, rel_tol=1e-9) for rate in got.values()), \
        f"at the base width (48) the rule gives every parameter base_lr = 5e-4; got {sorted(set(got.values()))}"


@requirement("behaviour")
def test_layers_without_bias_and_nested_blocks(answer):
    """handles Linear layers without a bias and layers inside nested blocks, in the model's order"""
    check_rates(answer, mlp(4, 64, 64, 2, bias=False), 1e-3, 8)
    block = torch.nn.Sequential(torch.nn.Linear(64, 96), torch.nn.GELU(), torch.nn.Linear(96, 64))
    model = torch.nn.Sequential(torch.nn.Linear(9, 64), torch.nn.ReLU(), block, torch.nn.ReLU(), torch.nn.Linear(64, 3))
    check_rates(answer, model, 1e-3, 16, " (look for the Linear layers with model.modules(), nested blocks included)")


@requirement("behaviour")
@settings(max_examples=60)  # each example sends a model to the answer and back
@given(widths=st.lists(st.integers(1, 64), min_size=2, max_size=5), base_width=st.integers(1, 256),
       base_lr=st.floats(1e-6, 1.0))
def test_any_mlp(answer, widths, base_width, base_lr):
    """for any MLP: rate x fan_in = base_lr x base_width for every later weight; base_lr for the rest"""
    check_rates(answer, mlp(*widths), base_lr, base_width)


@requirement("contract")
def test_adam_takes_a_step_of_each_rate(answer):
    """returns groups that torch.optim.Adam accepts, whose first step moves each weight by its group's rate"""
    # The answer's own rates: wrong rates fail the checks above, not this one.
    model = mlp(3, 32, 32, 2, seed=4)
    groups = answer(model, 0.01, 8)
    rates = rate_of_each(groups_of(groups, model), model)
    optimizer = torch.optim.Adam(groups)
    before = {id(p): p.detach().clone() for p in model.parameters()}
    model(torch.randn(16, 3, generator=torch.Generator().manual_seed(0))).pow(2).mean().backward()
    optimizer.step()
    for name, parameter in model.named_parameters():
        moved = (parameter.detach() - before[id(parameter)]).abs()
        moving = parameter.grad.abs() > 1e-5  # Adam's first step moves every entry with a gradient by about lr
        assert torch.allclose(moved[moving], torch.full_like(moved[moving], rates[id(parameter)]), rtol=1e-2), \
            f"Adam's first step should move each entry of {name} by its group's rate {rates[id(parameter)]:.3g}"


@requirement("contract")
def test_every_parameter_once_with_float_rates(answer):
    """puts every parameter in exactly one group, with a float rate, also for an integer base_lr"""
    model = mlp(3, 16, 16, 2)
    value = answer(model, 1, 4)
    rate_of_each(groups_of(value, model), model)
    assert all(isinstance(group["lr"], float) for group in value), \
        'with base_lr = 1 (an int) every "lr" should still be a float: convert it with float()'


@requirement("contract")
def test_leaves_the_model_alone(answer):
    """leaves the model's weights as they were, and gives the same rates every time"""
    model = mlp(3, 16, 16, 2, seed=6)
    weights = [p.detach().clone() for p in model.parameters()]
    first, second = answer_rates(answer, model, 1e-3, 4), answer_rates(answer, model, 1e-3, 4)
    assert all(torch.equal(p.detach(), w) for p, w in zip(model.parameters(), weights)), \
        "the model's weights changed: computing the rates must not touch them"
    assert first == second, "two calls on the same model gave different rates"


@requirement("validation")
@pytest.mark.parametrize("case", ["base_lr 0", "base_lr -1e-3", "base_width 0", "base_width 0.5", "no Linear",
                                  "an empty model"])
def test_refuses_bad_arguments(answer, case):
    """raises ValueError for a base_lr <= 0, a base_width < 1, or a model without an nn.Linear layer"""
    model, base_lr, base_width = mlp(3, 8, 2), 1e-3, 4
    if case.startswith("base_lr"):
        base_lr = float(case.split()[1])
    elif case.startswith("base_width"):
        base_width = float(case.split()[1])
    else:
        model = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh()) if case == "no Linear" else torch.nn.Sequential()
    with pytest.raises(ValueError):
        answer(model, base_lr, base_width)


@requirement("validation")
def test_accepts_the_edges(answer):
    """accepts base_width = 1, a model narrower than base_width, and a single Linear layer"""
    for model, base_width in ((mlp(3, 8, 2), 1), (mlp(3, 8, 2), 1000), (torch.nn.Linear(4, 2), 16)):
        answer(model, 1e-3, base_width)
