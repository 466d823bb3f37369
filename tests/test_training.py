"""lrcourse.training: the one training loop and the one sweep every chapter uses."""

import functools
import math

import numpy as np
import pytest
import torch

from lrcourse import data, models, results, sweeps, training


@pytest.fixture(scope="module")
def diabetes():
    return data.load("diabetes", device="cpu")


@pytest.fixture(scope="module")
def cancer():
    return data.load("breast_cancer", device="cpu")


def test_full_batch_training_is_gradient_descent(diabetes):
    """On linear least squares, train() takes exactly the steps w <- w - lr * grad, computed here in float64."""
    torch.manual_seed(0)
    model = models.linear(diabetes.num_features, 1)
    w = model.weight.detach().double().numpy().ravel().copy()
    b = model.bias.detach().double().item()
    x, y = diabetes.x_train.double().numpy(), diabetes.y_train.double().numpy()
    lr, steps = 0.1, 50
    for _ in range(steps):
        residual = x @ w + b - y
        w, b = w - lr * 2 * x.T @ residual / len(y), b - lr * 2 * residual.mean()
    history = training.train(model, diabetes, torch.optim.SGD(model.parameters(), lr=lr), epochs=steps)
    assert len(history.loss) == steps and len(history.train_loss) == steps
    assert np.allclose(model.weight.detach().double().numpy().ravel(), w, atol=1e-5)
    assert math.isclose(model.bias.item(), b, abs_tol=1e-5)


def test_minibatches_cover_the_epoch_and_keep_the_last_partial_batch(cancer):
    model = models.linear(cancer.num_features, 2)
    history = training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=0.01), epochs=3, batch_size=100)
    assert len(cancer.x_train) == 341 and len(history.loss) == 3 * 4
    assert history.lr == [0.01] * 12
    assert len(history.accuracy) == 12 and all(0 <= accuracy <= 1 for accuracy in history.accuracy)
    assert len(history.val_loss) == len(history.val_accuracy) == 3
    assert all(0 <= accuracy <= 1 for accuracy in history.val_accuracy)
    assert history.val_loss[-1] == training.evaluate(model, cancer)[0], "judged on the validation split"


def test_the_same_seed_gives_the_same_run(cancer):
    def run(seed):
        torch.manual_seed(0)
        model = models.mlp(cancer.num_features, 2, hidden=(8,))
        return training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
                              batch_size=32, seed=seed).loss

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_a_run_whose_loss_explodes_but_stays_finite_has_diverged(diabetes):
    """Past 1000 times its first loss a run has left every region where training makes progress."""
    torch.manual_seed(0)
    model = models.linear(diabetes.num_features, 1)
    history = training.train(model, diabetes, torch.optim.SGD(model.parameters(), lr=3.0), epochs=60,
                             verbose=False)
    assert history.diverged and "times its first value" in history.stop_reason
    assert all(math.isfinite(value) and value <= 1e3 * max(history.loss[0], 1) for value in history.loss)
    assert len(history.loss) < 60


def test_a_diverging_run_stops_and_says_so(diabetes, capsys):
    model = models.linear(diabetes.num_features, 1)
    history = training.train(model, diabetes, torch.optim.SGD(model.parameters(), lr=100.0), epochs=500,
                             label="too fast")
    assert history.diverged and history.final_loss == math.inf
    assert "became" in history.stop_reason and len(history.loss) < 500
    assert all(math.isfinite(value) for value in history.loss)
    assert capsys.readouterr().out.startswith("too fast stopped early: the training loss became")


@pytest.mark.parametrize("lr", [float("nan"), float("inf")])
def test_a_non_finite_learning_rate_is_refused(diabetes, lr):
    model = models.linear(diabetes.num_features, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.param_groups[0]["lr"] = lr
    with pytest.raises(ValueError, match="lr must be a finite number"):
        training.train(model, diabetes, optimizer)


@pytest.mark.parametrize("kwargs, argument", [({"epochs": 0}, "epochs"), ({"epochs": 1.5}, "epochs"),
                                              ({"batch_size": 0}, "batch_size")])
def test_bad_loop_settings_are_named(diabetes, kwargs, argument):
    model = models.linear(diabetes.num_features, 1)
    with pytest.raises(ValueError, match=argument):
        training.train(model, diabetes, torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_a_model_of_the_wrong_width_is_refused_with_its_shape(cancer):
    model = models.linear(cancer.num_features, 3)
    with pytest.raises(ValueError, match=r"shape \(341, 3\).*\(341, 2\)"):
        training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1))


