"""One look for every figure in the book.

The palette is Okabe and Ito's, which stays distinguishable under the common
colour-vision deficiencies. Learning rates always go on a log axis: they span decades.
"""

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .results import History, Sweep

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")


def use_style():
    """Apply the course's figure style (called on import; call again after ``plt.style.use``)."""
    mpl.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": "medium",
        "figure.dpi": 100,
        "figure.figsize": (6.4, 4.0),
        "figure.constrained_layout.use": True,
        "legend.frameon": False,
        "image.cmap": "viridis",
    })


use_style()


def plot_curves(histories: Sequence[History], *, ax=None, title: str = "Training loss",
                ylabel: str = "training loss", smooth: int = 1, log_y: bool = True):
    """Training loss per step of each history, labelled by ``History.label``.

    ``smooth`` averages that many consecutive steps, to see through minibatch
    noise. A run that stopped on a non-finite loss ends in a cross.
    """
    if smooth < 1:
        raise ValueError(f"smooth must be a positive number of steps, got {smooth}")
    ax = ax or plt.subplots()[1]
    for history in histories:
        loss = np.asarray(history.loss, dtype=float)
        if smooth > 1 and len(loss) >= smooth:
            loss = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
        steps = np.arange(len(loss)) + (smooth - 1 if smooth > 1 else 0)
        (line,) = ax.plot(steps, loss, label=history.label)
        if history.diverged and len(loss):
            ax.plot(steps[-1], loss[-1], "x", color=line.get_color(), markersize=10, markeredgewidth=2)
    if log_y:
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    if any(h.label for h in histories):
        ax.legend()
    return ax


SPLIT_LABELS = {"val": "final validation loss", "train": "final training loss", "score": "score"}


def plot_lr_sweep(result: Sweep, *, ax=None, title: str = "Final loss against learning rate",
                  label: str | None = None, split: str = "val", ylabel: str | None = None):
    """Final loss on ``split`` (as :meth:`Sweep.final_losses`) against learning rate: the median over
    seeds, with the spread shaded.

    Rates at which a run diverged are marked with crosses along the top edge, and
    the best rate (lowest median) with a dotted line.
    """
    ax = ax or plt.subplots()[1]
    losses = result.final_losses(split)
    low, median, high = _finite_spread(losses)
    (line,) = ax.plot(result.lrs, median, "o-", label=label or f"median of {len(result.seeds)} seed(s)")
    if len(result.seeds) > 1:
        ax.fill_between(result.lrs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    diverged = np.isinf(losses).any(axis=0)
    if diverged.any():
        ax.plot(result.lrs[diverged], np.full(diverged.sum(), 1.0), "x", color=line.get_color(),
                markersize=9, markeredgewidth=2, transform=ax.get_xaxis_transform(), clip_on=False,
                label="diverged (at least one seed)")
    best = result.best_lr(split)
    ax.axvline(best, color=line.get_color(), linestyle=":", label=f"best: {best:.3g}")
    ax.set(xlabel="learning rate", ylabel=ylabel or SPLIT_LABELS[split], title=title)
    ax.legend()
    return ax


def _finite_spread(losses: np.ndarray) -> np.ndarray:
    """Minimum, median and maximum of each column's finite values (NaN where there are none)."""
    spread = np.full((3, losses.shape[1]), np.nan)
    for j, column in enumerate(losses.T):
        finite = column[np.isfinite(column)]
        if len(finite):
            spread[:, j] = finite.min(), np.median(finite), finite.max()
    return spread


def plot_sweep_grid(sweeps: Mapping[str, Sweep], *, ax=None, title: str = "Final loss",
                    row_label: str = "", split: str = "val", colorbar_label: str | None = None):
    """A heat map of median final loss on ``split``: one row per sweep, one column per learning rate.

    Every sweep must use the same rates. Cells where most seeds diverged are
    left blank and marked with a cross; each row's best rate is outlined.
    """
    sweeps = dict(sweeps)
    if not sweeps:
        raise ValueError("sweeps must hold at least one sweep")
    lrs = next(iter(sweeps.values())).lrs
    if any(not np.array_equal(result.lrs, lrs) for result in sweeps.values()):
        raise ValueError("every sweep in the grid must use the same learning rates")
    ax = ax or plt.subplots()[1]
    medians = np.array([np.median(result.final_losses(split), axis=0) for result in sweeps.values()])
    medians[~np.isfinite(medians)] = np.nan  # blank cells where most seeds diverged
    image = ax.imshow(medians, aspect="auto", origin="lower", norm=mpl.colors.LogNorm())
    ax.figure.colorbar(image, ax=ax, label=colorbar_label or f"median {SPLIT_LABELS[split]}")
    for row, values in enumerate(medians):
        for column in np.flatnonzero(np.isnan(values)):
            ax.plot(column, row, "x", color="0.4", markersize=8)
        if not np.isnan(values).all():
            best = int(np.nanargmin(values))
            ax.add_patch(mpl.patches.Rectangle((best - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="white",
                                               linewidth=2.5))
    ax.set_xticks(range(len(lrs)), [f"{lr:.2g}" for lr in lrs], rotation=45)
    ax.set_yticks(range(len(sweeps)), list(sweeps))
    ax.grid(False)
    ax.set(xlabel="learning rate", ylabel=row_label, title=title)
    return ax
