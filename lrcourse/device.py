"""Which device the course runs on: CUDA, then Apple's MPS, then the CPU.

Set ``LRCOURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) to override the choice.
"""

import os

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


def describe(device: torch.device) -> str:
    """One line saying what ``device`` is, for the top of each chapter."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        name = "Apple GPU (MPS)"
    else:
        threads = torch.get_num_threads()
        name = f"CPU, {threads} thread{'s' if threads > 1 else ''}"
    return f"Running on {device} ({name}), torch {torch.__version__}"
