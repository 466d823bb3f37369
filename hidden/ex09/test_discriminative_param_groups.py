"""Hidden checks of exercise 9's ``discriminative_param_groups(model, lr, ratio=100.0)``: fastai's discriminative
rates (``slice(lr / ratio, lr)``), one parameter group per child of an nn.Sequential that has parameters, with
rates spaced geometrically from lr / ratio (first) to lr (last); frozen parameters left out."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import groups_of, mlp, rate_of_each
from lrgrader.checks import requirement

REQUIREMENTS = {
    "behaviour": ("gives the groups rates spaced geometrically from lr / ratio (the first) to lr (the last), and "
                  "a single group lr", 45),
    "behaviour_groups": ("makes one group per child that has parameters, in order, with its trainable parameters "
                         "only, and none for a child left without any, the others keeping their rates", 25),
    "contract": ("returns a list of {\"params\": list, \"lr\": float} that torch.optim accepts, and leaves the "
                 "model alone", 15),
    "validation": ("refuses an lr <= 0, a ratio < 1 or a model that is not an nn.Sequential with ValueError", 15),
}


def rates(answer, model, lr, ratio=None):
    """The rates of the groups the answer made, in order."""
    value = answer(model, lr) if ratio is None else answer(model, lr, ratio=ratio)
    return [rate for _, rate in groups_of(value, model)]


def expected(n, lr, ratio):
    return np.geomspace(lr / ratio, lr, n) if n > 1 else np.array([lr])


def shown(rates):
    return "[" + ", ".join(f"{rate:.3g}" for rate in rates) + "]"


def described(lr, ratio, n):
    return f"lr = {lr:g}, ratio = {ratio:g} and {n} groups"


@requirement("behaviour")
@pytest.mark.parametrize("lr, ratio", [(1e-2, 100.0), (3e-3, 10.0), (0.1, 2.6 ** 4), (1e-4, 1000.0)],
                         ids=["1e-2, 100", "3e-3, 10", "0.1, 2.6^4", "1e-4, 1000"])
def test_rates_spaced_geometrically(answer, lr, ratio):
    """spaces the rates as np.geomspace(lr / ratio, lr, n) does, for 2 to 7 groups"""
    for n in range(2, 8):
        got = rates(answer, mlp(*([4] * (n + 1)), seed=n), lr, ratio)
        want = expected(n, lr, ratio)
        assert len(got) == n, f"an MLP of {n} Linear layers needs {n} groups, got {len(got)}"
        assert np.allclose(got, want, rtol=1e-9, atol=0), (
            f"with {described(lr, ratio, n)} the rates should be {shown(want)}, from lr / ratio to lr, each the "
            f"previous one times the same factor; got {shown(got)}")


@requirement("behaviour")
def test_first_gets_lr_over_ratio_and_last_lr(answer):
    """gives the first group lr / ratio and the last lr, not the other way round"""
    got = rates(answer, mlp(3, 5, 5, 2), 0.01, 100.0)
    assert math.isclose(got[0], 1e-4, rel_tol=1e-9) and math.isclose(got[-1], 0.01, rel_tol=1e-9), (
        "the first group (the layer nearest the input, which needs the smallest steps) gets lr / ratio = 1e-4 and "
        f"the last one lr = 0.01; got {shown(got)}")


@requirement("behaviour")
def test_a_single_group_gets_lr(answer):
    """gives a single group lr, as fastai does (not lr / ratio)"""
    for model in (torch.nn.Sequential(torch.nn.Linear(3, 2)),
                  torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())):
        got = rates(answer, model, 0.05, 10.0)
        assert len(got) == 1 and math.isclose(got[0], 0.05, rel_tol=1e-12), \
            f"a model with one layer that has parameters gets one group, with lr = 0.05; got {shown(got)}"


@requirement("behaviour")
def test_ratio_one_gives_every_group_lr(answer):
    """gives every group lr when ratio is 1"""
    got = rates(answer, mlp(3, 4, 4, 4, 2), 0.02, 1.0)
    assert len(got) == 4 and np.allclose(got, 0.02, rtol=1e-12), f"with ratio = 1 every group gets lr; got {shown(got)}"


@requirement("behaviour")
def test_default_ratio_is_100(answer):
    """uses ratio = 100 when none is given"""
    got = rates(answer, mlp(3, 4, 2), 0.5)
    assert np.allclose(got, [0.005, 0.5], rtol=1e-9), \
        f"with the default ratio 100 the rates are [0.005, 0.5]; got {shown(got)}"


@requirement("behaviour")
def test_layers_without_parameters_do_not_count(answer):
    """spaces the rates over the children that have parameters only (activations and dropout do not count)"""
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(6, 6),
                                torch.nn.Tanh(), torch.nn.Linear(6, 2), torch.nn.Softmax(dim=1))
    got = rates(answer, model, 0.01, 100.0)
    assert len(got) == 3 and np.allclose(got, [1e-4, 1e-3, 1e-2], rtol=1e-9), (
        "three Linear layers among four layers without parameters make three groups with the rates "
        f"[1e-4, 1e-3, 1e-2]; got {shown(got)}")


@requirement("behaviour")
@settings(max_examples=50)  # each example sends a model to the answer and back
@given(n=st.integers(1, 8), lr=st.floats(1e-6, 10.0), ratio=st.floats(1.0, 1e4))
def test_any_settings(answer, n, lr, ratio):
    """for any lr, ratio and number of groups: the rates np.geomspace(lr / ratio, lr, n) gives (lr for one group)"""
    got = rates(answer, mlp(*([2] * (n + 1))), lr, ratio)
    want = expected(n, lr, ratio)
    assert len(got) == n and np.allclose(got, want, rtol=1e-9, atol=0), \
        f"with {described(lr, ratio, n)} the rates should be {shown(want)}, got {shown(got)}"


@requirement("behaviour_groups")
def test_one_group_per_child_in_order(answer):
    """puts each child's parameters, and only them, in its own group, in the model's order"""
    model = mlp(5, 7, 3, 2)
    groups = groups_of(answer(model, 0.1), model)
    children = [child for child in model.children() if list(child.parameters())]
    assert len(groups) == len(children), f"{len(children)} children have parameters: make {len(children)} groups"
    for index, ((params, _), child) in enumerate(zip(groups, children)):
        assert {id(p) for p in params} == {id(p) for p in child.parameters()} and len(params) == 2, (
            f"group {index} should hold the weight and bias of the model's child number {index} with parameters "
            "(in the model's order), and nothing else")
    rate_of_each(groups, model)


@requirement("behaviour_groups")
def test_a_block_is_one_group(answer):
    """makes a child that is itself a block of layers one group, with every parameter inside it"""
    block = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4))
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), block, torch.nn.ReLU(), torch.nn.Linear(4, 2))
    groups = groups_of(answer(model, 0.01, ratio=100.0), model)
    assert len(groups) == 3, \
        f"a block (a child with layers of its own) is one child: expected 3 groups, got {len(groups)}"
    assert {id(p) for p in groups[1][0]} == {id(p) for p in block.parameters()}, \
        "the block's group should hold all four of its parameters, those of the layers inside it"


@requirement("behaviour_groups")
def test_frozen_parameters_are_left_out(answer):
    """leaves out frozen parameters (requires_grad False) and a child left with none, and the others keep their rates"""
    # The rates are compared with the answer's own for the same model unfrozen: wrong rates fail the checks above.
    model = mlp(4, 6, 6, 6, 2)  # 4 Linear layers
    unfrozen = [rate for _, rate in groups_of(answer(model, 0.01, ratio=100.0), model)]
    model[0].requires_grad_(False)  # a frozen first layer: no group
    model[2].weight.requires_grad_(False)  # a frozen weight: its bias is trained alone
    groups = groups_of(answer(model, 0.01, ratio=100.0), model)
    held = {id(p) for params, _ in groups for p in params}
    assert not held & {id(model[0].weight), id(model[0].bias), id(model[2].weight)}, \
        "frozen parameters (requires_grad False) must not be in any group"
    assert len(groups) == 3 and [len(params) for params, _ in groups] == [1, 2, 2], (
        "with the first layer frozen and the weight of the second frozen, expected 3 groups: the second layer's "
        f"bias alone, then the last two layers; got groups of {[len(params) for params, _ in groups]} parameters")
    assert len(unfrozen) == 4 and [rate for _, rate in groups] == unfrozen[1:], (
        "freezing a layer does not move the others' rates (as fastai's freeze does not): the rates are spaced over "
        "the 4 children with parameters, frozen or not, so the remaining groups keep the rates they have when "
        "nothing is frozen")
    rate_of_each(groups, model)


@requirement("behaviour_groups")
def test_a_fully_frozen_model_gives_no_group(answer):
    """returns an empty list when every parameter is frozen"""
    model = mlp(3, 4, 2)
    model.requires_grad_(False)
    value = answer(model, 0.1)
    assert type(value) is list and value == [], "with every parameter frozen there is nothing to train: return []"


@requirement("contract")
def test_returns_dicts_of_lists_and_floats(answer):
    """returns a list of dicts whose "params" is a list and whose "lr" is a float, also for an integer lr"""
    for model, lr in ((mlp(3, 4, 2), 1), (torch.nn.Sequential(torch.nn.Linear(2, 1)), 2)):
        value = answer(model, lr)
        groups_of(value, model)
        assert all(isinstance(group["lr"], float) for group in value), \
            f'with lr = {lr} (an int) the "lr" of each group should still be a float: convert it with float()'


@requirement("contract")
def test_torch_optimizers_accept_the_groups(answer):
    """returns groups that torch.optim.SGD and Adam accept, and SGD steps each group with its own rate"""
    # The answer's own rates: wrong rates fail the checks above, not this one.
    model = mlp(3, 5, 5, 2, seed=3)
    groups = answer(model, 0.1, ratio=10.0)
    rates = [rate for _, rate in groups_of(groups, model)]
    optimizer = torch.optim.SGD(groups, lr=123.0)
    assert [group["lr"] for group in optimizer.param_groups] == rates, \
        "torch.optim.SGD built from the groups should take each group's own rate"
    torch.optim.Adam(answer(model, 0.1, ratio=10.0))
    rate_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    before = {id(p): p.detach().clone() for p in model.parameters()}
    model(torch.ones(4, 3)).pow(2).sum().backward()
    optimizer.step()
    for name, parameter in model.named_parameters():
        if id(parameter) in rate_of:
            step = before[id(parameter)] - rate_of[id(parameter)] * parameter.grad
            assert torch.allclose(parameter.detach(), step, rtol=1e-5, atol=1e-7), \
                f"one SGD step should move {name} by its group's rate times its gradient"


@requirement("contract")
def test_leaves_the_model_alone(answer):
    """leaves the model's weights and requires_grad flags as they were, and gives the same groups every time"""
    model = mlp(3, 4, 4, 2, seed=5)
    model[0].bias.requires_grad_(False)
    weights = [p.detach().clone() for p in model.parameters()]
    flags = [p.requires_grad for p in model.parameters()]
    first = [([id(p) for p in params], rate) for params, rate in groups_of(answer(model, 0.1), model)]
    second = [([id(p) for p in params], rate) for params, rate in groups_of(answer(model, 0.1), model)]
    assert all(torch.equal(p.detach(), w) for p, w in zip(model.parameters(), weights)), \
        "the model's weights changed: building the groups must not touch them"
    assert [p.requires_grad for p in model.parameters()] == flags, "the parameters' requires_grad flags changed"
    assert first == second, "two calls on the same model gave different groups"


@requirement("validation")
@pytest.mark.parametrize("case", ["lr 0", "lr -0.1", "ratio 0.5", "ratio 0", "a Linear", "a ModuleList"])
def test_refuses_bad_arguments(answer, case):
    """raises ValueError for an lr <= 0, a ratio < 1, or a model that is not an nn.Sequential"""
    model, lr, ratio = mlp(3, 4, 2), 0.1, 100.0
    if case.startswith("lr"):
        lr = float(case.split()[1])
    elif case.startswith("ratio"):
        ratio = float(case.split()[1])
    elif case == "a Linear":
        model = torch.nn.Linear(3, 2)
    else:
        model = torch.nn.ModuleList([torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)])
    with pytest.raises(ValueError):
        answer(model, lr, ratio=ratio)


@requirement("validation")
def test_accepts_the_edges(answer):
    """accepts ratio = 1 and any lr > 0, however small"""
    for lr, ratio in ((1e-12, 1.0), (5.0, 1.0), (1e-3, 1e6)):
        answer(mlp(3, 4, 2), lr, ratio=ratio)
