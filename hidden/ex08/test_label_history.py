"""Hidden checks of exercise 8's ``label_history(losses, val_losses)``: the one label that best describes a run.

The grader trains real runs, each made to have one symptom the way chapter 8 makes it on purpose, on task variants
drawn from the instructor's seed (:func:`lrgrader.suites.task_rng`): classes and samples of the digits, a few
features of the breast-cancer and wine sets, the width of the model, the batch size, the length of the run, the
seed, and a rate drawn within the range that makes the symptom. A run's label is the condition that made it. The
course's own rule (``lrcourse.diagnose``, told the loss of a model that has learnt nothing) reads every run first;
a run it reads otherwise is thrown away and another variant drawn, so that no answer is graded on an ambiguous run.
"""

import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer, load_wine

from lrcourse.data import from_arrays, load, select_classes
from lrcourse.diagnose import diagnose
from lrcourse.models import mlp
from lrcourse.sweeps import sweep
from lrgrader import bridge
from lrgrader.checks import requirement
from lrgrader.suites import task_rng

REQUIREMENTS = {
    "behaviour_diverged": ("names a diverged run diverged, whether its loss became nan or it came back down to a dead "
                           "network", 15),
    "behaviour_plateau_or_slow": ("tells a plateau and a too-slow run apart", 20),
    "behaviour_noise_or_oscillation": ("names noise and oscillation", 20),
    "behaviour_overfitting": ("names overfitting", 15),
    "behaviour_healthy": ("calls a healthy run healthy", 15),
    "contract": ("returns one of the seven labels as a str, takes lists or arrays, and leaves them alone", 15),
}
LABELS = ("diverged", "oscillating", "plateau", "too slow", "noisy", "overfitting", "healthy")
HOW = {  # how the grader made each symptom, as the feedback says it
    "diverged": "a rate far too large",
    "oscillating": "full-batch gradient descent at a rate above the edge of stability",
    "plateau": "a rate so small that nothing happens",
    "too slow": "a rate about a hundred times too small",
    "noisy": "minibatches of 8 at a constant rate",
    "overfitting": "a wide network trained for many epochs on a few samples",
    "healthy": "a good rate",
}
WANTED = {"diverged": 3, "plateau": 2, "too slow": 2, "oscillating": 2, "noisy": 2, "overfitting": 3, "healthy": 3}
VARIANTS = 30  # the most task variants a recipe draws before the grader gives up (an instructor's problem)


@dataclass(frozen=True)
class Run:
    """One generated run: what the answer sees (a run that training stopped ends with the loss that stopped it)."""
    losses: list
    val_losses: list


def loguniform(rng, low, high):
    return float(10 ** rng.uniform(math.log10(low), math.log10(high)))


def seed_of(rng):
    return int(rng.integers(2**31))


def digits_task(rng, classes_from=2, train_size=None):
    """Some classes of the digits (relabelled 0, 1, ...), perhaps only the first ``train_size`` training images."""
    count = int(rng.integers(classes_from, 11))
    classes = [int(c) for c in rng.choice(10, count, replace=False)]
    return select_classes(load("digits", device="cpu"), classes, train_size=train_size)


def few_features(rng, loader, train_size=None):
    """2 to 5 features of a tabular set, drawn at random, split and standardized: too few for a line to separate
    the classes well, so that the loss has a minimum to oscillate around."""
    x, y = loader(return_X_y=True)
    columns = rng.choice(x.shape[1], int(rng.integers(2, 6)), replace=False)
    return from_arrays(x[:, columns], y, seed=seed_of(rng), device="cpu", train_size=train_size)


def epochs_for(data, batch_size, steps):
    """About ``steps`` steps in whole epochs, so that every epoch has the same number of steps."""
    per_epoch = math.ceil(len(data.x_train) / batch_size)
    return max(3, round(steps / per_epoch))


# ---- recipes: each draws one task variant and trains it at one rate or more (several at once: a stacked sweep);
# it returns the condition each rate is meant to make, the task, and the histories.

def minibatch_rates(rng):
    """An MLP on some digits with SGD on minibatches, at a good rate and at rates made to stall it, to slow it and
    to make it diverge (twice: a rate that kills the network, and one that blows the loss up)."""
    data = digits_task(rng)
    width, batch_size = int(rng.choice([32, 64])), int(rng.choice([32, 64]))
    conditions = ("plateau", "too slow", "healthy", "diverged", "diverged")
    lrs = [loguniform(rng, 3e-6, 3e-5), loguniform(rng, 1.5e-3, 5e-3), loguniform(rng, 0.1, 0.5),
           loguniform(rng, 3, 6), loguniform(rng, 30, 300)]
    histories = sweep(lambda: mlp(data.num_features, data.num_classes, (width,)), data, lrs, seeds=(seed_of(rng),),
                      epochs=epochs_for(data, batch_size, int(rng.integers(150, 301))), batch_size=batch_size,
                      progress=False).histories[0]
    return conditions, data, histories


