"""Hidden checks of exercise 9's ``choose_lr(trial, budget, epochs)``: a rate for a model the answer cannot see.

The grader draws its tasks from the instructor's seed (:func:`lrgrader.suites.task_rng`): a data set, the scale of
its inputs, a model, an optimizer, a batch size and a length. On each it trains every rate of a quarter-decade grid,
and once more at the rate the answer chose, with the same training the answer's trials get. A rate is judged by
its regret: the share of the way from the grid's best validation loss back to chance (ln k, a model that learnt
nothing) that its own validation loss gives up. Negative regret (better than the grid) is fine.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer, load_digits

from lrgrader.checks import genuine, requirement
from lrgrader.suites import task_rng

REQUIREMENTS = {
    "behaviour_trains": ("on every task its rate trains: it gives up at most half of the way from the best "
                         "validation loss back to chance", 25),
    "behaviour_close": ("on every task its rate comes close to the best: it gives up at most a quarter of the way", 25),
    "behaviour_best": ("on every task its rate is about as good as the best rate of a quarter-decade grid "
                       "(it gives up at most a tenth of the way)", 35),
    "contract": ("a float rate > 0, found on a smooth stand-in curve wherever its minimum lies, within a budget of "
                 "one full run or less, even when every trial diverges, and the same for the same trials", 15),
}
TIERS = {"behaviour_trains": 0.5, "behaviour_close": 0.25, "behaviour_best": 0.1}
TASKS = 5
GRID = 10.0 ** np.arange(-5.0, 1.51, 0.25)  # 1e-5 to about 30, four rates a decade
MAX_SAMPLES = 900
BUDGET_PER_EPOCH = 5  # the trials may take five times the epochs of the run the rate is for
OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass(frozen=True)
class Task:
    """One training problem: the data already split and scaled, and how the model is made and trained."""
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    hidden: int  # 0: a linear (softmax) model
    optimizer: str
    batch_size: int
    epochs: int
    seed: int

    @property
    def num_classes(self) -> int:
        return int(self.y_train.max()) + 1


def draw_task(rng: np.random.Generator, index: int) -> Task:
    """Task ``index``: the optimizers take turns, so that every draw holds SGD, momentum and Adam."""
    if rng.random() < 0.3:
        x, y = load_breast_cancer(return_X_y=True)
    else:  # digits, of some of the classes, renumbered from 0
        x, y = load_digits(return_X_y=True)
        kept = np.sort(rng.choice(10, size=rng.integers(3, 11), replace=False))
        x, y = x[np.isin(y, kept)], np.searchsorted(kept, y[np.isin(y, kept)])
    order = rng.permutation(len(x))[:MAX_SAMPLES]  # few enough that a trial epoch takes milliseconds
    cut = int(0.7 * len(order))
    train, val = order[:cut], order[cut:]
    mean, std = x[train].mean(0), x[train].std(0)
    scale = 10 ** rng.uniform(-1.0, 1.5)  # the inputs' scale moves the best rate
    x = (x - mean) / np.where(std > 0, std, 1.0) * scale
    tensor = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return Task(tensor(x[train]), torch.tensor(y[train]), tensor(x[val]), torch.tensor(y[val]),
                hidden=int(rng.choice([0, 16, 64])), optimizer=OPTIMIZERS[(index + rng.integers(3)) % 3],
                batch_size=int(rng.choice([16, 32, 64])), epochs=int(rng.integers(4, 9)), seed=int(rng.integers(2**31)))


def train(task: Task, lrs, epochs: int) -> np.ndarray:
    """Validation losses after each epoch, shape (len(lrs), epochs), of the task's model trained at each rate.

    The copies start from the same weights and see the same minibatches; they are trained side by side, each
    with its own rate, as stacked tensors. A copy whose loss stops being finite or passes 100 times chance has
    diverged: it stops there and its losses are inf from that epoch on.
    """
    generator = torch.Generator().manual_seed(task.seed)
    copies, sizes = len(lrs), [task.x_train.shape[1], *([task.hidden] if task.hidden else []), task.num_classes]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / math.sqrt(fan_in)
        for shape in ((fan_in, fan_out), (1, fan_out)):
            first = (torch.rand(shape, generator=generator) * 2 - 1) * bound
            weights.append(first.expand(copies, *shape).clone().requires_grad_())
    rate = torch.tensor(np.asarray(lrs, dtype=float), dtype=torch.float32).view(copies, 1, 1)
    slow = [torch.zeros_like(w) for w in weights]
    fast = [torch.zeros_like(w) for w in weights]
    alive = torch.ones(copies, dtype=torch.bool)
    limit = 100 * math.log(task.num_classes)

    def outputs(x):
        h = x.expand(copies, *x.shape)
        for layer in range(0, len(weights), 2):
            h = torch.baddbmm(weights[layer + 1], h, weights[layer])
            if layer + 2 < len(weights):
                h = torch.relu(h)
        return h

    def losses(x, y):
        out = outputs(x)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.repeat(copies), reduction="none").view(copies, -1).mean(1)

    history = np.full((copies, epochs), np.inf)
    step = 0
    for epoch in range(epochs):
        order = torch.randperm(len(task.x_train), generator=generator)
        for start in range(0, len(order), task.batch_size):
            batch = order[start:start + task.batch_size]
            loss = losses(task.x_train[batch], task.y_train[batch])
            alive &= torch.isfinite(loss) & (loss < limit)
            grads = torch.autograd.grad(loss[alive].sum(), weights, allow_unused=True) if alive.any() else None
            if grads is None:
                break
            step += 1
            live = alive.view(copies, 1, 1).float()
            with torch.no_grad():
                for w, g, m, v in zip(weights, grads, slow, fast):
                    g = torch.nan_to_num(g) * live
                    if task.optimizer == "sgd":
                        w -= rate * g
                    elif task.optimizer == "momentum":
                        m.mul_(0.9).add_(g)
                        w -= rate * m
                    else:
                        m.mul_(0.9).add_(0.1 * g)
                        v.mul_(0.999).add_(0.001 * g * g)
                        w -= rate * (m / (1 - 0.9 ** step)) / ((v / (1 - 0.999 ** step)).sqrt() + 1e-8)
        with torch.no_grad():
            val = losses(task.x_val, task.y_val)
        alive &= torch.isfinite(val) & (val < limit)
        history[alive.numpy(), epoch] = val[alive].double().numpy()
    return history


def trial_for(task: Task, budget: int):
    """The ``trial`` function the answer gets: trains the task's model, counting the epochs against ``budget``."""
    spent = [0]

    def trial(lr, epochs):
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"trial: lr must be a finite number > 0, got {lr!r}")
        if not (isinstance(epochs, int) and epochs >= 1):
            raise ValueError(f"trial: epochs must be an integer >= 1, got {epochs!r}")
        if spent[0] + epochs > budget:
            raise RuntimeError(f"trial: this run of {epochs} epochs would pass the budget of {budget} epochs "
                               f"({spent[0]} spent)")
        spent[0] += epochs
        return [float(loss) for loss in train(task, [float(lr)], epochs)[0]]

    return trial


