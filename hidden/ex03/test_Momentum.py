"""Hidden checks of exercise 3's ``Momentum(params, lr, momentum=0.9, dampening=0.0, weight_decay=0.0,
nesterov=False)``: a ``torch.optim.Optimizer`` that trains a model to the same weights as ``torch.optim.SGD``."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrgrader.checks import derives_from, genuine, is_class, requirement

REQUIREMENTS = {
    "behaviour": ("trains a model to the same weights as torch.optim.SGD, with each parameter group's settings", 45),
    "behaviour_state": ('keeps each velocity in self.state[p]["momentum_buffer"], so that training resumes from '
                        "state_dict()", 25),
    "contract": ("is a torch.optim.Optimizer with its settings in param_groups, whose step() returns None and "
                 "leaves p.grad alone", 15),
    "validation": ("refuses the settings torch.optim.SGD refuses with ValueError", 15),
}


# A small classification problem: 64 random points in 8-D, 3 classes.
_generator = torch.Generator().manual_seed(3)
INPUTS = torch.randn(64, 8, generator=_generator)
LABELS = torch.randint(0, 3, (64,), generator=_generator)

SETTINGS = {
    "defaults": {"lr": 0.1},
    "dampening": {"lr": 0.1, "momentum": 0.8, "dampening": 0.5},
    "weight decay": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
    "nesterov": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
    "no momentum": {"lr": 0.3, "momentum": 0.0},
    "all at once": {"lr": 0.05, "momentum": 0.95, "dampening": 0.1, "weight_decay": 0.001},
}
REFERENCE_DEFAULTS = {"momentum": 0.9}  # Momentum's default momentum; torch.optim.SGD's is 0


def describe(settings):
    return ", ".join(f"{name} = {value:g}" for name, value in settings.items())


def make_model(dtype=torch.float32):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).to(dtype)


def loss_of(model):
    dtype = next(model.parameters()).dtype
    return torch.nn.functional.cross_entropy(model(INPUTS.to(dtype)), LABELS)


def train(optimizer_class, settings, steps, dtype=torch.float32, groups=None, set_to_none=True, frozen_for=0):
    """Train the small model full-batch; ``frozen_for`` steps leave the first layer's weight without a gradient."""
    model = make_model(dtype)
    if optimizer_class is torch.optim.SGD:
        settings = {**REFERENCE_DEFAULTS, **settings}
    optimizer = optimizer_class(model.parameters() if groups is None else groups(model), **settings)
    for step in range(steps):
        optimizer.zero_grad(set_to_none=set_to_none)
        loss_of(model).backward()
        if step < frozen_for:
            model[0].weight.grad = None
        optimizer.step()
    return model, optimizer


def assert_same_weights(model, reference, message, float32=True):
    tolerance = {"rtol": 1e-4, "atol": 1e-5} if float32 else {"rtol": 1e-9, "atol": 1e-12}
    for (name, weight), expected in zip(model.named_parameters(), reference.parameters()):
        weight = genuine(weight, torch.Tensor, f"parameter {name}")
        assert torch.isfinite(weight).all(), f"{message}: the weights blew up to inf or nan"
        assert torch.allclose(weight, expected, **tolerance), f"{message} (first in parameter {name})"


@requirement("contract")
def test_is_an_optimizer(answer):
    """is a subclass of torch.optim.Optimizer of its own, holding the parameters it is given"""
    assert is_class(answer) and derives_from(answer, torch.optim.Optimizer), \
        "Momentum must be a class that subclasses torch.optim.Optimizer"
    assert not derives_from(answer, torch.optim.SGD), "write the update yourself: do not subclass torch.optim.SGD"
    model = make_model()
    optimizer = answer(model.parameters(), lr=0.1)
    held = [weight for group in optimizer.param_groups for weight in group["params"]]
    assert len(held) == 4 and all(a is b for a, b in zip(held, model.parameters())), \
        "the optimizer's param_groups do not hold the parameters it was given: call super().__init__(params, defaults)"


