"""The course's grader: hidden pytest suites run against a student's answer.

An exercise's grade cell holds, inside nbgrader's hidden-test markers, one call::

    from lrcourse.grading import grade
    grade(gd_step, "ex01/gd_step", points=2)

:func:`grade` ships the answer (a function or class, with the helpers it uses)
to a fresh Python process (forked from a clean one that has imported torch, pytest
and hypothesis once per kernel), which runs the suite ``tests/hidden/ex01/test_gd_step.py``
there with a time limit per check, a time limit for the whole suite and a cap on memory.
So an endless loop, a crash or a monkeypatched numpy in the student's kernel costs only
that cell's points, and the test code itself never appears in
a notebook (nbgrader shows hidden lines in feedback). Back in the kernel,
:func:`grade` prints which checks passed and why the others failed, on stdout
only (nbgrader scores a cell with any stderr output 0), and returns the points
earned, ``points * passed / checks``, as the cell's value: nbgrader reads that
value as the cell's partial credit.

Each check is a test function of the suite taking the fixture ``answer``. Its
docstring's first line names it in the feedback and its assertion message says
what went wrong, in words a student can act on; assertions are not rewritten,
so expected values appear only where a message puts them.

Run as ``python -m lrcourse.grading --serve`` it is the clean process that forks one child
per suite.
"""

import contextlib
import json
import os
import resource
import re
import select
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import types
from pathlib import Path

import cloudpickle
import pytest

from lrcourse import landlock

SUITES = Path(os.environ.get("LRCOURSE_HIDDEN_TESTS", Path(__file__).resolve().parents[1] / "tests" / "hidden"))
CHECK_SECONDS = 2.0
SUITE_SECONDS = 40.0
MEMORY_MB = 2048
GRADER_SOCKET = "LRCOURSE_GRADER_SOCKET"  # environment variable: the Unix socket of a grader outside the kernel
ANSWER_BYTES = 64 * 2**20  # the largest pickled answer a grader takes


def grade(answer, suite: str, points: float, *, check_seconds: float = CHECK_SECONDS,
          suite_seconds: float = SUITE_SECONDS, memory_mb: int = MEMORY_MB) -> float:
    """Run hidden suite ``suite`` ("<assignment>/<item>") on ``answer``; print feedback; return points earned.

    Where the environment names a grader's socket (:data:`GRADER_SOCKET`, set by :mod:`lrcourse.sandbox` for
    a confined kernel), the suite runs there, under that grader's limits, and the grader keeps the score.
    """
    assignment, _, title = suite.partition("/")
    try:
        payload = _pickle_by_value(answer)
    except Exception as error:  # anything unpicklable: tell the student, score 0
        return _report(title, points, [], f"the grader could not take your answer ({type(error).__name__}: "
                                          f"{error}). Define it at the top level of a cell.")
    if os.environ.get(GRADER_SOCKET):
        return _report(title, points, *_ask_grader(os.environ[GRADER_SOCKET], suite, payload))
    path = SUITES / assignment / f"test_{title}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no hidden suite {suite!r}: {path} does not exist")
    with tempfile.TemporaryDirectory(prefix="lrcourse-grading-") as workdir:
        workdir = Path(workdir)
        (workdir / "answer.pkl").write_bytes(payload)
        in_time = _SUITE_RUNNER.run(path, workdir, check_seconds, suite_seconds, memory_mb)
        return _report(title, points, *_outcome(workdir, in_time, suite_seconds, memory_mb))


def earned(points: float, passed: int, checks: int) -> float:
    """The points a graded item earns for passing ``passed`` of its ``checks`` checks."""
    return round(points * passed / checks, 2) if checks else 0.0


def _outcome(workdir: Path, in_time: bool, suite_seconds: float, memory_mb: int) -> tuple[list[dict], str | None]:
    """The checks a suite's run in ``workdir`` reported, or why it reported none."""
    if not in_time:
        return [], f"the checks did not finish within {suite_seconds:g} s. Look for a loop that never ends."
    try:
        checks = json.loads((workdir / "report.json").read_text())
        return [{"name": str(c["name"]), "passed": c["passed"] is True, "message": str(c["message"])}
                for c in checks], None
    except (OSError, ValueError, TypeError, KeyError):
        return [], f"the checks crashed before they could finish (at most {memory_mb} MB of memory is allowed)."