@dataclass(frozen=True)
class Outcome:
    """How the answer's rate did on one task, against the grid."""
    lr: float
    regret: float
    best_lr: float

    def advice(self, task_number: int) -> str:
        ratio = self.lr / self.best_lr
        where = (f"about {ratio:.0f}x above" if ratio >= 1.5 else f"about {1 / ratio:.0f}x below" if ratio <= 1 / 1.5
                 else "within a factor 1.5 of")
        if not math.isfinite(self.regret):
            return (f"on task {task_number} training diverged at your rate, {where} the best rate of the grid: "
                    "your trials should have seen that, keep to rates whose trial losses stayed finite and fell")
        if self.regret > 1:
            return (f"on task {task_number} the validation loss at your rate ended worse than chance (a model that "
                    f"learnt nothing); your rate was {where} the best rate of the grid")
        return (f"on task {task_number} your rate gave up {self.regret:.0%} of the way from the best validation loss "
                f"back to chance; it was {where} the best rate of the grid")


def toy_trial(best_lr: float, budget: int, edge: float = 10.0):
    """A stand-in for training, for the contract checks: the loss falls each epoch, least at ``best_lr``, and the
    run diverges above ``edge`` times it. It refuses to overspend, as the tasks' trials do."""
    spent = [0]

    def trial(lr, epochs):
        if spent[0] + epochs > budget:
            raise RuntimeError(f"trial: a run of {epochs} epochs would pass the budget of {budget} epochs "
                               f"({spent[0]} spent)")
        spent[0] += epochs
        if lr > edge * best_lr:
            return [math.inf] * epochs
        return [0.1 + math.log10(lr / best_lr) ** 2 + 1 / (epoch + 1) for epoch in range(epochs)]

    return trial


def toy_rate(answer, best_lr, budget, epochs, **settings):
    return genuine(answer(toy_trial(best_lr, budget, **settings), budget, epochs), float, "the learning rate")


