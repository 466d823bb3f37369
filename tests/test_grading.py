"""The grader on its own, as a learner's grade() uses it: verdicts, feedback, limits, and what an answer cannot do.

A small course folder (a hidden suite ``demo/add`` and a notebook giving its points) stands in for the real one;
the grader runs as in a learner's kernel, in a process that grade() starts.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lrgrader import client, landlock, server
from lrgrader.client import GradingError, grade

SUITE = '''
import numpy as np

from lrgrader.checks import genuine, requirement

REQUIREMENTS = {"numbers": ("adds numbers, negative ones too", 50), "arrays": ("adds arrays", 25), "quick": ("is quick", 25)}

@requirement("numbers")
def test_adds(answer):
    """adds two numbers"""
    assert genuine(answer(2, 3), int) == 5, "2 + 3 should be 5"

@requirement("arrays")
def test_adds_arrays(answer):
    """adds two arrays"""
    assert np.allclose(genuine(answer(np.ones(2), np.ones(2)), np.ndarray), 2.0), "[1, 1] + [1, 1] should be [2, 2]"

@requirement("numbers")
def test_adds_negatives(answer):
    """adds negative numbers"""
    assert genuine(answer(-2, -3), int) == -5, "-2 + -3 should be -5"

@requirement("quick")
def test_is_quick(answer):
    """adds quickly"""
    answer(0, 0)
'''


def demo_course(folder, limits: dict | None = None):
    """A course folder with the suite demo/add (4 points) and an empty suite demo/nothing (2 points)."""
    (folder / "hidden" / "demo").mkdir(parents=True)
    (folder / "hidden" / "demo" / "test_add.py").write_text(SUITE)
    (folder / "hidden" / "demo" / "test_nothing.py").write_text("x = 1\n")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade": True, "grade_id": f"{item}_graded",
                                                             "points": points, "solution": False}})
        for item, points in (("add", 4), ("nothing", 2))])
    (folder / "solutions" / "demo").mkdir(parents=True)
    nbformat.write(notebook, folder / "solutions" / "demo" / "demo.ipynb")
    return folder


@pytest.fixture
def course(tmp_path, monkeypatch):
    """The demo course, with a grader of its own for this test (started by the first grade())."""
    monkeypatch.setenv("LRGRADER_COURSE", str(demo_course(tmp_path)))
    monkeypatch.delenv(client.SOCKET_VARIABLE, raising=False)
    client._LOCAL.stop()
    yield tmp_path
    client._LOCAL.stop()


@pytest.fixture
def quick_limits(monkeypatch):
    """Short limits (a grader reads them when it starts)."""
    monkeypatch.setenv("LRGRADER_LIMITS", json.dumps({"check_cpu_seconds": 0.5, "check_wall_seconds": 3,
                                                      "suite_cpu_seconds": 3, "suite_wall_seconds": 20}))


def add(a, b):
    return a + b


def add_wrong_for_negatives(a, b):
    return abs(a) + abs(b)


def add_slowly_at_zero(a, b):
    while np.ndim(a) == 0 and a == 0:
        pass
    return a + b


def test_full_marks_for_a_right_answer(course, capsys):
    assert grade(add, "demo/add") == 4.0
    out, err = capsys.readouterr()
    assert "add: 4 of 4 points (4 of 4 checks passed)" in out
    assert err == ""


def test_a_requirement_is_lost_whole_and_the_feedback_names_it_and_the_failed_check(course, capsys):
    assert grade(add_wrong_for_negatives, "demo/add") == 2.0  # 3 of 4 checks pass, but "numbers" is lost
    out, err = capsys.readouterr()
    assert "adds numbers, negative ones too (50% of the points): not met, 2 points lost" in out
    assert "adds arrays (25% of the points): met" in out
    assert "FAIL  adds negative numbers" in out and "-2 + -3 should be -5" in out
    assert "PASS  adds two numbers" in out
    assert err == ""


def test_an_object_that_claims_to_equal_anything_earns_nothing(course, capsys):
    class Anything(float):
        def __eq__(self, other):
            return True

        def __getitem__(self, index):
            return self

        def __iter__(self):
            return iter([self, self])

    class Agreeable:
        __eq__ = Anything.__eq__
        __array__ = None

    # Only "is quick", whose check compares nothing, is met.
    assert grade(lambda a, b: Anything(0.0), "demo/add") == 1.0
    assert grade(lambda a, b: Agreeable(), "demo/add") == 1.0
    assert "should be an int, not an object of your own" in capsys.readouterr().out


@pytest.mark.parametrize("requirements, why", [
    ("", "it declares no REQUIREMENTS"),
    ('{"numbers": ("adds", 50), "arrays": ("arrays", 25), "quick": ("quick", 20)}', "do not sum to 100"),
    ('{"numbers": ("adds", 50), "arrays": ("arrays", 20), "quick": ("quick", 25), "more": ("more", 5)}',
     "no check of more"),
])
def test_a_suite_with_badly_declared_requirements_gives_no_points(course, capsys, requirements, why):
    suite = course / "hidden" / "demo" / "test_add.py"
    declared = next(line for line in SUITE.splitlines() if line.startswith("REQUIREMENTS = "))
    suite.write_text(SUITE.replace(declared, f"REQUIREMENTS = {requirements}" if requirements else ""))
    assert grade(add, "demo/add") == 0.0
    out = capsys.readouterr().out
    assert "the hidden suite is malformed" in out and why in out


def test_an_endless_loop_costs_only_the_checks_it_hangs(course, quick_limits, capsys):
    assert grade(add_slowly_at_zero, "demo/add") == 3.0
    out, err = capsys.readouterr()
    assert "FAIL  adds quickly" in out and "did not finish within 0.5 s of CPU time" in out
    assert err == ""


def test_a_suite_past_its_cpu_time_scores_zero(course, monkeypatch, capsys):
    monkeypatch.setenv("LRGRADER_LIMITS", json.dumps({"check_cpu_seconds": 0.5, "suite_cpu_seconds": 1.2}))

    def slow_everywhere(a, b):
        while True:
            pass

    assert grade(slow_everywhere, "demo/add") == 0.0
    assert "did not finish within 1.2 s of CPU time" in capsys.readouterr().out


def test_an_answer_that_waits_is_stopped_by_the_wall_clock(course, quick_limits, capsys):
    def sleepy(a, b):
        time.sleep(60)

    started = time.monotonic()
    assert grade(sleepy, "demo/add") == 0.0
    assert time.monotonic() - started < 40


def test_memory_is_capped(course, capsys):
    def hog(a, b):
        return np.ones(2**31) if np.ndim(a) else a + b  # 16 GiB when handed arrays

    assert grade(hog, "demo/add") == 3.0
    out, _ = capsys.readouterr()
    assert "FAIL  adds two arrays" in out and "ran out of memory" in out


def test_a_monkeypatched_numpy_in_the_kernel_changes_nothing(course, monkeypatch):
    """The checks run in a process of their own, so patching numpy here cannot make a wrong answer pass."""
    monkeypatch.setattr(np, "allclose", lambda *args, **kwargs: True)

    def add_wrong_for_arrays(a, b):
        return a + b if np.ndim(a) == 0 else a * b

    assert grade(add_wrong_for_arrays, "demo/add") == 3.0


def test_helpers_travel_with_the_answer(course):
    def outer(a, b):
        return add(a, b)

    assert grade(outer, "demo/add") == 4.0


def test_an_answer_that_cannot_be_shipped_scores_zero(course, capsys):
    class Unpicklable:
        def __call__(self, a, b):
            return a + b

        def __reduce__(self):
            raise TypeError("not today")

    assert grade(Unpicklable(), "demo/add") == 0.0
    out, _ = capsys.readouterr()
    assert "add: 0 of 4 points: the grader could not take your answer" in out and "not today" in out


def test_an_empty_suite_never_gives_points(course, capsys):
    assert grade(add, "demo/nothing") == 0.0
    assert "found no checks" in capsys.readouterr().out


def test_an_unknown_item_is_an_instructors_error(course):
    with pytest.raises(GradingError, match="demo/missing"):
        grade(add, "demo/missing")


def test_the_grader_recovers_from_a_suite_that_timed_out_and_from_a_lost_server(course, quick_limits):
    """Suites run in processes forked from one idle server; neither a stopped suite nor a dead server is fatal."""
    assert grade(add_slowly_at_zero, "demo/add") == 3.0
    assert grade(add, "demo/add") == 4.0
    client._LOCAL._process.kill()
    client._LOCAL._process.wait()
    assert grade(add, "demo/add") == 4.0


def test_grading_leaves_no_folder_behind(course, quick_limits, monkeypatch):
    """The grader's, the checks' and every answer's working folders go when they are done, a timed-out and a
    crashed answer's too (mutation testing grades thousands of answers: each left a folder in /tmp)."""
    def add_writing(a, b):
        open("scratch.txt", "w").write("kept?")
        return a + b

    def add_crashing_at_zero(a, b):
        if np.ndim(a) == 0 and a == 0:
            os._exit(1)
        return a + b

    # A folder of its own for the grader this test starts (TMPDIR), not in tmp_path, whose depth would leave no
    # room in a Unix socket's path.
    temporary = Path(tempfile.mkdtemp())
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    try:
        assert grade(add_writing, "demo/add") == 4.0
        assert grade(add_slowly_at_zero, "demo/add") == 3.0
        assert grade(add_crashing_at_zero, "demo/add") == 3.0
        assert len(list(temporary.iterdir())) == 1  # the running grader's own folder
        client._LOCAL.stop()
        assert list(temporary.iterdir()) == []
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def test_a_grader_whose_kernel_was_killed_ends_and_removes_its_folder():
    """Jupyter stops a kernel by killing its process group, which leaves no chance to stop the kernel's grader."""
    kernel = subprocess.run(
        [sys.executable, "-c", "import os, signal\nfrom lrgrader import client\nprint(client._LOCAL.socket(), flush=True)\n"
                               "os.killpg(0, signal.SIGKILL)"],
        capture_output=True, text=True, start_new_session=True)
    folder = Path(kernel.stdout.strip()).parent
    assert folder.name.startswith("lrgrader-"), kernel.stdout + kernel.stderr
    deadline = time.monotonic() + 30
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folder.exists(), "the grader outlived its kernel, or left its folder"


