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


def synthetic(losses, start=1e-6, end=1.0, steps=None):
    """A range test whose smoothed curve is ``losses``, at rates evenly spaced on a log axis; ``steps`` (the
    planned length, whose first tenth the rules trim) defaults to the length of the curve."""
    lrs = np.geomspace(start, end, len(losses))
    return finder.RangeTest(lrs, np.asarray(losses, dtype=float), np.asarray(losses, dtype=float), "synthetic",
                            steps or len(losses))


def fastai_valley(lrs, losses):
    """fastai's ``valley`` (fastai/callback/schedule.py), transcribed loop for loop."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return lrs[max_start + int(sections) + int(sections / 2)]


# A curve on 121 rates from 1e-6 to 1, a twentieth of a decade apart: flat at 4 up to 1e-5 (index 20), then falling
# by 0.01 a step to 1e-4 (index 40), by 1.0 in the one step after it (the steepest), by 0.01 a step again to its
# lowest value at 1e-2 (index 80), then rising steeply.
KNOWN_LOG_LRS = np.linspace(-6, 0, 121)
KNOWN = np.concatenate([np.full(21, 4.0), 4.0 - 0.01 * np.arange(1, 21), 2.8 - 0.01 * np.arange(40),
                        2.4 + 0.5 * np.arange(1, 41)])


def test_rules_read_exact_values_off_a_known_curve():
    assert len(KNOWN) == 121 and int(np.argmin(KNOWN)) == 80
    test = synthetic(KNOWN)
    assert np.allclose(np.log10(test.lrs), KNOWN_LOG_LRS)
    # steep: forward differences against log(lr); the steepest segment starts at 1e-4
    assert math.isclose(finder.steepest(test), 1e-4, rel_tol=1e-9)
    # minimum: the rate of the lowest value, 1e-2, and a tenth of it
    assert math.isclose(finder.lowest(test), 1e-2, rel_tol=1e-9)
    assert math.isclose(finder.minimum_over_ten(test), 1e-3, rel_tol=1e-9)
    # valley: the descent runs from the last flat point (index 20) to the lowest (index 80), 61 values; fastai
    # counts it as starting 61 steps before its end, at index 19, and picks 19 + int(61 / 3) + int(61 / 6) = 49
    assert math.isclose(finder.valley(test), 10 ** KNOWN_LOG_LRS[49], rel_tol=1e-9)
    assert finder.valley(test) == fastai_valley(test.lrs[12:-5], KNOWN[12:-5])
    # the course's scaled rules
    assert math.isclose(finder.RULES["minimum / 5"](test), 2e-3, rel_tol=1e-9)
    assert math.isclose(finder.RULES["minimum / 15"](test), 1e-2 / 15, rel_tol=1e-9)
    assert math.isclose(finder.RULES["minimum / 1.5"](test), 1e-2 / 1.5, rel_tol=1e-9)
    assert math.isclose(finder.RULES["valley x 2"](test), 2 * 10 ** KNOWN_LOG_LRS[49], rel_tol=1e-9)
    assert math.isclose(finder.RULES["valley x 5"](test), 5 * 10 ** KNOWN_LOG_LRS[49], rel_tol=1e-9)


def test_rules_read_the_curve_trimmed_as_fastai_trims_it():
    """fastai's lr_find drops the first num_it // 10 and the last 5 points before any rule reads the curve."""
    # the lowest value lies in the first tenth of the planned steps, and the steepest drop in the last five points
    losses = np.concatenate([[0.1], np.linspace(3.0, 2.0, 94), [1.9, 0.5, 0.4, 0.3, 0.2]])
    assert len(losses) == 100
    test = synthetic(losses)
    assert math.isclose(finder.minimum_over_ten(test), test.lrs[94] / 10, rel_tol=1e-12), "lowest after trimming"
    assert finder.steepest(test) < test.lrs[94], "the drop in the last five points is not read"
    # the trimmed start follows the planned steps, not the recorded ones: a test stopped early keeps its plan
    falling = np.r_[np.linspace(3.0, 2.0, 55), 2.5, 3.0, 3.5, 4.0, 4.5]  # the rise lies in the last five points
    stopped = finder.RangeTest(test.lrs[:60], falling, falling, "stopped", steps=300)
    assert math.isclose(finder.lowest(stopped), stopped.lrs[54], rel_tol=1e-12)
    # the 25 values read (30 to 54) all fall; fastai's descent "starts" one before them, at 29
    assert finder.valley(stopped) == stopped.lrs[29 + int(25 / 3) + int(25 / 3 / 2)]
    assert finder.valley(stopped) == fastai_valley(stopped.lrs[30:55], falling[30:55])


