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
    ``train_loss`` (mean over the epoch's minibatches), ``test_loss`` and, for
    classification, ``test_accuracy``.
    ``stop_reason`` says why a run ended early, or is ``None``. ``seconds`` is the run's wall time; the runs
    of a stacked sweep, trained together, share their sweep's time equally.
    """

    label: str = ""
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    stop_reason: str | None = None
    seconds: float = 0.0

    @property
    def diverged(self) -> bool:
        return self.stop_reason is not None

    @property
    def final_loss(self) -> float:
        """Training loss of the last epoch; infinite for a run that diverged."""
        return math.inf if self.diverged or not self.train_loss else self.train_loss[-1]


@dataclass
class Sweep:
    """Histories of one model trained at each learning rate, for each seed.

    ``histories[i][j]`` is seed ``seeds[i]`` at rate ``lrs[j]``. ``models[i][j]`` is that run's trained
    model when the sweep was asked to keep them, and ``scores[i][j]`` its score when the sweep was given a
    scoring function; the scores then replace the last epoch's training loss wherever a sweep ranks runs
    (:meth:`final_losses`, :meth:`best_lr`, :meth:`good_lrs`, the plots). A run that diverged scores ``inf``.
    """

    lrs: np.ndarray
    seeds: tuple[int, ...]
    histories: list[list[History]]
    models: list[list] | None = None
    scores: np.ndarray | None = None

    def final_losses(self) -> np.ndarray:
        """Each run's score, shape ``(len(seeds), len(lrs))``: the scores if the sweep has them, else the
        training loss of the last epoch; ``inf`` where a run diverged."""
        if self.scores is not None:
            return np.asarray(self.scores, dtype=float)
        return np.array([[h.final_loss for h in row] for row in self.histories])

    def final_accuracies(self) -> np.ndarray:
        """Test accuracy after the last epoch, shape ``(len(seeds), len(lrs))``; NaN where a run diverged."""
        return np.array([[h.test_accuracy[-1] if h.test_accuracy and not h.diverged else np.nan for h in row]
                         for row in self.histories])

    def diverged(self) -> np.ndarray:
        """Which runs diverged, shape ``(len(seeds), len(lrs))``."""
        return np.array([[h.diverged for h in row] for row in self.histories])

    def best_lr(self) -> float:
        """The rate with the lowest median final loss over seeds."""
        return float(self.lrs[self._best()[1]])

    def good_lrs(self, within: float = 0.1) -> tuple[float, float]:
        """The band of good rates: the lowest and highest rate of the unbroken run of rates around
        :meth:`best_lr` whose median final loss is within the fraction ``within`` of the best median loss.

        Its width, ``high / low``, says how precisely a learning rate must be tuned; it is only as fine as
        the sweep's grid, and a band that reaches the grid's edge may extend beyond it.
        """
        if not within >= 0:
            raise ValueError(f"within must be a fraction >= 0, got {within!r}")
        median, best = self._best()
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
        """A table with one row per rate: the final losses (median, and lowest to highest over seeds), the
        test accuracy for classification, and how many seeds diverged. A pandas DataFrame, which a notebook
        and the book render as a table."""
        import pandas as pd

        losses = self.final_losses()
        columns = {"final loss": [spread(column, digits) for column in losses.T]}
        accuracies = self.final_accuracies()
        if not np.isnan(accuracies).all():
            columns["test accuracy"] = [spread(column, digits) for column in accuracies.T]
        columns["diverged"] = [f"{n} of {len(self.seeds)}" for n in self.diverged().sum(axis=0)]
        return pd.DataFrame(columns, index=pd.Index([f"{lr:.3g}" for lr in self.lrs], name="learning rate"))

    def _best(self) -> tuple[np.ndarray, int]:
        """The median final loss of each rate, and the index of the lowest."""
        median = np.median(self.final_losses(), axis=0)
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