def test_no_progress_bar_under_nbgrader(cancer, capsys, monkeypatch):
    """nbgrader scores a cell with anything on stderr 0, and a progress bar writes there."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert not training.show_progress(None)
    model = models.linear(cancer.num_features, 2)
    training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2)
    sweeps.sweep(lambda: models.linear(cancer.num_features, 2), cancer, [0.1], epochs=2)
    assert capsys.readouterr().err == ""


def test_progress_bars_are_on_by_default_and_can_be_silenced(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("LRCOURSE_PROGRESS", raising=False)
    assert training.show_progress(None)
    monkeypatch.setenv("LRCOURSE_PROGRESS", "0")
    assert not training.show_progress(None) and training.show_progress(True)


def test_a_sweep_trains_each_rate_from_the_same_start(cancer):
    result = sweeps.sweep(lambda: models.linear(cancer.num_features, 2), cancer, [0.01, 0.1, 1.0],
                            seeds=(0, 1), epochs=20, progress=False)
    assert result.final_losses().shape == (2, 3)
    for row in result.histories:
        assert len({h.loss[0] for h in row}) == 1, "one seed, one initial model, whatever the rate"
    assert result.histories[0][0].loss[0] != result.histories[1][0].loss[0]
    median = np.median(result.final_losses(), axis=0)
    assert result.best_lr() == result.lrs[np.argmin(median)]
    assert np.array_equal(result.final_losses(), [[h.val_loss[-1] for h in row] for row in result.histories])
    assert np.array_equal(result.final_losses("train"), [[h.train_loss[-1] for h in row] for row in result.histories])
    with pytest.raises(ValueError, match="no scores"):
        result.final_losses("score")
    with pytest.raises(ValueError, match="split must be"):
        result.best_lr("test")


def test_evaluate_judges_the_split_it_is_asked_for(cancer):
    torch.manual_seed(0)
    model = models.linear(cancer.num_features, 2)
    losses = {split: training.evaluate(model, cancer, split=split)[0] for split in ("train", "val", "test")}
    for split, loss in losses.items():
        x, y = getattr(cancer, f"x_{split}"), getattr(cancer, f"y_{split}")
        assert loss == pytest.approx(torch.nn.functional.cross_entropy(model(x), y).item())
    assert training.evaluate(model, cancer)[0] == losses["val"]
    with pytest.raises(ValueError, match="split must be one of"):
        training.evaluate(model, cancer, split="validation")


def test_a_sweep_passes_optimizer_settings_through(cancer):
    momentum = functools.partial(torch.optim.SGD, momentum=0.9)
    plain = sweeps.sweep(lambda: models.linear(cancer.num_features, 2), cancer, [0.05], epochs=10)
    heavy = sweeps.sweep(lambda: models.linear(cancer.num_features, 2), cancer, [0.05], epochs=10,
                           optimizer=momentum)
    assert plain.histories[0][0].loss[1:] != heavy.histories[0][0].loss[1:]


@pytest.mark.parametrize("progress", [True, False])
def test_a_sweep_reports_divergence_only_with_progress_and_refuses_a_sweep_that_all_diverged(diabetes, capsys,
                                                                                             progress):
    result = sweeps.sweep(lambda: models.linear(diabetes.num_features, 1), diabetes, [0.1, 1e3, 1e4],
                          epochs=300, progress=progress)
    assert np.isinf(result.final_losses()[0, 1:]).all() and np.isfinite(result.final_losses()[0, 0])
    summary = "2 of 3 runs diverged; the smallest rate that diverged was 1e+03."
    assert result.summary() == summary
    assert (summary in capsys.readouterr().out) == progress
    assert result.best_lr() == 0.1
    doomed = sweeps.sweep(lambda: models.linear(diabetes.num_features, 1), diabetes, [1e4], epochs=300)
    with pytest.raises(ValueError, match="no learning rate"):
        doomed.best_lr()


@pytest.mark.parametrize("lrs, message", [([0.1, -1.0], r"lrs\[1\]"), ([0.1, float("nan")], r"lrs\[1\]"),
                                          ([], "non-empty"), ([[0.1]], "1-D")])
def test_bad_learning_rates_in_a_sweep_are_named(cancer, lrs, message):
    with pytest.raises(ValueError, match=message):
        sweeps.sweep(lambda: models.linear(cancer.num_features, 2), cancer, lrs)


def test_a_sweep_needs_a_seed(cancer):
    with pytest.raises(ValueError, match="seeds"):
        sweeps.sweep(lambda: models.linear(cancer.num_features, 2), cancer, [0.1], seeds=())


def test_final_accuracies_leave_diverged_runs_out(cancer):
    result = sweeps.sweep(lambda: models.linear(cancer.num_features, 2), cancer, [0.1, 1e38], epochs=5)
    assert result.histories[0][1].diverged
    accuracies = result.final_accuracies()
    assert accuracies.shape == (1, 2)
    assert 0.5 < accuracies[0, 0] <= 1 and np.isnan(accuracies[0, 1])


def test_a_step_budget_replaces_the_epoch_budget(cancer):
    model = models.linear(cancer.num_features, 2)
    history = training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), steps=12, batch_size=100)
    assert len(history.loss) == 12, "455 samples in batches of 100: 5 steps an epoch, so 3 epochs, the last cut short"
    assert len(history.train_loss) == 3


def test_a_scheduler_factory_sets_the_rate_of_every_step(cancer):
    """The rate recorded at step k is the one that step used: torch's StepLR, stepped once per optimizer step."""
    model = models.linear(cancer.num_features, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = training.train(model, cancer, optimizer, steps=12, batch_size=100,
                             scheduler=functools.partial(torch.optim.lr_scheduler.StepLR, step_size=5, gamma=0.5))
    assert np.allclose(history.lr, [0.1] * 5 + [0.05] * 5 + [0.025] * 2)
    assert math.isclose(optimizer.param_groups[0]["lr"], 0.025)


def test_reduce_on_plateau_is_stepped_once_an_epoch_with_the_training_loss(cancer):
    seen = []

    class Recording(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics):
            seen.append(metrics)
            super().step(metrics)

    model = models.linear(cancer.num_features, 2)
    history = training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), epochs=4, batch_size=100,
                             scheduler=Recording)
    assert seen == history.train_loss


