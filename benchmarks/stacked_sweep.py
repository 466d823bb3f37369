"""How much faster a learning-rate sweep runs stacked (all rates in one batched computation) than one rate at a
time: K = 16 rates, an MLP on MNIST-1D, SGD with momentum, 2 epochs, with one thread and with every core.
Prints the figures, and at how many rates both ways end at the same loss (to 0.1%: at the largest rates training
is chaotic, so rounding differences grow); asserts nothing.

    .venv/bin/python benchmarks/stacked_sweep.py          (or: make benchmark)
"""

import functools
import os
import time

import numpy as np
import torch

from lrcourse import data, device, models, training

RATES = np.geomspace(1e-3, 1.0, 16)
SETTINGS = {"optimizer": functools.partial(torch.optim.SGD, momentum=0.9), "seeds": (0,), "epochs": 2,
            "progress": False}
CONFIGURATIONS = ((32, 32), (32, 64), (64, 128), (256, 256))  # (hidden units, batch size)


def timed_sweeps(stacked: bool, dataset, hidden: int, batch_size: int, repeats: int = 3):
    """The fastest of ``repeats`` sweeps, in seconds, and that sweep's final losses."""
    def run():
        return training.sweep(lambda: models.mlp(dataset.num_features, dataset.num_outputs, hidden=(hidden,)),
                              dataset, RATES, stacked=stacked, batch_size=batch_size, **SETTINGS)

    run()  # the first run pays for one-time set-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        if dataset.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), result.final_losses()


if __name__ == "__main__":
    where = device.pick_device()
    print(device.describe(where), f"| load average {os.getloadavg()[0]:.2f}")
    mnist1d = data.load("mnist1d", device=where)
    for threads in sorted({1, os.cpu_count()}):
        torch.set_num_threads(threads)
        for hidden, batch_size in CONFIGURATIONS:
            (one_by_one, expected), (at_once, found) = (timed_sweeps(stacked, mnist1d, hidden, batch_size)
                                                        for stacked in (False, True))
            agree = np.isclose(expected, found, rtol=1e-3).sum()
            print(f"{threads} thread{'s' if threads > 1 else ' '}  16 rates, MLP 40-{hidden}-10, "
                  f"batch {batch_size:3d}, 2 epochs: one rate at a time {one_by_one:6.2f} s, stacked {at_once:6.2f} s, "
                  f"speed-up {one_by_one / at_once:4.1f}x, same final loss at {agree} of {len(RATES)} rates")
