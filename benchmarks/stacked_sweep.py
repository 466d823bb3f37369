"""How much faster a learning-rate sweep runs stacked (all rates in one batched computation) than one rate at a
time: K = 16 rates, an MLP on MNIST-1D, SGD with momentum. Prints the figures; asserts nothing.

    .venv/bin/python benchmarks/stacked_sweep.py          (or: make benchmark)
"""

import functools
import time

import numpy as np
import torch

from lrcourse import data, device, models, training

RATES = np.geomspace(1e-3, 1.0, 16)
SETTINGS = {"optimizer": functools.partial(torch.optim.SGD, momentum=0.9), "seeds": (0,), "epochs": 2,
            "progress": False}


def seconds(stacked: bool, dataset, hidden: int, batch_size: int, repeats: int = 3) -> float:
    def run():
        return training.sweep(lambda: models.mlp(dataset.num_features, dataset.num_outputs, hidden=(hidden,)),
                              dataset, RATES, stacked=stacked, batch_size=batch_size, **SETTINGS)

    run()  # the first run pays for one-time set-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


if __name__ == "__main__":
    where = device.pick_device()
    print(device.describe(where), f"({torch.get_num_threads()} threads)")
    mnist1d = data.load("mnist1d", device=where)
    for hidden, batch_size in ((32, 64), (64, 128), (256, 256)):
        one_by_one, at_once = (seconds(stacked, mnist1d, hidden, batch_size) for stacked in (False, True))
        print(f"16 rates, MLP 40-{hidden}-10, batch {batch_size}, 2 epochs: one rate at a time {one_by_one:6.2f} s, "
              f"stacked {at_once:6.2f} s, speed-up {one_by_one / at_once:4.1f}x")
