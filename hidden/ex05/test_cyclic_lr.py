"""Hidden checks of exercise 5's ``cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None,
mode="triangular")``: torch's CyclicLR (triangular and triangular2) as a function of the step."""

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from helpers import first_difference, torch_schedule_rates
from lrgrader.checks import genuine, requirement

REQUIREMENTS = {
    "behaviour": ("climbs and falls between base_lr and max_lr in triangles, as CyclicLR does", 70),
    "contract": ("returns a Python float", 15),
    "validation": ("refuses a bad step, rate, step size or mode with ValueError", 15),
}


def rate(answer, *args, **kwargs):
    return genuine(answer(*args, **kwargs), float, "the rate")


SETTINGS = {"triangular, 40 up": (0.01, 0.1, 40, None, "triangular"),
            "triangular, 30 up 70 down": (0.01, 0.1, 30, 70, "triangular"),
            "triangular, 1 up 1 down": (0.001, 1.0, 1, None, "triangular"),
            "triangular2, 25 up 35 down": (0.01, 0.1, 25, 35, "triangular2"),
            "triangular2, 10 up": (0.05, 0.5, 10, None, "triangular2")}


@requirement("behaviour")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_matches_cycliclr(answer, name):
    """gives torch's CyclicLR rates over 600 steps"""
    base, top, up, down, mode = SETTINGS[name]
    ours = [rate(answer, step, base, top, up, down, mode) for step in range(600)]
    theirs = torch_schedule_rates(
        lambda sgd: lr_scheduler.CyclicLR(sgd, base, top, up, down, mode, cycle_momentum=False), 600, base)
    step = first_difference(ours, theirs, rtol=1e-7, atol=1e-12)
    assert step is None, f"cycling {name} the rate at step {step} differs from CyclicLR's"


@requirement("behaviour")
def test_defaults(answer):
    """falls for step_size_up steps too, in triangular mode, when step_size_down and mode are not given"""
    got = [rate(answer, step, 0.1, 1.1, 4) for step in (2, 4, 6, 8, 10, 12, 14)]
    expected = [0.6, 1.1, 0.6, 0.1, 0.6, 1.1, 0.6]
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got, expected)), (
        "with the defaults (step_size_down = step_size_up, mode triangular) 4 steps up from 0.1 to 1.1 give "
        f"{expected} at steps 2, 4, 6, 8, 10, 12 and 14; got {got}")


@requirement("behaviour")
def test_the_peak_and_the_end_of_a_cycle(answer):
    """peaks at max_lr after step_size_up steps and is back at base_lr after step_size_down more"""
    assert math.isclose(rate(answer, 30, 0.01, 0.1, 30, 70), 0.1), "after step_size_up = 30 steps the rate is max_lr"
    assert math.isclose(rate(answer, 100, 0.01, 0.1, 30, 70), 0.01), \
        "30 steps up and 70 down bring it back at step 100"
    assert math.isclose(rate(answer, 65, 0.01, 0.1, 30, 70), 0.055), "half way down (step 65) the rate is half way"


@requirement("behaviour")
def test_triangular2_halves_every_cycle(answer):
    """in triangular2, the peak of cycle c is base_lr + (max_lr - base_lr) / 2**c"""
    for cycle in range(5):
        peak = rate(answer, cycle * 20 + 10, 0.0001, 1.0, 10, mode="triangular2")
        assert math.isclose(peak, 0.0001 + (1.0 - 0.0001) / 2**cycle, rel_tol=1e-9), \
            f"in triangular2 the peak of cycle {cycle} (counting from 0) should be halved {cycle} times"


@requirement("behaviour")
def test_a_flat_cycle(answer):
    """takes max_lr equal to base_lr, and then gives base_lr at every step"""
    got = [rate(answer, step, 0.05, 0.05, 3, 5, mode) for step in (0, 3, 6, 9)
           for mode in ("triangular", "triangular2")]
    assert all(math.isclose(value, 0.05, rel_tol=1e-12) for value in got), \
        f"max_lr = base_lr = 0.05 is allowed (max_lr >= base_lr) and gives a flat rate of 0.05; got {got}"


@requirement("behaviour")
@given(step=st.integers(0, 5000), up=st.integers(1, 100), down=st.integers(1, 100),
       mode=st.sampled_from(["triangular", "triangular2"]), base=st.floats(1e-4, 1.0), ratio=st.floats(1.0, 100.0))
@example(step=5000, up=1, down=1, mode="triangular2", base=0.1, ratio=10.0)  # 2500 cycles: 2**2500 is no float
def test_stays_between_the_bounds(answer, step, up, down, mode, base, ratio):
    """stays in [base_lr, max_lr] for any setting"""
    value = rate(answer, step, base, base * ratio, up, down, mode)
    assert base - 1e-12 <= value <= base * ratio * (1 + 1e-12), f"at step {step} the rate {value} leaves the bounds"


@requirement("behaviour")
@given(step=st.integers(0, 2000), up=st.integers(1, 100), down=st.integers(1, 100))
def test_triangular_repeats_every_cycle(answer, step, up, down):
    """in triangular mode, repeats itself every step_size_up + step_size_down steps"""
    now, later = rate(answer, step, 0.1, 1.0, up, down), rate(answer, step + up + down, 0.1, 1.0, up, down)
    assert math.isclose(now, later, rel_tol=1e-9), f"a cycle of {up} up and {down} down should repeat exactly"


@requirement("behaviour")
@given(up=st.integers(1, 100), down=st.integers(1, 100), mode=st.sampled_from(["triangular", "triangular2"]),
       data=st.data())
def test_climbs_then_descends_in_each_cycle(answer, up, down, mode, data):
    """rises for step_size_up steps, then falls for step_size_down steps, in every cycle"""
    cycle = data.draw(st.integers(0, 5))
    position = data.draw(st.integers(0, up + down - 1))
    step = cycle * (up + down) + position
    now, after = rate(answer, step, 0.1, 1.0, up, down, mode), rate(answer, step + 1, 0.1, 1.0, up, down, mode)
    if position < up:
        assert after > now, f"{position} steps into a cycle of {up} up, the rate should still be rising"
    else:
        assert after < now, f"{position} steps into a cycle of {up} up and {down} down, the rate should be falling"


@requirement("contract")
def test_returns_a_float(answer):
    """returns a Python float, even for integer rates or NumPy numbers"""
    for args in ((3, 1, 2, 10), (0, 1, 1, 10), (10, 1, 3, 10), (3, np.float64(0.1), 0.5, 10),
                 (3, 0.1, np.float64(0.5), 10), (25, np.float32(0.1), 0.5, 10, None, "triangular2")):
        value = answer(*args)
        assert type(value) is float, \
            f"cyclic_lr{args} returned a {type(value).__name__}: return a Python float (use float(...))"


BAD = {"negative step": (-1, 0.01, 0.1, 10), "fractional step": (0.5, 0.01, 0.1, 10),
       "max below base": (0, 0.1, 0.01, 10), "step size 0": (0, 0.01, 0.1, 0),
       "fractional step size": (0, 0.01, 0.1, 2.5), "step_size_down 0": (0, 0.01, 0.1, 10, 0),
       "unknown mode": (0, 0.01, 0.1, 10, None, "exp_range"), "zero base_lr": (0, 0.0, 0.1, 10),
       "infinite max_lr": (0, 0.01, math.inf, 10)}


@requirement("validation")
@pytest.mark.parametrize("bad", list(BAD))
def test_rejects_bad_input(answer, bad):
    """raises ValueError for an argument out of its range"""
    with pytest.raises(ValueError):
        answer(*BAD[bad])
