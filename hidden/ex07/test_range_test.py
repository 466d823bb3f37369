"""Hidden checks of exercise 7's ``range_test(model, loss_fn, loader, optimizer, start_lr, end_lr, steps, smoothing,
diverge_factor)``: Smith's range test, which must leave the model and the optimizer exactly as they were."""

import copy
import math

import numpy as np
import pytest
import torch

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("records exponentially spaced rates and the smoothed losses, and stops early as the text says", 45),
    "behaviour_restore": ("leaves the model and the optimizer exactly as they were, even after an error", 25),
    "contract": ("returns two lists of Python floats, the same curve for the same seed", 15),
    "validation": ("refuses settings out of range with ValueError", 15),
}


_generator = torch.Generator().manual_seed(7)
INPUTS = torch.randn(256, 4, generator=_generator)
TARGETS = (INPUTS @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(256, generator=_generator)).unsqueeze(1)


def loader(batch_size=32, shuffle=False):
    dataset = torch.utils.data.TensorDataset(INPUTS, TARGETS)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


mse = torch.nn.functional.mse_loss


def reference(model, loss_fn, batches, optimizer, start_lr, end_lr, steps, smoothing, diverge_factor):
    """The range test as the exercise states it, on copies of the model and the optimizer (copied together, so
    that the copy of the optimizer holds the copy's parameters, in the same groups)."""
    model, optimizer = copy.deepcopy((model, optimizer))
    model.train()
    lrs, curve, average, iterator = [], [], 0.0, iter(batches)
    for k in range(steps):
        lr = start_lr * (end_lr / start_lr) ** (k / (steps - 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        try:
            inputs, targets = next(iterator)
        except StopIteration:
            iterator = iter(batches)
            inputs, targets = next(iterator)
        loss = loss_fn(model(inputs), targets)
        if not math.isfinite(loss.item()):
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        average = (1 - smoothing) * average + smoothing * loss.item()
        lrs.append(lr)
        curve.append(average / (1 - (1 - smoothing) ** len(lrs)))
        if curve[-1] > diverge_factor * min(curve):
            break
    return lrs, curve


def run(answer, optimizer_class, steps=60, start_lr=1e-4, end_lr=10.0, smoothing=0.05, diverge_factor=4.0,
        batches=None, groups=False, **optimizer_settings):
    model = make_model()
    params = ([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.5}] if groups
              else model.parameters())
    optimizer = optimizer_class(params, lr=0.01, **optimizer_settings)
    batches = batches or loader()
    settings = {"start_lr": start_lr, "end_lr": end_lr, "steps": steps, "smoothing": smoothing,
                "diverge_factor": diverge_factor}
    expected = reference(model, mse, batches, optimizer, **settings)
    return curve(answer(model, mse, batches, optimizer, **settings)), expected


def curve(result):
    """The two lists a range test returned, as two arrays of numbers of the same length."""
    lrs, losses = genuine(result, (np.ndarray, np.ndarray), "the result (lrs, losses)")
    assert lrs.ndim == losses.ndim == 1 and len(lrs) == len(losses), \
        "return two flat lists of the same length: the rate and the smoothed loss of each recorded step"
    return lrs, losses


def assert_same_curve(ours, theirs, where):
    (lrs, losses), (expected_lrs, expected_losses) = ours, theirs
    assert len(lrs) == len(expected_lrs), \
        f"{where}: the test recorded {len(lrs)} steps, a correct one records {len(expected_lrs)}"
    assert np.allclose(lrs, expected_lrs, rtol=1e-9, atol=0), f"{where}: the rates differ from the expected ones"
    assert np.allclose(losses, expected_losses, rtol=1e-5, atol=1e-7), \
        f"{where}: the smoothed losses differ from the expected ones"


@requirement("behaviour")
def test_rates_rise_exponentially(answer):
    """uses start_lr * (end_lr / start_lr) ** (k / (steps - 1)) at step k, from start_lr to end_lr"""
    model = make_model()
    lrs, _ = curve(answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), start_lr=1e-6,
                          end_lr=1e-2, steps=41, diverge_factor=1e12))
    assert len(lrs) == 41, f"with nothing diverging the test should run all 41 steps, it recorded {len(lrs)}"
    assert math.isclose(lrs[0], 1e-6) and math.isclose(lrs[-1], 1e-2), "the rates should run from start_lr to end_lr"
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert all(math.isclose(r, 10 ** 0.1, rel_tol=1e-9) for r in ratios), \
        "each rate should be the same factor, (end_lr / start_lr) ** (1 / (steps - 1)), times the one before"


@requirement("contract")
def test_returns_two_lists_of_floats(answer):
    """returns a tuple of two lists of Python floats"""
    model = make_model()
    result = answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), steps=10)
    assert type(result) is tuple and len(result) == 2, \
        f"return the tuple (lrs, losses), not a {type(result).__name__}"
    for name, values in zip(("rates", "losses"), result):
        assert type(values) is list and values and all(type(v) is float for v in values), \
            f"return the {name} as a list of Python floats (loss.item() gives one; convert others with float())"
    assert len(result[0]) == len(result[1]), "the two lists should have the same length, one entry per step"


