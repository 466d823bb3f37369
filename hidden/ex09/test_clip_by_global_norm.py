"""Hidden checks of exercise 9's ``clip_by_global_norm(parameters, max_norm, eps=1e-6)``: every gradient scaled in
place by min(1, max_norm / (total_norm + eps)), with total_norm the L2 norm of all the gradients taken together, as
``torch.nn.utils.clip_grad_norm_`` does; the total norm from before the clipping returned as a Python float."""

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("scales every gradient in place by min(1, max_norm / (total_norm + eps)), with total_norm the "
                  "L2 norm of all the gradients together, as torch.nn.utils.clip_grad_norm_ does", 45),
    "behaviour_norm": ("returns the total norm from before the clipping, counting only the parameters that have a "
                       "gradient", 25),
    "contract": ("returns a Python float, takes a tensor, a list or a generator, and changes nothing but the "
                 "gradients", 15),
    "validation": ("refuses a max_norm that is not a finite number > 0 with ValueError", 15),
}


def model_with_gradients(seed, scale=1.0):
    """A small MLP whose parameters hold the gradients of a random loss, multiplied by ``scale``."""
    torch.manual_seed(seed)
    width = 3 + seed % 5
    model = torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.Tanh(), torch.nn.Linear(width, 2))
    inputs = torch.randn(8, 4, generator=torch.Generator().manual_seed(seed))
    model(inputs).pow(2).mean().backward()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.grad.mul_(scale)
    return model


def twin(model):
    """A copy of ``model`` with copies of its gradients (deepcopy leaves the gradients behind)."""
    copied = copy.deepcopy(model)
    for original, parameter in zip(model.parameters(), copied.parameters()):
        parameter.grad = None if original.grad is None else original.grad.clone()
    return copied


def torch_clipped(model, max_norm):
    """(the total norm, the clipped gradients) that torch.nn.utils.clip_grad_norm_ gives on a copy of ``model``."""
    copied = twin(model)
    norm = torch.nn.utils.clip_grad_norm_(copied.parameters(), max_norm).item()
    return norm, [parameter.grad for parameter in copied.parameters()]


def grads_of(model):
    return [parameter.grad for parameter in model.parameters()]


def same_gradients(got, expected, rtol=1e-5):
    return all((a is None and b is None) or (a is not None and b is not None and a.shape == b.shape
                                             and torch.allclose(a, b, rtol=rtol, atol=0.0))
               for a, b in zip(got, expected))


def norm_of(value, what="the returned norm"):
    return genuine(value, float, what)


def cases():
    """30 models with gradients of sizes from 1e-6 to 1e3, each with a max_norm from 0.01 to 10 times their norm:
    most are clipped, some are not, and the tiny ones show whether eps is in the scale."""
    rng = np.random.default_rng(9)
    for seed in range(30):
        scale = 10.0 ** rng.uniform(-6, 3)
        model = model_with_gradients(seed, scale)
        total = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in model.parameters()))
        yield seed, model, float(total * 10.0 ** rng.uniform(-2, 1))


@requirement("behaviour")
def test_clips_like_torch_on_random_models(answer):
    """clips the gradients of 30 random models as torch.nn.utils.clip_grad_norm_ does, from 1e-6 to 1e3 in size"""
    for seed, model, max_norm in cases():
        _, expected = torch_clipped(model, max_norm)
        answer(list(model.parameters()), max_norm)
        assert same_gradients(grads_of(model), expected), (
            f"model {seed} (max_norm = {max_norm:.3g}): the gradients after clipping differ from "
            "torch.nn.utils.clip_grad_norm_'s; scale every gradient by min(1, max_norm / (total_norm + eps))")


@requirement("behaviour")
def test_one_global_norm_not_one_per_tensor(answer):
    """scales all the gradients by the same factor, from their global norm, not each by its own norm"""
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0])
    answer([a, b], 1.0, eps=0.0)
    assert torch.allclose(a.grad, torch.tensor([0.6, 0.0])) and torch.allclose(b.grad, torch.tensor([0.0, 0.8])), (
        "the gradients [3, 0] and [0, 4] have a global norm of 5: with max_norm 1 both are scaled by 1/5, to "
        "[0.6, 0] and [0, 0.8]; clipping each tensor by its own norm changes their direction")


@requirement("behaviour")
def test_leaves_gradients_under_the_limit_alone(answer):
    """leaves the gradients exactly as they were when their global norm is under max_norm"""
    for seed in range(5):
        model = model_with_gradients(seed)
        before = [g.clone() for g in grads_of(model)]
        total = math.sqrt(sum(float(g.double().pow(2).sum()) for g in before))
        answer(list(model.parameters()), 2.0 * total)
        assert all(torch.equal(g, old) for g, old in zip(grads_of(model), before)), (
            "with max_norm twice the global norm, min(1, max_norm / (total_norm + eps)) is 1: the gradients must "
            "stay exactly as they were, never grow")


