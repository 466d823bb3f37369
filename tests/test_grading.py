"""The grader on its own: scores, feedback, and what it survives, without nbgrader around it."""

import subprocess
import sys
import time

import numpy as np
import pytest

from lrcourse import grading

SUITE = '''
import time
import numpy as np

def test_adds(answer):
    """adds two numbers"""
    assert answer(2, 3) == 5, "2 + 3 should be 5"

def test_adds_arrays(answer):
    """adds two arrays"""
    assert np.allclose(answer(np.ones(2), np.ones(2)), 2.0), "[1, 1] + [1, 1] should be [2, 2]"

def test_adds_negatives(answer):
    """adds negative numbers"""
    assert answer(-2, -3) == -5, "-2 + -3 should be -5"

def test_is_quick(answer):
    """adds quickly"""
    answer(0, 0)
'''


@pytest.fixture
def suites(tmp_path, monkeypatch):
    """A hidden-suite folder holding one small suite, ``demo/add``."""
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "test_add.py").write_text(SUITE)
    monkeypatch.setattr(grading, "SUITES", tmp_path)
    return tmp_path


def add(a, b):
    return a + b


def add_wrong_for_negatives(a, b):
    return abs(a) + abs(b)


def add_slowly_at_zero(a, b):
    while np.ndim(a) == 0 and a == 0:
        pass
    return a + b


def test_full_marks_for_a_right_answer(suites, capsys):
    assert grading.grade(add, "demo/add", points=2) == 2.0
    out, err = capsys.readouterr()
    assert "4 of 4 checks passed, 2 of 2 points" in out
    assert err == ""


def test_partial_credit_names_the_failed_check(suites, capsys):
    assert grading.grade(add_wrong_for_negatives, "demo/add", points=2) == 1.5
    out, err = capsys.readouterr()
    assert "FAIL  adds negative numbers" in out and "-2 + -3 should be -5" in out
    assert "PASS  adds two numbers" in out
    assert err == ""


def test_an_endless_loop_costs_only_the_checks_it_hangs(suites, capsys):
    assert grading.grade(add_slowly_at_zero, "demo/add", points=4, check_seconds=0.5) == 3.0
    out, err = capsys.readouterr()
    assert "FAIL  adds quickly" in out and "did not finish within 0.5 s" in out
    assert err == ""


def test_a_suite_past_its_time_limit_scores_zero(suites, capsys):
    assert grading.grade(add_slowly_at_zero, "demo/add", points=4, check_seconds=30, suite_seconds=3) == 0.0
    out, _ = capsys.readouterr()
    assert "did not finish within 3 s" in out


def test_memory_is_capped(suites, capsys):
    def hog(a, b):
        return np.ones(2**31) if np.ndim(a) else a + b  # 16 GiB when handed arrays

    assert grading.grade(hog, "demo/add", points=4) == 3.0
    out, _ = capsys.readouterr()
    assert "FAIL  adds two arrays" in out and "ran out of memory" in out


def test_a_monkeypatched_numpy_in_the_kernel_changes_nothing(suites, monkeypatch, capsys):
    """The checks run in a fresh process, so patching numpy here cannot make a wrong answer pass."""
    monkeypatch.setattr(np, "allclose", lambda *args, **kwargs: True)

    def add_wrong_for_arrays(a, b):
        return a + b if np.ndim(a) == 0 else a * b

    assert grading.grade(add_wrong_for_arrays, "demo/add", points=4) == 3.0


def test_helpers_travel_with_the_answer(suites):
    def outer(a, b):
        return add(a, b)

    assert grading.grade(outer, "demo/add", points=1) == 1.0


def test_an_answer_that_cannot_be_shipped_scores_zero(suites, capsys):
    class Unpicklable:
        def __call__(self, a, b):
            return a + b

        def __reduce__(self):
            raise TypeError("not today")

    assert grading.grade(Unpicklable(), "demo/add", points=2) == 0.0
    out, _ = capsys.readouterr()
    assert "could not take your answer" in out and "not today" in out


def test_an_empty_suite_never_gives_points(suites, capsys):
    (suites / "demo" / "test_nothing.py").write_text("x = 1\n")
    assert grading.grade(add, "demo/nothing", points=2) == 0.0
    assert "found no checks" in capsys.readouterr().out


def test_an_unknown_suite_is_an_instructors_error(suites):
    with pytest.raises(FileNotFoundError, match="demo/missing"):
        grading.grade(add, "demo/missing", points=1)


def test_the_grader_recovers_from_a_suite_that_timed_out_and_from_a_lost_server(suites):
    """Suites run in children forked from one idle server; neither a killed child nor a dead server is fatal."""
    assert grading.grade(add_slowly_at_zero, "demo/add", points=4, check_seconds=30, suite_seconds=3) == 0.0
    assert grading.grade(add, "demo/add", points=4) == 4.0
    grading._SUITE_RUNNER._server.kill()
    grading._SUITE_RUNNER._server.wait()
    assert grading.grade(add, "demo/add", points=4) == 4.0


def test_a_timed_out_suite_takes_the_processes_it_started_with_it(suites, tmp_path):
    """A time-out kills the suite's whole process group, not only the suite's own process."""
    marker = tmp_path / "still-running"

    def add_and_linger(a, b):
        subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(4); open({str(marker)!r}, 'w')"])
        while True:
            pass

    assert grading.grade(add_and_linger, "demo/add", points=4, check_seconds=30, suite_seconds=2) == 0.0
    time.sleep(3)
    assert not marker.exists(), "a process started by the answer outlived the suite's time limit"