def test_a_sequence_task_trains_with_one_class_per_position():
    """Sorting digits: cross-entropy over every position, accuracy per token, a transformer that learns it."""
    sort = data.load("sort", device="cpu", train_size=512)
    torch.manual_seed(0)
    model = models.Transformer(sort.num_classes, sort.x_train.shape[1], width=32, heads=2, layers=1)
    history = training.train(model, sort, torch.optim.Adam(model.parameters(), lr=3e-3), epochs=10, batch_size=64)
    assert len(history.val_accuracy) == 10
    assert history.val_loss[-1] < 0.5 * history.val_loss[0]
    assert history.val_accuracy[-1] > 0.5, "sorting ten digits is learnable within ten short epochs"


def test_good_rates_are_the_unbroken_band_around_the_best():
    def fake(losses_by_seed):
        lrs = np.geomspace(1e-3, 1.0, len(losses_by_seed[0]))
        histories = [[results.History(train_loss=[loss], val_loss=[loss]) if math.isfinite(loss)
                      else results.History(stop_reason="diverged") for loss in row] for row in losses_by_seed]
        return results.Sweep(lrs, tuple(range(len(losses_by_seed))), histories)

    result = fake([[1.0, 0.5, 0.2, 0.21, 0.3, 0.215, math.inf]])
    assert result.good_lrs(within=0.1) == (result.lrs[2], result.lrs[3]), "the 0.215 beyond the bump is not joined"
    assert result.good_lrs(within=0.6) == (result.lrs[2], result.lrs[5])
    assert result.good_lrs(within=0.0) == (result.lrs[2], result.lrs[2])
    with pytest.raises(ValueError, match="within"):
        result.good_lrs(within=-0.1)
    with pytest.raises(ValueError, match="no learning rate"):
        fake([[math.inf, math.inf]]).good_lrs()


@pytest.fixture
def host_reads(monkeypatch):
    """Counts the reads of a tensor's value by the host (``.item()``, ``.cpu()``, ``.tolist()``): on a GPU each
    one waits for the device to finish."""
    count = {"reads": 0}
    for name in ("item", "cpu", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            count["reads"] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, counted)
    return count


@pytest.mark.parametrize("stacked", [False, True])
def test_the_training_loops_read_the_device_once_an_epoch_not_every_step(cancer, host_reads, stacked):
    lrs = [0.01, 0.1]
    result = sweeps.sweep(lambda: models.mlp(cancer.num_features, 2, hidden=(8,)), cancer, lrs, epochs=2,
                            batch_size=8, stacked=stacked)
    steps = len(result.histories[0][0].loss)
    assert steps == 2 * 43
    assert host_reads["reads"] <= 2 * 8 * len(lrs), f"{host_reads['reads']} reads for {steps} steps"


def test_autocast_trains_in_bfloat16_close_to_float32(cancer):
    def run(autocast, stacked):
        return sweeps.sweep(lambda: models.mlp(cancer.num_features, 2, hidden=(16,)), cancer, [0.05, 0.2],
                              epochs=3, batch_size=32, autocast=autocast, stacked=stacked).histories[0]

    exact = run(False, False)
    for stacked in (False, True):
        for reference, history in zip(exact, run(True, stacked)):
            assert not np.allclose(history.loss, reference.loss, rtol=1e-6, atol=0)  # bfloat16 did run
            assert np.allclose(history.loss, reference.loss, rtol=0.05, atol=0.01)
            assert abs(history.val_accuracy[-1] - reference.val_accuracy[-1]) <= 0.02


