"""Hidden checks of exercise 6's ``scaled_lr_and_warmup(base_lr, base_batch, new_batch, base_warmup_steps,
rule="linear")``: the linear (Goyal et al. 2017) or square-root scaling of the rate for a new batch size, with a
warmup that covers the same number of samples."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def show(case):
    base_lr, base_batch, new_batch, warmup_steps = case
    return f"base_lr = {base_lr}, batch {base_batch} -> {new_batch}, base_warmup_steps = {warmup_steps}"


def assert_gives(answer, case, expected, rule):
    lr, warmup_steps = answer(*case, rule=rule)
    assert math.isclose(lr, expected[0], rel_tol=1e-9), \
        f'the "{rule}" rule with {show(case)} should give the rate {expected[0]:g}, got {lr!r}'
    assert warmup_steps == expected[1], (
        f"with {show(case)} the warmup should cover the same samples: ceil({case[3]} * {case[1]} / {case[2]}) = "
        f"{expected[1]} steps, got {warmup_steps!r}")


@pytest.mark.parametrize("case", list(LINEAR), ids=show)
def test_linear_rule(answer, case):
    """scales the rate by k = new_batch / base_batch with rule "linear", and the warmup by 1 / k, rounded up"""
    assert_gives(answer, case, LINEAR[case], "linear")


@pytest.mark.parametrize("case", list(SQRT), ids=show)
def test_sqrt_rule(answer, case):
    """scales the rate by the square root of k with rule "sqrt", and the warmup by 1 / k, rounded up"""
    assert_gives(answer, case, SQRT[case], "sqrt")


def test_linear_is_the_default(answer):
    """uses the linear rule when no rule is given"""
    lr, warmup_steps = answer(0.1, 128, 512, 40)
    assert math.isclose(lr, 0.4, rel_tol=1e-9) and warmup_steps == 10, \
        f"with no rule given, batch 128 -> 512 should give (0.4, 10) as the linear rule does, got {(lr, warmup_steps)}"


@settings(max_examples=60)
@given(base_batch=st.integers(1, 4096), new_batch=st.integers(1, 65536), warmup_steps=st.integers(1, 10_000),
       rule=st.sampled_from(["linear", "sqrt"]))
def test_warmup_covers_the_same_samples(answer, base_batch, new_batch, warmup_steps, rule):
    """for either rule, the fewest steps of the new batch that cover the recipe's warmup samples"""
    _, new_steps = answer(0.1, base_batch, new_batch, warmup_steps, rule=rule)
    samples = warmup_steps * base_batch
    assert new_steps * new_batch >= samples and (new_steps - 1) * new_batch < samples, (
        f'with the "{rule}" rule, a warmup of {warmup_steps} steps of {base_batch} samples needs '
        f"ceil({samples} / {new_batch}) = {-(-samples // new_batch)} steps of {new_batch}; got {new_steps!r}"
        + (" (the warmup counts samples: it does not depend on the rule)" if rule == "sqrt" else ""))


def test_no_warmup_stays_no_warmup(answer):
    """gives 0 warmup steps when the recipe has none"""
    for rule in ("linear", "sqrt"):
        for new_batch in (16, 256, 4096):
            _, warmup_steps = answer(0.1, 256, new_batch, 0, rule=rule)
            assert warmup_steps == 0, \
                f"with no warmup in the recipe ({rule}, batch 256 -> {new_batch}) there is none, got {warmup_steps!r}"


def test_at_least_one_warmup_step(answer):
    """keeps at least one warmup step when the recipe has one, however large the new batch"""
    for case in ((0.1, 32, 65536, 1), (0.1, 1, 1_000_000, 3), (0.1, 256, 8192, 10)):
        for rule in ("linear", "sqrt"):
            _, warmup_steps = answer(*case, rule=rule)
            assert warmup_steps == 1, \
                f"with {show(case)} the warmup should be 1 step (rounded up), got {warmup_steps!r}"


