"""Which device the course runs on (CUDA, then Apple's MPS, then the CPU), and how big its experiments are.

Set ``LRCOURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) to override the choice of device, and
``LRCOURSE_SIZE`` (``small`` or ``large``) to override the choice of configuration.
"""

import os
from typing import NamedTuple

import torch


def pick_device() -> torch.device:
    """Return the fastest available device, or the one named by ``LRCOURSE_DEVICE``."""
    requested = os.environ.get("LRCOURSE_DEVICE")
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def large_configuration(device: torch.device) -> bool:
    """Whether the chapters run their larger experiments (more seeds, epochs, wider models): the one setting
    behind which every chapter scales up. ``LRCOURSE_SIZE=large`` or ``small`` decides; by default, large on
    a CUDA GPU and small elsewhere, where the small ones keep each chapter within 90 s on two CPU cores.
    """
    size = os.environ.get("LRCOURSE_SIZE", "").strip().lower()
    if size not in ("", "small", "large"):
        raise ValueError(f"LRCOURSE_SIZE must be 'small' or 'large', got {size!r}")
    return size == "large" if size else device.type == "cuda"


def describe(device: torch.device) -> str:
    """One line saying what ``device`` is, for the top of each chapter."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        name = "Apple GPU (MPS)"
    else:
        threads = torch.get_num_threads()
        name = f"CPU, {threads} thread{'s' if threads > 1 else ''}"
    size = "large" if large_configuration(device) else "small"
    return f"Running on {device} ({name}), torch {torch.__version__}, {size} configuration"


class Setup(NamedTuple):
    """Where a chapter runs: the device, and whether it runs the large configuration."""

    device: torch.device
    large: bool


def setup(threads: int | None = 1) -> Setup:
    """A chapter's first line: pick the device, say which, and on a CPU train on ``threads`` threads.

    Most of the course's models are small: on one thread they train about as fast as on several, and
    leave the other cores of a shared machine free. ``threads=None`` keeps torch's default (every core).
    """
    device = pick_device()
    if device.type == "cpu" and threads is not None:
        torch.set_num_threads(threads)
    print(describe(device))
    return Setup(device, large_configuration(device))
