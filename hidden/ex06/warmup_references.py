"""Shared by the suites of exercise 6: the rates torch.optim.lr_scheduler gives, step by step, and the
closed forms of the exercise.

A scheduler needs an optimizer: here plain SGD on one parameter that has no gradient, so its steps change
nothing. Each ``optimizer.step()`` comes before ``scheduler.step()``, as torch asks, so torch has nothing to warn
about; warnings are silenced all the same, since one on stderr would score the whole grade cell 0.
"""

import warnings

import torch
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR


def torch_rates(make_scheduler, steps, lr):
    """The rates of steps 0, 1, ..., ``steps`` (``steps + 1`` of them) under ``make_scheduler(optimizer)``."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(optimizer)
        rates = [scheduler.get_last_lr()[0]]
        for _ in range(steps):
            optimizer.step()
            scheduler.step()
            rates.append(scheduler.get_last_lr()[0])
    return rates


def sequential_warmup(factor, warmup_steps, start_factor):
    """A scheduler factory: torch's LinearLR warmup, then LambdaLR(factor) started at the milestone."""
    return lambda optimizer: SequentialLR(
        optimizer, [LinearLR(optimizer, start_factor, 1.0, total_iters=warmup_steps), LambdaLR(optimizer, factor)],
        milestones=[warmup_steps])


def sequential_warmup_cosine(warmup_steps, total_steps, start_factor, min_lr):
    """A scheduler factory: torch's LinearLR warmup, then CosineAnnealingLR down to min_lr at total_steps."""
    return lambda optimizer: SequentialLR(
        optimizer, [LinearLR(optimizer, start_factor, 1.0, total_iters=warmup_steps),
                    CosineAnnealingLR(optimizer, T_max=total_steps - warmup_steps, eta_min=min_lr)],
        milestones=[warmup_steps])


def sequential_wsd(base_lr, warmup_steps, stable_steps, decay_steps, start_factor, min_lr):
    """A scheduler factory: torch's LinearLR warmup, ConstantLR(1) and a LinearLR decay to min_lr."""
    return lambda optimizer: SequentialLR(
        optimizer, [LinearLR(optimizer, start_factor, 1.0, total_iters=warmup_steps), ConstantLR(optimizer, 1.0),
                    LinearLR(optimizer, 1.0, min_lr / base_lr, total_iters=decay_steps)],
        milestones=[warmup_steps, warmup_steps + stable_steps])


def ramp(step, warmup_steps, start_factor):
    return start_factor + (1 - start_factor) * step / warmup_steps


def warmed_up(factor, warmup_steps, start_factor, step):
    """The closed form of with_warmup's factor."""
    return factor(0) * ramp(step, warmup_steps, start_factor) if step < warmup_steps else factor(step - warmup_steps)


def wsd(step, base_lr, warmup_steps, stable_steps, decay_steps, start_factor=0.1, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * ramp(step, warmup_steps, start_factor)
    if step < warmup_steps + stable_steps:
        return base_lr
    if step <= warmup_steps + stable_steps + decay_steps:
        return base_lr + (min_lr - base_lr) * (step - warmup_steps - stable_steps) / decay_steps
    return min_lr


def first_difference(ours, theirs, rtol=1e-9, atol=1e-12):
    """The first step at which two sequences of rates differ, or None."""
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if not abs(a - b) <= atol + rtol * abs(b):
            return step
    return None


def describe(settings):
    return ", ".join(f"{name} = {value!r}" for name, value in settings.items())