@pytest.mark.parametrize("name", ["SGD with momentum", "Adam", "two parameter groups",
                                  "a short loader that must restart"])
@requirement("behaviour")
def test_records_the_expected_curve(answer, name):
    """records the rates and smoothed losses of the range test as stated"""
    if name == "SGD with momentum":
        ours, theirs = run(answer, torch.optim.SGD, momentum=0.9)
    elif name == "Adam":
        ours, theirs = run(answer, torch.optim.Adam, start_lr=1e-5, end_lr=1.0, smoothing=0.1)
    elif name == "two parameter groups":
        ours, theirs = run(answer, torch.optim.SGD, steps=40, end_lr=1.0, groups=True, momentum=0.5)
    else:
        ours, theirs = run(answer, torch.optim.SGD, steps=30, end_lr=0.1, batches=loader(batch_size=100))
    assert_same_curve(ours, theirs, f"with {name}" + (" (set the rate of every group)" if "groups" in name else ""))


def scripted(values):
    """A loss function whose k-th call gives values[k] (with a graph to the outputs, whose gradients are zero)."""
    calls = []

    def loss_fn(outputs, targets):
        calls.append(1)
        return (outputs * 0.0).sum() + values[len(calls) - 1]

    return loss_fn


@requirement("behaviour")
def test_uses_the_documented_defaults(answer):
    """uses start_lr=1e-7, end_lr=10, steps=100, smoothing=0.05 and diverge_factor=4 when none are given"""
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    theirs = reference(model, mse, loader(), optimizer, start_lr=1e-7, end_lr=10.0, steps=100, smoothing=0.05,
                       diverge_factor=4.0)
    assert_same_curve(curve(answer(model, mse, loader(), optimizer)), theirs, "with the default settings")
    model = make_model()
    lrs, _ = curve(answer(model, scripted([1.0, 3.9, 4.2] + [1.0] * 7), loader(),
                          torch.optim.SGD(model.parameters(), lr=0.01), steps=10, smoothing=1.0))
    assert len(lrs) == 3, \
        f"with smoothing 1 and losses 1.0, 3.9, 4.2, ... the default diverge_factor 4 stops the test after the " \
        f"third step; it recorded {len(lrs)}"


@requirement("behaviour")
def test_stops_only_when_the_loss_exceeds_the_factor(answer):
    """records the step whose smoothed loss exceeds diverge_factor times the lowest, and stops after it"""
    model = make_model()
    lrs, losses = curve(answer(model, scripted([1.0, 2.0, 2.0, 2.5, 1.0, 1.0]), loader(),
                               torch.optim.SGD(model.parameters(), lr=0.01), steps=6, smoothing=1.0,
                               diverge_factor=2.0))
    assert np.array_equal(losses, [1.0, 2.0, 2.0, 2.5]), \
        "with smoothing 1 and diverge_factor 2, the losses 1.0, 2.0, 2.0, 2.5 should be recorded and the test stop " \
        "there: 2.0 only equals 2 x 1.0, 2.5 exceeds it (and is recorded)"


@requirement("behaviour_restore")
def test_restores_the_weights(answer):
    """leaves the model's weights exactly as they were"""
    model = make_model()
    before = copy.deepcopy(model.state_dict())
    answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), steps=50)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"the weights of {name} changed: load the saved state_dict() back"


@requirement("behaviour_restore")
def test_restores_the_optimizer(answer):
    """leaves the optimizer's state, step counts and learning rates exactly as they were"""
    model = make_model()
    optimizer = torch.optim.Adam([{"params": model[0].parameters(), "lr": 0.01},
                                  {"params": model[2].parameters(), "lr": 0.003}])
    for _ in range(3):
        optimizer.zero_grad()
        mse(model(INPUTS), TARGETS).backward()
        optimizer.step()
    before = copy.deepcopy(optimizer.state_dict())
    answer(model, mse, loader(), optimizer, steps=40)
    after = optimizer.state_dict()
    assert [g["lr"] for g in after["param_groups"]] == [0.01, 0.003], \
        "the learning rates of the parameter groups were not restored"
    for key, state in before["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(after["state"][key][name]), torch.as_tensor(value)), \
                f"the optimizer's {name} was not restored: load its saved state_dict() back"


def run_recording_modes(answer, training):
    """Run a range test on a model in training mode or not; the modes its forward passes saw."""
    modes = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x

    model = torch.nn.Sequential(make_model(), Recorder())
    model.train(training)
    answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), steps=10)
    return model, modes


@requirement("behaviour")
def test_trains_in_training_mode(answer):
    """trains in training mode, even a model handed over in eval mode"""
    _, modes = run_recording_modes(answer, training=False)
    assert modes and all(modes), "the test should train the model in training mode (model.train())"


