"""The course's one training loop, and the one learning-rate sweep built on it.

Every chapter trains through :func:`train` and sweeps learning rates through
:func:`sweep`, so a change here (a faster path, a new record) reaches the whole book.
"""

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .data import Dataset


@dataclass
class History:
    """What one training run recorded.

    Per step: ``loss`` and, for classification, ``accuracy`` (both of the
    minibatch), and ``lr`` (of the first parameter group). Per epoch:
    ``train_loss`` (mean over the epoch's minibatches), ``test_loss`` and, for
    classification, ``test_accuracy``.
    ``stop_reason`` says why a run ended early, or is ``None``.
    """

    label: str = ""
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    stop_reason: str | None = None
    seconds: float = 0.0

    @property
    def diverged(self) -> bool:
        return self.stop_reason is not None

    @property
    def final_loss(self) -> float:
        """Training loss of the last epoch; infinite for a run that diverged."""
        return math.inf if self.diverged or not self.train_loss else self.train_loss[-1]


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


def train(model: nn.Module, data: Dataset, optimizer: torch.optim.Optimizer, *, epochs: int = 1,
          steps: int | None = None, batch_size: int | None = None, seed: int = 0, loss_fn: Callable | None = None,
          scheduler: Callable[[torch.optim.Optimizer], object] | None = None, autocast: bool = False,
          label: str = "", progress: bool | None = None, verbose: bool = True) -> History:
    """Train ``model`` on ``data.x_train`` with ``optimizer`` and return its :class:`History`.

    ``batch_size=None`` takes the whole training set at every step (full-batch
    gradient descent), so ``epochs`` is then the number of steps. ``steps``, if
    given, sets the budget in steps instead of epochs (the last epoch may end
    early), which compares batch sizes at equal numbers of updates. Minibatches are
    reshuffled each epoch from ``seed``. The loss defaults to cross-entropy for
    classification and mean squared error for regression. The losses are read once
    an epoch, not at every step (on a GPU each read waits for the device); a run whose
    loss stops being finite stops at the end of that epoch, and its history ends
    at the first non-finite loss, with the reason; so does a printed line when ``verbose``.

    ``scheduler``, if given, is called once with the optimizer to make a learning-
    rate scheduler, for example ``partial(CosineAnnealingLR, T_max=500)``. It is
    stepped after every optimizer step, so its horizons count steps, not epochs;
    except ``ReduceLROnPlateau``, which is stepped once an epoch with the epoch's
    mean training loss, the only loss it sees when it decides.

    ``autocast=True`` runs the forward pass in bfloat16 where torch deems it safe (matrix
    products, convolutions; losses stay in float32): on a GPU with bfloat16 tensor cores that is
    several times the throughput of float32, at about three significant digits per product.
    """
    for group in optimizer.param_groups:
        check_lr(group["lr"], "the optimizer's lr")
    loss_fn = loss_fn or _default_loss(data)
    scheduler = scheduler(optimizer) if scheduler is not None else None
    on_plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    plan = minibatch_plan(data, epochs=epochs, steps=steps, batch_size=batch_size, seed=seed)

    history = History(label=label)
    start = time.perf_counter()
    bar = tqdm(total=plan.total_steps, desc=label or "training", leave=False,
               disable=not show_progress(progress))
    model.train()
    for batches in plan:
        # The losses and accuracies stay on the device until the epoch ends: no round trip to the host per step.
        losses, accuracies = [], []
        for batch in batches:
            targets = data.y_train[batch]
            with bfloat16_autocast(data.device, autocast):
                outputs = model(data.x_train[batch])
                if not history.loss and not losses:
                    _check_outputs(outputs, data)
                loss = loss_fn(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            history.lr.append(optimizer.param_groups[0]["lr"])  # the rate this step used
            optimizer.step()
            if scheduler is not None and not on_plateau:
                scheduler.step()
            losses.append(loss.detach())
            if data.is_classification:
                accuracies.append((outputs.argmax(dim=-1) == targets).float().mean())
            bar.update()
        values = torch.stack(losses).float().cpu().numpy()
        finite = int(np.isfinite(values).cumprod().sum())  # the steps before the first non-finite loss
        history.loss.extend(values[:finite].tolist())
        if accuracies:
            history.accuracy.extend(torch.stack(accuracies)[:finite].cpu().tolist())
        if finite < len(values):  # what came after that loss is thrown away: the run stopped there
            del history.lr[len(history.loss):]
            history.stop_reason = f"the training loss became {values[finite]} at step {len(history.loss)}"
            break
        history.train_loss.append(float(np.mean(values)))
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3g}")
        if on_plateau:
            scheduler.step(history.train_loss[-1])
        test_loss, test_accuracy = evaluate(model, data, loss_fn)
        history.test_loss.append(test_loss)
        if data.is_classification:
            history.test_accuracy.append(test_accuracy)
    bar.close()
    history.seconds = time.perf_counter() - start
    if history.stop_reason and verbose:
        print(f"{label or 'Training'} stopped early: {history.stop_reason}.")
    return history