@requirement("contract")
def test_keeps_its_settings_in_param_groups(answer):
    """keeps lr, momentum, dampening, weight_decay and nesterov in each parameter group, with the right defaults"""
    optimizer = answer(make_model().parameters(), lr=0.1)
    group = optimizer.param_groups[0]
    expected = {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
    missing = [key for key in expected if key not in group]
    assert not missing, \
        f"the parameter group has no entry {missing[0]!r}: pass every setting to super().__init__ in defaults"
    if type(group["nesterov"]) is not bool:
        raise AssertionError(f'group["nesterov"] should be a bool, not a {type(group["nesterov"]).__name__}')
    values = {key: group["nesterov"] if key == "nesterov" else genuine(group[key], float, f'group["{key}"]')
              for key in expected}
    wrong = [key for key, value in expected.items() if values[key] != value]
    assert not wrong, f"with only lr given, group[{wrong[0]!r}] should be its default, {expected[wrong[0]]}"


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_trains_like_sgd(answer, name):
    """trains a small network for 60 steps to the same weights as torch.optim.SGD"""
    settings = SETTINGS[name]
    model, _ = train(answer, settings, 60)
    reference, _ = train(torch.optim.SGD, settings, 60)
    assert_same_weights(model, reference, f"with {describe(settings)} the weights after 60 steps differ from SGD's")


@requirement("behaviour")
def test_trains_like_sgd_in_float64(answer):
    """trains a float64 network for 60 steps to the same weights as torch.optim.SGD"""
    settings = SETTINGS["all at once"]
    model, _ = train(answer, settings, 60, dtype=torch.float64)
    reference, _ = train(torch.optim.SGD, settings, 60, dtype=torch.float64)
    assert all(weight.dtype == torch.float64 for weight in model.parameters()), "float64 weights changed dtype"
    assert_same_weights(model, reference, "in float64 the weights after 60 steps differ from SGD's", float32=False)


def two_groups(model):
    return [{"params": model[0].parameters(), "lr": 0.03},
            {"params": model[2].parameters(), "momentum": 0.5, "weight_decay": 0.02, "nesterov": True}]


@requirement("behaviour")
def test_parameter_groups(answer):
    """uses each parameter group's own lr, momentum, weight decay and nesterov"""
    model, _ = train(answer, {"lr": 0.1}, 40, groups=two_groups)
    reference, _ = train(torch.optim.SGD, {"lr": 0.1}, 40, groups=two_groups)
    assert_same_weights(model, reference, "with two parameter groups of different settings the weights differ "
                                          "from SGD's: read the settings from each group, not from self.defaults")


@requirement("behaviour")
def test_step_with_a_closure(answer):
    """calls the closure once per step, returns its loss, and trains like SGD with it"""
    model, reference = make_model(), make_model()
    optimizer = answer(model.parameters(), lr=0.1, momentum=0.9)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
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
    assert_same_weights(model, reference, "trained with a closure the weights differ from SGD's")


@requirement("contract")
def test_step_without_a_closure_returns_none(answer):
    """returns None from step() without a closure"""
    model = make_model()
    optimizer = answer(model.parameters(), lr=0.1)
    loss_of(model).backward()
    assert optimizer.step() is None, "step() without a closure should return None"


@requirement("behaviour")
def test_skips_parameters_without_a_gradient(answer):
    """leaves a parameter whose grad is None untouched"""
    model = make_model()
    unused = torch.nn.Parameter(torch.ones(5))
    optimizer = answer([*model.parameters(), unused], lr=0.1, momentum=0.9, weight_decay=0.1)
    reference = make_model()
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    for _ in range(10):
        for opt, net in ((optimizer, model), (reference_optimizer, reference)):
            opt.zero_grad()
            loss_of(net).backward()
            opt.step()
    assert torch.equal(genuine(unused, torch.Tensor, "the unused parameter"), torch.ones(5)), \
        "a parameter without a gradient (grad is None) moved: skip it (weight decay included)"
    assert_same_weights(model, reference, "with an unused parameter in the group the others trained differently")


@requirement("behaviour")
def test_a_layer_that_starts_late(answer):
    """starts a parameter's velocity when it first gets a gradient (frozen for 10 steps, then trained)"""
    settings = {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}
    model, _ = train(answer, settings, 40, frozen_for=10)
    reference, _ = train(torch.optim.SGD, settings, 40, frozen_for=10)
    assert_same_weights(model, reference, "when a layer gets its first gradient only at step 11 the weights differ "
                                          "from SGD's: keep a velocity per parameter, started at its first gradient")


@requirement("behaviour_state")
def test_keeps_the_velocity_in_state(answer):
    """keeps each parameter's velocity in self.state[p]["momentum_buffer"], equal to SGD's"""
    settings = {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}
    model, optimizer = train(answer, settings, 5)
    reference, reference_optimizer = train(torch.optim.SGD, settings, 5)
    for (name, weight), expected in zip(model.named_parameters(), reference.parameters()):
        state = optimizer.state[weight]
        assert "momentum_buffer" in state, f'no velocity in self.state[p]["momentum_buffer"] for parameter {name}'
        expected_velocity = reference_optimizer.state[expected]["momentum_buffer"]
        velocity = genuine(state["momentum_buffer"], torch.Tensor, f'self.state[p]["momentum_buffer"] of {name}')
        assert torch.allclose(velocity, expected_velocity, rtol=1e-4, atol=1e-6), \
            f"after 5 steps the velocity of parameter {name} differs from SGD's"


@requirement("behaviour_state")
def test_first_velocity_is_the_gradient(answer):
    """starts the velocity at gradient + weight_decay * param, without dampening"""
    model = make_model()
    before = [weight.detach().clone() for weight in model.parameters()]
    optimizer = answer(model.parameters(), lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)
    loss_of(model).backward()
    gradients = [weight.grad.clone() for weight in model.parameters()]
    optimizer.step()
    for weight, start, gradient in zip(model.parameters(), before, gradients):
        velocity = optimizer.state[weight].get("momentum_buffer")
        assert velocity is not None, 'after one step there is no velocity in self.state[p]["momentum_buffer"]'
        velocity = genuine(velocity, torch.Tensor, 'self.state[p]["momentum_buffer"]')
        assert torch.allclose(velocity, gradient + 0.1 * start, rtol=1e-5, atol=1e-7), \
            "after the first step the velocity should be gradient + weight_decay * param: no dampening yet"


@requirement("behaviour_state")
def test_state_dict_round_trip(answer):
    """resumes identically after state_dict() and load_state_dict() into a new optimizer"""
    settings = {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}
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
                                              'keep the velocity in self.state[p]["momentum_buffer"]')


