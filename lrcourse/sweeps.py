"""The one learning-rate sweep: a fresh model trained at every rate of a grid, for every seed.

The rates of a seed train at once, in one batched computation (:mod:`lrcourse.stacked`), wherever the
model, optimizer and settings allow it, and one rate at a time (:func:`lrcourse.training.train`)
elsewhere; both give the same :class:`~lrcourse.results.Sweep`.
"""

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .data import Dataset
from .results import Sweep
from .stacked import STACKING_NEEDS, can_stack, train_stacked, unstack
from .training import TrainSettings, check_lr, show_progress, train


def sweep(make_model: Callable[[], nn.Module], data: Dataset, lrs: Sequence[float], *,
          optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.SGD, seeds: Sequence[int] = (0,),
          settings: TrainSettings | None = None, keep_models: bool = False,
          score: Callable[[nn.Module], float] | None = None, stacked: bool | None = None,
          progress: bool | None = None, **setting_values) -> Sweep:
    """Train a fresh ``make_model()`` at every rate in ``lrs`` for every seed.

    ``optimizer`` is called as ``optimizer(model.parameters(), lr=lr)``; pass a
    ``functools.partial`` to fix its other settings. The seed sets both the
    initial weights and the minibatch order, so two rates with the same seed
    start from the same weights. The training settings are :func:`lrcourse.training.train`'s,
    as keywords or as one :class:`~lrcourse.training.TrainSettings`.

    ``keep_models=True`` keeps every trained model (``Sweep.models``). ``score``, a function of a
    trained model returning a number where lower is better (the loss of the final weights on some
    data, say), scores every run that did not diverge; the sweep then ranks runs by it.

    The rates of a seed are trained at once, in one batched computation, with the same results up to
    rounding, whenever the model, optimizer and settings allow it (:func:`lrcourse.stacked.can_stack`) and
    there are several rates: several times faster for a small model. ``stacked=False`` trains one rate at a time;
    ``stacked=True`` raises a ValueError where stacking does not apply. With progress shown, a line
    at the end says how many runs diverged (``Sweep.summary``).
    """
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or len(lrs) == 0:
        raise ValueError(f"lrs must be a non-empty 1-D sequence of learning rates, got shape {lrs.shape}")
    for i, lr in enumerate(lrs):
        check_lr(lr, f"lrs[{i}]")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if score is not None and not callable(score):
        raise ValueError(f"score must be a function of a trained model, got {score!r}")
    settings = replace(settings or TrainSettings(), **setting_values)
    show = show_progress(progress)

    bar = tqdm(total=len(seeds) * len(lrs), desc="sweep", disable=not show)
    histories, models = [], []
    stack = None  # decided once, on the first seed's model: every seed trains the same model with the same settings
    for seed in seeds:
        run_settings = replace(settings, seed=seed)
        torch.manual_seed(seed)
        model = make_model().to(data.device)
        if stack is None:  # one rate gains nothing from stacking, unless asked for
            stack = bool(stacked or (stacked is None and len(lrs) > 1)) and can_stack(model, data, optimizer,
                                                                                       run_settings)
        if stack:
            row, weights = train_stacked(model, data, optimizer, list(lrs), run_settings)
            models.append(unstack(model, weights) if keep_models or score else None)
            bar.update(len(lrs))
        elif stacked:
            raise ValueError(STACKING_NEEDS)
        else:
            row, trained = [], []
            for j, lr in enumerate(lrs):
                if j:  # the first rate trains the model made above, the others a fresh one from the same seed
                    torch.manual_seed(seed)
                    model = make_model().to(data.device)
                row.append(train(model, data, optimizer(model.parameters(), lr=lr), run_settings,
                                 label=f"lr={lr:.3g}", progress=False, verbose=False))
                trained.append(model if keep_models or score else None)  # held only when asked for
                bar.update()
            models.append(trained)
        histories.append(row)
    bar.close()
    scores = None
    if score is not None:
        with torch.no_grad():
            scores = np.array([[np.inf if history.diverged else float(_scored(score, model))
                                for model, history in zip(model_row, history_row)]
                               for model_row, history_row in zip(models, histories)])
    result = Sweep(lrs, seeds, histories, models if keep_models else None, scores)
    if show and result.summary():
        print(result.summary())
    return result


def _scored(score: Callable[[nn.Module], float], model: nn.Module) -> float:
    """The score of one trained model, judged in evaluation mode."""
    model.eval()
    try:
        return score(model)
    finally:
        model.train()
