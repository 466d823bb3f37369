"""lrcourse.stacked: a sweep trained in one batched computation equals the same sweep run one rate at a time."""

import functools

import numpy as np
import pytest
import torch

from lrcourse import data, models, results, sweeps, training
from lrcourse.stacked import can_stack, stacked_forward


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", device="cpu")


OPTIMIZERS = {
    "SGD": torch.optim.SGD,
    "momentum, Nesterov, weight decay": functools.partial(torch.optim.SGD, momentum=0.9, nesterov=True,
                                                          weight_decay=1e-3),
    "Adam": torch.optim.Adam,
    "AdamW": functools.partial(torch.optim.AdamW, weight_decay=0.1),
    "Adagrad": torch.optim.Adagrad,
    "RMSprop, centered": functools.partial(torch.optim.RMSprop, centered=True),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_stacked_sweep_equals_one_run_per_rate(digits, name):
    """Same losses at every step, same validation metrics, for rates at which training is stable (so rounding
    does not grow chaotically); the rates span two decades around each optimizer's usual range. Adam at the top
    rate drifts by up to 3e-4 of the loss within two epochs (rounding in a different order, amplified by its
    division by small second moments); a wrong update would differ at the first steps by far more."""
    optimizer = OPTIMIZERS[name]
    centre = 0.1 if name.startswith(("SGD", "momentum", "Adagrad")) else 1e-3
    lrs = [centre / 10, centre / 3, centre, 3 * centre]
    settings = {"make_model": lambda: models.mlp(digits.num_features, 10, hidden=(16,)), "data": digits,
                "lrs": lrs, "optimizer": optimizer, "seeds": (0, 1), "epochs": 2, "batch_size": 64}
    one_by_one, at_once = sweeps.sweep(stacked=False, **settings), sweeps.sweep(stacked=True, **settings)
    for row, stacked_row in zip(one_by_one.histories, at_once.histories):
        for history, stacked_history in zip(row, stacked_row):
            assert np.allclose(history.loss[:10], stacked_history.loss[:10], rtol=1e-5, atol=1e-6)
            assert np.allclose(history.loss, stacked_history.loss, rtol=1e-3, atol=1e-5)
            assert np.allclose(history.accuracy, stacked_history.accuracy, atol=0.02)
            assert history.lr == stacked_history.lr
            assert np.allclose(history.train_loss, stacked_history.train_loss, rtol=1e-3, atol=1e-5)
            assert np.allclose(history.val_loss, stacked_history.val_loss, rtol=1e-3, atol=1e-5)
            assert np.allclose(history.val_accuracy, stacked_history.val_accuracy, atol=1e-3)


def warmup_then_cosine(optimizer):
    ramp = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=9)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=30)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [ramp, decay], milestones=[10])


@pytest.mark.parametrize("scheduler", [
    lambda optimizer: torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 15)),
    warmup_then_cosine,
    functools.partial(torch.optim.lr_scheduler.StepLR, step_size=12, gamma=0.3),
    lambda optimizer: torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=optimizer.param_groups[0]["lr"],
                                                          total_steps=58),
    lambda optimizer: torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=optimizer.param_groups[0]["lr"] / 4,
                                                        max_lr=optimizer.param_groups[0]["lr"], step_size_up=10),
], ids=["LambdaLR warmup", "LinearLR then cosine", "StepLR", "one-cycle peaking at the optimizer's rate",
        "cyclical between a quarter of the optimizer's rate and all of it"])
def test_a_scheduler_that_scales_every_rate_stacks_and_equals_one_run_per_rate(digits, scheduler):
    settings = {"make_model": lambda: models.mlp(digits.num_features, 10, hidden=(16,)), "data": digits,
                "lrs": [0.03, 0.1, 0.3], "optimizer": functools.partial(torch.optim.SGD, momentum=0.9),
                "epochs": 2, "batch_size": 64, "scheduler": scheduler}
    run_settings = training.TrainSettings(epochs=2, batch_size=64, scheduler=scheduler)
    assert can_stack(settings["make_model"](), digits, settings["optimizer"], run_settings)
    one_by_one, at_once = sweeps.sweep(stacked=False, **settings), sweeps.sweep(stacked=True, **settings)
    for history, stacked_history in zip(one_by_one.histories[0], at_once.histories[0]):
        assert len(set(history.lr)) > 2  # the scheduler moved the rate
        assert np.allclose(history.lr, stacked_history.lr, rtol=1e-6)
        assert np.allclose(history.loss, stacked_history.loss, rtol=1e-3, atol=1e-5)
        assert np.allclose(history.val_loss, stacked_history.val_loss, rtol=1e-3, atol=1e-5)


