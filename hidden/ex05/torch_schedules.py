"""Shared by the suites of exercise 5: the rates torch.optim.lr_scheduler gives, step by step.

A scheduler needs an optimizer; the one here holds a single parameter that never changes. The optimizer's own
step is never taken (there is nothing to learn), so torch's warning about stepping a scheduler first is
silenced: it would reach stderr, where nbgrader would score the whole cell 0.
"""

import warnings

import torch


def optimizer(lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)


def torch_rates(make_scheduler, steps, lr, with_momentum=False):
    """The rate (and momentum) of each of the first ``steps`` steps under ``make_scheduler(optimizer)``."""
    sgd = optimizer(lr)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(sgd)
        for _ in range(steps):
            rate = scheduler.get_last_lr()[0]
            rates.append((rate, sgd.param_groups[0]["momentum"]) if with_momentum else rate)
            scheduler.step()
    return rates


def first_difference(ours, theirs, rtol=1e-9, atol=1e-12):
    """The first step at which two sequences of rates differ, or None."""
    for step, (a, b) in enumerate(zip(ours, theirs)):
        if not abs(a - b) <= atol + rtol * abs(b):
            return step
    return None


def describe(settings):
    return ", ".join(f"{name} = {value!r}" for name, value in settings.items())
