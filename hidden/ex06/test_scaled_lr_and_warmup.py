"""Hidden checks of exercise 6's ``scaled_lr_and_warmup(base_lr, base_batch, new_batch, base_warmup_steps,
rule="linear")``: the linear (Goyal et al. 2017) or square-root scaling of the rate for a new batch size, with a
warmup that covers the same number of samples."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ('scales the rate by k = new_batch / base_batch with rule "linear", by the square root of k with '
                  'rule "sqrt"', 40),
    "behaviour_warmup": ("gives the warmup the fewest steps of the new batch that cover the recipe's warmup "
                         "samples, at least one unless the recipe has none", 30),
    "contract": ("returns the tuple (lr: a Python float, warmup_steps: an int)", 15),
    "validation": ("refuses an unknown rule, a batch size or base_lr that is not > 0, or a negative warmup with "
                   "ValueError", 15),
}

LINEAR = {  # (base_lr, base_batch, new_batch, base_warmup_steps): (lr, warmup_steps)
    (0.1, 256, 1024, 100): (0.4, 25),
    (0.1, 256, 8192, 500): (3.2, 16),
    (0.05, 512, 128, 10): (0.0125, 40),
    (1e-3, 32, 96, 5): (3e-3, 2),
}
SQRT = {
    (1e-3, 256, 1024, 100): (2e-3, 25),
    (3e-4, 512, 4608, 1000): (9e-4, 112),
    (0.01, 400, 100, 7): (0.005, 28),
}
CASES = {**{(case, "linear"): expected for case, expected in LINEAR.items()},
         **{(case, "sqrt"): expected for case, expected in SQRT.items()}}


def scaled(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), (float, int), "the pair (lr, warmup_steps)")


def show(case):
    base_lr, base_batch, new_batch, warmup_steps = case
    return f"base_lr = {base_lr}, batch {base_batch} -> {new_batch}, base_warmup_steps = {warmup_steps}"


@requirement("behaviour")
@pytest.mark.parametrize("case", list(LINEAR), ids=show)
def test_linear_rule(answer, case):
    """scales the rate by k = new_batch / base_batch with rule "linear\""""
    lr, _ = scaled(answer, *case, rule="linear")
    assert math.isclose(lr, LINEAR[case][0], rel_tol=1e-9), \
        f'the "linear" rule with {show(case)} should give the rate {LINEAR[case][0]:g}, got {lr!r}'


@requirement("behaviour")
@pytest.mark.parametrize("case", list(SQRT), ids=show)
def test_sqrt_rule(answer, case):
    """scales the rate by the square root of k with rule "sqrt\""""
    lr, _ = scaled(answer, *case, rule="sqrt")
    assert math.isclose(lr, SQRT[case][0], rel_tol=1e-9), \
        f'the "sqrt" rule with {show(case)} should give the rate {SQRT[case][0]:g}, got {lr!r}'


@requirement("behaviour")
def test_linear_is_the_default(answer):
    """uses the linear rule when no rule is given"""
    lr, warmup_steps = scaled(answer, 0.1, 128, 512, 40)
    assert math.isclose(lr, 0.4, rel_tol=1e-9), \
        f"with no rule given, batch 128 -> 512 should give the rate 0.4 as the linear rule does, got {lr!r}"


@requirement("behaviour")
def test_round_trip_of_the_rate(answer):
    """scaling to another batch and back gives the recipe's rate"""
    for rule in ("linear", "sqrt"):
        for base_lr, batch, other, warmup_steps in ((0.1, 256, 64, 100), (3e-4, 1000, 10, 7), (0.02, 512, 4096, 80)):
            lr, steps = scaled(answer, base_lr, batch, other, warmup_steps, rule=rule)
            back_lr, _ = scaled(answer, lr, other, batch, steps, rule=rule)
            assert math.isclose(back_lr, base_lr, rel_tol=1e-9), (
                f'with the "{rule}" rule, batch {batch} -> {other} -> {batch} should give back the rate {base_lr}, '
                f"got {back_lr!r}")