def convolution_with_batch_norm():
    return torch.nn.Sequential(torch.nn.Unflatten(1, (1, 8, 8)), torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                               torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10))


@pytest.mark.parametrize("make_model", [
    lambda: models.mlp(64, 10, hidden=(16, 16), norm="batch"),
    lambda: models.mlp(64, 10, hidden=(16, 16), norm="layer"),
    convolution_with_batch_norm,
], ids=["batch norm", "layer norm", "batch norm of convolutions"])
def test_normalization_layers_stack_each_copy_with_its_own_statistics(digits, make_model):
    """Batch normalization normalizes each copy by its own batch statistics in training and by its own running
    averages in evaluation (the validation losses), and the kept models carry those averages."""
    settings = {"make_model": make_model,
                "data": digits, "lrs": [0.01, 0.1, 1.0], "optimizer": functools.partial(torch.optim.SGD, momentum=0.9),
                "seeds": (0, 1), "epochs": 2, "batch_size": 64, "keep_models": True}
    one_by_one, at_once = sweeps.sweep(stacked=False, **settings), sweeps.sweep(stacked=True, **settings)
    for row, stacked_row in zip(one_by_one.histories, at_once.histories):
        for history, stacked_history in zip(row, stacked_row):
            assert np.allclose(history.loss[:10], stacked_history.loss[:10], rtol=1e-5, atol=1e-6)
            assert np.allclose(history.loss, stacked_history.loss, rtol=1e-3, atol=1e-5)
            assert np.allclose(history.val_loss, stacked_history.val_loss, rtol=1e-3, atol=1e-5)
    for plain, stacked_copy in zip(one_by_one.models[0], at_once.models[0]):
        for (name, expected), (_, got) in zip(plain.state_dict().items(), stacked_copy.state_dict().items()):
            assert torch.allclose(expected.float(), got.float(), rtol=1e-3, atol=1e-4), name


def test_gradient_clipping_stacks_each_copy_clipped_by_its_own_norm(digits):
    """Clipped at a norm the gradients often pass, so that clipping changes the runs: each copy must be clipped by
    its own global norm, as clip_grad_norm_ clips one model. The rates stay below the chaotic edge, where rounding
    (which differs from one processor to another) would decide the runs rather than the clipping."""
    settings = {"make_model": lambda: models.mlp(digits.num_features, 10, hidden=(16,)), "data": digits,
                "lrs": [0.1, 0.3, 1.0], "epochs": 2, "batch_size": 64, "clip_norm": 0.5}
    one_by_one, at_once = sweeps.sweep(stacked=False, **settings), sweeps.sweep(stacked=True, **settings)
    unclipped = sweeps.sweep(stacked=True, **{**settings, "clip_norm": None})
    for history, stacked_history, free in zip(one_by_one.histories[0], at_once.histories[0], unclipped.histories[0]):
        assert np.allclose(history.loss, stacked_history.loss, rtol=1e-3, atol=1e-5)
        assert np.allclose(history.val_loss, stacked_history.val_loss, rtol=1e-3, atol=1e-5)
        assert not np.allclose(history.loss, free.loss, rtol=1e-3)  # the clip changed the run


@pytest.mark.parametrize("clip_norm", [0, -1.0, float("inf"), "1"])
def test_a_bad_clip_norm_is_an_error(clip_norm):
    with pytest.raises(ValueError, match="clip_norm must be a positive number"):
        training.TrainSettings(clip_norm=clip_norm)


