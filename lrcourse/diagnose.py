"""Reading a training history the way an experienced practitioner would, and saying what to try.

:func:`diagnose` looks at a :class:`~lrcourse.results.History` for the common
ways a run goes wrong because of its learning rate (or despite it) and returns
its findings, each with the evidence it rests on and the cure to try first.
The thresholds are plain numbers stated in each check; chapter 8 shows every
finding on a run made to have it.
"""

from dataclasses import dataclass

import numpy as np

from .results import History


@dataclass(frozen=True)
class Finding:
    """One thing that looks wrong (or right) in a run: a short name, the evidence, and what to try."""

    name: str
    evidence: str
    advice: str

    def __str__(self):
        return f"{self.name}: {self.evidence}. Try: {self.advice}."


def diagnose(history: History, window: int = 20, *, best: float | None = None,
             chance: float | None = None) -> list[Finding]:
    """The findings for one run, most serious first; ``[healthy]`` when nothing looks wrong.

    ``window`` is the number of steps over which the end of the run is judged (smoothing, trend, noise).
    A curve can look well-behaved and still end badly; two yardsticks, when given, catch that:
    ``best``, the final training loss of the best run you have (of a sweep, say), and ``chance``, the loss
    of a model that has learnt nothing (ln k for k balanced classes, 1 for a standardized
    regression target).
    """
    for name, value in (("best", best), ("chance", chance)):
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be a positive loss, got {value!r}")
    losses = np.asarray(history.loss, dtype=float)
    if history.stop_reason:  # a run that stopped early has diverged, however few steps it took
        return [_diverged(history, losses, window)]
    if len(losses) < 2 * window:
        raise ValueError(f"the history holds {len(losses)} steps; diagnosing needs at least {2 * window} "
                         "(lower window, or train longer)")
    diverged = _diverged(history, losses, window)
    if diverged:
        return [diverged]  # what follows a blow-up says nothing more about the learning rate
    # a loss that swings from step to step neither stalls nor is merely noisy: the rate is too large
    # a loss that has not fallen has no fall to be noisy or slow against: a plateau is reported alone
    found = [_oscillating(history, losses, window)]
    if found[0] is None:
        found = [_plateau(history, losses, window)]
    if found[0] is None:
        found = [_too_slow(history, losses, window), _noisy(history, losses, window)]
    findings = [finding for finding in (*found, _far_from(losses, window, best, chance),
                                        _overfitting(history, losses, window)) if finding is not None]
    if findings:
        return findings
    return [Finding("healthy", f"the loss fell from {losses[:window].mean():.3g} to {losses[-window:].mean():.3g} "
                               "and levelled off without blowing up", "nothing; tune the rest")]


def report(history: History, window: int = 20, *, best: float | None = None, chance: float | None = None) -> str:
    """:func:`diagnose`'s findings as lines of text, one per finding."""
    return "\n".join(f"- {finding}" for finding in diagnose(history, window, best=best, chance=chance))


def _smoothed(losses: np.ndarray, window: int) -> np.ndarray:
    """Moving average over ``window`` steps (only full windows)."""
    return np.convolve(losses, np.ones(window) / window, mode="valid")


def _start(losses: np.ndarray, window: int) -> float:
    """Where the run started: the loss of the untrained model at its first step.

    Not an average over the first window, which a blow-up in the first few steps would inflate until a run
    that ended no better than it started looked as if its loss had fallen.
    """
    return float(losses[0])


