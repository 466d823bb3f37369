"""lrcourse.plotting: figures draw without warnings and mark what readers need to see."""

import warnings

import numpy as np
import pytest

from lrcourse import plotting
from lrcourse.results import History, Sweep


def sweep_with_divergence():
    ok = lambda loss: History(label="", loss=[1.0, loss], train_loss=[loss], val_loss=[loss])  # noqa: E731
    blown = History(loss=[1.0], stop_reason="the training loss became nan at step 1")
    return Sweep(np.array([0.01, 0.1, 1.0]), (0, 1), [[ok(0.5), ok(0.2), blown], [ok(0.6), ok(0.1), blown]])


def test_a_sweep_plot_is_log_log_marks_divergence_and_the_best_rate():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plotting.plot_lr_sweep(sweep_with_divergence())
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "learning rate"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "diverged (at least one seed)" in labels and "best: 0.1" in labels
    median = ax.lines[0].get_ydata()
    assert np.allclose(median[:2], [0.55, 0.15]) and np.isnan(median[2])


def test_curves_are_labelled_and_a_diverged_run_ends_in_a_cross():
    runs = [History(label="lr=0.1", loss=[1.0, 0.5, 0.25]),
            History(label="lr=10", loss=[1.0, 4.0], stop_reason="the training loss became inf at step 2")]
    ax = plotting.plot_curves(runs, smooth=1)
    assert [line.get_label() for line in ax.lines if not line.get_label().startswith("_")] == ["lr=0.1", "lr=10"]
    assert ax.lines[-1].get_marker() == "x"
    assert ax.get_xlabel() == "step" and ax.get_yscale() == "log"


def test_smoothing_averages_neighbouring_steps():
    ax = plotting.plot_curves([History(loss=[4.0, 2.0, 0.0, 2.0])], smooth=2, log_y=False)
    assert np.allclose(ax.lines[0].get_ydata(), [3.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="smooth"):
        plotting.plot_curves([], smooth=0)


def test_the_palette_is_the_colour_blind_safe_one():
    import matplotlib as mpl

    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][:3] == ["#0072B2", "#E69F00", "#009E73"]


def test_a_grid_of_sweeps_outlines_each_rows_best_rate_and_crosses_out_divergence():
    grid = {"32": sweep_with_divergence(), "64": sweep_with_divergence()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plotting.plot_sweep_grid(grid, row_label="batch size")
    outlined = [patch.get_x() + 0.5 for patch in ax.patches]
    assert outlined == [1.0, 1.0], "the best rate, 0.1, is the second column of each row"
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert [(line.get_xdata()[0], line.get_ydata()[0]) for line in crosses] == [(2, 0), (2, 1)]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["32", "64"]


def test_a_grid_needs_the_same_rates_in_every_row():
    other = sweep_with_divergence()
    other.lrs = other.lrs * 2
    with pytest.raises(ValueError, match="same learning rates"):
        plotting.plot_sweep_grid({"a": sweep_with_divergence(), "b": other})