def test_a_sweep_stacks_whatever_it_can_and_runs_the_rest_one_rate_at_a_time(cancer):
    settings = {"make_model": lambda: models.mlp(cancer.num_features, 2, hidden=(8,)), "data": cancer,
                "lrs": [0.01, 0.1], "epochs": 2, "batch_size": 64}
    default, stacked = sweeps.sweep(**settings), sweeps.sweep(stacked=True, **settings)
    assert [h.loss for h in default.histories[0]] == [h.loss for h in stacked.histories[0]]
    with_scheduler = sweeps.sweep(scheduler=functools.partial(torch.optim.lr_scheduler.StepLR, step_size=5),
                                    **settings)
    assert with_scheduler.histories[0][1].lr[:6] == [0.1] * 5 + [pytest.approx(0.01)]


def test_callbacks_see_every_step_before_and_after_the_weights_move(cancer):
    """What chapter 8 logs: the gradient norm before the step and each update's size after it."""
    class Watch(training.Callback):
        def __init__(self):
            self.indices, self.moves = [], []

        def before_step(self, step):
            self.indices.append(step.index)
            self.weight = step.model.weight.detach().clone()
            self.expected = -0.1 * step.model.weight.grad.clone()

        def after_step(self, step):
            self.moves.append(torch.allclose(step.model.weight.detach() - self.weight, self.expected, atol=1e-6))

    torch.manual_seed(0)
    model, watch = models.linear(cancer.num_features, 2), Watch()
    history = training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=100,
                             callbacks=[watch])
    assert watch.indices == list(range(8)) == list(range(len(history.loss)))
    assert all(watch.moves)


def test_a_run_resumed_from_a_checkpoint_ends_where_the_uninterrupted_one_does(cancer):
    """start_step takes the plan's batches from that step on; a built scheduler resumes with its state."""
    def fresh():
        torch.manual_seed(0)
        model = models.mlp(cancer.num_features, 2, hidden=(8,))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        return model, optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=40)

    settings = training.TrainSettings(steps=40, batch_size=32, seed=3)
    model, optimizer, scheduler = fresh()
    whole = training.train(model, cancer, optimizer, settings, scheduler=scheduler)
    model_a, optimizer_a, scheduler_a = fresh()
    first = training.train(model_a, cancer, optimizer_a, settings, steps=25, scheduler=scheduler_a)
    model_b, optimizer_b, scheduler_b = fresh()
    model_b.load_state_dict(model_a.state_dict())
    optimizer_b.load_state_dict(optimizer_a.state_dict())
    scheduler_b.load_state_dict(scheduler_a.state_dict())
    second = training.train(model_b, cancer, optimizer_b, settings, start_step=25, scheduler=scheduler_b)
    assert first.loss + second.loss == whole.loss and first.lr + second.lr == whole.lr
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model_b.parameters()))


@pytest.mark.parametrize("settings, message", [({"start_step": -1}, "start_step"), ({"steps": 5, "start_step": 5},
                                                                                       "start_step"),
                                               ({"epoch": 3}, "epoch")])
def test_bad_settings_are_named(cancer, settings, message):
    model = models.linear(cancer.num_features, 2)
    with pytest.raises((ValueError, TypeError), match=message):
        training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=0.1), **settings)


@pytest.mark.parametrize("stacked", [False, True])
def test_a_sweep_keeps_its_models_and_ranks_by_the_callers_score(cancer, stacked):
    """Each kept model is the run's trained model: the score computed from it is the sweep's ranking."""
    def loss_of_final_weights(model):
        return torch.nn.functional.cross_entropy(model(cancer.x_train), cancer.y_train).item()

    result = sweeps.sweep(lambda: models.mlp(cancer.num_features, 2, hidden=(8,)), cancer, [0.01, 0.3, 1e30],
                          seeds=(0, 1), epochs=2, batch_size=64, keep_models=True, score=loss_of_final_weights,
                          stacked=stacked)
    assert len(result.models) == 2 and all(len(row) == 3 for row in result.models)
    assert result.models[0][0] is not result.models[0][1]
    with torch.no_grad():
        rescored = [[loss_of_final_weights(model) for model in row[:2]] for row in result.models]
    assert np.allclose(result.final_losses("score")[:, :2], rescored)
    assert np.isinf(result.final_losses("score")[:, 2]).all() and result.diverged()[:, 2].all()
    assert result.best_lr("score") == 0.3
    outputs = result.models[0][0](cancer.x_test)
    assert outputs.shape == (len(cancer.x_test), 2)


def test_a_sweep_refuses_a_score_it_cannot_call(cancer):
    with pytest.raises(ValueError, match="score"):
        sweeps.sweep(lambda: models.linear(cancer.num_features, 2), cancer, [0.1], score=0.5)
