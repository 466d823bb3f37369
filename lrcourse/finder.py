"""The learning-rate range test (Smith, 2017) and the rules that read a rate off its curve.

:func:`range_test` trains for a few hundred steps while raising the rate
exponentially, records the loss at every step, stops once the loss has clearly
blown up, and puts the model and the optimizer back exactly as they were. The
suggestion rules (:func:`steepest`, :func:`minimum_over_ten`, :func:`valley`, :func:`lowest`,
:func:`course_rule` and the scaled rules of :data:`RULES`) each turn the recorded curve into one learning rate;
chapter 7 measures how close each lands to the best rate of a grid search, and :func:`recommend` applies the rule
it chose (:func:`rule_for`).
"""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .data import Dataset
from .training import check_lr, default_loss, show_progress


@dataclass
class RangeTest:
    """The curve of one range test: per step, the rate used, the minibatch loss and its smoothed value.

    ``steps`` is the number of steps the test was set to run (the rules trim its first tenth, as fastai does).
    ``loss_rose`` says whether the smoothed loss ever climbed clearly (by :data:`ROSE_BY`) above its lowest value:
    a test that reached ``end_lr`` with the loss still at its lowest never found the edge of stability, and the
    minimum of its curve is only a lower bound, which the rules that read the minimum refuse to use.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stop_reason: str
    steps: int = 100

    @property
    def loss_rose(self) -> bool:
        return bool(len(self.smoothed) > 0
                    and self.smoothed[np.argmin(self.smoothed):].max() > ROSE_BY * self.smoothed.min())


ROSE_BY = 1.1  # the smoothed loss must climb 10% above its lowest value for the test to have found an edge


def range_test(model: nn.Module, data: Dataset, optimizer: torch.optim.Optimizer, *, start_lr: float = 1e-7,
               end_lr: float = 10.0, steps: int = 100, batch_size: int = 64, smoothing: float = 0.02,
               diverge_factor: float = 4.0, seed: int = 0, loss_fn: Callable | None = None,
               progress: bool | None = None) -> RangeTest:
    """Raise the rate from ``start_lr`` to ``end_lr`` over ``steps`` minibatch steps and record the loss.

    ``optimizer`` brings its kind and settings (momentum, betas, weight decay); its learning rate is
    overwritten at every step by the test's own, in every parameter group, and put back afterwards, so
    the rate it was built with does not matter. Step k uses the rate
    ``start_lr * (end_lr / start_lr) ** (k / (steps - 1))`` in every parameter group. The smoothed curve is an
    exponential moving average of the losses with weight ``smoothing`` on the newest (0.02, fastai's), divided by ``1 - (1 - smoothing) ** (k + 1)`` so that its first values are not pulled
    towards zero. The test stops early once the smoothed loss exceeds ``diverge_factor`` times its lowest
    value so far, or at a loss that is not finite (that step is not recorded). Afterwards the model's
    weights and training mode and the optimizer's state and rates are restored, so training can start
    from where it was.
    """
    start_lr, end_lr = check_lr(start_lr, "start_lr"), check_lr(end_lr, "end_lr")
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr:g} and end_lr={end_lr:g}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    if not 0 < smoothing <= 1:
        raise ValueError(f"smoothing must lie in (0, 1], got {smoothing!r}")
    if not diverge_factor > 1:
        raise ValueError(f"diverge_factor must be greater than 1, got {diverge_factor!r}")

    saved_model, saved_optimizer = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    loss_fn = loss_fn or default_loss(data)
    generator = torch.Generator().manual_seed(seed)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))
    losses, smoothed = [], []
    average, best, stop_reason = 0.0, math.inf, f"reached end_lr = {end_lr:g}"
    order = torch.randperm(len(data.x_train), generator=generator)
    model.train()
    try:
        for step in tqdm(range(steps), desc="range test", leave=False, disable=not show_progress(progress)):
            first = (step * batch_size) % len(order)
            if first + batch_size > len(order):
                order, first = torch.randperm(len(data.x_train), generator=generator), 0
            batch = order[first:first + batch_size].to(data.device)
            for group in optimizer.param_groups:
                group["lr"] = float(lrs[step])
            loss = loss_fn(model(data.x_train[batch]), data.y_train[batch])
            value = loss.item()
            if not math.isfinite(value):
                stop_reason = f"the loss became {value} at lr = {lrs[step]:.3g}"
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            average = (1 - smoothing) * average + smoothing * value
            losses.append(value)
            smoothed.append(average / (1 - (1 - smoothing) ** (step + 1)))
            best = min(best, smoothed[-1])
            if smoothed[-1] > diverge_factor * best:
                stop_reason = (f"the smoothed loss passed {diverge_factor:g} times its lowest value "
                               f"at lr = {lrs[step]:.3g}")
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)
    return RangeTest(lrs[:len(losses)], np.array(losses), np.array(smoothed), stop_reason, steps)


def _curve(test: RangeTest, *, needs_minimum: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The part of the smoothed curve that a rule reads, as (log10 rates, smoothed losses): without the first
    tenth of the planned steps and the last 5 recorded ones, as fastai's ``lr_find`` trims it."""
    if needs_minimum and not test.loss_rose:
        raise ValueError(f"the range test ended ({test.stop_reason}) without the loss rising: the minimum of its "
                         "curve is only a lower bound for the edge of stability; rerun it with a larger end_lr")
    start, end = test.steps // 10, len(test.lrs) - 5
    if end - start < 3:
        raise ValueError(f"the range test recorded {len(test.lrs)} steps, too few to suggest a rate after trimming "
                         f"{start} at the start and 5 at the end; run more steps or a wider range")
    return np.log10(test.lrs[start:end]), test.smoothed[start:end]


def steepest(test: RangeTest) -> float:
    """The rate where the smoothed loss falls fastest against log(lr) (fastai's "steep"; torch-lr-finder's
    suggestion is the same idea on its own curve)."""
    log_lrs, losses = _curve(test)
    return float(10 ** log_lrs[np.argmin(np.diff(losses) / np.diff(log_lrs))])


def lowest(test: RangeTest) -> float:
    """The rate at which the smoothed loss is lowest: the edge of stability as the smoothed curve sees it, shifted
    right by the smoothing's lag. Only meaningful once the loss has risen after it (``test.loss_rose``)."""
    log_lrs, losses = _curve(test, needs_minimum=True)
    return float(10 ** log_lrs[np.argmin(losses)])


def minimum_over_ten(test: RangeTest) -> float:
    """A tenth of the rate at which the smoothed loss is lowest (fastai's "minimum" suggestion); chapter 7's rule
    for the peak of a one-cycle schedule with SGD on batches under 32 (:func:`rule_for`)."""
    return lowest(test) / 10


def valley(test: RangeTest) -> float:
    """fastai's default suggestion: about halfway along the longest descent of the smoothed loss.

    The descent is the longest subsequence of steps along which the smoothed loss keeps falling; as in fastai,
    it is taken to span as many steps back from its last one as it holds, and the suggestion lies a third plus a
    sixth of the way along it. A long descent is where training makes steady progress, and its middle lies
    well before the loss turns up.
    """
    log_lrs, losses = _curve(test)
    longest = np.ones(len(losses), dtype=int)  # longest[i]: steps in the longest falling subsequence ending at i
    for i in range(1, len(losses)):
        higher = longest[:i][losses[:i] > losses[i]]
        if len(higher):
            longest[i] = higher.max() + 1
    end = int(np.argmax(longest))
    start = end - longest[end]
    third = (end - start) / 3
    return float(10 ** log_lrs[start + int(third) + int(third / 2)])


def course_rule(test: RangeTest) -> float:
    """The course's earlier rule, kept for comparison: the geometric mean of :func:`minimum_over_ten` and the rate
    at 80% of the descent (:func:`rule_for` now picks a rule per optimizer family, batch size and schedule).

    The second rate is the first one at which the smoothed loss has covered 80% of its fall, from its
    starting level (the median of the first ten values read) down to its lowest value. It marks the
    late part of the descent, where training still makes fast progress, and, being a level crossing
    rather than a slope, it is not thrown off by a kink in a noisy curve the way :func:`steepest` is.
    """
    log_lrs, losses = _curve(test, needs_minimum=True)
    lowest = int(np.argmin(losses))
    start = float(np.median(losses[:10]))
    level = start - 0.8 * (start - losses[lowest])
    at_level = int(np.flatnonzero(losses[:lowest + 1] <= level)[0])
    return float(math.sqrt(minimum_over_ten(test) * 10 ** log_lrs[at_level]))


def _minimum_over(divisor: float, why: str) -> Callable[[RangeTest], float]:
    def rule(test: RangeTest) -> float:
        return lowest(test) / divisor
    rule.__name__ = f"minimum_over_{divisor:g}".replace(".", "_")
    rule.__doc__ = f"The rate of the lowest smoothed loss divided by {divisor:g}. {why}"
    return rule


def _valley_times(factor: float, why: str) -> Callable[[RangeTest], float]:
    def rule(test: RangeTest) -> float:
        return valley(test) * factor
    rule.__name__ = f"valley_times_{factor:g}"
    rule.__doc__ = f"fastai's valley times {factor:g}. {why}"
    return rule


# The rules chapter 7 chose, per optimizer family, batch size and schedule, on its development tasks (rule_for).
# SGD (with or without momentum) is read off the minimum, the edge of stability; adaptive optimizers off the valley,
# because their curves often fall to a plateau near chance level instead of blowing up, which moves the minimum.
SGD_CONSTANT = _minimum_over(5, "SGD at a constant rate, batches of 32 or more: the best constant rate of a short "
                                "budget sat 2 to 5 times below the (lagged) edge on chapter 7's tasks.")
SGD_CONSTANT_SMALL_BATCH = _minimum_over(15, "SGD at a constant rate, batches under 32: a short test on small, noisy "
                                             "batches puts its minimum much further right of the best rate.")
SGD_ONE_CYCLE = _minimum_over(1.5, "The peak of a one-cycle schedule with SGD, batches of 32 or more: the schedule "
                                   "spends only a few steps near its peak, so the peak can sit close to the edge.")
ADAPTIVE_CONSTANT = _valley_times(2, "Adam and the other adaptive optimizers at a constant rate: the best rate sat "
                                     "about twice above the valley on chapter 7's tasks.")
ADAPTIVE_ONE_CYCLE = _valley_times(5, "The peak of a one-cycle schedule with an adaptive optimizer: the best peak sat "
                                      "about 2.5 times above the best constant rate.")

RULES = {"steepest": steepest, "minimum / 10": minimum_over_ten, "valley": valley, "course rule": course_rule,
         "minimum": lowest, "minimum / 5": SGD_CONSTANT, "minimum / 15": SGD_CONSTANT_SMALL_BATCH,
         "minimum / 1.5": SGD_ONE_CYCLE,
         "valley x 2": ADAPTIVE_CONSTANT, "valley x 5": ADAPTIVE_ONE_CYCLE}
READS_MINIMUM = frozenset({"minimum / 10", "course rule", "minimum", "minimum / 5", "minimum / 15", "minimum / 1.5"})
SCHEDULES = ("constant", "one-cycle")


@dataclass(frozen=True)
class Recommendation:
    """A learning rate read off a range test, the rule that read it, and the test itself (to plot)."""

    lr: float
    rule: str
    test: RangeTest


def rule_for(optimizer: torch.optim.Optimizer, batch_size: int, schedule: str = "constant") -> str:
    """The name of the rule (in :data:`RULES`) that chapter 7 advises for this optimizer, batch size and schedule.

    ``schedule`` is ``"constant"`` (the rate to train at) or ``"one-cycle"`` (the peak of a one-cycle schedule).
    SGD, with or without momentum, reads the minimum of the curve, divided by 5 (constant) or 1.5 (one-cycle peak)
    for batches of 32 or more, by 15 or 10 for smaller batches; every other optimizer (Adam, AdamW, RMSprop ...)
    takes fastai's valley times 2 (constant) or 5 (one-cycle peak).
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
    one_cycle, small = schedule == "one-cycle", batch_size < 32
    if isinstance(optimizer, torch.optim.SGD):
        if one_cycle:
            return "minimum / 10" if small else "minimum / 1.5"  # fastai's minimum for small batches
        return "minimum / 15" if small else "minimum / 5"
    return "valley x 5" if one_cycle else "valley x 2"


def recommend(model: nn.Module, data: Dataset, optimizer: torch.optim.Optimizer, *, batch_size: int = 64,
              seed: int = 0, progress: bool | None = None, schedule: str = "constant",
              **range_options) -> Recommendation:
    """Run a range test of ``model`` with ``optimizer`` at ``batch_size`` and read a rate off it with the rule
    :func:`rule_for` picks for ``schedule`` (``"constant"``, or ``"one-cycle"`` for the peak of a one-cycle
    schedule); the model and the optimizer are left as they were. ``range_options`` go to :func:`range_test`.

    A rule that reads the minimum needs a curve whose loss rose after it. If the test reached ``end_lr`` without
    that, it is run once more over a range two decades wider at the top (``end_lr`` times 100, with as many more
    steps as keep the rate's growth per step); if the loss still never rose, ValueError.
    """
    rule = rule_for(optimizer, batch_size, schedule)
    test = range_test(model, data, optimizer, batch_size=batch_size, seed=seed, progress=progress, **range_options)
    if rule in READS_MINIMUM and not test.loss_rose and test.stop_reason.startswith("reached end_lr"):
        start_lr, end_lr = float(test.lrs[0]), float(range_options.get("end_lr", 10.0))
        steps = range_options.get("steps", 100)
        wider = {**range_options, "end_lr": end_lr * 100,
                 "steps": steps + round((steps - 1) * 2 / math.log10(end_lr / start_lr))}
        test = range_test(model, data, optimizer, batch_size=batch_size, seed=seed, progress=progress, **wider)
    return Recommendation(RULES[rule](test), rule, test)