def small_batches(rng):
    """A linear model on a few breast-cancer features with SGD on minibatches of 8 for 3 epochs, at a constant
    rate; one rate a variant, since runs that share their minibatches share the scatter of their losses too."""
    data = few_features(rng, load_breast_cancer, train_size=int(rng.integers(200, 342)))
    histories = sweep(lambda: mlp(data.num_features, data.num_classes, ()), data, [loguniform(rng, 0.2, 1.0)],
                      seeds=(seed_of(rng),), epochs=3, batch_size=8, progress=False).histories[0]
    return ("noisy",), data, histories


def sharpness(model, data):
    """The largest eigenvalue of the Hessian of the full-batch training loss at the weights of ``model``."""
    weights = {name: p.detach() for name, p in model.named_parameters()}
    flat = torch.cat([w.flatten() for w in weights.values()])

    def loss(vector):
        parts = vector.split([w.numel() for w in weights.values()])
        moved = {name: part.view(w.shape) for (name, w), part in zip(weights.items(), parts)}
        return F.cross_entropy(torch.func.functional_call(model, moved, (data.x_train,)), data.y_train)

    return float(torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, flat))[-1])


def above_the_edge(rng):
    """A linear model on a few wine or breast-cancer features, trained by full-batch gradient descent at rates
    1.3 to 1.8 times the edge of stability, 2 / (the sharpness at the minimum of the training loss)."""
    data = few_features(rng, [load_wine, load_breast_cancer][int(rng.integers(2))])
    make = lambda: mlp(data.num_features, data.num_classes, ())  # noqa: E731
    seed = seed_of(rng)
    torch.manual_seed(seed)
    lowest = make()
    minimizer = torch.optim.LBFGS(lowest.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        minimizer.zero_grad()
        loss = F.cross_entropy(lowest(data.x_train), data.y_train)
        loss.backward()
        return loss

    minimizer.step(closure)
    edge = 2 / sharpness(lowest, data)
    lrs = [edge * float(rng.uniform(1.3, 1.8)) for _ in range(3)]
    histories = sweep(make, data, lrs, seeds=(seed,), epochs=200, progress=False).histories[0]
    return ("oscillating",) * len(lrs), data, histories


def few_samples(rng):
    """A wide MLP trained with Adam for 40 epochs on 50 to 120 images of some digits."""
    data = digits_task(rng, classes_from=4, train_size=int(rng.integers(50, 121)))
    lrs = [loguniform(rng, 1e-2, 2e-2) for _ in range(2)]
    histories = sweep(lambda: mlp(data.num_features, data.num_classes, (256,)), data, lrs,
                      optimizer=torch.optim.Adam, seeds=(seed_of(rng),), epochs=40,
                      batch_size=int(rng.choice([10, 16, 25])), progress=False).histories[0]
    return ("overfitting",) * len(lrs), data, histories


RECIPES = (minibatch_rates, small_batches, above_the_edge, few_samples)


def reference_label(history, data):
    """What lrcourse.diagnose reads first in ``history``, told the loss of a model that has learnt nothing."""
    return diagnose(history, chance=math.log(data.num_classes))[0].name


def seen(history):
    """The run as the answer sees it: a run that training stopped ends with the loss that stopped it."""
    losses = list(history.loss)
    if history.stop_reason:
        losses.append(float(re.search(r"became (\S+) at step", history.stop_reason)[1]))
    return Run(losses, list(history.val_loss))


def generated_runs(seed):
    """The runs of each condition, WANTED of each: each recipe draws variants from its own seed until it has made
    all the runs it is asked for that the reference reads as made."""
    runs = {condition: [] for condition in WANTED}
    for recipe in RECIPES:
        base = seed_of(np.random.default_rng([seed, RECIPES.index(recipe)]))
        for variant in range(VARIANTS):
            conditions, data, histories = recipe(np.random.default_rng([base, variant]))
            for condition, history in zip(conditions, histories):
                if len(runs[condition]) < WANTED[condition] and reference_label(history, data) == condition:
                    runs[condition].append(seen(history))
            if all(len(runs[condition]) == WANTED[condition] for condition in conditions):
                break
        else:
            raise RuntimeError(f"{recipe.__name__} made too few runs that show their symptom")
    return runs


@pytest.fixture(scope="module")
def runs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return generated_runs(int(task_rng("ex08/label_history").integers(2**31)))


def label(answer, run, losses=None, val_losses=None):
    """The answer's label for ``run`` (given as lists unless told otherwise), checked to be one of the seven."""
    got = answer(list(run.losses) if losses is None else losses,
                 list(run.val_losses) if val_losses is None else val_losses)
    assert type(got) is str and got in LABELS, \
        f"the label should be one of {', '.join(map(repr, LABELS))}, as a str; got {shown(got)}"
    return got


def shown(value):
    """A result of the answer's as the feedback shows it: plain values as they are, others by their type."""
    if type(value) in (str, int, float, bool, type(None)):
        return repr(value)
    return "an object of your own" if isinstance(value, bridge.Handle) else f"a {type(value).__name__}"


def named(answer, runs, condition, index):
    got = label(answer, runs[condition][index])
    assert got == condition, f"a run the grader made with {HOW[condition]} was labelled {got!r}, not {condition!r}"


def ids(condition):
    return [f"run {i + 1}" for i in range(WANTED[condition])]


# ---- contract, on small made-up histories


def made_up():
    """A loss that falls and levels off, with a validation loss that does too, and one that blew up."""
    steps = np.arange(200)
    falling = (0.2 + 2.0 * np.exp(-steps / 30)).tolist()
    return [Run(falling, [1.5, 0.6, 0.35, 0.3]), Run([2.0, 1.9, 2.5, math.nan], [])]


@requirement("contract")
def test_takes_arrays(answer):
    """takes NumPy arrays as well as lists, and gives the same label"""
    for run in made_up():
        got = label(answer, run, np.array(run.losses), np.array(run.val_losses))
        assert got == label(answer, run), "the same history as NumPy arrays got another label than as lists"


@requirement("contract")
def test_leaves_the_history_alone(answer):
    """leaves the lists it is given as they were"""
    for run in made_up():
        losses, val_losses = list(run.losses), list(run.val_losses)
        label(answer, run, losses, val_losses)
        assert np.array_equal(losses, run.losses, equal_nan=True) and val_losses == run.val_losses, \
            "the lists of losses given were changed: read them, do not modify them"


@requirement("contract")
def test_returns_a_label_for_every_run(answer, runs):
    """returns one of the seven labels, as a str, for every run the grader made"""
    for condition in WANTED:
        for run in runs[condition]:
            label(answer, run)


# ---- the runs the grader made


@requirement("behaviour_diverged")
@pytest.mark.parametrize("index", range(WANTED["diverged"]), ids=ids("diverged"))
def test_names_a_diverged_run(answer, runs, index):
    """names a run at a rate far too large diverged"""
    named(answer, runs, "diverged", index)


@requirement("behaviour_plateau_or_slow")
@pytest.mark.parametrize("index", range(WANTED["plateau"]), ids=ids("plateau"))
def test_names_a_plateau(answer, runs, index):
    """names a run at a rate so small that nothing happens a plateau"""
    named(answer, runs, "plateau", index)


@requirement("behaviour_plateau_or_slow")
@pytest.mark.parametrize("index", range(WANTED["too slow"]), ids=ids("too slow"))
def test_names_a_slow_run(answer, runs, index):
    """names a run at a rate a hundred times too small too slow"""
    named(answer, runs, "too slow", index)


@requirement("behaviour_noise_or_oscillation")
@pytest.mark.parametrize("index", range(WANTED["noisy"]), ids=ids("noisy"))
def test_names_a_noisy_run(answer, runs, index):
    """names a run on minibatches of 8 at a constant rate noisy"""
    named(answer, runs, "noisy", index)


@requirement("behaviour_noise_or_oscillation")
@pytest.mark.parametrize("index", range(WANTED["oscillating"]), ids=ids("oscillating"))
def test_names_an_oscillating_run(answer, runs, index):
    """names a full-batch run at a rate above the edge of stability oscillating"""
    named(answer, runs, "oscillating", index)


@requirement("behaviour_overfitting")
@pytest.mark.parametrize("index", range(WANTED["overfitting"]), ids=ids("overfitting"))
def test_names_overfitting(answer, runs, index):
    """names a wide network trained for many epochs on a few samples overfitting"""
    named(answer, runs, "overfitting", index)


@requirement("behaviour_healthy")
@pytest.mark.parametrize("index", range(WANTED["healthy"]), ids=ids("healthy"))
def test_calls_a_healthy_run_healthy(answer, runs, index):
    """calls a run at a good rate healthy"""
    named(answer, runs, "healthy", index)
