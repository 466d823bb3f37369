"""How much faster a learning-rate sweep runs stacked (all rates in one batched computation) than one rate at a
time: K = 16 rates, an MLP on MNIST-1D, SGD with momentum, 2 epochs, with one thread and with every core; the
fastest of five runs each way, taken in turns.
Prints the figures, and at how many rates both ways end at the same loss (to 0.1%: at the largest rates training
is chaotic, so rounding differences grow); asserts nothing.

    .venv/bin/python benchmarks/stacked_sweep.py          (or: make benchmark)
"""

import functools
import os
import time

import numpy as np
import torch

from lrcourse import data, device, models, sweeps

RATES = np.geomspace(1e-3, 1.0, 16)
SETTINGS = {"optimizer": functools.partial(torch.optim.SGD, momentum=0.9), "seeds": (0,), "epochs": 2,
            "progress": False}
CONFIGURATIONS = ((32, 32), (32, 64), (64, 128), (256, 256))  # (hidden units, batch size)


def timed_sweeps(dataset, hidden: int, batch_size: int, repeats: int = 5):
    """The fastest of ``repeats`` sweeps one rate at a time and stacked, in seconds, and each way's final losses.

    The two ways take turns, so that a change in the machine's load falls on both alike.
    """
    def run(stacked):
        return sweeps.sweep(lambda: models.mlp(dataset.num_features, dataset.num_outputs, hidden=(hidden,)),
                            dataset, RATES, stacked=stacked, batch_size=batch_size, **SETTINGS)

    times, losses = {False: [], True: []}, {}
    for stacked in (False, True):
        run(stacked)  # the first run pays for one-time set-up
    for _ in range(repeats):
        for stacked in (False, True):
            start = time.perf_counter()
            losses[stacked] = run(stacked).final_losses()
            if dataset.device.type == "cuda":
                torch.cuda.synchronize()
            times[stacked].append(time.perf_counter() - start)
    return min(times[False]), min(times[True]), losses[False], losses[True]


if __name__ == "__main__":
    where = device.pick_device()
    print(device.describe(where), f"| load average {os.getloadavg()[0]:.2f}")
    mnist1d = data.load("mnist1d", device=where)
    every = []
    for threads in sorted({1, os.cpu_count()}):
        torch.set_num_threads(threads)
        speedups = []
        for hidden, batch_size in CONFIGURATIONS:
            one_by_one, at_once, expected, found = timed_sweeps(mnist1d, hidden, batch_size)
            agree = np.isclose(expected, found, rtol=1e-3).sum()
            speedups.append(one_by_one / at_once)
            print(f"{threads} thread{'s' if threads > 1 else ' '}  16 rates, MLP 40-{hidden}-10, "
                  f"batch {batch_size:3d}, 2 epochs: one rate at a time {one_by_one:6.2f} s, stacked {at_once:6.2f} s, "
                  f"speed-up {speedups[-1]:4.1f}x, same final loss at {agree} of {len(RATES)} rates")
        print(f"{threads} thread{'s' if threads > 1 else ' '}  median speed-up {np.median(speedups):.1f}x")
        every += speedups
    print(f"median speed-up over all {len(every)} rows: {np.median(every):.2f}x")