def test_a_copy_that_diverges_stops_alone(digits):
    lrs = [0.1, 1e6]
    settings = {"make_model": lambda: models.mlp(digits.num_features, 10, hidden=(16,)), "data": digits,
                "lrs": lrs, "epochs": 3, "batch_size": 64}
    one_by_one, at_once = sweeps.sweep(stacked=False, **settings), sweeps.sweep(stacked=True, **settings)
    fine, blown = at_once.histories[0]
    assert blown.diverged and blown.stop_reason == one_by_one.histories[0][1].stop_reason
    assert not fine.diverged and np.allclose(fine.loss, one_by_one.histories[0][0].loss, rtol=1e-4, atol=1e-5)


def test_a_copy_whose_loss_explodes_but_stays_finite_stops_alone_as_one_run_would():
    diabetes = data.load("diabetes", device="cpu")
    settings = {"make_model": lambda: models.linear(diabetes.num_features, 1), "data": diabetes,
                "lrs": [0.1, 3.0], "epochs": 60}
    one_by_one, at_once = sweeps.sweep(stacked=False, **settings), sweeps.sweep(stacked=True, **settings)
    fine, blown = at_once.histories[0]
    assert "times its first value" in blown.stop_reason
    assert blown.stop_reason == one_by_one.histories[0][1].stop_reason and len(blown.loss) < 60
    assert not fine.diverged and np.allclose(fine.loss, one_by_one.histories[0][0].loss, rtol=1e-4, atol=1e-5)


def test_regression_and_convolutions_stack_too():
    diabetes = data.load("diabetes", device="cpu")
    settings = {"make_model": lambda: models.mlp(diabetes.num_features, 1, hidden=(8,)), "data": diabetes,
                "lrs": [0.01, 0.03], "epochs": 3, "batch_size": 64}
    one_by_one, at_once = sweeps.sweep(stacked=False, **settings), sweeps.sweep(stacked=True, **settings)
    assert np.allclose(one_by_one.final_losses(), at_once.final_losses(), rtol=1e-4)
    torch.manual_seed(0)
    cnn = models.small_cnn(10, image_shape=(1, 8, 8), channels=4)
    copies = [cnn] * 3
    weights, _ = torch.func.stack_module_state(copies)
    inputs = torch.randn(5, 64)
    assert torch.allclose(stacked_forward(cnn, weights, inputs), torch.stack([cnn(inputs)] * 3), atol=1e-6)


@pytest.mark.parametrize("model, optimizer, settings", [
    (torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4, momentum=None)), torch.optim.SGD, {}),
    (torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.1)), torch.optim.SGD, {}),
    (torch.nn.Linear(4, 4), torch.optim.LBFGS, {}),
    (torch.nn.Linear(64, 4), torch.optim.SGD,
     {"scheduler": functools.partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.1, total_steps=50,
                                     cycle_momentum=False)}),
    (torch.nn.Linear(64, 4), torch.optim.SGD,
     {"scheduler": functools.partial(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=50, eta_min=1e-4)}),
    (torch.nn.Linear(64, 4), torch.optim.SGD, {"scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau}),
    (torch.nn.Linear(4, 4), torch.optim.SGD, {"callbacks": [training.Callback()]}),
], ids=["batch norm with a cumulative average", "dropout", "LBFGS", "one-cycle at a fixed peak", "cosine with a floor", "on plateau",
        "callbacks"])
def test_what_cannot_be_stacked_is_refused(digits, model, optimizer, settings):
    """A scheduler that sets absolute rates (the same peak for every copy) or a floor, or follows one run's loss,
    would train the copies at rates other than theirs."""
    assert can_stack(torch.nn.Linear(64, 4), digits, torch.optim.SGD, training.TrainSettings())
    assert not can_stack(model, digits, optimizer, training.TrainSettings(epochs=2, batch_size=64, **settings))


def test_a_stacked_sweep_that_cannot_be_is_an_error(digits):
    with pytest.raises(ValueError, match="stacking needs"):
        sweeps.sweep(lambda: torch.nn.Sequential(torch.nn.Linear(64, 10), torch.nn.Dropout(0.5)), digits, [0.1],
                       stacked=True)


def test_a_stacked_sweep_checks_its_budget_like_train(digits):
    with pytest.raises(ValueError, match="epochs"):
        sweeps.sweep(lambda: models.linear(digits.num_features, 10), digits, [0.1], stacked=True, epochs=0)
