"""Hidden checks of exercise 7's ``range_test(model, loss_fn, loader, optimizer, start_lr, end_lr, steps, smoothing,
diverge_factor)``: Smith's range test, which must leave the model and the optimizer exactly as they were."""

import copy
import math

import pytest
import torch


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
    """The range test as the exercise states it, on copies of the model and the optimizer."""
    saved = copy.deepcopy(optimizer.state_dict())
    model = copy.deepcopy(model)
    optimizer = type(optimizer)(model.parameters(), lr=1.0)
    optimizer.load_state_dict(saved)
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
        batches=None, **optimizer_settings):
    model = make_model()
    optimizer = optimizer_class(model.parameters(), lr=0.01, **optimizer_settings)
    batches = batches or loader()
    settings = {"start_lr": start_lr, "end_lr": end_lr, "steps": steps, "smoothing": smoothing,
                "diverge_factor": diverge_factor}
    expected = reference(model, mse, batches, optimizer, **settings)
    return answer(model, mse, batches, optimizer, **settings), expected


def assert_same_curve(ours, theirs, where):
    (lrs, losses), (expected_lrs, expected_losses) = ours, theirs
    assert len(lrs) == len(losses), f"{where}: the two lists should have the same length"
    assert len(lrs) == len(expected_lrs), \
        f"{where}: the test recorded {len(lrs)} steps, a correct one records {len(expected_lrs)}"
    assert lrs == pytest.approx(expected_lrs, rel=1e-9), f"{where}: the rates differ from the expected ones"
    assert losses == pytest.approx(expected_losses, rel=1e-5, abs=1e-7), \
        f"{where}: the smoothed losses differ from the expected ones"


def test_rates_rise_exponentially(answer):
    """uses start_lr * (end_lr / start_lr) ** (k / (steps - 1)) at step k, from start_lr to end_lr"""
    model = make_model()
    lrs, _ = answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), start_lr=1e-6,
                    end_lr=1e-2, steps=41, diverge_factor=1e12)
    assert len(lrs) == 41, f"with nothing diverging the test should run all 41 steps, it recorded {len(lrs)}"
    assert math.isclose(lrs[0], 1e-6) and math.isclose(lrs[-1], 1e-2), "the rates should run from start_lr to end_lr"
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert all(math.isclose(r, 10 ** 0.1, rel_tol=1e-9) for r in ratios), \
        "each rate should be the same factor, (end_lr / start_lr) ** (1 / (steps - 1)), times the one before"


def test_returns_two_lists_of_floats(answer):
    """returns two lists of floats"""
    (lrs, losses), _ = run(answer, torch.optim.SGD, steps=10)
    for name, values in (("rates", lrs), ("losses", losses)):
        assert isinstance(values, list) and all(isinstance(v, float) for v in values), \
            f"return the {name} as a list of floats (loss.item() gives a float)"


@pytest.mark.parametrize("name", ["SGD with momentum", "Adam", "a short loader that must restart"])
def test_records_the_expected_curve(answer, name):
    """records the rates and smoothed losses of the range test as stated"""
    if name == "SGD with momentum":
        ours, theirs = run(answer, torch.optim.SGD, momentum=0.9)
    elif name == "Adam":
        ours, theirs = run(answer, torch.optim.Adam, start_lr=1e-5, end_lr=1.0, smoothing=0.1)
    else:
        ours, theirs = run(answer, torch.optim.SGD, steps=30, end_lr=0.1, batches=loader(batch_size=100))
    assert_same_curve(ours, theirs, f"with {name}")


def test_restores_the_weights(answer):
    """leaves the model's weights exactly as they were"""
    model = make_model()
    before = copy.deepcopy(model.state_dict())
    answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), steps=50)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"the weights of {name} changed: load the saved state_dict() back"


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


def test_trains_in_training_mode_and_restores_the_mode(answer):
    """trains in training mode, and gives the model back in the mode it had"""
    modes = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x

    model = torch.nn.Sequential(make_model(), Recorder())
    model.eval()
    answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), steps=10)
    assert modes and all(modes), "the test should train the model in training mode (model.train())"
    assert not model.training and not model[1].training, \
        "the model was in eval mode before the test, and should be after it"


def test_stops_when_the_loss_blows_up(answer):
    """stops right after the smoothed loss passes diverge_factor times its lowest value"""
    (lrs, losses), theirs = run(answer, torch.optim.SGD, steps=100, end_lr=1e3, diverge_factor=3.0)
    assert len(lrs) < 100, "the loss blows up long before lr = 1000: the test should stop early"
    assert losses[-1] > 3.0 * min(losses), "the last recorded smoothed loss should be the one that passed 3 x its lowest"
    assert all(loss <= 3.0 * min(losses[:k + 1]) for k, loss in enumerate(losses[:-1])), \
        "the test went on after the smoothed loss had passed diverge_factor times its lowest value"
    assert_same_curve((lrs, losses), theirs, "with a loss that blows up")


def test_stops_at_a_non_finite_loss(answer):
    """stops at a loss that is not finite, without recording it or stepping"""
    class Poisoned(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.calls = make_model(), 0

        def forward(self, x):
            self.calls += 1
            return self.inner(x) * (math.nan if self.calls == 8 else 1.0)

    model = Poisoned()
    lrs, losses = answer(model, mse, loader(), torch.optim.SGD(model.parameters(), lr=0.01), steps=50,
                         diverge_factor=1e12)
    assert len(lrs) == len(losses) == 7, \
        f"the 8th loss is nan: the test should stop there with 7 steps recorded, it recorded {len(losses)}"
    assert all(math.isfinite(loss) for loss in losses), "a non-finite loss must not be recorded"


class LossFailure(Exception):
    """What the failing loss below raises, so that no other error can pass for it."""


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


def test_same_seed_same_curve(answer):
    """gives the same curve twice with the same seed (a shuffled loader)"""
    curves = []
    for _ in range(2):
        model = make_model()
        torch.manual_seed(3)
        curves.append(answer(model, mse, loader(shuffle=True), torch.optim.SGD(model.parameters(), lr=0.01), steps=30))
    assert curves[0] == curves[1], "two runs from the same seed gave different curves"


BAD = {"start above end": {"start_lr": 1.0, "end_lr": 0.1}, "zero start": {"start_lr": 0.0},
       "one step": {"steps": 1}, "zero smoothing": {"smoothing": 0.0}, "factor of 1": {"diverge_factor": 1.0}}


@pytest.mark.parametrize("bad", list(BAD))
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