def test_round_trip(answer):
    """scaling to another batch and back gives the recipe's rate, and its warmup when the batch shrank first"""
    for rule in ("linear", "sqrt"):
        for base_lr, batch, other, warmup_steps in ((0.1, 256, 64, 100), (3e-4, 1000, 10, 7), (0.02, 512, 4096, 80)):
            lr, steps = answer(base_lr, batch, other, warmup_steps, rule=rule)
            back_lr, back_steps = answer(lr, other, batch, steps, rule=rule)
            assert math.isclose(back_lr, base_lr, rel_tol=1e-9), (
                f'with the "{rule}" rule, batch {batch} -> {other} -> {batch} should give back the rate {base_lr}, '
                f"got {back_lr!r}")
            if other < batch:
                assert back_steps == warmup_steps, (
                    f"batch {batch} -> {other} -> {batch} should give back the warmup of {warmup_steps} steps, "
                    f"got {back_steps!r}")


@settings(max_examples=60)
@given(base_batch=st.integers(1, 4096), smaller=st.integers(1, 65536), larger=st.integers(1, 65536),
       warmup_steps=st.integers(0, 5000), rule=st.sampled_from(["linear", "sqrt"]))
def test_monotone_in_the_new_batch(answer, base_batch, smaller, larger, warmup_steps, rule):
    """gives a larger batch a higher rate and no more warmup steps"""
    smaller, larger = sorted((smaller, larger))
    lr_small, steps_small = answer(0.01, base_batch, smaller, warmup_steps, rule=rule)
    lr_large, steps_large = answer(0.01, base_batch, larger, warmup_steps, rule=rule)
    assert lr_large >= lr_small and (larger == smaller or lr_large > lr_small), \
        f'with the "{rule}" rule, batch {larger} should get a higher rate than batch {smaller}'
    assert steps_large <= steps_small, (f"batch {larger} should need no more warmup steps than batch {smaller} "
                                        f"(from batch {base_batch}, {warmup_steps} steps)")


def test_same_batch_changes_nothing(answer):
    """gives the recipe unchanged when the batch size does not change"""
    for rule in ("linear", "sqrt"):
        for base_lr, batch, warmup_steps in ((0.1, 256, 100), (3e-4, 7, 0), (1.5, 1, 1)):
            lr, steps = answer(base_lr, batch, batch, warmup_steps, rule=rule)
            assert math.isclose(lr, base_lr, rel_tol=1e-12) and steps == warmup_steps, \
                f"the same batch ({batch}) should keep ({base_lr}, {warmup_steps}) with either rule, got {(lr, steps)}"


def test_returns_a_float_and_an_int(answer):
    """returns the pair (rate: a float, warmup steps: an int)"""
    for case in ((1, 256, 1024, 100), (0.1, 256, 1000, 33), (2, 100, 100, 0)):
        for rule in ("linear", "sqrt"):
            result = answer(*case, rule=rule)
            assert isinstance(result, tuple) and len(result) == 2, f"return a tuple (lr, warmup_steps), got {result!r}"
            lr, warmup_steps = result
            assert isinstance(lr, float), f"the rate should be a float, got a {type(lr).__name__} ({show(case)})"
            assert isinstance(warmup_steps, int) and not isinstance(warmup_steps, bool), \
                f"the warmup steps should be an int, got a {type(warmup_steps).__name__} ({show(case)})"


BAD = {"unknown rule": {"rule": "cube"}, "batch 0": {"base_batch": 0}, "negative new batch": {"new_batch": -64},
       "base_lr 0": {"base_lr": 0.0}, "negative base_lr": {"base_lr": -0.1},
       "negative warmup": {"base_warmup_steps": -1}}


@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_settings(answer, bad):
    """raises ValueError for an unknown rule or a setting out of range"""
    arguments = {"base_lr": 0.1, "base_batch": 256, "new_batch": 1024, "base_warmup_steps": 10, "rule": "linear",
                 **BAD[bad]}
    with pytest.raises(ValueError):
        answer(**arguments)