@requirement("behaviour")
def test_zero_grad_in_place(answer):
    """trains like SGD when gradients are zeroed in place (zero_grad(set_to_none=False))"""
    settings = {"lr": 0.1, "momentum": 0.9}
    model, optimizer = train(answer, settings, 30, set_to_none=False)
    reference, _ = train(torch.optim.SGD, settings, 30, set_to_none=False)
    assert_same_weights(model, reference, "with zero_grad(set_to_none=False) the weights differ from SGD's: "
                                          "does the velocity share memory with p.grad? Start it as a clone")
    optimizer.zero_grad()
    assert all(weight.grad is None or not genuine(weight.grad, torch.Tensor, "p.grad").any()
               for weight in model.parameters()), \
        "zero_grad() left nonzero gradients"


@requirement("contract")
def test_leaves_the_gradients_unchanged(answer):
    """does not change p.grad while stepping (weight decay included)"""
    model = make_model()
    optimizer = answer(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        loss_of(model).backward()
        gradients = [weight.grad.clone() for weight in model.parameters()]
        optimizer.step()
        for weight, gradient in zip(model.parameters(), gradients):
            assert torch.equal(genuine(weight.grad, torch.Tensor, "p.grad"), gradient), \
                "step() changed p.grad: add the weight decay to a new tensor (p.grad.add(...), not add_)"


@requirement("validation")
@pytest.mark.parametrize("settings", [{"lr": -0.1}, {"momentum": -0.5}, {"weight_decay": -0.01},
                                      {"nesterov": True, "momentum": 0.0}, {"nesterov": True, "dampening": 0.5}],
                         ids=["negative lr", "negative momentum", "negative weight decay", "nesterov without momentum",
                              "nesterov with dampening"])
def test_rejects_bad_settings(answer, settings):
    """raises ValueError for the settings torch.optim.SGD rejects"""
    with pytest.raises(ValueError):
        answer(make_model().parameters(), **{"lr": 0.1, **settings})


HESSIAN = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]], dtype=torch.float64)


def quadratic_run(optimizer_class, settings, start, steps=5):
    param = torch.nn.Parameter(start.clone())
    optimizer = optimizer_class([param], **settings)
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * param @ HESSIAN @ param - param.sum()).backward()
        optimizer.step()
    return param.detach()


@requirement("behaviour")
@settings(max_examples=40)  # each example builds two optimizers: keep the check well inside its 2 s
@given(lr=st.floats(0, 0.5), momentum=st.floats(0, 0.99), dampening=st.floats(0, 0.9),
       weight_decay=st.floats(0, 0.1), nesterov=st.booleans(),
       start=st.lists(st.floats(-10, 10), min_size=3, max_size=3))
def test_matches_sgd_for_any_settings(answer, lr, momentum, dampening, weight_decay, nesterov, start):
    """matches torch.optim.SGD for 5 steps on a quadratic with random settings"""
    if nesterov:
        momentum, dampening = 0.5 + momentum / 2, 0.0
    if momentum == 0:
        dampening = 0.0  # torch.optim.SGD ignores dampening without momentum; no check depends on that
    settings = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                "nesterov": nesterov}
    start = torch.tensor(start, dtype=torch.float64)
    result = genuine(quadratic_run(answer, settings, start), torch.Tensor, "the parameter")
    assert torch.allclose(result, quadratic_run(torch.optim.SGD, settings, start), rtol=1e-9, atol=1e-9), \
        "for some settings 5 steps on a quadratic end somewhere else than torch.optim.SGD's"


EDGES = {"momentum 1": {"lr": 0.01, "momentum": 1.0, "dampening": 0.5},
         "weight decay 1": {"lr": 0.1, "momentum": 0.9, "weight_decay": 1.0},
         "lr 0": {"lr": 0.0, "momentum": 0.9, "weight_decay": 0.1}}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(EDGES))
def test_matches_sgd_at_the_edges(answer, name):
    """matches torch.optim.SGD for 5 steps on a quadratic with a momentum of 1, a weight decay of 1 or lr = 0"""
    settings = EDGES[name]
    start = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    result = genuine(quadratic_run(answer, settings, start), torch.Tensor, "the parameter")
    assert torch.allclose(result, quadratic_run(torch.optim.SGD, settings, start), rtol=1e-9, atol=1e-9), \
        f"with {describe(settings)} 5 steps on a quadratic end somewhere else than torch.optim.SGD's"


def _warm_up():
    """One short run through everything the checks use, so that no check pays for first-time set-up."""
    model, optimizer = train(torch.optim.SGD, {"lr": 0.1}, 2)
    optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    optimizer.step(lambda: loss_of(model))


_warm_up()
