"""The course's one training loop: every chapter trains through :func:`train`.

Its settings are one :class:`TrainSettings`, which the stacked sweep (:mod:`lrcourse.stacked`) shares, and
what a chapter wants to watch at every step (gradient norms, update sizes) it watches through a
:class:`Callback`; so a change here (a faster path, a new record) reaches the whole book.
"""

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.lr_scheduler import LRScheduler
from tqdm.auto import tqdm

from .data import SPLITS, Dataset
from .results import History


def check_lr(lr, name: str = "lr") -> float:
    """Return ``lr`` as a float, or raise a ValueError naming ``name``."""
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {lr!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {lr!r}")
    return value


def show_progress(progress: bool | None) -> bool:
    """Resolve ``progress=None``: bars on, except under nbgrader or with LRCOURSE_PROGRESS=0.

    A progress bar writes to stderr, and nbgrader scores any cell with stderr 0.
    """
    if progress is not None:
        return progress
    return "NBGRADER_EXECUTION" not in os.environ and os.environ.get("LRCOURSE_PROGRESS", "1") != "0"


@dataclass(frozen=True)
class TrainSettings:
    """How a model is trained: the settings shared by :func:`train` and the stacked sweep
    (:func:`lrcourse.stacked.train_stacked`), so that the two cannot drift apart.

    ``batch_size=None`` takes the whole training set at every step (full-batch gradient descent), so
    ``epochs`` is then the number of steps. ``steps``, if given, sets the budget in steps instead of
    epochs (the last epoch may end early), which compares batch sizes at equal numbers of updates.
    Minibatches are reshuffled each epoch from ``seed``. ``start_step`` resumes a run from a checkpoint:
    the run takes the plan's minibatches from that step on, as the interrupted run would have.

    ``loss_fn`` defaults to cross-entropy for classification and mean squared error for regression.
    ``scheduler`` makes a learning-rate scheduler: a function of the optimizer, for example
    ``partial(CosineAnnealingLR, T_max=500)``, or a scheduler already built (to resume one). It is
    stepped after every optimizer step, so its horizons count steps, not epochs; except
    ``ReduceLROnPlateau``, which is stepped once an epoch with the epoch's mean training loss, the only
    loss it sees when it decides. ``callbacks`` see every step (:class:`Callback`).

    ``clip_norm`` clips the gradient by its global norm before every step: all gradients together are
    scaled by ``min(1, clip_norm / (norm + 1e-6))``, as ``torch.nn.utils.clip_grad_norm_`` does, after
    the callbacks' ``before_step``.

    ``autocast=True`` runs the forward pass in bfloat16 where torch deems it safe (matrix products,
    convolutions; losses stay in float32): on a GPU with bfloat16 tensor cores that is several times
    the throughput of float32, at about three significant digits per product.
    """

    epochs: int = 1
    steps: int | None = None
    batch_size: int | None = None
    seed: int = 0
    start_step: int = 0
    loss_fn: Callable | None = None
    scheduler: Callable | LRScheduler | None = None
    callbacks: Sequence["Callback"] = ()
    clip_norm: float | None = None
    autocast: bool = False

    def __post_init__(self):
        for name in ("epochs", "steps", "batch_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.start_step, bool) or not isinstance(self.start_step, int) or self.start_step < 0:
            raise ValueError(f"start_step must be an integer >= 0, got {self.start_step!r}")
        if self.clip_norm is not None and not (isinstance(self.clip_norm, (int, float)) and 0 < self.clip_norm < math.inf):
            raise ValueError(f"clip_norm must be a positive number or None, got {self.clip_norm!r}")


@dataclass
class Step:
    """What a :class:`Callback` sees of one training step."""

    index: int  # counted from the start of the plan, so a resumed run goes on counting
    model: nn.Module
    optimizer: torch.optim.Optimizer
    loss: torch.Tensor  # the minibatch's loss, still on the device: reading it waits for the device
    outputs: torch.Tensor
    batch: torch.Tensor | slice


class Callback:
    """Something that watches every step of :func:`train`; override the moments you need.

    ``before_step`` runs once the gradients are computed and before the optimizer moves the weights,
    ``after_step`` once it has moved them (and the scheduler has stepped).
    """

    def before_step(self, step: Step):
        pass

    def after_step(self, step: Step):
        pass


# A run has diverged once its loss is not finite, or has grown this many times above its first value (or
# above 1, if that was smaller): the weights have left every region where training makes progress, even
# when the numbers stay finite.
DIVERGENCE_FACTOR = 1e3


def train(model: nn.Module, data: Dataset, optimizer: torch.optim.Optimizer, settings: TrainSettings | None = None,
          *, label: str = "", progress: bool | None = None, verbose: bool = True, **setting_values) -> History:
    """Train ``model`` on ``data.x_train`` with ``optimizer`` and return its :class:`History`.

    The settings (epochs or steps, batch size, seed, loss, scheduler, callbacks ...) are those of
    :class:`TrainSettings`, given as keywords (``train(model, data, optimizer, epochs=5, batch_size=64)``)
    or as one object, which keywords then amend. The losses are read once an epoch, not at every step
    (on a GPU each read waits for the device). A run whose loss stops being finite, or grows
    ``DIVERGENCE_FACTOR`` times above its first value, stops at the end of that epoch; its history ends
    just before that loss, with the reason, and so does a printed line when ``verbose``.
    """
    settings = replace(settings or TrainSettings(), **setting_values)
    for group in optimizer.param_groups:
        check_lr(group["lr"], "the optimizer's lr")
    loss_fn = settings.loss_fn or default_loss(data)
    scheduler = settings.scheduler
    if scheduler is not None and not isinstance(scheduler, LRScheduler):
        scheduler = scheduler(optimizer)
    on_plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    plan = minibatch_plan(data, settings)

    history = History(label=label)
    start = time.perf_counter()
    bar = tqdm(total=plan.total_steps - plan.start_step, desc=label or "training", leave=False,
               disable=not show_progress(progress))
    model.train()
    index, limit = plan.start_step, None
    for batches in plan:
        # The losses and accuracies stay on the device until the epoch ends: no round trip to the host per step.
        losses, accuracies = [], []
        for batch in batches:
            targets = data.y_train[batch]
            with bfloat16_autocast(data.device, settings.autocast):
                outputs = model(data.x_train[batch])
                if limit is None:
                    _check_outputs(outputs, data)
                loss = loss_fn(outputs, targets)
            if limit is None:
                limit = divergence_limit(loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            step = Step(index, model, optimizer, loss, outputs, batch)
            for callback in settings.callbacks:
                callback.before_step(step)
            if settings.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
            history.lr.append(optimizer.param_groups[0]["lr"])  # the rate this step used
            optimizer.step()
            if scheduler is not None and not on_plateau:
                scheduler.step()
            for callback in settings.callbacks:
                callback.after_step(step)
            losses.append(loss.detach())
            if data.is_classification:
                accuracies.append((outputs.argmax(dim=-1) == targets).float().mean())
            index += 1
            bar.update()
        values = torch.stack(losses).float()
        healthy = int(healthy_steps(values, limit))
        values = values.cpu().numpy()
        history.loss.extend(values[:healthy].tolist())
        if accuracies:
            history.accuracy.extend(torch.stack(accuracies)[:healthy].cpu().tolist())
        if healthy < len(values):  # what came after that loss is thrown away: the run stopped there
            del history.lr[len(history.loss):]
            history.stop_reason = divergence_reason(values[healthy], float(limit), len(history.loss))
            break
        history.train_loss.append(float(np.mean(values)))
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3g}")
        if on_plateau:
            scheduler.step(history.train_loss[-1])
        val_loss, val_accuracy = evaluate(model, data, loss_fn)
        history.val_loss.append(val_loss)
        if data.is_classification:
            history.val_accuracy.append(val_accuracy)
    bar.close()
    history.seconds = time.perf_counter() - start
    if history.stop_reason and verbose:
        print(f"{label or 'Training'} stopped early: {history.stop_reason}.")
    return history


def divergence_limit(first_loss: torch.Tensor) -> torch.Tensor:
    """The loss past which a run has diverged: ``DIVERGENCE_FACTOR`` times its first loss, or times 1 if smaller."""
    return DIVERGENCE_FACTOR * first_loss.detach().float().abs().clamp(min=1.0)


def healthy_steps(losses: torch.Tensor, limit: torch.Tensor) -> torch.Tensor:
    """How many steps along the first dimension of ``losses`` (per column, for stacked runs) come before the first
    loss that is not finite or passes ``limit``: where a run that diverged stops."""
    return (torch.isfinite(losses) & (losses <= limit)).int().cumprod(dim=0).sum(dim=0)


def divergence_reason(loss: float, limit: float, step: int) -> str:
    """Why a run stopped, for :attr:`History.stop_reason`."""
    if not math.isfinite(loss):
        return f"the training loss became {loss} at step {step}"
    return (f"the training loss became {loss:.3g} at step {step}, past {limit:.3g}, "
            f"the limit of {DIVERGENCE_FACTOR:g} times its first value")


def bfloat16_autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """The context in which :func:`train` runs a forward pass when asked for ``autocast``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


@dataclass
class MinibatchPlan:
    """Which samples each step of a run takes: iterating gives, epoch by epoch, the list of its batches.

    A batch is a tensor of indices into the training set, or ``slice(None)`` for the whole set. The order
    is reshuffled every epoch from the seed, so that every run with the same seed sees the same batches;
    the steps before ``start_step`` are skipped (their epochs' shuffles still drawn).
    """

    num_train: int
    batch_size: int
    epochs: int
    total_steps: int
    seed: int
    device: torch.device
    start_step: int = 0

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed)
        done = 0
        for _ in range(self.epochs):
            if self.batch_size < self.num_train:
                order = torch.randperm(self.num_train, generator=generator).to(self.device)
                batches = [order[first:first + self.batch_size] for first in range(0, self.num_train, self.batch_size)]
            else:
                batches = [slice(None)]
            batches = batches[:self.total_steps - done]
            skip = min(max(self.start_step - done, 0), len(batches))
            done += len(batches)
            if batches[skip:]:
                yield batches[skip:]


def minibatch_plan(data: Dataset, settings: TrainSettings | None = None, **setting_values) -> MinibatchPlan:
    """The batches of a run with these settings (:class:`TrainSettings`), as :func:`train` takes them."""
    settings = replace(settings or TrainSettings(), **setting_values)
    num_train = len(data.x_train)
    batch_size = min(settings.batch_size or num_train, num_train)
    steps_per_epoch = math.ceil(num_train / batch_size)
    epochs = math.ceil(settings.steps / steps_per_epoch) if settings.steps is not None else settings.epochs
    total_steps = settings.steps or epochs * steps_per_epoch
    if settings.start_step >= total_steps:
        raise ValueError(f"start_step must come before the run's last step, {total_steps}; "
                         f"got {settings.start_step}")
    return MinibatchPlan(num_train, batch_size, epochs, total_steps, settings.seed, data.device, settings.start_step)


@torch.no_grad()
def evaluate(model: nn.Module, data: Dataset, loss_fn: Callable | None = None, split: str = "val"
             ) -> tuple[float, float | None]:
    """Loss and accuracy (``None`` for regression) of ``model`` on one split of ``data``: the validation
    split, on which training is judged and choices are made, unless told ``split="test"`` (once, to report)
    or ``"train"``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    was_training = model.training
    model.eval()
    outputs = model(x)
    model.train(was_training)
    loss = (loss_fn or default_loss(data))(outputs, y).item()
    if not data.is_classification:
        return loss, None
    return loss, (outputs.argmax(dim=-1) == y).float().mean().item()


def default_loss(data: Dataset) -> Callable:
    """Cross-entropy for classification, mean squared error for regression."""
    if data.is_classification:  # one class per sample, or per position of a sequence
        return lambda outputs, targets: F.cross_entropy(outputs.flatten(0, -2), targets.flatten())
    return lambda outputs, targets: F.mse_loss(outputs.reshape(targets.shape), targets)


def _check_outputs(outputs: torch.Tensor, data: Dataset):
    expected = (len(outputs), *data.y_train.shape[1:], data.num_outputs)
    if tuple(outputs.shape) != expected and not (not data.is_classification and outputs.ndim == 1):
        raise ValueError(f"the model returned outputs of shape {tuple(outputs.shape)}, but {data.name} needs "
                         f"{expected}: one column per {'class' if data.is_classification else 'target'}")
