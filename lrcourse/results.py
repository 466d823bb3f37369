"""What training and sweeps record, in plain NumPy: read, plotted and diagnosed without torch.

:class:`History` is one run; :class:`Sweep` is one model trained at each rate of a grid, for each seed.
Both loops (:mod:`lrcourse.training` and :mod:`lrcourse.stacked`) fill them, and everything that reads
results (plots, tables, :mod:`lrcourse.diagnose`) needs only this module.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """What one training run recorded.

    Per step: ``loss`` and, for classification, ``accuracy`` (both of the
    minibatch), and ``lr`` (of the first parameter group). Per epoch:
    ``train_loss`` (mean over the epoch's minibatches), ``val_loss`` and, for
    classification, ``val_accuracy`` (on the validation split, after the epoch).
    ``stop_reason`` says why a run ended early, or is ``None``. ``seconds`` is the run's wall time; the runs
    of a stacked sweep, trained together, share their sweep's time equally.
    """

    label: str = ""
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    stop_reason: str | None = None
    seconds: float = 0.0

    @property
    def diverged(self) -> bool:
        return self.stop_reason is not None

    @property
    def final_loss(self) -> float:
        """Training loss of the last epoch; infinite for a run that diverged."""
        return math.inf if self.diverged or not self.train_loss else self.train_loss[-1]

    @property
    def final_val_loss(self) -> float:
        """Validation loss after the last epoch; infinite for a run that diverged."""
        return math.inf if self.diverged or not self.val_loss else self.val_loss[-1]


@dataclass
class Sweep:
    """Histories of one model trained at each learning rate, for each seed.

    ``histories[i][j]`` is seed ``seeds[i]`` at rate ``lrs[j]``. ``models[i][j]`` is that run's trained
    model when the sweep was asked to keep them, and ``scores[i][j]`` its score when the sweep was given a
    scoring function.

    A sweep ranks runs (:meth:`final_losses`, :meth:`best_lr`, :meth:`good_lrs`, the plots) by their
    final loss on one split: ``"val"`` by default, the validation loss after the last epoch, so that a
    choice never looks at the test split; ``"train"``, the training loss of the last epoch, to ask how
    well a rate optimizes; ``"score"``, the scores. A run that diverged scores ``inf``.
    """

    lrs: np.ndarray
    seeds: tuple[int, ...]
    histories: list[list[History]]
    models: list[list] | None = None
    scores: np.ndarray | None = None

    def final_losses(self, split: str = "val") -> np.ndarray:
        """Each run's final loss on ``split`` (``"val"``, ``"train"`` or ``"score"``), shape
        ``(len(seeds), len(lrs))``; ``inf`` where a run diverged."""
        if split == "score":
            if self.scores is None:
                raise ValueError("this sweep has no scores: pass score= to sweep()")
            return np.asarray(self.scores, dtype=float)
        if split not in ("val", "train"):
            raise ValueError(f"split must be 'val', 'train' or 'score'; got {split!r}")
        return np.array([[h.final_val_loss if split == "val" else h.final_loss for h in row]
                         for row in self.histories])

    def final_accuracies(self) -> np.ndarray:
        """Validation accuracy after the last epoch, shape ``(len(seeds), len(lrs))``; NaN where a run
        diverged."""
        return np.array([[h.val_accuracy[-1] if h.val_accuracy and not h.diverged else np.nan for h in row]
                         for row in self.histories])

    def diverged(self) -> np.ndarray:
        """Which runs diverged, shape ``(len(seeds), len(lrs))``."""
        return np.array([[h.diverged for h in row] for row in self.histories])

    def best_lr(self, split: str = "val") -> float:
        """The rate with the lowest median final loss on ``split`` over seeds."""
        return float(self.lrs[self._best(split)[1]])

    def runner_up(self, split: str = "val") -> tuple[float, float]:
        """The second-best rate and its median final loss on ``split``: what a grid one step coarser would
        have had to settle for, had its points missed the best rate."""
        median, best = self._best(split)
        neighbours = [j for j in (best - 1, best + 1) if 0 <= j < len(median)]
        if not neighbours:
            raise ValueError("a sweep of one rate has no runner-up")
        second = min(neighbours, key=lambda j: median[j])
        return float(self.lrs[second]), float(median[second])

    def good_lrs(self, within: float = 0.1, split: str = "val") -> tuple[float, float]:
        """The band of good rates: the lowest and highest rate of the unbroken run of rates around
        :meth:`best_lr` whose median final loss is within the fraction ``within`` of the best median loss.

        Its width, ``high / low``, says how precisely a learning rate must be tuned; it is only as fine as
        the sweep's grid, and a band that reaches the grid's edge may extend beyond it.
        """
        if not within >= 0:
            raise ValueError(f"within must be a fraction >= 0, got {within!r}")
        median, best = self._best(split)
        good = median <= median[best] + within * abs(median[best])
        low = high = best
        while low > 0 and good[low - 1]:
            low -= 1
        while high < len(good) - 1 and good[high + 1]:
            high += 1
        return float(self.lrs[low]), float(self.lrs[high])

    def largest_training_lr(self, fraction: float = 0.5) -> float:
        """The largest rate at which every seed trains: ends below ``fraction`` of its first minibatch's
        loss, without diverging. NaN if no rate does.

        It marks the edge of stability, which lies well above :meth:`best_lr` for a short budget.
        """
        trains = [all(h.final_loss < fraction * h.loss[0] for h in (row[j] for row in self.histories))
                  for j in range(len(self.lrs))]
        return float(self.lrs[np.flatnonzero(trains).max()]) if any(trains) else math.nan

    def summary(self) -> str:
        """One sentence on how many runs diverged, and from which rate; empty when none did."""
        diverged = self.diverged()
        if not diverged.any():
            return ""
        return (f"{diverged.sum()} of {diverged.size} runs diverged; "
                f"the smallest rate that diverged was {self.lrs[diverged.any(axis=0)].min():.3g}.")

    def table(self, digits: int = 3):
        """A table with one row per rate: the final training and validation losses (median, and lowest to
        highest over seeds), the scores if any, the validation accuracy for classification, and how many
        seeds diverged. A pandas DataFrame, which a notebook and the book render as a table."""
        import pandas as pd

        splits = {"training loss": "train", "validation loss": "val"}
        if self.scores is not None:
            splits["score"] = "score"
        columns = {title: [spread(column, digits) for column in self.final_losses(split).T]
                   for title, split in splits.items()}
        accuracies = self.final_accuracies()
        if not np.isnan(accuracies).all():
            columns["validation accuracy"] = [spread(column, digits) for column in accuracies.T]
        columns["diverged"] = [f"{n} of {len(self.seeds)}" for n in self.diverged().sum(axis=0)]
        return pd.DataFrame(columns, index=pd.Index([f"{lr:.3g}" for lr in self.lrs], name="learning rate"))

    def _best(self, split: str) -> tuple[np.ndarray, int]:
        """The median final loss on ``split`` of each rate, and the index of the lowest."""
        median = np.median(self.final_losses(split), axis=0)
        if not np.isfinite(median).any():
            raise ValueError("no learning rate in this sweep trained without diverging on most seeds")
        return median, int(np.argmin(median))


def spread(values: Sequence[float], digits: int = 3) -> str:
    """The median of ``values`` and their range, ``"median (lowest to highest)"``, to ``digits`` significant
    digits, for a table cell; runs that diverged (inf or NaN) are counted out and named."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if not len(finite):
        return "diverged"
    text = f"{np.median(finite):#.{digits}g}"  # '#': trailing zeros kept, so a column's cells align in precision
    if len(finite) > 1:
        text += f" ({finite.min():#.{digits}g} to {finite.max():#.{digits}g})"
    if len(finite) < len(values):
        text += f", {len(values) - len(finite)} diverged"
    return text