@requirement("behaviour_restore")
def test_restores_the_mode(answer):
    """gives the model back in the mode it had, eval or training"""
    for training in (False, True):
        model, _ = run_recording_modes(answer, training)
        assert model.training is training and model[1].training is training, \
            f"the model was in {'training' if training else 'eval'} mode before the test, and should be after it"


@requirement("behaviour")
def test_stops_when_the_loss_blows_up(answer):
    """stops right after the smoothed loss passes diverge_factor times its lowest value"""
    (lrs, losses), theirs = run(answer, torch.optim.SGD, steps=100, end_lr=1e3, diverge_factor=3.0)
    assert len(lrs) < 100, "the loss blows up long before lr = 1000: the test should stop early"
    assert losses[-1] > 3.0 * min(losses), \
        "the last recorded smoothed loss should be the one that passed 3 x its lowest"
    assert all(loss <= 3.0 * min(losses[:k + 1]) for k, loss in enumerate(losses[:-1])), \
        "the test went on after the smoothed loss had passed diverge_factor times its lowest value"
    assert_same_curve((lrs, losses), theirs, "with a loss that blows up")


@requirement("behaviour")
@pytest.mark.parametrize("poison", [math.nan, math.inf], ids=["nan", "inf"])
def test_stops_at_a_non_finite_loss(answer, poison):
    """stops at a loss that is not finite, without recording it"""
    class Poisoned(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.calls = make_model(), 0

        def forward(self, x):
            self.calls += 1
            return self.inner(x) * (poison if self.calls == 8 else 1.0)

    model = Poisoned()
    lrs, losses = curve(answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), steps=50,
                               diverge_factor=1e12))
    assert len(lrs) == 7, \
        f"the 8th loss is {poison}: the test should stop there with 7 steps recorded, it recorded {len(losses)}"
    assert np.isfinite(losses).all(), "a non-finite loss must not be recorded"


class LossFailure(Exception):
    """What the failing loss below raises, so that no other error can pass for it."""


@requirement("behaviour_restore")
def test_restores_even_after_an_error(answer):
    """puts the model back even when the loss function raises in the middle of the test"""
    calls = []

    def failing_loss(outputs, targets):
        calls.append(1)
        if len(calls) == 5:
            raise LossFailure("a loss that fails at its fifth call")
        return mse(outputs, targets)

    model = make_model()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(LossFailure):
        answer(model, failing_loss, loader(), torch.optim.SGD(model.parameters(), lr=0.01), steps=20)
    assert len(calls) == 5, "the error of the loss function should reach the caller: do not catch it"
    assert all(torch.equal(value, before[name]) for name, value in model.state_dict().items()), \
        "after an error inside the test the weights were not restored: restore them in a finally block"


@requirement("contract")
def test_same_seed_same_curve(answer):
    """gives the same curve twice with the same seed (a shuffled loader)"""
    curves = []
    for _ in range(2):
        model = make_model()
        torch.manual_seed(3)
        curves.append(curve(answer(model, mse, loader(shuffle=True), torch.optim.SGD(model.parameters(), lr=0.01),
                                   steps=30)))
    assert all(np.array_equal(first, second) for first, second in zip(*curves)), \
        "two runs from the same seed gave different curves"


BAD = {"start above end": {"start_lr": 1.0, "end_lr": 0.1}, "start equal to end": {"start_lr": 0.1, "end_lr": 0.1},
       "zero start": {"start_lr": 0.0}, "one step": {"steps": 1},
       "zero smoothing": {"smoothing": 0.0}, "smoothing above one": {"smoothing": 1.5},
       "factor of 1": {"diverge_factor": 1.0}}


@requirement("validation")
def test_accepts_the_boundary_settings(answer):
    """accepts the smallest valid settings: steps=2, smoothing=1 and a diverge_factor just above 1"""
    model = make_model()
    lrs, _ = curve(answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), start_lr=1e-4,
                          end_lr=1e-3, steps=2, smoothing=1.0, diverge_factor=1.5))
    assert np.allclose(lrs, [1e-4, 1e-3], rtol=1e-12, atol=0), \
        "a test of 2 steps from 1e-4 to 1e-3 should use the rates 1e-4 and 1e-3"


@pytest.mark.parametrize("bad", list(BAD))
@requirement("validation")
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for settings out of range"""
    model = make_model()
    with pytest.raises(ValueError):
        answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), **BAD[bad])


def _warm_up():
    """Pay here, outside the timed checks, for what the first optimizer step and the first batch import."""
    model = make_model()
    for optimizer_class in (torch.optim.SGD, torch.optim.Adam):
        optimizer = optimizer_class(model.parameters(), lr=0.01)
        for inputs, targets in loader(batch_size=128):
            optimizer.zero_grad()
            mse(model(inputs), targets).backward()
            optimizer.step()
        optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))


_warm_up()
