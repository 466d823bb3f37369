"""The grader's call in a notebook: ``grade(answer, "ex01/gd_step")``.

An exercise's grade cell holds, inside nbgrader's hidden-test markers, one call::

    from lrgrader import grade
    grade(gd_step, "ex01/gd_step")

:func:`grade` pickles the answer (a function or a class, with the helpers it uses) and sends it to a grader
process (:mod:`lrgrader.server`): the one the sandbox started for this kernel when a class is graded
(``LRGRADER_SOCKET`` names its socket), else one it starts itself, once per kernel. The grader runs the
item's hidden suite with the answer in a process of its own and answers with a verdict, which this function
prints as feedback (on stdout only: nbgrader scores a cell with any output on stderr 0) and whose points it
returns as the cell's value, which nbgrader reads as the cell's partial credit. Nothing the kernel does
changes the verdict: it is decided in the grader, and when a class is graded the score comes from the
grader's ledger, not from this cell.
"""

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import cloudpickle

from lrgrader.limits import LIMITS
from lrgrader.records import KernelAttempt, RecordError, Request, Verdict, met

SOCKET_VARIABLE = "LRGRADER_SOCKET"


class GradingError(LookupError):
    """The grader refused the request (an item it does not know): an instructor's mistake, not a student's."""


def grade(answer, item: str) -> float:
    """Run the hidden suite of ``item`` ("<assignment>/<name>") on ``answer``; print feedback; return points earned."""
    name = item.partition("/")[2]
    try:
        payload, trouble = _pickle_by_value(answer), None
    except Exception as error:  # anything unpicklable: tell the student, score 0
        payload, trouble = b"", (f"the grader could not take your answer ({type(error).__name__}: {error}). "
                                 "Define it at the top level of a cell.")
    try:
        verdict = _ask(item, payload)
    except (OSError, ValueError, RecordError) as error:
        print(f"{name}: 0 points: the grader could not be reached ({type(error).__name__}). "
              "Please tell your instructor.")
        return 0.0
    print(feedback(verdict, trouble))
    return verdict.score


def feedback(verdict: Verdict, problem: str | None = None) -> str:
    """What a student reads about one graded item: the points, each requirement met or not with its share, and
    every check under its requirement, with why it failed."""
    name = verdict.item.partition("/")[2]
    problem = problem or verdict.problem
    if problem:
        return f"{name}: 0 of {verdict.points:g} points: {problem}"
    lines = []
    if verdict.broken_rules or verdict.attempts:
        reasons = ([f"used what this exercise forbids ({', '.join(verdict.broken_rules)})"] if verdict.broken_rules
                   else []) + ([f"tried to {'; to '.join(verdict.attempts)}, which grading does not allow"]
                               if verdict.attempts else [])
        lines.append(f"{name}: 0 of {verdict.points:g} points: while it was checked, your answer "
                     f"{' and '.join(reasons)}.")
    else:
        lines.append(f"{name}: {verdict.score:g} of {verdict.points:g} points "
                     f"({verdict.passed} of {len(verdict.checks)} checks passed)")
    reasons = {check.message for check in verdict.checks if not check.passed}
    if verdict.passed == 0 and len(reasons) == 1:
        lines.append(f"  every check failed the same way: {reasons.pop()}")
        return "\n".join(lines)
    for requirement in verdict.requirements:
        state = ("met" if met(requirement, verdict.checks)
                 else f"not met, {requirement.share * verdict.points / 100:g} points lost")
        lines.append(f"  {requirement.title} ({requirement.share}% of the points): {state}")
        for check in verdict.checks:
            if check.requirement == requirement.key:
                lines.append(f"    {'PASS' if check.passed else 'FAIL'}  {check.name}")
                if not check.passed:
                    lines.append(f"          {check.message}")
    return "\n".join(lines)


def report_attempt(attempt: str):
    """Tell the grader of this kernel (when a class is graded) what its audit hook saw the notebook try."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(10)
        connection.connect(os.environ[SOCKET_VARIABLE])
        connection.sendall(KernelAttempt(attempt[:300]).to_json().encode() + b"\n")
        connection.recv(1)


def _ask(item: str, payload: bytes) -> Verdict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(LIMITS.grade_cell_seconds)
        connection.connect(os.environ.get(SOCKET_VARIABLE) or _LOCAL.socket())
        connection.sendall(Request(item, len(payload)).to_json().encode() + b"\n")
        connection.sendall(payload)
        reply = bytearray()
        while chunk := connection.recv(1 << 20):
            reply += chunk
            if len(reply) > 64 * 2**20:
                raise ValueError("an oversized reply")
    if reply.startswith(b'{"error"'):
        raise GradingError(json.loads(reply)["error"])
    return Verdict.from_json(reply.decode())


class _LocalGrader:
    """The grader this kernel starts for itself, once, when no sandbox provides one."""

    def __init__(self):
        self._process, self._folder = None, None
        atexit.register(self.stop)

    def socket(self) -> str:
        if self._process is None or self._process.poll() is not None:
            self.stop()  # the folder of a grader that ended
            self._folder = tempfile.mkdtemp(prefix="lrgrader-")
            path = Path(self._folder) / "grader.sock"
            # A session of its own, so that a kernel killed with its process group (as Jupyter stops kernels) leaves
            # its grader the time to see it gone and remove its folder.
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-m", "lrgrader.server", "--socket", str(path), "--owner", str(os.getpid())],
                cwd=self._folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            deadline = time.monotonic() + LIMITS.start_wall_seconds
            while not path.exists():
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise OSError("the grader did not start")
                time.sleep(0.02)
        return str(Path(self._folder) / "grader.sock")

    def stop(self):
        """End the grader and remove its folder (the next call starts another)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            shutil.rmtree(self._folder, ignore_errors=True)


_LOCAL = _LocalGrader()


def _pickle_by_value(answer) -> bytes:
    """Pickle ``answer`` with the code it needs, unless that code is installed where the grader finds it.

    Answers defined in a notebook live in ``__main__`` and travel by value anyway; an answer
    imported from a student's own module (or a test's) must carry that module along.
    """
    module = sys.modules.get(getattr(answer, "__module__", None) or "")
    installed = module is None or module.__name__ == "__main__" or _importable_elsewhere(module)
    if not installed:
        cloudpickle.register_pickle_by_value(module)
    try:
        payload = cloudpickle.dumps(answer)
    finally:
        if not installed:
            cloudpickle.unregister_pickle_by_value(module)
    if len(payload) > LIMITS.answer_bytes:
        raise ValueError(f"the answer takes {len(payload) / 2**20:.0f} MB, more than {LIMITS.answer_bytes // 2**20} MB")
    return payload


def _importable_elsewhere(module) -> bool:
    """Whether ``module`` comes from an installed location (site-packages, the standard library)."""
    path = getattr(module, "__file__", None)
    roots = {sysconfig.get_path(name) for name in ("purelib", "platlib", "stdlib", "platstdlib")}
    return path is None or any(Path(path).resolve().is_relative_to(Path(root).resolve()) for root in roots)
