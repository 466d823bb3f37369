"""The checks' process: one hidden suite run with pytest against an answer that lives in another process.

Forked by the grader (:mod:`lrgrader.server`) for each request, this process first forks the starter of the
answer's processes (:class:`lrgrader.answer.AnswerStarter`), so that no answer's process ever holds anything of
the suite; then it loads the suite and runs it. Every check receives the fixture ``answer``, a
:class:`lrgrader.bridge.Handle` through which each call reaches the answer. Student code never runs here.

Each check may use :attr:`~lrgrader.limits.Limits.check_cpu_seconds` of CPU time, this process's and the
answer's together (a loaded machine slows a check down but does not make it fail), and the whole suite
:attr:`~lrgrader.limits.Limits.suite_cpu_seconds`. The outcome of every check goes back to the grader as one
typed record (:class:`lrgrader.records.SuiteRun`), through a pipe the answer has no end of.

A check's name in the feedback is its docstring's first line (with the parameters, if any), and its assertion
message says what went wrong in words a student can act on; assertions are not rewritten, so expected values
appear only where a message puts them. The suites may use :func:`is_class` and :func:`derives_from` to ask
about the answer's classes, since a handle is not the class itself.

Each suite states what its item asks for as requirements, each with a share of the item's points
(``REQUIREMENTS = {key: (title, share)}``, shares in percent summing to 100), and marks every check with the
requirement it checks (``@requirement("behaviour")``); a requirement's share is earned when all its checks pass.
Every result of the answer that a check compares goes through :func:`genuine` first, so that nothing the answer
returns can vouch for itself.
"""

import os
import resource
import signal
import sys
import time
import types
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

from lrgrader import bridge, wire
from lrgrader.answer import AnswerStarter
from lrgrader.limits import LIMITS
from lrgrader.records import Check, Requirement, SuiteRun


def requirement(key: str):
    """The mark of a check of the requirement ``key`` of its suite's ``REQUIREMENTS``."""
    return pytest.mark.requirement(key)


_NUMBERS = {float: (float, int, np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                    np.uint8, np.uint16, np.uint32, np.uint64),
            int: (int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)}


def genuine(value, kind, what: str = "the result"):
    """``value`` as a genuine ``kind``, built by the checks from exact types, or an AssertionError saying what came.

    ``kind`` is ``float`` or ``int`` (a Python or NumPy number, not a bool, exactly of one of those types),
    ``np.ndarray`` (an array, or a list or tuple of numbers, of a numeric dtype), ``torch.Tensor`` (a tensor or a
    parameter, detached), or a tuple of kinds (a tuple or list of that many values, each of its kind). A
    subclass, an object of the answer's own (a handle) or a value of another type is refused: no comparison ever
    runs the answer's ``__eq__``. Type contracts (a float and not a NumPy float) are checked apart from this.
    """
    if isinstance(kind, tuple):
        if type(value) not in (tuple, list) or len(value) != len(kind):
            raise AssertionError(f"{what} should be a tuple of {len(kind)} values, not {_described(value)}")
        return tuple(genuine(part, part_kind, f"{what}[{index}]")
                     for index, (part, part_kind) in enumerate(zip(value, kind)))
    if kind in _NUMBERS:
        if type(value) not in _NUMBERS[kind]:
            raise AssertionError(f"{what} should be {'a float' if kind is float else 'an int'}, "
                                 f"not {_described(value)}")
        return kind(value)
    if kind is np.ndarray:
        try:
            array = np.array(value) if type(value) in (list, tuple) else value
        except Exception:  # a list of the answer's own objects: not numbers
            array = value
        if type(array) is not np.ndarray or array.dtype.kind not in "biuf":
            raise AssertionError(f"{what} should be a NumPy array of numbers, not {_described(value)}")
        return array.copy()
    torch = wire.torch_module()
    if torch is not None and kind is torch.Tensor:
        if type(value) not in (torch.Tensor, torch.nn.Parameter):
            raise AssertionError(f"{what} should be a torch.Tensor, not {_described(value)}")
        return value.detach().clone()
    raise TypeError(f"genuine() does not know the kind {kind!r}")


