"""Training K copies of one small model at K learning rates in one batched computation.

A learning-rate sweep trains the same model from the same start on the same
minibatches, once per rate. For a small model most of each step's time is
Python and kernel-launch overhead, paid K times over. Here the K copies' weights
are stacked along a new first dimension (``torch.func.stack_module_state``), the
forward and backward passes of all K run as one batched pass (a linear layer
becomes one batched matrix product, a convolution one grouped convolution), and
one optimizer steps the stacked weights.

The K rates enter through one property of torch.optim's update rules: each
moves the weights by the learning rate times a quantity that does not depend on
the rate (SGD's velocity, Adam's normalized moment, AdaGrad's scaled gradient,
and AdamW's decay, which is ``lr * weight_decay * p``). So the optimizer steps
with rate 1, and each copy's move is then scaled by its own rate:
``p <- p_old + lr_k * (p_step - p_old)``. The result equals K separate runs up to
rounding (``tests/test_stacked.py`` checks it against :func:`lrcourse.training.train`).
"""

import functools
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .data import Dataset
from .training import History, bfloat16_autocast, minibatch_plan

# Optimizers whose step is the learning rate times a rate-free quantity (see the module's docstring).
RATE_LINEAR_OPTIMIZERS = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.Adagrad,
                          torch.optim.RMSprop)
# Layers that hold no state between steps and no randomness, so that K copies can share one batched pass.
STACKABLE_LAYERS = (nn.Sequential, nn.Linear, nn.Conv2d, nn.ReLU, nn.Tanh, nn.GELU, nn.Sigmoid, nn.MaxPool2d,
                    nn.Flatten, nn.Unflatten, nn.Identity)


def can_stack(model: nn.Module, optimizer: Callable, train_kwargs: dict) -> bool:
    """Whether a sweep of ``model`` with ``optimizer`` and these training settings can run stacked."""
    factory = optimizer.func if isinstance(optimizer, functools.partial) else optimizer
    plain_convolutions = all(layer.groups == 1 and layer.padding_mode == "zeros" for layer in model.modules()
                             if isinstance(layer, nn.Conv2d))
    return (isinstance(factory, type) and issubclass(factory, RATE_LINEAR_OPTIMIZERS) and plain_convolutions
            and all(type(layer) in STACKABLE_LAYERS for layer in model.modules())
            and not set(train_kwargs) - {"epochs", "steps", "batch_size", "loss_fn", "autocast"})


def train_stacked(model: nn.Module, data: Dataset, optimizer: Callable[..., torch.optim.Optimizer],
                  lrs: Sequence[float], *, epochs: int = 1, steps: int | None = None, batch_size: int | None = None,
                  seed: int = 0, loss_fn: Callable | None = None, autocast: bool = False) -> list[History]:
    """Train a copy of ``model`` at each rate of ``lrs``, all at once; one :class:`History` per rate.

    Each copy starts from ``model``'s weights and sees the minibatches of ``seed``, exactly as
    :func:`lrcourse.training.train` would train it alone. A copy whose loss stops being finite stops
    there, with the same ``stop_reason``, while the others go on.
    """
    losses_of = _losses_of_copies(data, loss_fn)
    count = len(lrs)
    weights, _ = torch.func.stack_module_state([model] * count)
    params = list(weights.values())
    stepper = optimizer(params, lr=1.0)
    rates = torch.tensor(lrs, dtype=params[0].dtype, device=data.device)
    alive = torch.ones(count, dtype=torch.bool, device=data.device)
    before = [torch.empty_like(param) for param in params]
    histories = [History(label=f"lr={lr:.3g}") for lr in lrs]
    start = time.perf_counter()
    for batches in minibatch_plan(data, epochs=epochs, steps=steps, batch_size=batch_size, seed=seed):
        # Everything recorded stays on the device until the epoch ends: no round trip to the host per step.
        records = {"loss": [], "alive": [], "accuracy": []}
        for batch in batches:
            targets = data.y_train[batch]
            with bfloat16_autocast(data.device, autocast):
                outputs = stacked_forward(model, weights, data.x_train[batch])
                losses = losses_of(outputs, targets).float()
            alive = alive & torch.isfinite(losses.detach())  # a copy stops at its first non-finite loss
            stepper.zero_grad(set_to_none=True)
            torch.where(alive, losses, 0.0).sum().backward()
            with torch.no_grad():
                torch._foreach_copy_(before, params)
                stepper.step()
                # p <- p_step + (1 - lr_k) (p_old - p_step) = p_old + lr_k (p_step - p_old); a stopped copy keeps p_old
                keep = 1.0 - torch.where(alive, rates, 0.0)
                torch._foreach_lerp_(params, before, [keep.view(-1, *[1] * (p.ndim - 1)) for p in params])
            records["loss"].append(losses.detach())
            records["alive"].append(alive)
            if data.is_classification:
                records["accuracy"].append((outputs.argmax(dim=-1) == targets).float().flatten(1).mean(dim=1))
        _record_epoch(histories, lrs, {name: torch.stack(values).cpu().numpy() for name, values in records.items()
                                       if values})
        running = [k for k, history in enumerate(histories) if not history.diverged]
        if not running:
            break
        test_losses, test_accuracies = _evaluate_stacked(model, weights, data, losses_of)
        for k in running:
            histories[k].test_loss.append(float(test_losses[k]))
            if data.is_classification:
                histories[k].test_accuracy.append(float(test_accuracies[k]))
    seconds = (time.perf_counter() - start) / count
    for history in histories:
        history.seconds = seconds
    return histories


