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
``p <- p_old + lr_k * (p_step - p_old)``. A scheduler that multiplies the rate by a
factor of the step alone (a warmup through ``LambdaLR``, a step or cosine decay, a
one-cycle peaking at the optimizer's own rate) acts on that one optimizer's rate of 1,
and so on every copy's rate alike. The result equals K
separate runs up to rounding (``tests/test_stacked.py`` checks it against
:func:`lrcourse.training.train`).
"""

import functools
import math
import time
from collections.abc import Callable, Sequence
from copy import deepcopy

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.optim import lr_scheduler

from .data import Dataset
from .models import Scale
from .results import History
from .training import (TrainSettings, bfloat16_autocast, divergence_limit, divergence_reason, healthy_steps,
                       minibatch_plan)

# Optimizers whose step is the learning rate times a rate-free quantity (see the module's docstring).
RATE_LINEAR_OPTIMIZERS = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.Adagrad,
                          torch.optim.RMSprop)
# From this many input features on, a layer's copies sharing one input take it in one matrix product rather than
# a batched one: 15% faster on MNIST's 784 pixels, 7% slower on MNIST-1D's 40 values (one CPU thread).
WIDE_INPUT = 128
# Layers without randomness that K copies can pass through as one batched computation. Batch normalization keeps
# each copy's own batch statistics and running averages; layer normalization acts on each sample.
STACKABLE_LAYERS = (nn.Sequential, nn.Linear, nn.Conv2d, nn.ReLU, nn.Tanh, nn.GELU, nn.Sigmoid, nn.MaxPool2d,
                    nn.Flatten, nn.Unflatten, nn.Identity, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, Scale)


# The second rate a scheduler is tried at, to see whether it scales every rate alike (any value far from 1).
PROBE_LR = 0.37

STACKING_NEEDS = ("stacking needs a model of plain layers (linear, convolution, activation, pooling, batch or "
                  "layer normalization with a set momentum; no dropout), one of the optimizers "
                  "SGD, Adam, AdamW, Adagrad or RMSprop, no callbacks, and no scheduler or one that multiplies the "
                  "rate by a factor of the step alone (LambdaLR, LinearLR, StepLR, CosineAnnealingLR without eta_min, "
                  "OneCycleLR with max_lr set to the optimizer's rate ...)")


def can_stack(model: nn.Module, data: Dataset, optimizer: Callable, settings: TrainSettings) -> bool:
    """Whether a sweep of ``model`` on ``data`` with ``optimizer`` and these settings can run stacked.

    Every setting stacks except callbacks, which act on one model, and a scheduler other than one that multiplies
    every rate by the same factor of the step: that is tried out on two throwaway optimizers, started at rates 1
    and ``PROBE_LR``, over the run's steps.
    """
    factory = optimizer.func if isinstance(optimizer, functools.partial) else optimizer
    plain_convolutions = all(layer.groups == 1 and layer.padding_mode == "zeros" for layer in model.modules()
                             if isinstance(layer, nn.Conv2d))
    # a cumulative average (momentum None) would need each copy's count of batches
    set_momentum = all(layer.momentum is not None for layer in model.modules()
                       if isinstance(layer, nn.modules.batchnorm._BatchNorm))
    return (isinstance(factory, type) and issubclass(factory, RATE_LINEAR_OPTIMIZERS) and plain_convolutions
            and set_momentum
            and all(type(layer) in STACKABLE_LAYERS for layer in model.modules()) and not settings.callbacks
            and _scales_every_rate(settings.scheduler, optimizer, minibatch_plan(data, settings).total_steps))


def _scales_every_rate(scheduler: Callable | lr_scheduler.LRScheduler | None, optimizer: Callable,
                       steps: int) -> bool:
    """Whether ``scheduler``, a factory of the optimizer, sets the rate at each of ``steps`` steps to the initial
    rate times a factor of the step alone. One already built (to resume a run) belongs to a single optimizer,
    and ``ReduceLROnPlateau`` follows one run's loss: neither stacks."""
    if scheduler is None:
        return True
    if isinstance(scheduler, (lr_scheduler.LRScheduler, lr_scheduler.ReduceLROnPlateau)) or not callable(scheduler):
        return False
    rates = []
    for lr in (1.0, PROBE_LR):
        probe = optimizer([torch.zeros(1, requires_grad=True)], lr=lr)
        schedule = scheduler(probe)
        if isinstance(schedule, lr_scheduler.ReduceLROnPlateau):
            return False
        seen = []
        for _ in range(steps):
            seen.append(probe.param_groups[0]["lr"])
            probe.step()  # no gradient, so nothing moves; it keeps the scheduler's order-of-calls check quiet
            schedule.step()
        rates.append(np.array(seen))
    return bool(np.allclose(PROBE_LR * rates[0], rates[1], rtol=1e-6, atol=0))


def train_stacked(model: nn.Module, data: Dataset, optimizer: Callable[..., torch.optim.Optimizer],
                  lrs: Sequence[float], settings: TrainSettings) -> tuple[list[History], dict]:
    """Train a copy of ``model`` at each rate of ``lrs``, all at once, with ``settings``.

    Each copy starts from ``model``'s weights and sees the minibatches of ``settings.seed``, exactly as
    :func:`lrcourse.training.train` would train it alone. A copy whose loss stops being finite, or passes
    the divergence limit, stops there, with the same ``stop_reason``, while the others go on. Returns one
    :class:`History` per rate and the trained weights and buffers (batch normalization's running averages),
    stacked (see :func:`unstack`).
    """
    if not can_stack(model, data, optimizer, settings):
        raise ValueError(STACKING_NEEDS)
    losses_of = _losses_of_copies(data, settings.loss_fn)
    count = len(lrs)
    weights, buffers = torch.func.stack_module_state([model] * count)
    params = list(weights.values())
    weights |= buffers
    forward = forward_pass(model, weights)
    stepper = optimizer(params, lr=1.0)
    scheduler = settings.scheduler(stepper) if settings.scheduler is not None else None
    rates = torch.tensor(lrs, dtype=params[0].dtype, device=data.device)
    # p <- p_step + (1 - lr_k) (p_old - p_step) = p_old + lr_k (p_step - p_old): each copy's move scaled by its rate
    keep = [(1.0 - rates).view(-1, *[1] * (param.ndim - 1)) for param in params]
    before = [torch.empty_like(param) for param in params]
    histories = [History(label=f"lr={lr:.3g}") for lr in lrs]
    limit = None
    start = time.perf_counter()
    for batches in minibatch_plan(data, settings):
        # Everything recorded stays on the device until the epoch ends: no round trip to the host per step. A copy
        # that diverges mid-epoch trains on to its end, harming no other copy (each computes alone), and its
        # history stops at its first broken loss, as train() stops a run.
        losses_per_step, outputs_per_step, targets_per_step, factors = [], [], [], []
        for batch in batches:
            targets = data.y_train[batch]
            with bfloat16_autocast(data.device, settings.autocast):
                outputs = forward(data.x_train[batch], training=True)
                losses = losses_of(outputs, targets).float()
            if limit is None:  # every copy starts from the same weights on the same batch: one first loss
                limit = divergence_limit(losses[0])
            for param in params:  # what zero_grad(set_to_none=True) does, without its overhead
                param.grad = None
            losses.sum().backward()
            if settings.clip_norm is not None:
                _clip_each_copy(params, settings.clip_norm)
            factors.append(stepper.param_groups[0]["lr"])  # the scheduler's factor this step
            with torch.no_grad():
                torch._foreach_copy_(before, params)
                stepper.step()
                torch._foreach_lerp_(params, before, keep)
            if scheduler is not None:
                scheduler.step()
            losses_per_step.append(losses.detach())
            if data.is_classification:
                outputs_per_step.append(outputs.detach())
                targets_per_step.append(targets)
        losses = torch.stack(losses_per_step)
        healthy = healthy_steps(losses, limit)
        accuracies = _accuracies_per_step(outputs_per_step, targets_per_step) if outputs_per_step else None
        _record_epoch(histories, lrs, factors, losses.cpu().numpy(), healthy.cpu().numpy(), float(limit), accuracies)
        running = [k for k, history in enumerate(histories) if not history.diverged]
        if not running:
            break
        val_losses, val_accuracies = _evaluate_stacked(forward, data, losses_of)
        for k in running:
            histories[k].val_loss.append(float(val_losses[k]))
            if data.is_classification:
                histories[k].val_accuracy.append(float(val_accuracies[k]))
    seconds = (time.perf_counter() - start) / count
    for history in histories:
        history.seconds = seconds
    return histories, weights


def unstack(model: nn.Module, weights: dict) -> list[nn.Module]:
    """One copy of ``model`` per stacked copy in ``weights``, holding that copy's trained weights and buffers."""
    copies = []
    for k in range(len(next(iter(weights.values())))):
        copy = deepcopy(model)
        copy.load_state_dict({name: value[k].detach().clone() for name, value in weights.items()})
        copies.append(copy)
    return copies


def _record_epoch(histories: list[History], lrs: Sequence[float], factors: Sequence[float], losses: np.ndarray,
                  healthy: np.ndarray, limit: float, accuracies: np.ndarray | None):
    """Append one epoch's per-step rates (``lrs`` times the scheduler's ``factors``), losses and accuracies,
    arrays of shape (steps, copies), to the histories of the copies still running; ``healthy[k]`` counts copy
    k's steps before its first broken loss."""
    for k, history in enumerate(histories):
        if history.diverged:
            continue
        steps = int(healthy[k])
        history.loss.extend(losses[:steps, k].tolist())
        history.lr.extend([float(lrs[k]) * factor for factor in factors[:steps]])
        if accuracies is not None:
            history.accuracy.extend(accuracies[:steps, k].tolist())
        if steps < len(losses):
            history.stop_reason = divergence_reason(float(losses[steps, k]), limit, len(history.loss))
        else:
            history.train_loss.append(float(np.mean(losses[:, k])))


def _accuracies_per_step(outputs_per_step: list[torch.Tensor], targets_per_step: list[torch.Tensor]) -> np.ndarray:
    """Each copy's minibatch accuracy at each step of an epoch, shape (steps, copies), from the epoch's outputs
    in a few calls rather than a few per step."""
    correct = (torch.cat(outputs_per_step, dim=1).argmax(dim=-1) == torch.cat(targets_per_step)).flatten(1).float()
    sizes = torch.tensor([0] + [targets.numel() for targets in targets_per_step], device=correct.device)
    counts = F.pad(correct.cumsum(dim=1), (1, 0))[:, sizes.cumsum(0)]  # correct answers before each step's end
    return ((counts[:, 1:] - counts[:, :-1]) / sizes[1:]).T.cpu().numpy()


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
def _evaluate_stacked(forward: Callable, data: Dataset, losses_of: Callable):
    """Validation loss and accuracy (NaN for regression) of every copy, as two arrays."""
    outputs = forward(data.x_val)
    losses = losses_of(outputs, data.y_val).cpu().numpy()
    if not data.is_classification:
        return losses, np.full(len(losses), math.nan)
    return losses, (outputs.argmax(dim=-1) == data.y_val).float().flatten(1).mean(dim=1).cpu().numpy()


def stacked_forward(module: nn.Module, weights: dict, inputs: torch.Tensor) -> torch.Tensor:
    """The outputs of every copy of ``module`` on the same ``inputs``, stacked: shape (K, batch, ...), as in
    evaluation mode (batch normalization uses each copy's running averages)."""
    return forward_pass(module, weights)(inputs)


def forward_pass(module: nn.Module, weights: dict) -> Callable[..., torch.Tensor]:
    """:func:`stacked_forward` as a function of the inputs (and ``training``, which makes batch normalization use
    and record each copy's batch statistics), its layers looked up once: a sweep calls it at every step, and a
    small model's step is short enough for the look-ups to count."""
    layers = list(_layers(module, weights, ""))
    count = len(next(iter(weights.values())))

    def forward(h: torch.Tensor, training: bool = False) -> torch.Tensor:
        stacked = False  # whether h has the copies' dimension first yet
        for layer in layers:
            h, stacked = layer(h, stacked, training)
        return h if stacked else h.expand(count, *h.shape)

    return forward


def _layers(module: nn.Module, weights: dict, prefix: str):
    """The layers of ``module`` in order, each as a function of ``(h, stacked, training)`` giving ``(h, stacked)``."""
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            yield from _layers(child, weights, f"{prefix}{name}.")
    elif isinstance(module, nn.Linear):
        yield functools.partial(_linear, weights[prefix + "weight"], weights.get(prefix + "bias"))
    elif isinstance(module, nn.Conv2d):
        yield functools.partial(_conv2d, module, weights[prefix + "weight"], weights.get(prefix + "bias"))
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        yield functools.partial(_batch_norm, module, {name: weights.get(prefix + name) for name in
                                                      ("weight", "bias", "running_mean", "running_var",
                                                       "num_batches_tracked")})
    elif isinstance(module, nn.LayerNorm):
        yield functools.partial(_layer_norm, module, weights.get(prefix + "weight"), weights.get(prefix + "bias"))
    elif isinstance(module, (nn.MaxPool2d, nn.Flatten, nn.Unflatten)):
        yield functools.partial(_reshaping, module)
    else:
        yield lambda h, stacked, training: (module(h), stacked)  # elementwise layers


def _linear(weight: torch.Tensor, bias: torch.Tensor | None, h: torch.Tensor, stacked: bool, training: bool):
    if not stacked and h.shape[-1] >= WIDE_INPUT:  # one matrix product with all copies' rows side by side
        out = F.linear(h, weight.flatten(0, 1), None if bias is None else bias.flatten())
        return out.unflatten(-1, weight.shape[:2]).movedim(-2, 0), True
    if not stacked:  # the copies share their first input
        h = h.expand(len(weight), *h.shape)
    rows = h.flatten(1, -2)  # (copies, rows, in): one batched matrix product, the bias added in the same call
    out = (torch.bmm(rows, weight.transpose(1, 2)) if bias is None
           else torch.baddbmm(bias.unsqueeze(1), rows, weight.transpose(1, 2)))
    return out.view(*h.shape[:-1], -1), True


def _conv2d(module: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor | None, h: torch.Tensor, stacked: bool,
            training: bool):
    count, channels_out = weight.shape[:2]
    # the copies side by side along the channels: on a shared input, one convolution with every copy's
    # filters; on stacked inputs, each copy convolved with its own filters (groups=count)
    x = h.transpose(0, 1).flatten(1, 2) if stacked else h
    out = F.conv2d(x, weight.flatten(0, 1), None if bias is None else bias.flatten(), module.stride,
                   module.padding, module.dilation, groups=count if stacked else 1)
    return out.unflatten(1, (count, channels_out)).transpose(0, 1), True


def _reshaping(module: nn.Module, h: torch.Tensor, stacked: bool, training: bool):
    """Pooling and reshaping layers, which act on one sample: the copies' dimension joins the batch's."""
    if not stacked:  # shape layers before the first weight
        return module(h), False
    return module(h.flatten(0, 1)).unflatten(0, h.shape[:2]), True


def _per_copy(value: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """A per-copy, per-channel value of shape (K, C) shaped to broadcast against h of shape (K, batch, C, ...)."""
    return value.view(*value.shape, *[1] * (h.ndim - 3)).unsqueeze(1)


def _batch_norm(module: nn.modules.batchnorm._BatchNorm, state: dict, h: torch.Tensor, stacked: bool,
                training: bool):
    """Batch normalization of each copy over its own batch (and positions), as ``module`` does for one model: in
    training, normalize by the batch's mean and biased variance and move the running averages towards the
    batch's mean and unbiased variance; in evaluation, normalize by the running averages."""
    if not stacked:
        h = h.expand(len(next(value for value in state.values() if value is not None)), *h.shape)
    dims = [1, *range(3, h.ndim)]  # the batch and any positions: everything but the copy and the channel
    if training or state["running_mean"] is None:
        mean, variance = h.mean(dim=dims), h.var(dim=dims, unbiased=False)
        if training and state["running_mean"] is not None:
            with torch.no_grad():
                count = h.numel() // (h.shape[0] * h.shape[2])
                state["running_mean"].lerp_(mean, module.momentum)
                state["running_var"].lerp_(variance * count / max(count - 1, 1), module.momentum)
                state["num_batches_tracked"].add_(1)
    else:
        mean, variance = state["running_mean"], state["running_var"]
    out = (h - _per_copy(mean, h)) * _per_copy(torch.rsqrt(variance + module.eps), h)
    if state["weight"] is not None:
        out = out * _per_copy(state["weight"], h) + _per_copy(state["bias"], h)
    return out, True


def _layer_norm(module: nn.LayerNorm, weight: torch.Tensor | None, bias: torch.Tensor | None, h: torch.Tensor,
                stacked: bool, training: bool):
    """Layer normalization of each sample, then each copy's own scale and shift."""
    out = F.layer_norm(h, module.normalized_shape, eps=module.eps)
    if weight is None:
        return out, stacked
    if not stacked:
        out = out.expand(len(weight), *out.shape)
    shape = (len(weight), *[1] * (out.ndim - weight.ndim), *weight.shape[1:])  # (K, 1, ..., normalized shape)
    out = out * weight.view(shape)
    return (out if bias is None else out + bias.view(shape)), True


def _clip_each_copy(params: list[torch.Tensor], max_norm: float):
    """Clip each copy's gradient by its own global norm, as ``torch.nn.utils.clip_grad_norm_`` clips one model's."""
    grads = [param.grad for param in params if param.grad is not None]
    norms = torch.stack([grad.flatten(1).pow(2).sum(dim=1) for grad in grads]).sum(dim=0).sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for grad in grads:
        grad.mul_(scale.view(-1, *[1] * (grad.ndim - 1)))
