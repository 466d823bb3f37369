"""lrcourse.finder: the range test leaves no trace, and each rule reads the rate it promises off a known curve."""

import math

import numpy as np
import pytest
import torch

from lrcourse import data, finder, models


@pytest.fixture(scope="module")
def cancer():
    return data.load("breast_cancer", device="cpu")


def trained_a_little(cancer):
    torch.manual_seed(0)
    model = models.mlp(cancer.num_features, 2, hidden=(8,))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(cancer.x_train), cancer.y_train).backward()
        optimizer.step()
    return model, optimizer


def test_the_rate_rises_exponentially_from_start_to_end(cancer):
    model = models.linear(cancer.num_features, 2)
    test = finder.range_test(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), start_lr=1e-5,
                             end_lr=1e-1, steps=50, diverge_factor=1e9)
    assert len(test.lrs) == len(test.losses) == len(test.smoothed) == 50
    assert math.isclose(test.lrs[0], 1e-5) and math.isclose(test.lrs[-1], 1e-1)
    assert np.allclose(np.diff(np.log(test.lrs)), np.log(1e4) / 49)
    assert test.stop_reason == "reached end_lr = 0.1"


def test_model_optimizer_and_mode_are_restored(cancer):
    model, optimizer = trained_a_little(cancer)
    model.eval()
    weights = {name: value.clone() for name, value in model.state_dict().items()}
    moments = [state["exp_avg"].clone() for state in optimizer.state.values()]
    finder.range_test(model, cancer, optimizer, steps=60)
    assert not model.training, "the model was in eval mode before the test and must be after"
    assert all(torch.equal(value, weights[name]) for name, value in model.state_dict().items())
    assert all(torch.equal(state["exp_avg"], moment) for state, moment in zip(optimizer.state.values(), moments))
    assert all(group["lr"] == 0.01 for group in optimizer.param_groups)
    assert all(state["step"] == 3 for state in optimizer.state.values())


def test_a_blown_up_loss_stops_the_test_early(cancer):
    model = models.linear(cancer.num_features, 2)
    test = finder.range_test(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), start_lr=1e-3,
                             end_lr=1e6, steps=200)
    assert len(test.lrs) < 200 and test.stop_reason.startswith(("the smoothed loss passed", "the loss became"))
    assert np.isfinite(test.losses).all()
    assert test.smoothed[-1] > 4 * test.smoothed.min() or "became" in test.stop_reason


def test_a_non_finite_loss_stops_the_test_and_is_not_recorded(cancer):
    class BlowsUp(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(cancer.num_features, 2)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return self.linear(x) * (math.inf if self.calls == 7 else 1.0)

    model = BlowsUp()
    test = finder.range_test(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), steps=50,
                             diverge_factor=1e9)
    assert len(test.losses) == 6 and "became" in test.stop_reason


def test_the_same_seed_gives_the_same_curve(cancer):
    def curve(seed):
        torch.manual_seed(0)
        model = models.linear(cancer.num_features, 2)
        return finder.range_test(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), steps=40,
                                 seed=seed).losses

    assert np.array_equal(curve(1), curve(1)) and not np.array_equal(curve(1), curve(2))


def test_the_smoothed_curve_is_a_bias_corrected_average(cancer):
    model = models.linear(cancer.num_features, 2)
    test = finder.range_test(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), steps=30, smoothing=0.2,
                             diverge_factor=1e9)
    average = 0.0
    for step, loss in enumerate(test.losses):
        average = 0.8 * average + 0.2 * loss
        assert math.isclose(test.smoothed[step], average / (1 - 0.8 ** (step + 1)), rel_tol=1e-12)
    assert math.isclose(test.smoothed[0], test.losses[0])


def synthetic(losses, start=1e-6, end=1.0):
    lrs = np.geomspace(start, end, len(losses))
    return finder.RangeTest(lrs, np.asarray(losses), np.asarray(losses), "synthetic")


def test_rules_on_a_curve_with_known_answers():
    """A loss flat at 2, falling along a cosine between 1e-4 and 1e-2 (fastest at 1e-3), lowest at 1e-2, then up."""
    log_lrs = np.linspace(-6, 0, 121)
    falling = np.clip((log_lrs + 4) / 2, 0, 1)
    losses = 1 + np.cos(np.pi * falling) + np.where(log_lrs > -2, 10 * (log_lrs + 2) ** 2, 0)
    test = synthetic(losses)
    assert math.isclose(finder.steepest(test), 1e-3, rel_tol=0.13)
    assert math.isclose(finder.minimum_over_ten(test), 1e-3, rel_tol=0.13)
    assert math.isclose(finder.valley(test), 1e-3, rel_tol=0.13)
    # the course's rule: the middle (in log scale) of 1e-3 and the rate where the loss has fallen 80% of the
    # way from 2 to 0, where 1 + cos(pi * falling) = 0.4
    at_80_percent = 10 ** (-4 + 2 * math.acos(-0.6) / math.pi)
    assert math.isclose(finder.course_rule(test), math.sqrt(1e-3 * at_80_percent), rel_tol=0.13)


def test_valley_picks_the_middle_of_the_longest_descent():
    losses = [5, 4, 6, 6, 6, 6, 5.5, 5, 4.5, 4, 3, 2, 1, 7]  # a short drop, then seven falling steps to step 12
    test = synthetic(losses)
    assert finder.valley(test) == test.lrs[12 - 8 // 2], "eight falling values (6 down to 1) end at step 12"


@pytest.mark.parametrize("kwargs, message", [({"start_lr": 1.0, "end_lr": 0.1}, "start_lr < end_lr"),
                                             ({"steps": 1}, "steps"), ({"smoothing": 0.0}, "smoothing"),
                                             ({"diverge_factor": 1.0}, "diverge_factor"),
                                             ({"start_lr": -1.0}, "start_lr")])
def test_bad_settings_are_named(cancer, kwargs, message):
    model = models.linear(cancer.num_features, 2)
    with pytest.raises(ValueError, match=message):
        finder.range_test(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_a_curve_too_short_for_a_rule_is_refused():
    with pytest.raises(ValueError, match="too few"):
        finder.steepest(synthetic([3.0, 2.0, 1.0, 5.0, 9.0]))
