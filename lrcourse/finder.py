"""The learning-rate range test (Smith, 2017) and the rules that read a rate off its curve.

:func:`range_test` trains for a few hundred steps while raising the rate
exponentially, records the loss at every step, stops once the loss has clearly
blown up, and puts the model and the optimizer back exactly as they were. The
suggestion rules (:func:`steepest`, :func:`minimum_over_ten`, :func:`valley`,
:func:`course_rule`) each turn the recorded curve into one learning rate;
chapter 7 measures how close each lands to the best rate of a grid search.
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
    """The curve of one range test: per step, the rate used, the minibatch loss and its smoothed value."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stop_reason: str


def range_test(model: nn.Module, data: Dataset, optimizer: torch.optim.Optimizer, *, start_lr: float = 1e-7,
               end_lr: float = 10.0, steps: int = 100, batch_size: int = 64, smoothing: float = 0.05,
               diverge_factor: float = 4.0, seed: int = 0, loss_fn: Callable | None = None,
               progress: bool | None = None) -> RangeTest:
    """Raise the rate from ``start_lr`` to ``end_lr`` over ``steps`` minibatch steps and record the loss.

    ``optimizer`` brings its kind and settings (momentum, betas, weight decay); its learning rate is
    overwritten at every step by the test's own, in every parameter group, and put back afterwards, so
    the rate it was built with does not matter. Step k uses the rate
    ``start_lr * (end_lr / start_lr) ** (k / (steps - 1))`` in every parameter group. The smoothed curve is an exponential moving average of the losses with weight ``smoothing``
    on the newest, divided by ``1 - (1 - smoothing) ** (k + 1)`` so that its first values are not pulled
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
    return RangeTest(lrs[:len(losses)], np.array(losses), np.array(smoothed), stop_reason)


def _curve(test: RangeTest, skip_start: int = 0, skip_end: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The part of the smoothed curve that a rule reads, as (log10 rates, smoothed losses)."""
    end = len(test.lrs) - skip_end
    if end - skip_start < 3:
        raise ValueError(f"the range test recorded {len(test.lrs)} steps, too few to suggest a rate after skipping "
                         f"{skip_start} at the start and {skip_end} at the end; run more steps or a wider range")
    return np.log10(test.lrs[skip_start:end]), test.smoothed[skip_start:end]


def steepest(test: RangeTest, skip_start: int = 10, skip_end: int = 5) -> float:
    """The rate where the smoothed loss falls fastest against log(lr), as torch-lr-finder and Lightning suggest."""
    log_lrs, losses = _curve(test, skip_start, skip_end)
    return float(10 ** log_lrs[np.argmin(np.gradient(losses, log_lrs))])


def minimum_over_ten(test: RangeTest) -> float:
    """A tenth of the rate at which the smoothed loss is lowest (fastai's "minimum" suggestion)."""
    log_lrs, losses = _curve(test)
    return float(10 ** log_lrs[np.argmin(losses)] / 10)


def valley(test: RangeTest) -> float:
    """The rate halfway along the longest descent of the smoothed loss.

    The descent is the longest subsequence of steps along which the smoothed loss keeps falling, the idea
    of fastai's "valley" rule; as there, it is taken to span as many steps back from its last one as it
    holds, so that a noisy flat start does not stretch it. A long descent is where training makes steady
    progress, and its middle lies well before the loss turns up.
    """
    log_lrs, losses = _curve(test)
    longest = np.ones(len(losses), dtype=int)  # longest[i]: steps in the longest falling subsequence ending at i
    for i in range(1, len(losses)):
        higher = longest[:i][losses[:i] > losses[i]]
        if len(higher):
            longest[i] = higher.max() + 1
    end = int(np.argmax(longest))
    return float(10 ** log_lrs[end - longest[end] // 2])


def course_rule(test: RangeTest) -> float:
    """The course's rule: the geometric mean of :func:`minimum_over_ten` and the rate at 80% of the descent.

    The second rate is the first one at which the smoothed loss has covered 80% of its fall, from its
    starting level (the median of the first ten recorded values) down to its lowest value. It marks the
    late part of the descent, where training still makes fast progress, and, being a level crossing
    rather than a slope, it is not thrown off by a kink in a noisy curve the way :func:`steepest` is.
    The minimum's tenth errs on the low side when the loss bottoms out late (a short budget on an easy
    problem wants a rate close to the minimum); the 80% point errs on the high side when the optimum is
    sharp; their middle in log scale is the safer bet. It replaces the course's first guess, the
    geometric mean of :func:`steepest` and :func:`minimum_over_ten`, which inherited the steepest
    point's jumps; chapter 7 measures both against a grid search, and says how this rule was chosen.
    """
    log_lrs, losses = _curve(test)
    lowest = int(np.argmin(losses))
    start = float(np.median(losses[:10]))
    level = start - 0.8 * (start - losses[lowest])
    at_level = int(np.flatnonzero(losses[:lowest + 1] <= level)[0])
    return float(math.sqrt(minimum_over_ten(test) * 10 ** log_lrs[at_level]))