@requirement("behaviour")
def test_eps_is_in_the_scale(answer):
    """divides by total_norm + eps: tiny gradients, a given eps, and a norm exactly at the limit"""
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor([3e-6, 4e-6], dtype=torch.float64)  # global norm 5e-6
    answer([p], 2.5e-6)
    assert torch.allclose(p.grad, torch.tensor([3e-6, 4e-6], dtype=torch.float64) * (2.5e-6 / 6e-6), rtol=1e-9), \
        "with a global norm of 5e-6, max_norm 2.5e-6 and the default eps 1e-6, the scale is 2.5e-6 / (5e-6 + 1e-6)"
    p.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)
    answer([p], 2.0, eps=3.0)
    assert torch.allclose(p.grad, torch.tensor([0.75, 1.0], dtype=torch.float64), rtol=1e-9), \
        "with eps = 3, a global norm of 5 and max_norm 2, the scale is 2 / (5 + 3) = 0.25: use the eps given"
    p.grad = torch.tensor([3e-5, 4e-5], dtype=torch.float64)
    answer([p], 5e-5)
    assert torch.allclose(p.grad, torch.tensor([3e-5, 4e-5], dtype=torch.float64) * (5e-5 / 5.1e-5), rtol=1e-9), \
        "at exactly the limit (norm = max_norm = 5e-5) the scale is min(1, 5e-5 / (5e-5 + 1e-6)), a little below 1"


@requirement("behaviour")
def test_skips_parameters_without_a_gradient(answer):
    """clips the parameters that have a gradient, and leaves those without one (a frozen layer) without one"""
    for seed in range(3):
        model = model_with_gradients(seed, scale=10.0)
        model[0].weight.grad = None
        _, expected = torch_clipped(model, 0.5)
        answer(list(model.parameters()), 0.5)
        assert model[0].weight.grad is None, "a parameter whose grad is None must keep None"
        assert same_gradients(grads_of(model), expected), \
            "with one parameter without a gradient, the others were clipped differently from torch: skip it"


@requirement("behaviour")
def test_all_zero_gradients(answer):
    """leaves all-zero gradients at zero, with no nan: eps keeps the scale finite"""
    a = torch.ones(3, requires_grad=True)
    a.grad = torch.zeros(3)
    answer([a], 1.0)
    assert torch.equal(a.grad, torch.zeros(3)), \
        "all-zero gradients must stay zero (not nan): eps keeps the scale finite"


@requirement("behaviour")
@given(grads=st.lists(st.lists(st.floats(-1e3, 1e3) | st.just(0.0), min_size=1, max_size=6), min_size=1, max_size=4),
       max_norm=st.floats(1e-3, 1e3), eps=st.sampled_from([1e-6, 0.0, 0.5]))
def test_any_gradients(answer, grads, max_norm, eps):
    """for any gradients: each is scaled by the same min(1, max_norm / (total_norm + eps))"""
    params = []
    for values in grads:
        param = torch.zeros(len(values), dtype=torch.float64, requires_grad=True)
        param.grad = torch.tensor(values, dtype=torch.float64)
        params.append(param)
    total = math.sqrt(sum(v * v for values in grads for v in values))
    if total + eps == 0:
        return  # no gradient at all and no eps: the scale is undefined
    scale = min(1.0, max_norm / (total + eps))
    answer(params, max_norm, eps=eps)
    for param, values in zip(params, grads):
        expected = torch.tensor(values, dtype=torch.float64) * scale
        assert torch.allclose(param.grad, expected, rtol=1e-9, atol=1e-300), (
            f"for gradients with a global norm of {total:.4g}, max_norm {max_norm:.4g} and eps {eps:g}, every entry "
            f"should be multiplied by {scale:.6g}")


@requirement("behaviour_norm")
def test_returns_the_norm_before_clipping_like_torch(answer):
    """returns the global norm torch.nn.utils.clip_grad_norm_ returns, measured before the clipping"""
    for seed, model, max_norm in cases():
        expected, _ = torch_clipped(model, max_norm)
        got = norm_of(answer(list(model.parameters()), max_norm))
        assert math.isclose(got, expected, rel_tol=1e-5), (
            f"model {seed} (max_norm = {max_norm:.3g}): the global norm before clipping is {expected:.6g}, got "
            f"{got:.6g}" + (" (the norm after clipping?)" if math.isclose(got, min(max_norm, expected), rel_tol=1e-3)
                            and not math.isclose(expected, max_norm, rel_tol=1e-3) else ""))


@requirement("behaviour_norm")
def test_the_norm_of_a_known_case(answer):
    """returns 5 for the gradients [3, 0] and [0, 4], whatever the clipping does to them"""
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0])
    got = norm_of(answer([a, b], 1.0))
    assert math.isclose(got, 5.0, rel_tol=1e-6), \
        f"the global norm of [3, 0] and [0, 4] is sqrt(9 + 16) = 5, before clipping; got {got!r}"


