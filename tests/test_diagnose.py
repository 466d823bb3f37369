"""lrcourse.diagnose: each finding on a loss curve made to have it, and on a real run."""

import numpy as np
import pytest
import torch

from lrcourse import data, models, training
from lrcourse.diagnose import diagnose, report
from lrcourse.training import History

STEPS = np.arange(300)
NOISE = np.random.default_rng(0).standard_normal(300)
CURVES = {
    "healthy": 2 * np.exp(-STEPS / 40) + 0.1 + 0.005 * NOISE,
    "too slow": 2 - 1.5 * STEPS / 300 + 0.005 * NOISE,
    "plateau": 2.3 + 0.01 * NOISE,
    "diverged": np.concatenate([2 * np.exp(-STEPS[:150] / 30) + 0.2, 0.2 * np.exp((STEPS[150:] - 150) / 30)]),
    "oscillating": 1.0 + 0.5 * (-1) ** STEPS * (1 + 0.1 * NOISE),
    "noisy": 2 * np.exp(-STEPS / 40) + 0.5 + np.abs(NOISE),
}


@pytest.mark.parametrize("name", list(CURVES))
def test_each_finding_on_a_curve_made_to_have_it(name):
    history = History(loss=list(CURVES[name]), train_loss=[1.0, 0.8, 0.6], val_loss=[1.0, 0.9, 0.85])
    assert [finding.name for finding in diagnose(history)] == [name]


def test_overfitting_is_read_from_the_epochs():
    history = History(loss=list(CURVES["healthy"]), train_loss=[1, 0.5, 0.3, 0.2, 0.1],
                      val_loss=[1, 0.6, 0.5, 0.6, 0.8])
    (finding,) = diagnose(history)
    assert finding.name == "overfitting" and "after epoch 3" in finding.evidence


def test_a_stopped_run_is_diverged_and_nothing_else():
    history = History(loss=list(CURVES["plateau"]), stop_reason="the training loss became nan at step 300")
    assert [str(finding) for finding in diagnose(history)] == [
        "diverged: the training loss became nan at step 300. Try: a learning rate 3 to 10 times smaller, or a warmup."]


def test_real_runs_too_fast_and_fine():
    cancer = data.load("breast_cancer", device="cpu")
    findings = {}
    for lr in (1e4, 0.1):
        torch.manual_seed(0)
        model = models.linear(cancer.num_features, 2)
        history = training.train(model, cancer, torch.optim.SGD(model.parameters(), lr=lr), epochs=20, batch_size=32,
                                 progress=False, verbose=False)
        findings[lr] = [finding.name for finding in diagnose(history)]
    assert findings[1e4] == ["diverged"]
    assert findings[0.1] == ["healthy"]


def test_too_short_a_history_is_refused_and_the_report_is_text():
    with pytest.raises(ValueError, match="at least 40"):
        diagnose(History(loss=[1.0] * 10))
    assert report(History(loss=list(CURVES["plateau"]))).startswith("- plateau: ")


def test_a_run_that_stopped_in_its_first_steps_is_diverged_not_too_short():
    history = History(loss=[2.3, 40.0], stop_reason="the training loss became 5e+03 at step 2")
    assert [finding.name for finding in diagnose(history)] == ["diverged"]


def test_a_calm_run_that_ends_near_chance_or_far_above_the_best_is_not_healthy():
    calm = History(loss=list(CURVES["healthy"]))  # falls smoothly from 2.1 and levels off at 0.1
    end = CURVES["healthy"][-20:].mean()
    assert [f.name for f in diagnose(calm)] == ["healthy"]
    (finding,) = diagnose(calm, chance=1.2 * end)
    assert finding.name == "near chance" and "of a model that learnt nothing" in finding.evidence
    (finding,) = diagnose(calm, best=end / 3)
    assert finding.name == "far above the best" and "3.0 times the best run's" in finding.evidence
    assert [f.name for f in diagnose(calm, best=end / 1.5, chance=2.3)] == ["healthy"], "within twice the best"
    with pytest.raises(ValueError, match="chance must be a positive loss"):
        diagnose(calm, chance=0)
    assert report(calm, chance=1.2 * end).startswith("- near chance: ")