def _described(value) -> str:
    if isinstance(value, bridge.Handle):
        return "an object of your own"
    cls = type(value)
    return f"a {cls.__name__}" if cls.__module__ == "builtins" else f"a {cls.__module__}.{cls.__name__}"


def is_class(answer: bridge.Handle) -> bool:
    """Whether the answer is a class (rather than a function or an object)."""
    return bridge.mro(answer)[0]


def derives_from(answer: bridge.Handle, cls: type) -> bool:
    """Whether the answer (a class, or an object of one) derives from ``cls``, which must be importable."""
    return f"{cls.__module__}.{cls.__qualname__}" in bridge.mro(answer)[1]


class SuiteError(ValueError):
    """A suite whose requirements are not well declared: an instructor's mistake."""


def requirements_of(items) -> tuple[tuple[Requirement, ...], dict[str, str]]:
    """The requirements of the suite whose collected checks are ``items``, and the requirement of each check.

    SuiteError unless the suite's ``REQUIREMENTS`` give each a title and a whole share, the shares sum to 100,
    every check is marked with one of them, and every requirement has a check."""
    modules = {item.module for item in items}
    if len(modules) != 1:
        raise SuiteError("a suite is one module")
    declared = getattr(modules.pop(), "REQUIREMENTS", None)
    if not isinstance(declared, dict) or not declared:
        raise SuiteError("it declares no REQUIREMENTS")
    requirements = []
    for key, entry in declared.items():
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
                and type(entry[1]) is int and entry[1] > 0):
            raise SuiteError(f"requirement {key!r} is not (title, share in percent)")
        requirements.append(Requirement(key, *entry))
    if sum(r.share for r in requirements) != 100:
        raise SuiteError("the shares of its requirements do not sum to 100")
    of = {}
    for item in items:
        marks = list(item.iter_markers("requirement"))
        if len(marks) != 1 or marks[0].args[0] not in declared:
            raise SuiteError(f"{item.name} is not marked with exactly one of its requirements")
        of[item.nodeid] = marks[0].args[0]
    if unchecked := set(declared) - set(of.values()):
        raise SuiteError(f"no check of {', '.join(sorted(unchecked))}")
    return tuple(requirements), of


class _Checks:
    """A pytest plugin: gives each check its time limits and records each outcome as a :class:`Check`."""

    def __init__(self, answer: bridge.ChecksSide, suites: Path, first_failure: bool = False):
        self.answer, self.suites, self.first_failure = answer, suites, first_failure
        self.names, self.results, self.cpu_seconds = {}, [], {}
        self.collected, self.problem = 0, None
        self.requirements, self.requirement_of = (), {}
        self.started = time.process_time()

    def suite_cpu_used(self) -> float:
        running = bridge.answer_cpu(self.answer._pid) if self.answer._pid else 0.0
        return time.process_time() - self.started + self.answer.answer_cpu_spent + running

    def pytest_collection_finish(self, session):
        """The suites' own modules travel by value: the answer's process can neither import nor read them."""
        for module in list(sys.modules.values()):
            if Path(getattr(module, "__file__", None) or "/").is_relative_to(self.suites):
                cloudpickle.register_pickle_by_value(module)

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "requirement(key): the requirement of the suite this check checks")

    def pytest_collection_modifyitems(self, items):
        for item in items:
            doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
            self.names[item.nodeid] = f"{doc} [{item.callspec.id}]" if hasattr(item, "callspec") else doc
        self.collected = len(items)
        try:
            self.requirements, self.requirement_of = requirements_of(items)
        except SuiteError as error:
            self.problem = f"the hidden suite is malformed ({error}). Please tell your instructor."

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        left = LIMITS.suite_cpu_seconds - self.suite_cpu_used()
        if left <= 0:
            self.problem = (f"the checks did not finish within {LIMITS.suite_cpu_seconds:g} s of CPU time. "
                            "Look for a loop that never ends.")
            raise bridge.CheckTimeout
        self.answer.begin(bridge.Budget(min(LIMITS.check_cpu_seconds, left), LIMITS.check_wall_seconds))
        try:
            return (yield)
        finally:
            self.cpu_seconds[item.nodeid] = self.answer.cpu_used()
            self.answer.end()

    def pytest_runtest_makereport(self, item, call):
        if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
            self.results.append(Check(self.names[item.nodeid], call.excinfo is None, self._why(call.excinfo),
                                      round(self.cpu_seconds.get(item.nodeid, 0.0), 3),
                                      self.requirement_of.get(item.nodeid, "")))
            if self.first_failure and call.excinfo is not None:
                item.session.shouldstop = "the first check failed"

    def _why(self, excinfo) -> str:
        if excinfo is None:
            return ""
        error = excinfo.value
        if isinstance(error, bridge.CheckTimeout):
            return (f"did not finish within {LIMITS.check_cpu_seconds:g} s of CPU time: is there a loop that "
                    "never ends, or more work than the task needs?")
        if isinstance(error, bridge.RuleBroken):
            return str(error)
        if isinstance(error, AssertionError):
            return str(error) or "a check failed"
        if isinstance(error, pytest.fail.Exception):  # pytest.raises saw nothing raised: "DID NOT RAISE X"
            return str(error).replace("DID NOT RAISE", "returned normally; it should have raised")
        if isinstance(error, NotImplementedError):
            return "still raises NotImplementedError: replace that line with your code"
        if isinstance(error, MemoryError):
            return "ran out of memory"
        if isinstance(error, bridge.AnswerCrashed):
            return str(error)
        if isinstance(error, bridge.AnswerUnloadable):
            return f"the grader could not load your answer ({error})"
        if isinstance(error, wire.WireError):
            return f"your code sent back something the grader cannot read: {error}"
        return f"your code raised {type(error).__name__}: {error}"