@requirement("behaviour")
@settings(max_examples=40)
@given(base_batch=st.integers(1, 4096), smaller=st.integers(1, 65536), larger=st.integers(1, 65536),
       rule=st.sampled_from(["linear", "sqrt"]))
def test_rate_grows_with_the_new_batch(answer, base_batch, smaller, larger, rule):
    """gives a larger batch a higher rate"""
    smaller, larger = sorted((smaller, larger))
    lr_small, _ = scaled(answer, 0.01, base_batch, smaller, 10, rule=rule)
    lr_large, _ = scaled(answer, 0.01, base_batch, larger, 10, rule=rule)
    assert lr_large >= lr_small and (larger == smaller or lr_large > lr_small), \
        f'with the "{rule}" rule, batch {larger} should get a higher rate than batch {smaller}'


@requirement("behaviour")
def test_same_batch_keeps_the_rate(answer):
    """keeps the recipe's rate when the batch size does not change"""
    for rule in ("linear", "sqrt"):
        for base_lr, batch, warmup_steps in ((0.1, 256, 100), (3e-4, 7, 0), (1.5, 1, 1)):
            lr, _ = scaled(answer, base_lr, batch, batch, warmup_steps, rule=rule)
            assert math.isclose(lr, base_lr, rel_tol=1e-12), \
                f"the same batch ({batch}) should keep the rate {base_lr} with the {rule} rule, got {lr!r}"


@requirement("behaviour_warmup")
@pytest.mark.parametrize("case", list(CASES), ids=lambda case: f"{case[1]}, {show(case[0])}")
def test_warmup_of_the_recipes(answer, case):
    """scales the warmup by 1 / k, rounded up, with either rule"""
    arguments, rule = case
    _, warmup_steps = scaled(answer, *arguments, rule=rule)
    expected = CASES[case][1]
    assert warmup_steps == expected, (
        f"with {show(arguments)} the warmup should cover the same samples: "
        f"ceil({arguments[3]} * {arguments[1]} / {arguments[2]}) = {expected} steps, got {warmup_steps!r}")


@requirement("behaviour_warmup")
@settings(max_examples=60)
@given(base_batch=st.integers(1, 4096), new_batch=st.integers(1, 65536), warmup_steps=st.integers(1, 10_000),
       rule=st.sampled_from(["linear", "sqrt"]))
def test_warmup_covers_the_same_samples(answer, base_batch, new_batch, warmup_steps, rule):
    """for either rule, the fewest steps of the new batch that cover the recipe's warmup samples"""
    _, new_steps = scaled(answer, 0.1, base_batch, new_batch, warmup_steps, rule=rule)
    samples = warmup_steps * base_batch
    assert new_steps * new_batch >= samples and (new_steps - 1) * new_batch < samples, (
        f'with the "{rule}" rule, a warmup of {warmup_steps} steps of {base_batch} samples needs '
        f"ceil({samples} / {new_batch}) = {-(-samples // new_batch)} steps of {new_batch}; got {new_steps!r}"
        + (" (the warmup counts samples: it does not depend on the rule)" if rule == "sqrt" else ""))


@requirement("behaviour_warmup")
def test_no_warmup_stays_no_warmup(answer):
    """gives 0 warmup steps when the recipe has none"""
    for rule in ("linear", "sqrt"):
        for new_batch in (16, 256, 4096):
            _, warmup_steps = scaled(answer, 0.1, 256, new_batch, 0, rule=rule)
            assert warmup_steps == 0, \
                f"with no warmup in the recipe ({rule}, batch 256 -> {new_batch}) there is none, got {warmup_steps!r}"


@requirement("behaviour_warmup")
def test_at_least_one_warmup_step(answer):
    """keeps at least one warmup step when the recipe has one, however large the new batch"""
    for case in ((0.1, 32, 65536, 1), (0.1, 1, 1_000_000, 3), (0.1, 256, 8192, 10)):
        for rule in ("linear", "sqrt"):
            _, warmup_steps = scaled(answer, *case, rule=rule)
            assert warmup_steps == 1, \
                f"with {show(case)} the warmup should be 1 step (rounded up), got {warmup_steps!r}"


