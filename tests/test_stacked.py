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
    (torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4)), torch.optim.SGD, {}),
    (torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.1)), torch.optim.SGD, {}),
    (torch.nn.Linear(4, 4), torch.optim.LBFGS, {}),
    (torch.nn.Linear(4, 4), torch.optim.SGD,
     {"scheduler": functools.partial(torch.optim.lr_scheduler.StepLR, step_size=5)}),
    (torch.nn.Linear(4, 4), torch.optim.SGD, {"callbacks": [training.Callback()]}),
], ids=["batch norm", "dropout", "LBFGS", "a scheduler", "callbacks"])
def test_what_cannot_be_stacked_is_refused(model, optimizer, settings):
    assert can_stack(torch.nn.Linear(4, 4), torch.optim.SGD, training.TrainSettings())
    assert not can_stack(model, optimizer, training.TrainSettings(**settings))


def test_a_stacked_sweep_that_cannot_be_is_an_error(digits):
    with pytest.raises(ValueError, match="stacking needs"):
        sweeps.sweep(lambda: torch.nn.Sequential(torch.nn.Linear(64, 10), torch.nn.Dropout(0.5)), digits, [0.1],
                       stacked=True)


def test_a_stacked_sweep_checks_its_budget_like_train(digits):
    with pytest.raises(ValueError, match="epochs"):
        sweeps.sweep(lambda: models.linear(digits.num_features, 10), digits, [0.1], stacked=True, epochs=0)