@pytest.mark.parametrize("seed", range(5))
def test_valley_is_fastais_algorithm(seed):
    rng = np.random.default_rng(seed)
    losses = 2 + np.cumsum(rng.normal(-0.02, 0.1, 100))
    test = synthetic(losses)
    assert finder.valley(test) == fastai_valley(test.lrs[10:-5], losses[10:-5])


def test_valley_picks_the_index_fastai_picks():
    # 20 planned steps: the rules read positions 2 to 14
    losses = [9, 9, 5, 4, 6, 6, 6, 6, 5.5, 5, 4.5, 4, 3, 2, 1, 0, 0, 0, 0, 0]
    test = synthetic(losses)
    # the longest falling run read is 6, 5.5, 5, 4.5, 4, 3, 2, 1 (8 values, ending at position 14); fastai counts
    # back 8 steps from its end, to position 6, and goes int(8 / 3) + int(8 / 3 / 2) = 3 further
    assert finder.valley(test) == test.lrs[9]
    assert finder.valley(test) == fastai_valley(test.lrs[2:-5], losses[2:-5])


def test_loss_rose_and_the_rules_that_read_the_minimum_refuse_without_it():
    still_falling = synthetic(np.linspace(3.0, 1.0, 100))
    assert not still_falling.loss_rose
    for rule in ("minimum / 10", "minimum", "minimum / 5", "minimum / 15", "minimum / 1.5", "course rule"):
        with pytest.raises(ValueError, match="without the loss rising"):
            finder.RULES[rule](still_falling)
    assert finder.valley(still_falling) > 0 and finder.steepest(still_falling) > 0, "valley and steep still read it"
    # a rise of 10% above the lowest value, after it, counts; 9% does not; a higher start before it does not
    for rise, rose in ((1.11, True), (1.09, False)):
        assert synthetic(np.r_[np.linspace(3.0, 1.0, 90), np.full(10, rise)]).loss_rose is rose
    assert synthetic(np.linspace(30.0, 1.0, 100)).loss_rose is False


def test_rule_for_picks_by_optimizer_family_batch_size_and_schedule():
    params = torch.nn.Linear(2, 2).parameters
    sgd, momentum = torch.optim.SGD(params(), lr=0.1), torch.optim.SGD(params(), lr=0.1, momentum=0.9)
    for optimizer in (sgd, momentum):
        assert finder.rule_for(optimizer, 64) == finder.rule_for(optimizer, 32) == "minimum / 5"
        assert finder.rule_for(optimizer, 16) == "minimum / 15"
        assert finder.rule_for(optimizer, 64, "one-cycle") == "minimum / 1.5"
        assert finder.rule_for(optimizer, 8, "one-cycle") == "minimum / 10"
    for optimizer in (torch.optim.Adam(params()), torch.optim.AdamW(params()), torch.optim.RMSprop(params())):
        for batch_size in (8, 64, 512):
            assert finder.rule_for(optimizer, batch_size) == "valley x 2"
            assert finder.rule_for(optimizer, batch_size, "one-cycle") == "valley x 5"
    assert all(finder.rule_for(o, b, s) in finder.RULES for o in (sgd, momentum) for b in (8, 64)
               for s in finder.SCHEDULES)