def _record_epoch(histories: list[History], lrs: Sequence[float], records: dict[str, np.ndarray]):
    """Append one epoch's per-step records, arrays of shape (steps, copies), to the histories of the running copies."""
    for k, history in enumerate(histories):
        if history.diverged:
            continue
        steps = int(records["alive"][:, k].sum())  # a copy runs until its first non-finite loss, then stops
        losses = records["loss"][:steps, k]
        history.loss.extend(losses.tolist())
        history.lr.extend([float(lrs[k])] * steps)
        if "accuracy" in records:
            history.accuracy.extend(records["accuracy"][:steps, k].tolist())
        if steps < len(records["alive"]):
            history.stop_reason = (f"the training loss became {records['loss'][steps, k]} "
                                   f"at step {len(history.loss)}")
        else:
            history.train_loss.append(float(np.mean(losses)))


def _losses_of_copies(data: Dataset, loss_fn: Callable | None) -> Callable:
    """A function of the stacked outputs and the targets giving each copy's loss, shape (K,).

    The default losses (the mean over the batch) are computed for all copies in one call; a loss of
    the caller's own is called once per copy.
    """
    if loss_fn is not None:
        return lambda outputs, targets: torch.stack([loss_fn(output, targets) for output in outputs])
    if data.is_classification:
        def cross_entropy(outputs, targets):
            # classes second and copies last, (batch, classes, ..., copies): one call for all copies, and the
            # fastest layout for cross_entropy on a CPU (4x faster here than copies first)
            each = F.cross_entropy(outputs.movedim(0, -1).movedim(-2, 1),
                                   targets.unsqueeze(-1).expand(*targets.shape, len(outputs)), reduction="none")
            return each.flatten(0, -2).mean(dim=0)
        return cross_entropy
    return lambda outputs, targets: (outputs.reshape(len(outputs), *targets.shape) - targets).pow(2).flatten(1).mean(1)


@torch.no_grad()
def _evaluate_stacked(model: nn.Module, weights: dict, data: Dataset, losses_of: Callable):
    """Test loss and accuracy (NaN for regression) of every copy, as two arrays."""
    outputs = stacked_forward(model, weights, data.x_test)
    losses = losses_of(outputs, data.y_test).cpu().numpy()
    if not data.is_classification:
        return losses, np.full(len(losses), math.nan)
    return losses, (outputs.argmax(dim=-1) == data.y_test).float().flatten(1).mean(dim=1).cpu().numpy()


def stacked_forward(module: nn.Module, weights: dict, inputs: torch.Tensor) -> torch.Tensor:
    """The outputs of every copy of ``module`` on the same ``inputs``, stacked: shape (K, batch, ...)."""
    outputs, stacked = _forward(module, weights, "", inputs, False)
    return outputs if stacked else outputs.expand(len(next(iter(weights.values()))), *outputs.shape)


def _forward(module: nn.Module, weights: dict, prefix: str, h: torch.Tensor, stacked: bool):
    """Apply one layer to ``h``, which has the copies' dimension first once ``stacked``."""
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            h, stacked = _forward(child, weights, f"{prefix}{name}.", h, stacked)
        return h, stacked
    if isinstance(module, nn.Linear):
        weight, bias = weights[prefix + "weight"], weights.get(prefix + "bias")
        x = h if stacked else h.expand(len(weight), *h.shape)  # the copies share their first input
        rows = x.flatten(1, -2)  # (copies, rows, in): one batched matrix product, the bias added in the same call
        out = (torch.bmm(rows, weight.transpose(1, 2)) if bias is None
               else torch.baddbmm(bias.unsqueeze(1), rows, weight.transpose(1, 2)))
        return out.view(*x.shape[:-1], -1), True
    if isinstance(module, nn.Conv2d):
        weight, bias = weights[prefix + "weight"], weights.get(prefix + "bias")
        count, channels_out = weight.shape[:2]
        # the copies side by side along the channels, each convolved with its own weights: groups=count
        x = h.transpose(0, 1).flatten(1, 2) if stacked else h.repeat(1, count, 1, 1)
        out = F.conv2d(x, weight.flatten(0, 1), None if bias is None else bias.flatten(), module.stride,
                       module.padding, module.dilation, groups=count)
        return out.unflatten(1, (count, channels_out)).transpose(0, 1), True
    if isinstance(module, (nn.MaxPool2d, nn.Flatten, nn.Unflatten)) and stacked:
        return module(h.flatten(0, 1)).unflatten(0, h.shape[:2]), True
    return module(h), stacked  # elementwise layers, and shape layers before the first weight
