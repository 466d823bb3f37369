"""lrcourse.results: what a sweep reads off its runs, as numbers and as a table, without torch."""

import subprocess
import sys

import numpy as np

from lrcourse.results import History, Sweep, spread


def sweep_of(runs):
    """A Sweep from ``runs[seed][rate]`` = (first loss, final loss or None for a run that diverged)."""
    histories = [[History(loss=[first], train_loss=[final], val_loss=[final + 0.1]) if final is not None
                  else History(loss=[first], stop_reason="the training loss became nan at step 1")
                  for first, final in row] for row in runs]
    return Sweep(np.array([0.01, 0.1, 1.0]), tuple(range(len(runs))), histories)


def test_the_largest_rate_that_trains_needs_every_seed_to_halve_its_loss():
    result = sweep_of([[(2.0, 1.5), (2.0, 0.5), (2.0, 0.9)],
                       [(2.0, 1.5), (2.0, 0.4), (2.0, None)]])
    assert result.largest_training_lr() == 0.1
    assert result.largest_training_lr(fraction=0.8) == 0.1
    assert np.isnan(sweep_of([[(2.0, 1.5), (2.0, 1.2), (2.0, None)]]).largest_training_lr())


def test_the_table_and_the_summary_say_what_diverged():
    result = sweep_of([[(2.0, 1.5), (2.0, 0.5), (2.0, 0.9)],
                       [(2.0, 1.7), (2.0, 0.4), (2.0, None)]])
    table = result.table()
    assert list(table.index) == ["0.01", "0.1", "1"] and table.index.name == "learning rate"
    assert table.loc["0.1", "training loss"] == "0.450 (0.400 to 0.500)"
    assert table.loc["0.1", "validation loss"] == "0.550 (0.500 to 0.600)"
    assert table.loc["1", "training loss"] == "0.900, 1 diverged" and table.loc["1", "diverged"] == "1 of 2"
    assert "validation accuracy" not in table.columns and "score" not in table.columns
    assert result.summary() == "1 of 6 runs diverged; the smallest rate that diverged was 1."
    assert sweep_of([[(2.0, 1.5), (2.0, 0.5), (2.0, 0.9)]]).summary() == ""


def test_the_runner_up_is_the_better_neighbour_of_the_best_rate():
    result = sweep_of([[(2.0, 1.5), (2.0, 0.5), (2.0, 0.9)], [(2.0, 1.7), (2.0, 0.4), (2.0, 1.0)]])
    assert result.best_lr() == 0.1 and result.runner_up() == (1.0, 1.05)
    assert result.runner_up("train") == (1.0, 0.95)
    edge = sweep_of([[(2.0, 0.2), (2.0, 0.5), (2.0, 0.3)]])
    assert edge.runner_up() == (0.1, 0.6), "at the grid's edge the one neighbour, not the next-best rate anywhere"


def test_spread_counts_diverged_runs_out():
    assert spread([0.2, 0.1, 0.3]) == "0.200 (0.100 to 0.300)"
    assert spread([0.25, np.inf], digits=2) == "0.25, 1 diverged"
    assert spread([np.inf, np.nan]) == "diverged"


def test_results_plots_and_diagnosis_need_no_torch():
    code = ("import sys; import lrcourse.results, lrcourse.plotting, lrcourse.diagnose; "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