@requirement("behaviour_warmup")
def test_round_trip_of_the_warmup(answer):
    """scaling to a smaller batch and back gives the recipe's warmup"""
    for rule in ("linear", "sqrt"):
        for base_lr, batch, other, warmup_steps in ((0.1, 256, 64, 100), (3e-4, 1000, 10, 7), (0.02, 512, 16, 3)):
            lr, steps = scaled(answer, base_lr, batch, other, warmup_steps, rule=rule)
            _, back_steps = scaled(answer, lr, other, batch, steps, rule=rule)
            assert back_steps == warmup_steps, (
                f"batch {batch} -> {other} -> {batch} should give back the warmup of {warmup_steps} steps, "
                f"got {back_steps!r}")


@requirement("behaviour_warmup")
@settings(max_examples=40)
@given(base_batch=st.integers(1, 4096), smaller=st.integers(1, 65536), larger=st.integers(1, 65536),
       warmup_steps=st.integers(0, 5000), rule=st.sampled_from(["linear", "sqrt"]))
def test_warmup_shrinks_with_the_new_batch(answer, base_batch, smaller, larger, warmup_steps, rule):
    """gives a larger batch no more warmup steps"""
    smaller, larger = sorted((smaller, larger))
    _, steps_small = scaled(answer, 0.01, base_batch, smaller, warmup_steps, rule=rule)
    _, steps_large = scaled(answer, 0.01, base_batch, larger, warmup_steps, rule=rule)
    assert steps_large <= steps_small, (f"batch {larger} should need no more warmup steps than batch {smaller} "
                                        f"(from batch {base_batch}, {warmup_steps} steps)")


@requirement("behaviour_warmup")
def test_same_batch_keeps_the_warmup(answer):
    """keeps the recipe's warmup when the batch size does not change"""
    for rule in ("linear", "sqrt"):
        for base_lr, batch, warmup_steps in ((0.1, 256, 100), (3e-4, 7, 0), (1.5, 1, 1)):
            _, steps = scaled(answer, base_lr, batch, batch, warmup_steps, rule=rule)
            assert steps == warmup_steps, \
                f"the same batch ({batch}) should keep the warmup of {warmup_steps} steps ({rule}), got {steps!r}"


@requirement("contract")
def test_returns_a_float_and_an_int(answer):
    """returns the tuple (rate: a Python float, warmup steps: an int), even for ints or NumPy numbers"""
    for case in ((1, 256, 1024, 100), (0.1, 256, 1000, 33), (2, 100, 100, 0), (np.float64(0.1), 256, 1024, 100),
                 (0.1, np.int64(256), np.int64(1024), 100), (np.float32(0.5), 100, 400, 10)):
        for rule in ("linear", "sqrt"):
            result = answer(*case, rule=rule)
            assert type(result) is tuple and len(result) == 2, \
                f"return a tuple (lr, warmup_steps), got {result!r} ({show(case)})"
            lr, warmup_steps = result
            assert type(lr) is float, \
                f"the rate should be a Python float, got a {type(lr).__name__} ({show(case)}, {rule})"
            assert type(warmup_steps) is int, \
                f"the warmup steps should be an int, got a {type(warmup_steps).__name__} ({show(case)}, {rule})"


BAD = {"unknown rule": {"rule": "cube"}, "batch 0": {"base_batch": 0}, "negative new batch": {"new_batch": -64},
       "new batch 0": {"new_batch": 0}, "base_lr 0": {"base_lr": 0.0}, "negative base_lr": {"base_lr": -0.1},
       "negative warmup": {"base_warmup_steps": -1}}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for an unknown rule or a setting out of range"""
    arguments = {"base_lr": 0.1, "base_batch": 256, "new_batch": 1024, "base_warmup_steps": 10, "rule": "linear",
                 **BAD[bad]}
    with pytest.raises(ValueError):
        answer(**arguments)