def bfloat16_autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """The context in which :func:`train` runs a forward pass when asked for ``autocast``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


@dataclass
class MinibatchPlan:
    """Which samples each step of a run takes: iterating gives, epoch by epoch, the list of its batches.

    A batch is a tensor of indices into the training set, or ``slice(None)`` for the whole set. The order
    is reshuffled every epoch from the seed, so that every run with the same seed sees the same batches.
    """

    num_train: int
    batch_size: int
    epochs: int
    total_steps: int
    seed: int
    device: torch.device

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed)
        left = self.total_steps
        for _ in range(self.epochs):
            if self.batch_size < self.num_train:
                order = torch.randperm(self.num_train, generator=generator).to(self.device)
                batches = [order[first:first + self.batch_size]
                           for first in range(0, self.num_train, self.batch_size)][:left]
            else:
                batches = [slice(None)][:left]
            yield batches
            left -= len(batches)


def minibatch_plan(data: Dataset, *, epochs: int = 1, steps: int | None = None, batch_size: int | None = None,
                   seed: int = 0) -> MinibatchPlan:
    """The batches of a run of ``epochs`` epochs, or of ``steps`` steps, as :func:`train` takes them."""
    for name, value in (("epochs", epochs), ("steps", steps), ("batch_size", batch_size)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    num_train = len(data.x_train)
    batch_size = min(batch_size or num_train, num_train)
    steps_per_epoch = math.ceil(num_train / batch_size)
    if steps is not None:
        epochs = math.ceil(steps / steps_per_epoch)
    return MinibatchPlan(num_train, batch_size, epochs, steps or epochs * steps_per_epoch, seed, data.device)


@torch.no_grad()
def evaluate(model: nn.Module, data: Dataset, loss_fn: Callable | None = None) -> tuple[float, float | None]:
    """Loss and accuracy (``None`` for regression) of ``model`` on the test split."""
    was_training = model.training
    model.eval()
    outputs = model(data.x_test)
    model.train(was_training)
    loss = (loss_fn or _default_loss(data))(outputs, data.y_test).item()
    if not data.is_classification:
        return loss, None
    return loss, (outputs.argmax(dim=-1) == data.y_test).float().mean().item()


@dataclass
class Sweep:
    """Histories of one model trained at each learning rate, for each seed.

    ``histories[i][j]`` is seed ``seeds[i]`` at rate ``lrs[j]``.
    """

    lrs: np.ndarray
    seeds: tuple[int, ...]
    histories: list[list[History]]

    def final_losses(self) -> np.ndarray:
        """Final training loss, shape ``(len(seeds), len(lrs))``; ``inf`` where a run diverged."""
        return np.array([[h.final_loss for h in row] for row in self.histories])

    def final_accuracies(self) -> np.ndarray:
        """Test accuracy after the last epoch, shape ``(len(seeds), len(lrs))``; NaN where a run diverged."""
        return np.array([[h.test_accuracy[-1] if h.test_accuracy and not h.diverged else np.nan for h in row]
                         for row in self.histories])

    def good_lrs(self, within: float = 0.1) -> tuple[float, float]:
        """The band of good rates: the lowest and highest rate of the unbroken run of rates around
        :meth:`best_lr` whose median final loss is within the fraction ``within`` of the best median loss.

        Its width, ``high / low``, says how precisely a learning rate must be tuned; it is only as fine as
        the sweep's grid, and a band that reaches the grid's edge may extend beyond it.
        """
        if not within >= 0:
            raise ValueError(f"within must be a fraction >= 0, got {within!r}")
        median, best = self._best()
        good = median <= median[best] + within * abs(median[best])
        low = high = best
        while low > 0 and good[low - 1]:
            low -= 1
        while high < len(good) - 1 and good[high + 1]:
            high += 1
        return float(self.lrs[low]), float(self.lrs[high])

    def best_lr(self) -> float:
        """The rate with the lowest median final loss over seeds."""
        return float(self.lrs[self._best()[1]])

    def _best(self) -> tuple[np.ndarray, int]:
        """The median final loss of each rate, and the index of the lowest."""
        median = np.median(self.final_losses(), axis=0)
        if not np.isfinite(median).any():
            raise ValueError("no learning rate in this sweep trained without diverging on most seeds")
        return median, int(np.argmin(median))


def sweep(make_model: Callable[[], nn.Module], data: Dataset, lrs: Sequence[float], *,
          optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.SGD, seeds: Sequence[int] = (0,),
          stacked: bool | None = None, progress: bool | None = None, **train_kwargs) -> Sweep:
    """Train a fresh ``make_model()`` at every rate in ``lrs`` for every seed.

    ``optimizer`` is called as ``optimizer(model.parameters(), lr=lr)``; pass a
    ``functools.partial`` to fix its other settings. The seed sets both the
    initial weights and the minibatch order, so two rates with the same seed
    start from the same weights. Other keyword arguments go to :func:`train`.

    The rates of a seed are trained at once, in one batched computation
    (:mod:`lrcourse.stacked`), with the same results up to rounding, whenever the model,
    optimizer and settings allow it (:func:`lrcourse.stacked.can_stack`): several times faster
    for a small model. ``stacked=False`` trains one rate at a time; ``stacked=True`` raises a
    ValueError where stacking does not apply.
    """
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or len(lrs) == 0:
        raise ValueError(f"lrs must be a non-empty 1-D sequence of learning rates, got shape {lrs.shape}")
    for i, lr in enumerate(lrs):
        check_lr(lr, f"lrs[{i}]")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")

    from .stacked import can_stack, train_stacked  # it builds on this module

    bar = tqdm(total=len(seeds) * len(lrs), desc="sweep", disable=not show_progress(progress))
    histories = []
    for seed in seeds:
        if stacked is not False:
            torch.manual_seed(seed)
            model = make_model().to(data.device)
            if can_stack(model, optimizer, train_kwargs):
                histories.append(train_stacked(model, data, optimizer, list(lrs), seed=seed, **train_kwargs))
                bar.update(len(lrs))
                continue
            if stacked:
                raise ValueError("stacked=True needs a model of plain layers (no normalization or dropout), one of "
                                 "the optimizers SGD, Adam, AdamW, Adagrad or RMSprop, and no scheduler")
        row = []
        for lr in lrs:
            torch.manual_seed(seed)
            model = make_model().to(data.device)
            history = train(model, data, optimizer(model.parameters(), lr=lr), seed=seed,
                            label=f"lr={lr:.3g}", progress=False, verbose=False, **train_kwargs)
            row.append(history)
            bar.update()
        histories.append(row)
    bar.close()
    result = Sweep(lrs, seeds, histories)
    diverged = np.isinf(result.final_losses())
    if diverged.any():
        print(f"{diverged.sum()} of {diverged.size} runs diverged; "
              f"the smallest rate that diverged was {lrs[diverged.any(axis=0)].min():.3g}.")
    return result


def _default_loss(data: Dataset) -> Callable:
    if data.is_classification:  # one class per sample, or per position of a sequence
        return lambda outputs, targets: F.cross_entropy(outputs.flatten(0, -2), targets.flatten())
    return lambda outputs, targets: F.mse_loss(outputs.reshape(targets.shape), targets)


def _check_outputs(outputs: torch.Tensor, data: Dataset):
    expected = (len(outputs), *data.y_train.shape[1:], data.num_outputs)
    if tuple(outputs.shape) != expected and not (not data.is_classification and outputs.ndim == 1):
        raise ValueError(f"the model returned outputs of shape {tuple(outputs.shape)}, but {data.name} needs "
                         f"{expected}: one column per {'class' if data.is_classification else 'target'}")