@pytest.mark.parametrize("args, error, message", [((object(), 64), TypeError, "torch.optim.Optimizer"),
                                                  (("sgd", 64), TypeError, "torch.optim.Optimizer"),
                                                  ((None, 0), ValueError, "batch_size"),
                                                  ((None, 3.5), ValueError, "batch_size"),
                                                  ((None, True), ValueError, "batch_size"),
                                                  ((None, 64, "cosine"), ValueError, "schedule")])
def test_rule_for_names_bad_input(args, error, message):
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    args = (optimizer if args[0] is None else args[0], *args[1:])
    with pytest.raises(error, match=message):
        finder.rule_for(*args)


def test_recommend_uses_rule_fors_rule_and_leaves_the_model_untouched(cancer):
    model, optimizer = trained_a_little(cancer)
    weights = {name: value.clone() for name, value in model.state_dict().items()}
    moments = [state["exp_avg"].clone() for state in optimizer.state.values()]
    for schedule in finder.SCHEDULES:
        advice = finder.recommend(model, cancer, optimizer, batch_size=32, seed=3, schedule=schedule, progress=False)
        assert isinstance(advice, finder.Recommendation)
        assert advice.rule == finder.rule_for(optimizer, 32, schedule) == ("valley x 2" if schedule == "constant"
                                                                           else "valley x 5")
        assert advice.lr == finder.RULES[advice.rule](advice.test)
        same = finder.range_test(model, cancer, optimizer, batch_size=32, seed=3, progress=False)
        assert np.array_equal(advice.test.losses, same.losses), "the test is the range test of that seed and batch"
    assert all(torch.equal(value, weights[name]) for name, value in model.state_dict().items())
    assert all(torch.equal(state["exp_avg"], moment) for state, moment in zip(optimizer.state.values(), moments))
    assert all(group["lr"] == 0.01 for group in optimizer.param_groups)


def test_recommend_widens_the_range_once_when_the_loss_never_rose(cancer):
    torch.manual_seed(0)
    model = models.mlp(cancer.num_features, 2, hidden=(16,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    first = finder.range_test(model, cancer, optimizer, start_lr=1e-3, end_lr=1e-1, steps=40, progress=False)
    assert not first.loss_rose, "rates up to 0.1 are too small to blow up this MLP"
    advice = finder.recommend(model, cancer, optimizer, start_lr=1e-3, end_lr=1e-1, steps=40, progress=False)
    assert advice.rule == "minimum / 5"
    # two decades more at the same growth per step: 40 + round(39 * 2 / 2) steps, up to 10
    assert advice.test.steps == 79 and math.isclose(advice.test.lrs[0], 1e-3)
    assert math.isclose(advice.test.lrs[1] / advice.test.lrs[0], first.lrs[1] / first.lrs[0])
    assert advice.test.loss_rose and advice.lr == finder.RULES["minimum / 5"](advice.test)


def test_recommend_refuses_a_curve_it_cannot_read(cancer):
    torch.manual_seed(0)
    model = models.linear(cancer.num_features, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="without the loss rising"):
        finder.recommend(model, cancer, optimizer, start_lr=1e-7, end_lr=1e-6, steps=30, progress=False)


@pytest.mark.parametrize("kwargs, message", [({"batch_size": 1}, "batch_size"), ({"steps": 1}, "steps"),
                                             ({"schedule": "constant rate"}, "schedule"),
                                             ({"end_lr": -1.0}, "end_lr")])
def test_recommend_names_bad_input(cancer, kwargs, message):
    model = models.linear(cancer.num_features, 2)
    with pytest.raises(ValueError, match=message):
        finder.recommend(model, cancer, torch.optim.Adam(model.parameters()), progress=False, **kwargs)


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