def _diverged(history, losses, window):
    if history.stop_reason:
        return Finding("diverged", history.stop_reason, "a learning rate 3 to 10 times smaller, or a warmup")
    smooth = _smoothed(losses, window)
    # a run can blow up in a few steps and come back down to a dead network that predicts one class: the
    # loss jumped far above where it started, and the run never got back below its starting level
    start, peak = _start(losses, window), int(np.argmax(losses))
    if losses[peak] > 4 * start and smooth[-1] > 0.95 * start:
        return Finding("diverged", f"the loss jumped from {start:.3g} to {losses[peak]:.3g} at step {peak} and "
                                   f"ended at {smooth[-1]:.3g}, no lower than where it started",
                       "a learning rate 3 to 10 times smaller, or a warmup")
    low = int(np.argmin(smooth))
    if smooth[-1] > 2 * smooth[low] and smooth[-1] > smooth[0]:
        return Finding("diverged", f"the smoothed loss rose from its lowest, {smooth[low]:.3g} at step "
                                   f"{low + window}, to {smooth[-1]:.3g}, above where it started",
                       "a learning rate 3 to 10 times smaller, or a warmup")
    return None


def _oscillating(history, losses, window):
    tail = losses[-2 * window:]
    steps = np.diff(tail)
    flips = np.mean(np.sign(steps[1:]) != np.sign(steps[:-1]))
    swing = np.mean(np.abs(steps)) / max(abs(tail.mean()), 1e-12)
    if flips > 0.8 and swing > 0.05:
        return Finding("oscillating", f"over the last {2 * window} steps the loss changed direction at "
                                      f"{flips:.0%} of the steps, by {swing:.0%} of its level on average",
                       "a learning rate 2 to 3 times smaller, or a schedule that decays it")
    return None


def _plateau(history, losses, window):
    start, end = _start(losses, window), losses[-window:].mean()
    if end > 0.95 * start:
        return Finding("plateau", f"the loss barely moved, from {start:.3g} to {end:.3g}",
                       "a larger learning rate (10 times), and check the initialization and the data")
    return None


def _too_slow(history, losses, window):
    smooth = _smoothed(losses, window)
    start, end = smooth[0], smooth[-1]
    if end > 0.95 * start:
        return None  # that is a plateau
    # the pace of the fall over the last window, against its average pace over the whole run
    pace = ((smooth[-window] - end) / window) / ((start - end) / (len(smooth) - 1))
    if pace > 0.3:
        return Finding("too slow", f"the loss is still falling at {pace:.0%} of its average pace at the end",
                       "a learning rate 2 to 3 times larger, or a longer run")
    return None


def _noisy(history, losses, window):
    tail = losses[-2 * window:]
    trend = _smoothed(tail, window)  # the average of each window ending in the last window's steps
    fall = losses[:window].mean() - trend[-1]
    noise = np.std(tail[window - 1:] - trend) / max(fall, 1e-12)
    if noise > 0.3:
        return Finding("noisy", f"at the end the loss scatters from step to step by {noise:.0%} of all it has "
                                "fallen", "a larger batch, or a learning rate that decays towards the end")
    return None


def _far_from(losses, window, best, chance):
    """A run that ended near chance, or far above the best run: the curve may look calm, the result is not."""
    end = losses[-window:].mean()
    if chance is not None and end > 0.8 * chance:
        return Finding("near chance", f"the loss ended at {end:.3g}, {end / chance:.0%} of the {chance:.3g} "
                                      "of a model that learnt nothing",
                       "a rate 3 to 10 times smaller if it blew up early, larger if it never moved; check the "
                       "data and the initialization")
    if best is not None and end > 2 * best:
        return Finding("far above the best", f"the loss ended at {end:.3g}, {end / best:.1f} times the best "
                                             f"run's {best:.3g}",
                       "the best run's learning rate, or a sweep around it")
    return None


def _overfitting(history, losses, window):
    val, train = np.asarray(history.val_loss), np.asarray(history.train_loss)
    if len(val) < 3:
        return None
    best = int(np.argmin(val))
    if best < len(val) - 1 and val[-1] > 1.1 * val[best] and train[-1] < train[best]:
        return Finding("overfitting", f"the validation loss rose from {val[best]:.3g} after epoch {best + 1} "
                                      f"to {val[-1]:.3g} while the training loss kept falling",
                       "stopping at the best epoch, weight decay, more data or augmentation")
    return None