def test_a_server_socket_appears_only_once_it_listens(tmp_path, monkeypatch):
    """Whoever starts a server connects as soon as the socket's path exists; a socket bound there but not yet
    listening would refuse that connection (seen on a loaded machine)."""
    path = tmp_path / "grader.sock"
    seen_at_listen = []
    listen = socket.socket.listen
    monkeypatch.setattr(socket.socket, "listen", lambda self, *args: (seen_at_listen.append(path.exists()),
                                                                      listen(self, *args))[1])
    with server.listen(path) as listener, socket.socket(socket.AF_UNIX) as connection:
        connection.connect(str(path))
        listener.accept()[0].close()
    assert seen_at_listen == [False]


def test_a_stopped_suite_takes_the_processes_the_answer_started_with_it(course, quick_limits, tmp_path):
    marker = tmp_path / "still-running"

    def add_and_linger(a, b):
        subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(4); open({str(marker)!r}, 'w')"])
        while True:
            pass

    assert grade(add_and_linger, "demo/add") == 0.0
    time.sleep(5)
    assert not marker.exists(), "a process started by the answer outlived its suite"


# ------------------------------------------------------------------ what an answer cannot do


def test_an_answer_that_forges_the_report_earns_nothing(course, capsys):
    """The forged-report attack of the first grader: write the checks' report, then end the process."""
    def forger(a, b):
        import json
        import os
        report = [{"name": f"c{i}", "passed": True, "message": ""} for i in range(12)]
        for path in ("report.json", "../report.json"):
            try:
                with open(path, "w") as file:
                    json.dump(report, file)
            except OSError:
                pass
        os.write(1, b'{"collected": 4, "checks": []}')
        os._exit(0)

    assert grade(forger, "demo/add") == 0.0
    out, _ = capsys.readouterr()
    assert "crashed the process it ran in" in out and "c0" not in out


