"""Hidden checks of exercise 7's ``suggest_lr(lrs, losses)``: one constant rate read off a range test's raw curve,
graded by the training it leads to.

The grader draws six tasks from the instructor's seed (:func:`lrgrader.suites.task_rng`), one for each optimizer
(SGD, SGD with momentum, Adam) on each data set (the digits, breast cancer), each with a split of the data, a model
(logistic regression or an MLP, with ReLU or tanh), a batch size, a budget of steps and a seed of its own. On each it
runs the course's range test (``lrcourse.finder.range_test``, fastai's settings: 1e-7 to 10 in 100 steps) and trains
the same model from the same weights at every rate of a grid a quarter of a decade apart, from 1e-4 to 10, for the
task's budget (``lrcourse.sweeps.sweep``, the rates stacked), as chapter 7 validates its rules. A rate is judged by
the final validation loss of the grid rate nearest to it on a log scale: its regret is the share of the way from the
grid's best validation loss back to chance (ln k for k classes) that it gives up, 0 at the best rate, 1 for a model
that learnt nothing. Calibrated on seeds 0 to 159: the course's answer (twice fastai's valley of the trimmed,
smoothed curve) meets every requirement on seeds 0 to 19 and on 157 of the 160 (on each of the other three, one
task whose best rate sat far from it, below with Adam on breast cancer, above with SGD on small batches of the
digits, costs it "close" or "near"); the rate of the raw curve's lowest or steepest point, the bottom of the
smoothed curve and the first rate meet none of the three on any of the 160.
"""

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pytest
import torch

from helpers import cosine_valley
from helpers import test_leaves_the_curve_alone, test_returns_a_float  # noqa: F401
from lrcourse.data import load
from lrcourse.finder import range_test
from lrcourse.models import mlp
from lrcourse.sweeps import sweep
from lrgrader.checks import genuine, requirement
from lrgrader.suites import task_rng

REQUIREMENTS = {
    "behaviour_trains": ("trains on every task: the grid rate nearest to its rate does not diverge and gives up less "
                         "than half of the way from the grid's best validation loss back to chance", 25),
    "behaviour_close": ("lands close on every task: it gives up at most 30% of that way", 25),
    "behaviour_near": ("lands near the best on average: it gives up at most 10% of that way, averaged over the tasks",
                       25),
    "contract": ("returns a positive Python float for lists and arrays alike, leaves them alone, and refuses lists "
                 "of different lengths or of fewer than 3 points with ValueError", 25),
}
TRAINS, CLOSE, NEAR_ON_AVERAGE = 0.5, 0.3, 0.1  # the regrets of the three requirements above

GRID = 10 ** np.arange(-4.0, 1.01, 0.25)
OPTIMIZERS = {"SGD": torch.optim.SGD, "SGD with momentum": partial(torch.optim.SGD, momentum=0.9),
              "Adam": torch.optim.Adam}
ACTIVATIONS = {"ReLU": torch.nn.ReLU, "tanh": torch.nn.Tanh}
# Per data set: the hidden layers, batch sizes and budgets (steps) drawn from. Breast cancer's 341 training samples
# take small batches and short budgets, so that no run trains for many epochs: the best rate of a budget that
# overfits is a matter of regularization, which a range test cannot see.
DATA = {"digits": {"hidden": [(), (32,), (64,), (64, 64)], "batch_size": [16, 32, 64, 128], "steps": [200, 300]},
        "breast_cancer": {"hidden": [(), (16,)], "batch_size": [16, 32], "steps": [100, 150]}}
COUNT = len(OPTIMIZERS) * len(DATA)


@dataclass(frozen=True)
class Task:
    data: str
    hidden: tuple
    activation: str
    optimizer: str
    batch_size: int
    steps: int
    split: int
    seed: int


@dataclass(frozen=True)
class Measured:
    """What the grader measured on a task: the range test's curve (what the answer sees), and for each grid rate the
    final validation loss (inf where training diverged)."""
    lrs: list
    losses: list
    val_losses: np.ndarray
    chance: float

    def regret(self, rate: float) -> float:
        """How much of the way from the best validation loss of the grid back to chance the grid rate nearest to
        ``rate`` gives up (inf where it diverged)."""
        best = self.val_losses.min()
        return float((self.val_losses[nearest(rate)] - best) / (self.chance - best))


def drawn(rng) -> list[Task]:
    """One task for each optimizer on each data set, in a drawn order, with the rest of each task drawn."""
    tasks = []
    for optimizer, name in rng.permutation([(optimizer, name) for optimizer in OPTIMIZERS for name in DATA]):
        choices = DATA[name]
        tasks.append(Task(str(name), choices["hidden"][rng.integers(len(choices["hidden"]))],
                          str(rng.choice(list(ACTIVATIONS))), str(optimizer), int(rng.choice(choices["batch_size"])),
                          int(rng.choice(choices["steps"])), int(rng.integers(1000)), int(rng.integers(1000))))
    return tasks


def measured(task: Task) -> Measured:
    data = load(task.data, device="cpu", seed=task.split)
    make = partial(mlp, data.num_features, data.num_outputs, task.hidden, ACTIVATIONS[task.activation])
    optimizer = OPTIMIZERS[task.optimizer]
    torch.manual_seed(task.seed)  # the weights the grid starts from too
    model = make()
    test = range_test(model, data, optimizer(model.parameters(), lr=1e-3), batch_size=task.batch_size, seed=task.seed,
                      progress=False)
    grid = sweep(make, data, GRID, optimizer=optimizer, seeds=(task.seed,), steps=task.steps,
                 batch_size=task.batch_size, progress=False)
    return Measured(test.lrs.tolist(), test.losses.tolist(), grid.final_losses()[0], math.log(data.num_classes))


