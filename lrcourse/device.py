"""Which device the course runs on (CUDA, then Apple's MPS, then the CPU), and how big its experiments are.

Set ``LRCOURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) to override the choice of device,
``LRCOURSE_SIZE`` (``small`` or ``large``) to override the choice of configuration, and ``LRCOURSE_THREADS``
to cap the CPU threads a chapter takes (the test suite sets 1: it runs chapters beside other work).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
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


def thread_cap() -> int | None:
    """The most CPU threads a chapter may take: ``LRCOURSE_THREADS``, or no cap (``None``)."""
    value = os.environ.get("LRCOURSE_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"LRCOURSE_THREADS must be a positive whole number, got {value!r}")
    return int(value)


def _capped(threads: int) -> int:
    cap = thread_cap()
    return threads if cap is None else min(threads, cap)


def setup(threads: int | None = 1) -> Setup:
    """A chapter's first line: pick the device, say which, and on a CPU train on ``threads`` threads.

    Most of the course's models are small: on one thread they train about as fast as on several, and
    leave the other cores of a shared machine free. ``threads=None`` keeps torch's default (every core),
    up to ``LRCOURSE_THREADS``.
    """
    device = pick_device()
    if device.type == "cpu":
        torch.set_num_threads(_capped(threads or torch.get_num_threads()))
    print(describe(device))
    return Setup(device, large_configuration(device))


@contextmanager
def more_threads(threads: int) -> Iterator[None]:
    """Train on up to ``threads`` CPU threads inside the block (within ``LRCOURSE_THREADS``), then go back.

    For the few cells whose matrices are large enough (a batch of a thousand images) for extra cores to pay;
    run beside other work, as the test suite does, extra threads fight for the cores and cost far more than
    they save, hence the cap.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    before = torch.get_num_threads()
    torch.set_num_threads(_capped(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