@pytest.mark.skipif(landlock.abi() == 0, reason="Landlock is not available here")
def test_an_answer_reads_no_suite_writes_nowhere_and_reaches_no_one(course, capsys):
    """Each attempt is refused, and reported: the item earns nothing, even if the answer is right otherwise."""
    suite = str(course / "hidden" / "demo" / "test_add.py")

    def snoop(a, b):
        import os
        import signal
        import socket
        attempts = {"read the suite": lambda: open(suite).read(),
                    "write the course": lambda: open(os.path.join(os.path.dirname(suite), "x"), "w"),
                    "kill the checks": lambda: os.kill(os.getppid(), signal.SIGKILL),
                    "connect out": lambda: socket.create_connection(("127.0.0.1", 22), timeout=1)}
        blocked = []
        for name, attempt in attempts.items():
            try:
                attempt()
            except (PermissionError, ProcessLookupError, OSError) as error:
                blocked.append((name, type(error).__name__))
        if len(blocked) != len(attempts):
            raise AssertionError(f"only blocked: {blocked}")
        return a + b

    assert grade(snoop, "demo/add") == 0.0
    out = capsys.readouterr().out
    assert out.startswith("add: 0 of 4 points: while it was checked, your answer tried to ")
    for attempt in (f"read {suite}", "write " + str(course / "hidden" / "demo" / "x"), "send a signal to process",
                    "open a network connection to ('127.0.0.1', 22)"):
        assert attempt in out, (attempt, out)
    assert "4 of 4 checks passed" not in out