# pytest's plugins that grading has no use for; the last two would collect all garbage twice per suite.
_UNUSED_PLUGINS = ("cacheprovider", "stepwise", "doctest", "junitxml", "pastebin", "legacypath", "nose",
                   "debugging", "unraisableexception", "threadexception")


def _answer_plugin(answer: bridge.ChecksSide) -> types.ModuleType:
    """A plugin module whose one fixture, ``answer``, is what every check receives."""
    plugin = types.ModuleType("lrgrader_answer")
    plugin.answer = pytest.fixture(name="answer", scope="session")(lambda: answer.root)
    return plugin


def run(suite: Path, item: str, payload: bytes, report_fd: int, folder: Path, first_failure: bool = False) -> int:
    """In the checks' process: run ``suite`` on the pickled answer, write a :class:`SuiteRun` to ``report_fd``;
    with ``first_failure``, stop at the first check that fails. ``folder`` (which the grader removes afterwards)
    holds this process's working folder and each answer's process's scratch folder."""
    from hypothesis import HealthCheck, Phase, settings

    starter = AnswerStarter(payload, item, folder)
    del payload
    answer = bridge.ChecksSide(starter, LIMITS.reply_bytes)
    limit = LIMITS.checks_memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # No shrinking: a failing example is reported as it is found, since shrinking it could outlast the
    # check's time limit and the feedback names no example anyway.
    settings.register_profile("grading", derandomize=True, database=None, deadline=None, print_blob=False,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate],
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("grading")
    checks = _Checks(answer, suite.parent.parent, first_failure)
    signal.signal(signal.SIGPROF, _time_out)
    (folder / "checks").mkdir()
    os.chdir(folder / "checks")
    Path("pytest.ini").write_text("[pytest]\n")
    sys.path.insert(0, str(suite.parent.parent))  # the suites' shared helpers module
    try:
        # No traceback formatting (--tb=no): it parses the suite's source for every failed check, which would
        # make a wrong answer several times slower to grade than a right one.
        pytest.main([str(suite), "-c", "pytest.ini", "--confcutdir", str(suite.parent), "--assert=plain", "-q",
                     "--tb=no", "-p", "hypothesis.extra.pytestplugin", *(f"-pno:{name}" for name in _UNUSED_PLUGINS)],
                    plugins=[checks, _answer_plugin(answer)])
    finally:
        answer.stop()
        starter.close()
    run = SuiteRun(checks.collected, tuple(checks.results), checks.problem,
                   tuple(sorted(api for api, _ in answer.broken_rules)), tuple(sorted(answer.attempts)), answer.crashes,
                   checks.requirements)
    data = run.to_json().encode()
    while data:
        data = data[os.write(report_fd, data):]
    return 0


def _time_out(signum, frame):
    raise bridge.CheckTimeout