@requirement("contract")
def test_returns_a_positive_float(answer):
    """returns the rate as a plain float > 0"""
    lr = answer(toy_trial(0.01, 30), 30, 6)
    assert type(lr) is float, f"return the rate as a float (use float(...)), not {type(lr).__name__}"
    assert math.isfinite(lr) and lr > 0, "the rate should be a finite number > 0"


@requirement("contract")
@pytest.mark.parametrize("best_lr", [3e-5, 2e-3, 0.5], ids=["3e-5", "2e-3", "0.5"])
def test_finds_the_minimum_of_a_clear_curve(answer, best_lr):
    """finds the best rate of a smooth stand-in for training, wherever it lies"""
    lr = toy_rate(answer, best_lr, 30, 6)
    assert best_lr / 2 <= lr <= 2 * best_lr, \
        "on a smooth curve with one clear minimum your rate was more than 2x away from it: search on a log scale"


@requirement("contract")
@pytest.mark.parametrize("budget, epochs", [(8, 8), (12, 8), (5, 1)], ids=["one run", "one and a half", "short"])
def test_keeps_to_a_small_budget(answer, budget, epochs):
    """keeps to a budget that allows one full run or less, and still returns a rate"""
    lr = toy_rate(answer, 0.01, budget, epochs)
    assert math.isfinite(lr) and lr > 0, "the rate should be a finite number > 0"


@requirement("contract")
def test_survives_a_trial_that_always_diverges(answer):
    """returns a rate even when every trial it makes diverges"""
    lr = toy_rate(answer, 1e-9, 30, 6, edge=1e-9)
    assert math.isfinite(lr) and lr > 0, "the rate should be a finite number > 0"


@requirement("contract")
def test_chooses_the_same_rate_for_the_same_trials(answer):
    """chooses the same rate twice from the same trials"""
    assert toy_rate(answer, 0.03, 30, 6) == toy_rate(answer, 0.03, 30, 6), \
        "given the same trials twice, your function chose two different rates"


@pytest.fixture(scope="module")
def tasks():
    rng = task_rng("ex09/choose_lr")
    return [draw_task(rng, index) for index in range(TASKS)]


@pytest.fixture(scope="module")
def grids(tasks):
    """The validation loss at the end of each task's run at every rate of the grid (trained before any check)."""
    return [train(task, GRID, task.epochs)[:, -1] for task in tasks]


_outcomes = {}  # the answer chooses once per task, in the first check of that task


def outcome(answer, tasks, grids, index: int) -> Outcome:
    if index not in _outcomes:
        task = tasks[index]
        budget = BUDGET_PER_EPOCH * task.epochs
        try:
            lr = genuine(answer(trial_for(task, budget), budget, task.epochs), float, "the learning rate")
            if not (math.isfinite(lr) and lr > 0):
                raise AssertionError(f"the rate should be a finite number > 0, not {lr!r}")
            chosen, grid = float(train(task, [lr], task.epochs)[0, -1]), grids[index]
            best, chance = float(grid.min()), math.log(task.num_classes)
            _outcomes[index] = Outcome(lr, (chosen - best) / (chance - best), float(GRID[int(grid.argmin())]))
        except BaseException as error:  # a wrong rate, a crash, a timeout: every later check of the task says so too
            _outcomes[index] = error
    found = _outcomes[index]
    if isinstance(found, BaseException):
        raise found
    return found


def judged(answer, tasks, grids, index: int, tier: str):
    found = outcome(answer, tasks, grids, index)
    assert found.regret <= TIERS[tier], found.advice(index + 1)


@requirement("behaviour_trains")
@pytest.mark.parametrize("task", range(TASKS), ids=[f"task {i + 1}" for i in range(TASKS)])
def test_rate_trains(answer, tasks, grids, task):
    """its rate trains the task's model: at most half of the way from the best loss to chance given up"""
    judged(answer, tasks, grids, task, "behaviour_trains")


@requirement("behaviour_close")
@pytest.mark.parametrize("task", range(TASKS), ids=[f"task {i + 1}" for i in range(TASKS)])
def test_rate_is_close_to_the_best(answer, tasks, grids, task):
    """its rate comes close to the grid's best: at most a quarter of the way given up"""
    judged(answer, tasks, grids, task, "behaviour_close")


@requirement("behaviour_best")
@pytest.mark.parametrize("task", range(TASKS), ids=[f"task {i + 1}" for i in range(TASKS)])
def test_rate_is_as_good_as_the_best(answer, tasks, grids, task):
    """its rate is about as good as the grid's best: at most a tenth of the way given up"""
    judged(answer, tasks, grids, task, "behaviour_best")