def test_an_answer_without_privileges_cannot_raise_its_limits(course, capsys):
    def raise_limits(a, b):
        import resource
        try:
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        except (ValueError, OSError):
            return a + b
        raise AssertionError("raised its memory limit")

    assert grade(raise_limits, "demo/add") == 4.0, capsys.readouterr().out


def test_a_seed_in_the_checks_reaches_the_answer(course, monkeypatch):
    (course / "hidden" / "demo" / "test_seeded.py").write_text('''
import numpy as np

from lrgrader.checks import requirement

REQUIREMENTS = {"draws": ("draws from the seeded generator", 100)}

@requirement("draws")
def test_draws(answer):
    """draws from the global generator the checks seeded"""
    np.random.seed(3)
    first = answer()
    np.random.seed(3)
    assert answer() == first and first == np.random.RandomState(3).rand()
''')
    notebook = nbformat.read(course / "solutions" / "demo" / "demo.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("", metadata={"nbgrader": {
        "grade": True, "grade_id": "seeded_graded", "points": 1, "solution": False}}))
    nbformat.write(notebook, course / "solutions" / "demo" / "demo.ipynb")
    assert grade(lambda: float(np.random.rand()), "demo/seeded") == 1.0


def test_grade_writes_nothing_to_stderr_even_when_the_answer_does(course, capfd):
    def noisy(a, b):
        import sys
        import warnings
        print("to stderr", file=sys.stderr)
        warnings.warn("a warning")
        return a + b

    assert grade(noisy, "demo/add") == 4.0
    assert capfd.readouterr().err == ""


def test_the_old_hook_still_works(course, capsys):
    from lrcourse.grading import grade as old_grade

    assert old_grade(add, "demo/add", points=2) == 4.0
    assert "4 of 4 points" in capsys.readouterr().out


def test_limits_are_read_from_one_place(monkeypatch):
    from lrgrader import limits

    monkeypatch.setenv("LRGRADER_LIMITS", json.dumps({"check_cpu_seconds": 7.5}))
    configured = limits._configured()
    assert configured.check_cpu_seconds == 7.5 and configured.suite_cpu_seconds == limits.Limits().suite_cpu_seconds
    assert limits.cell_timeout({"metadata": {"nbgrader": {"grade": True}}}) == limits.LIMITS.grade_cell_seconds
    assert limits.cell_timeout({"metadata": {}}) == limits.LIMITS.cell_seconds
    assert os.environ.get("LRGRADER_LIMITS")