def _ask_grader(socket_path: str, suite: str, payload: bytes) -> tuple[list[dict], str | None]:
    """Have the grader listening at ``socket_path`` run ``suite`` on the pickled answer: (checks, problem)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(socket_path)
            connection.sendall(json.dumps({"suite": suite}).encode() + b"\n" + payload)
            connection.shutdown(socket.SHUT_WR)
            reply = json.loads(_read_all(connection, ANSWER_BYTES))
        return reply["checks"], reply["problem"]
    except (OSError, ValueError, KeyError) as error:
        return [], f"the grader could not be reached ({type(error).__name__}). Please tell your instructor."


def _read_all(connection: socket.socket, limit: int) -> bytes:
    """Everything ``connection`` sends until it shuts its end; ValueError past ``limit`` bytes."""
    chunks, size = [], 0
    while chunk := connection.recv(2**20):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ValueError(f"more than {limit} bytes")
    return b"".join(chunks)


class _SuiteRunner:
    """Runs each suite in a fresh process forked from a clean, idle one that has the heavy imports done.

    Starting Python and importing torch, pytest and hypothesis takes about 2 s, longer than most suites
    take to run. So a first process, started with ``python -I`` (no user site, no current folder on the
    path) and nothing of the kernel's state, imports them once and waits; for each suite it forks a child
    that starts with those imports made and nothing else. The child runs :func:`main`; the parent kills
    its process group if it runs past the suite's time limit. If the idle process dies, the next suite
    starts another.
    """

    def __init__(self):
        self._server = None
        self._unread = b""

    def run(self, suite: Path, workdir: Path, check_seconds: float, suite_seconds: float, memory_mb: int) -> bool:
        """Run ``suite`` in ``workdir`` (holding answer.pkl); False if it ran past ``suite_seconds``."""
        server = self._started()
        request = {"suite": str(suite), "workdir": str(workdir), "check_seconds": check_seconds,
                   "memory_mb": memory_mb}
        server.stdin.write(json.dumps(request).encode() + b"\n")
        server.stdin.flush()
        pid = self._read_line(timeout=None)
        if pid is None:
            self._server = None
            raise RuntimeError("the grader's process died before it could run the suite")
        status = self._read_line(timeout=suite_seconds)
        timed_out = status == b"timeout"
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid), signal.SIGKILL)
            status = self._read_line(timeout=None)  # the server reports the end of the child it lost
        if status is None:
            self._server = None  # the server died: the next suite starts another
        return not timed_out

    def _read_line(self, timeout: float | None) -> bytes | None:
        """The server's next line; b"timeout" if none came within ``timeout`` s; None if it closed its end."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._unread:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._server.stdout], [], [], left)[0]:
                return b"timeout"
            chunk = os.read(self._server.stdout.fileno(), 4096)
            if not chunk:
                self._unread = b""
                return None
            self._unread += chunk
        line, self._unread = self._unread.split(b"\n", 1)
        return line

    def _started(self) -> subprocess.Popen:
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen(
                [sys.executable, "-I", "-m", "lrcourse.grading", "--serve"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0, env=_grading_env(),
                cwd=tempfile.gettempdir())
            self._unread = b""
        return self._server


_SUITE_RUNNER = _SuiteRunner()


def _pickle_by_value(answer) -> bytes:
    """Pickle ``answer`` with the code it needs, unless that code is installed where the fresh process finds it.

    Answers defined in a notebook live in ``__main__`` and travel by value anyway; an answer
    imported from a student's own module (or a test's) must carry that module along.
    """
    module = sys.modules.get(getattr(answer, "__module__", None) or "")
    installed = module is None or module.__name__ == "__main__" or _importable_elsewhere(module)
    if not installed:
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(answer)
    finally:
        if not installed:
            cloudpickle.unregister_pickle_by_value(module)


def _importable_elsewhere(module) -> bool:
    """Whether ``module`` comes from an installed location (site-packages, the standard library)."""
    path = getattr(module, "__file__", None)
    roots = {sysconfig.get_path(name) for name in ("purelib", "platlib", "stdlib", "platstdlib")}
    return path is None or any(Path(path).resolve().is_relative_to(Path(root).resolve()) for root in roots)


def _report(title: str, points: float, checks: list[dict], problem: str | None = None) -> float:
    """Print the feedback for one graded item and return the points earned."""
    if not checks and not problem:
        problem = "the grader found no checks to run. Please tell your instructor."
    if problem:
        print(f"{title}: 0 of {points:g} points: {problem}")
        return 0.0
    passed = sum(check["passed"] for check in checks)
    score = earned(points, passed, len(checks))
    print(f"{title}: {passed} of {len(checks)} checks passed, {score:g} of {points:g} points")
    reasons = {check["message"] for check in checks if not check["passed"]}
    if passed == 0 and len(reasons) == 1:
        print(f"  every check failed the same way: {reasons.pop()}")
        return score
    for check in checks:
        print(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['name']}")
        if not check["passed"]:
            print(f"        {check['message']}")
    return score


def _grading_env() -> dict:
    # One thread each: BLAS pools reserve memory per thread, grading many students runs in parallel,
    # and a process that has started no threads can fork safely.
    return {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _cap_memory(memory_mb: int):
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# ---------------------------------------------------------------- the fresh process


class CheckTimeout(BaseException):
    """A check ran past its time limit. Not an Exception, so hypothesis does not try to shrink it."""


class _Checks:
    """A pytest plugin: times each check and records each outcome."""

    def __init__(self, check_seconds: float):
        self.check_seconds = check_seconds
        self.names = {}
        self.results = []

    def pytest_collection_modifyitems(self, items):
        for item in items:
            doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
            self.names[item.nodeid] = f"{doc} [{item.callspec.id}]" if hasattr(item, "callspec") else doc

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        signal.signal(signal.SIGALRM, self._time_out)
        signal.setitimer(signal.ITIMER_REAL, self.check_seconds)
        try:
            return (yield)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _time_out(self, signum, frame):
        raise CheckTimeout

    def pytest_runtest_makereport(self, item, call):
        if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
            self.results.append({"name": self.names[item.nodeid], "passed": call.excinfo is None,
                                 "message": self._why(call.excinfo)})

    def _why(self, excinfo) -> str:
        if excinfo is None:
            return ""
        error = excinfo.value
        if isinstance(error, CheckTimeout):
            return f"did not finish within {self.check_seconds:g} s: is there a loop that never ends?"
        if isinstance(error, AssertionError):
            return str(error) or "a check failed"
        if isinstance(error, pytest.fail.Exception):  # pytest.raises saw nothing raised: "DID NOT RAISE X"
            return str(error).replace("DID NOT RAISE", "returned normally; it should have raised")
        if isinstance(error, NotImplementedError):
            return "still raises NotImplementedError: replace that line with your code"
        if isinstance(error, MemoryError):
            return "ran out of memory"
        return f"your code raised {type(error).__name__}: {error}"


def _answer_plugin(answer_file: str) -> types.ModuleType:
    """A plugin module whose one fixture, ``answer``, is what every check receives.

    The answer is unpickled by the first check, not before: unpickling runs the student's code, which must
    not run before the suite is loaded and the process confined.
    """
    plugin = types.ModuleType("lrcourse_answer")

    def answer():
        with open(answer_file, "rb") as file:
            return cloudpickle.load(file)

    plugin.answer = pytest.fixture(name="answer", scope="session")(answer)
    return plugin


def serve():
    """The idle process of :class:`_SuiteRunner`: for each request on stdin, fork a child to run one suite.

    Writes the child's pid when it starts and its exit status when it ends, one line each.
    """
    import hypothesis  # noqa: F401 (imported here once, for every child)
    import torch  # noqa: F401
    import torch._dynamo  # noqa: F401 (torch.optim imports it on an optimizer's first use: 2 s of a check's 2 s)

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_forked(request)
        print(pid, flush=True)
        print(os.waitpid(pid, 0)[1], flush=True)


def serve_socket(socket_path: str, ledger: str, assignment: str, suite_seconds: float):
    """A grader for one confined kernel: runs the suites it asks for and records every score in ``ledger``.

    Runs outside the kernel, so what the kernel does to itself cannot change a score: each request (a
    suite of ``assignment`` and a pickled answer, over the Unix socket) runs in a child forked from here,
    under this grader's limits, confined after the suite is loaded so that the answer can neither read the
    hidden suites nor write outside the child's scratch folder. The ledger (JSON lines: item, checks
    passed, checks) is what :mod:`lrcourse.sandbox` writes into the gradebook.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)  # before the heavy imports: a kernel that comes early waits in the backlog
    listener.listen()
    import hypothesis  # noqa: F401 (imported here once, for every child)
    if any("torch" in suite.read_text() for suite in (SUITES / assignment).glob("*.py")):
        import torch  # noqa: F401 (3 s of CPU: only for the assignments that use it)
        import torch._dynamo  # noqa: F401

    while True:
        connection, _ = listener.accept()
        with connection, tempfile.TemporaryDirectory(prefix="lrcourse-suite-") as workdir:
            connection.settimeout(30)
            try:
                header, _, payload = _read_all(connection, ANSWER_BYTES).partition(b"\n")
                suite = json.loads(header)["suite"]
                checks, problem = _run_request(suite, payload, Path(workdir), assignment, suite_seconds)
                connection.sendall(json.dumps({"checks": checks, "problem": problem}).encode())
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a malformed request or a kernel that went away: nothing to score
            item = suite.partition("/")[2]
            with open(ledger, "a") as file:
                file.write(json.dumps({"item": item, "passed": sum(c["passed"] for c in checks),
                                       "checks": len(checks)}) + "\n")


def _run_request(suite: str, payload: bytes, workdir: Path, assignment: str,
                 suite_seconds: float) -> tuple[list[dict], str | None]:
    """Run the hidden suite ``suite`` on ``payload`` in a confined child; (checks, problem)."""
    suite_assignment, _, item = str(suite).partition("/")
    path = SUITES / assignment / f"test_{item}.py"
    if suite_assignment != assignment or not re.fullmatch(r"[A-Za-z0-9_]+", item) or not path.is_file():
        raise ValueError(f"no hidden suite {suite!r} for {assignment}")
    (workdir / "answer.pkl").write_bytes(payload)
    pid = os.fork()
    if pid == 0:
        _run_forked({"suite": str(path), "workdir": str(workdir), "check_seconds": CHECK_SECONDS,
                     "memory_mb": MEMORY_MB, "confine": True})
    deadline = time.monotonic() + suite_seconds
    while not os.waitpid(pid, os.WNOHANG)[0] and time.monotonic() < deadline:
        time.sleep(0.02)
    in_time = time.monotonic() < deadline
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # on time or not, nothing the answer started outlives its suite
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    return _outcome(workdir, in_time, suite_seconds, MEMORY_MB)


def _run_forked(request: dict):
    """In the forked child: confine it, silence it, and run the suite; never return."""
    status = 1
    try:
        os.setsid()  # its own process group, so a time-out also ends any process it starts
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir(request["workdir"])
        _cap_memory(request["memory_mb"])
        status = main([request["suite"], "answer.pkl", "report.json"], request["check_seconds"],
                      confine=request.get("confine", False))
    finally:
        os._exit(status)


class _ConfineAfterCollection:
    """A pytest plugin: once the suite is loaded, the answer may read only what Python needs, write only here."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        here = Path.cwd()
        landlock.restrict(read=landlock.python_roots() + landlock.DEVICES, write=[here, *landlock.DEVICES])


def main(argv: list[str], check_seconds: float, confine: bool = False) -> int:
    from hypothesis import HealthCheck, Phase, settings

    suite, answer_file, report_file = argv
    # No shrinking: a failing example is reported as it is found, since shrinking it could outlast the
    # check's time limit and the feedback names no example anyway.
    settings.register_profile("grading", derandomize=True, database=None, deadline=None, print_blob=False,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate],
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("grading")
    checks = _Checks(check_seconds)
    Path("pytest.ini").write_text("[pytest]\n")
    plugins = [checks, _answer_plugin(answer_file), *([_ConfineAfterCollection()] if confine else [])]
    pytest.main([suite, "-c", "pytest.ini", "--confcutdir", str(Path(suite).parent), "--assert=plain",
                 "-q", "-p", "no:cacheprovider", "-p", "no:stepwise"], plugins=plugins)
    results = checks.results
    Path(report_file).write_text(json.dumps(results))
    return 0


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    serve()
elif __name__ == "__main__" and sys.argv[1:2] == ["--serve-socket"]:
    serve_socket(*sys.argv[2:5], suite_seconds=float(sys.argv[5]))