def nearest(rate: float) -> int:
    """The index of the grid rate nearest to ``rate`` on a log scale (the first or the last beyond the grid)."""
    return int(np.clip(round((math.log10(rate) - math.log10(GRID[0])) * 4), 0, len(GRID) - 1))


@pytest.fixture(scope="module")
def tasks():
    return [measured(task) for task in drawn(task_rng("ex07/suggest_lr"))]


def suggested(answer, task: Measured) -> float:
    rate = genuine(answer(list(task.lrs), list(task.losses)), float, "the suggested rate")
    assert math.isfinite(rate) and rate > 0, f"the suggested rate should be a positive finite number, got {rate!r}"
    return rate


def how_far(rate: float, task: Measured) -> str:
    """Where ``rate`` lies from the grid's best rate and what training at its nearest grid rate gave, in words."""
    quarters = round(4 * (math.log10(rate) - math.log10(GRID[np.argmin(task.val_losses)])))
    side = "above" if quarters > 0 else "below"
    if quarters == 0:
        where = "at the best rate of the grid"
    elif abs(quarters) < 8:
        where = f"about {10 ** (abs(quarters) / 4):.2g}x {side} the best rate of the grid"
    else:
        where = f"100x or more {side} the best rate of the grid"
    regret = task.regret(rate)
    if not math.isfinite(regret):
        what = "training there diverged"
    elif regret >= 1:
        what = "training there learnt nothing (its validation loss ended at chance level or worse)"
    elif regret >= TRAINS:
        what = "its validation loss ended far above the best, more than half of the way back to chance"
    elif regret > CLOSE:
        what = f"its validation loss ended well above the best, more than {CLOSE:.0%} of the way back to chance"
    else:
        what = "its validation loss ended close to the best"
    hint = (" A rate above the best that trains this badly sits near the edge of stability or past it: back off "
            "further from the bottom of the curve." if quarters > 0 else " A rate below the best that trains this "
            "badly is too slow for the budget: the start of the curve, where the loss has not moved yet, says "
            "nothing about the rate.")
    return f"your rate was {where}, and {what}.{hint if regret > CLOSE else ''}"


def ids():
    return [f"task {index + 1}" for index in range(COUNT)]


# ---- contract, on made-up curves


@pytest.fixture
def rule(answer):
    return answer


@requirement("contract")
def test_refuses_lists_of_different_lengths(answer):
    """raises ValueError when the rates and the losses differ in length"""
    lrs, losses = cosine_valley()
    with pytest.raises(ValueError):
        answer(lrs, losses[:-1])


@requirement("contract")
def test_refuses_a_curve_of_two_points(answer):
    """raises ValueError for a curve of fewer than 3 points"""
    with pytest.raises(ValueError):
        answer([1e-3, 1e-2], [1.0, 0.5])


@requirement("contract")
def test_the_same_curve_gives_the_same_rate(answer):
    """gives the same rate when given the same curve twice"""
    lrs, losses = cosine_valley()
    noisy = list(np.array(losses) * np.exp(0.1 * np.random.default_rng(3).standard_normal(len(losses))))
    first, second = (genuine(answer(list(lrs), list(noisy)), float, "the suggested rate") for _ in range(2))
    assert first == second, "the same curve got two different rates: a rule should depend on the curve alone"


# ---- the grader's tasks


@requirement("contract")
def test_suggests_a_positive_rate_on_every_task(answer, tasks):
    """returns a positive finite rate for the range test of every task"""
    for task in tasks:
        suggested(answer, task)


@requirement("behaviour_trains")
@pytest.mark.parametrize("index", range(COUNT), ids=ids())
def test_trains(answer, tasks, index):
    """its rate trains: the grid rate nearest to it does not diverge and ends less than half-way back to chance"""
    rate = suggested(answer, tasks[index])
    assert tasks[index].regret(rate) < TRAINS, f"on task {index + 1}, {how_far(rate, tasks[index])}"


@requirement("behaviour_close")
@pytest.mark.parametrize("index", range(COUNT), ids=ids())
def test_lands_close(answer, tasks, index):
    """its rate lands close to the best: at most 30% of the way from the best validation loss back to chance"""
    rate = suggested(answer, tasks[index])
    assert tasks[index].regret(rate) <= CLOSE, f"on task {index + 1}, {how_far(rate, tasks[index])}"


@requirement("behaviour_near")
def test_lands_near_the_best_on_average(answer, tasks):
    """its rates land near the best on average: at most 10% of the way back to chance over the tasks"""
    regrets = [min(task.regret(suggested(answer, task)), 1.0) for task in tasks]
    average = sum(regrets) / len(regrets)
    worst = int(np.argmax(regrets))
    assert average <= NEAR_ON_AVERAGE, (
        f"over the {COUNT} tasks, the grid rates nearest to your rates gave up on average about "
        f"{5 * round(20 * average):.0f}% of the way from the best validation loss back to chance (near the best is "
        f"at most {NEAR_ON_AVERAGE:.0%}); the worst was task {worst + 1}")