@requirement("behaviour_norm")
def test_the_norm_skips_parameters_without_a_gradient(answer):
    """counts only the parameters that have a gradient, and returns 0.0 when none has"""
    a, b, frozen = (torch.zeros(2, requires_grad=True) for _ in range(3))
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0])
    got = norm_of(answer([frozen, a, frozen, b], 100.0))
    assert math.isclose(got, 5.0, rel_tol=1e-6), \
        f"parameters without a gradient add nothing to the norm: expected 5, got {got!r}"
    nothing = norm_of(answer([frozen, torch.zeros(3, requires_grad=True)], 1.0),
                      "the norm when no parameter has a gradient")
    assert nothing == 0.0, f"with no gradient at all the global norm is 0.0, got {nothing!r}"
    empty = norm_of(answer([], 1.0), "the norm of an empty list of parameters")
    assert empty == 0.0, f"an empty list of parameters has a global norm of 0.0, got {empty!r}"


@requirement("contract")
def test_returns_a_python_float(answer):
    """returns a Python float (not a tensor)"""
    model = model_with_gradients(0)
    got = answer(list(model.parameters()), 0.1)
    assert type(got) is float, f"return the norm as a Python float (use .item() or float()), not a {type(got).__name__}"


@requirement("contract")
def test_takes_a_single_tensor(answer):
    """takes a single tensor, and treats it as a list of that one tensor"""
    # The answer against itself: a wrong clipping fails the checks above, not this one.
    for max_norm in (5.0, 50.0):
        alone, listed = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
        alone.grad, listed.grad = torch.tensor([6.0, 8.0]), torch.tensor([6.0, 8.0])
        got = norm_of(answer(alone, max_norm))
        want = norm_of(answer([listed], max_norm))
        assert got == want and torch.equal(alone.grad, listed.grad), (
            f"a single tensor (gradient [6, 8], max_norm {max_norm:g}) should be clipped as the list of that one "
            "tensor is: put it in a list first")


@requirement("contract")
def test_takes_a_generator(answer):
    """takes a generator such as model.parameters(), which can be read only once, as it takes a list"""
    # The answer against itself: a wrong clipping fails the checks above, not this one.
    for seed in range(3):
        listed, generated = model_with_gradients(seed, scale=100.0), model_with_gradients(seed, scale=100.0)
        want = norm_of(answer(list(listed.parameters()), 0.1))
        got = norm_of(answer(generated.parameters(), 0.1))
        assert got == want and all(torch.equal(a, b) for a, b in zip(grads_of(generated), grads_of(listed))), (
            "called with model.parameters(), a generator that can be read only once, the gradients were not "
            "clipped as with a list of the same parameters: make a list of them (or of their gradients) first")


@requirement("contract")
def test_changes_nothing_but_the_gradients(answer):
    """leaves the parameters' values and the list it is given as they were"""
    model = model_with_gradients(1, scale=50.0)
    weights = [p.detach().clone() for p in model.parameters()]
    given_list = list(model.parameters())
    kept = list(given_list)
    answer(given_list, 0.1)
    assert len(given_list) == len(kept) and all(p is q for p, q in zip(given_list, kept)), \
        "the list of parameters given was changed: leave it as it is"
    assert all(torch.equal(p.detach(), w) for p, w in zip(model.parameters(), weights)), \
        "the parameters' values changed: clipping changes the gradients only, never the weights"


@requirement("contract")
def test_deterministic(answer):
    """gives the same gradients and norm for the same input, every time"""
    first, second = model_with_gradients(3, 20.0), model_with_gradients(3, 20.0)
    one = norm_of(answer(list(first.parameters()), 0.3))
    two = norm_of(answer(list(second.parameters()), 0.3))
    assert one == two and all(torch.equal(a, b) for a, b in zip(grads_of(first), grads_of(second))), \
        "two calls on the same gradients gave different results"


@requirement("validation")
@pytest.mark.parametrize("max_norm", [0.0, -1.0, math.nan, math.inf], ids=["0", "-1", "nan", "inf"])
def test_refuses_a_bad_max_norm(answer, max_norm):
    """raises ValueError for a max_norm that is not a finite number > 0"""
    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.tensor([1.0, 1.0])
    with pytest.raises(ValueError):
        answer([p], max_norm)


@requirement("validation")
def test_accepts_any_positive_max_norm(answer):
    """accepts any finite max_norm > 0, however small or large"""
    for max_norm in (1e-9, 0.5, 1.0, 1e6):
        p = torch.zeros(2, requires_grad=True)
        p.grad = torch.tensor([1.0, 1.0])
        answer([p], max_norm)
