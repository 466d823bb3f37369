"""The grader: runs the hidden suite of a graded item against an answer a kernel sends, and decides the verdict.

    python -I -m lrgrader.server --socket PATH [--assignment ex01 --ledger PATH]

One such process serves one kernel over a Unix socket: a learner's, started by :func:`lrgrader.client.grade` the
first time it runs, or, when a class is graded, the confined kernel of one submission (:mod:`lrgrader.sandbox`),
which may ask only for the items of its assignment and whose every verdict is appended to a ledger that the
kernel cannot touch: the sandbox grades from the ledger, not from what the notebook shows.

The server imports pytest and hypothesis once (and torch, where the suites need it), then for each request
forks the checks' process (:mod:`lrgrader.checks`), which starts the answer's. The verdict is decided here, from
the checks' report: it counts only if the checks' process reported one result for every check it collected,
within the suite's time limit; the item's points come from its grade cell's metadata.
"""

import argparse
import contextlib
import gc
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lrgrader import suites
from lrgrader.limits import LIMITS
from lrgrader.records import KernelAttempt, RecordError, Request, SuiteRun, Verdict

REPORT_BYTES = 16 * 2**20  # the largest report a checks' process may send


def run_item(item: str, payload: bytes, close: tuple[int, ...] = (), first_failure: bool = False) -> Verdict:
    """Run the hidden suite of ``item`` on the pickled answer ``payload``; the verdict.

    The checks' process is forked from this one, with its own process group, which is killed once it has
    reported (or run past the suite's time limit), and with it everything the answer started. ``close`` are
    descriptors the checks' process must not keep (this server's sockets). With ``first_failure`` (for
    mutation testing, never for a grade) the suite stops at its first failed check, and the verdict holds
    the checks run until then: it says whether the answer is wrong, not what it scores.
    """
    path = suites.suite(item)
    points = _read_apart(suites.points, item)
    if not payload:
        return Verdict(item, points, problem="the grader could not take your answer")
    folder = Path(tempfile.mkdtemp(prefix="lrgrader-run-"))  # the checks' and the answers' working folders
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the checks' process
        status = 1
        try:
            os.setsid()
            os.close(read_end)
            for fd in close:
                os.close(fd)
            from lrgrader import checks

            status = checks.run(path, item, payload, write_end, folder, first_failure)
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        report, in_time = _read_report(read_end, time.monotonic() + LIMITS.suite_wall_seconds)
    finally:
        os.close(read_end)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        shutil.rmtree(folder, ignore_errors=True)
    return _verdict(item, points, report, in_time, first_failure)


def _read_apart(function, *args):
    """``function(*args)`` computed in a child process, its result sent back as JSON.

    Every answer's process descends from this one, so this process never reads a suite or a notebook itself:
    even freed, their text would linger in the memory the answers inherit.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            try:
                result = {"value": function(*args)}
            except suites.UnknownItem as error:
                result = {"error": str(error)}
            os.write(write_end, json.dumps(result).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        data = reader.read()
    os.waitpid(pid, 0)
    result = json.loads(data or b'{"error": "the grader could not read the course"}')
    if "error" in result:
        raise suites.UnknownItem(result["error"])
    return result["value"]


def _read_report(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything the checks' process writes until it closes the pipe; (bytes, whether that came in time)."""
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return b"", False
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
        if size > REPORT_BYTES:
            return b"", True


def _verdict(item: str, points: float, report: bytes, in_time: bool, first_failure: bool = False) -> Verdict:
    if not in_time:
        return Verdict(item, points, problem=f"the checks did not finish within {LIMITS.suite_wall_seconds:g} s. "
                                             "Look for a loop that never ends, or code that waits for something.")
    try:
        run = SuiteRun.from_json(report.decode())
    except (RecordError, UnicodeDecodeError):
        return Verdict(item, points, problem="the checks crashed before they could finish. Please tell your "
                                             "instructor.")
    if run.collected == 0:
        return Verdict(item, points, problem="the grader found no checks to run. Please tell your instructor.")
    problem = run.problem
    stopped = first_failure and not all(check.passed for check in run.checks)
    if problem is None and len(run.checks) != run.collected and not stopped:
        problem = (f"the checks collected {run.collected} checks but reported {len(run.checks)}. Please tell your "
                   "instructor.")
    return Verdict(item, points, run.checks, problem, run.broken_rules, run.attempts, run.crashes, run.requirements)


def serve(socket_path: str, assignment: str | None = None, ledger: Path | None = None, preload: bool = True,
          owner: int | None = None):
    """Serve the kernels that connect to ``socket_path``, one request at a time, until killed; or, given the pid
    of the ``owner`` that started it (a learner's kernel, which may be killed without a chance to stop its grader),
    until that process has ended, and then remove the socket's folder."""
    listener = listen(socket_path)  # before the heavy imports: a kernel that comes early waits in the backlog
    if preload:
        import_for(assignment)
    while True:
        if owner is not None and not select.select([listener], [], [], 1.0)[0]:
            if os.getppid() != owner:
                shutil.rmtree(Path(socket_path).parent, ignore_errors=True)
                return
            continue
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(60)
            try:
                request, payload = _read_request(connection)
                if isinstance(request, KernelAttempt):
                    if ledger is not None:
                        with open(ledger, "a") as file:
                            file.write(request.to_json() + "\n")
                    continue
                if assignment is not None and suites.parse(request.item)[0] != assignment:
                    raise suites.UnknownItem(f"this grader grades {assignment} only")
                verdict = run_item(request.item, payload, close=(listener.fileno(), connection.fileno()))
            except (OSError, RecordError, suites.UnknownItem, ValueError) as error:
                with contextlib.suppress(OSError):
                    connection.sendall(json.dumps({"error": str(error)[:500]}).encode())
                continue
            if ledger is not None:
                with open(ledger, "a") as file:
                    file.write(verdict.to_json() + "\n")
            with contextlib.suppress(OSError):
                connection.sendall(verdict.to_json().encode())


class Template:
    """A process that has imported, once, what an assignment's graders need, and forks a grader (:func:`serve`) for
    each submission on request: each worker of the class command keeps one, so that no submission pays for
    importing torch again. Like a grader, it never reads a suite or a notebook itself."""

    def __init__(self, assignment: str):
        self.folder = Path(tempfile.mkdtemp(prefix="lrgrader-template-"))
        control = self.folder / "control.sock"
        self.assignment = assignment
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "lrgrader.server", "--template", str(control), "--assignment", assignment],
            cwd=self.folder,  # what its libraries leave in the working folder (hypothesis's cache) goes with it
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + LIMITS.start_wall_seconds
        while not control.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the grader's template did not start")
            time.sleep(0.02)
        self.control = control

    def start(self, socket_path: Path, ledger: Path) -> int:
        """Fork a grader serving ``socket_path`` and keeping ``ledger``; its pid (kill it when done)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(LIMITS.start_wall_seconds)
            connection.connect(str(self.control))
            connection.sendall(json.dumps({"socket": str(socket_path), "ledger": str(ledger)}).encode() + b"\n")
            return int(connection.makefile().readline())

    def close(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _serve_template(control_path: str, assignment: str):
    """The template's loop (see :class:`Template`); it ends with the process that started it."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    import_for(assignment)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # its graders are reaped as they end
    listener = listen(control_path)
    while True:
        connection, _ = listener.accept()
        with connection:
            request = json.loads(connection.makefile().readline())
            pid = os.fork()
            if pid == 0:
                listener.close()
                connection.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                try:
                    serve(request["socket"], assignment, Path(request["ledger"]), preload=False)
                finally:
                    os._exit(0)
            connection.sendall(f"{pid}\n".encode())


def listen(path: str | Path) -> socket.socket:
    """A Unix socket listening at ``path``, which appears only once it listens.

    Whoever starts a server waits for its socket's path to exist, then connects. Bound at that path directly, the
    socket would exist a moment before it listens, and a connection in that moment is refused: on a loaded
    machine the moment is long enough (a worker's grader template, seen refusing both tries of a submission).
    """
    staging = Path(path).with_name(f".{Path(path).name}")  # one character longer: Unix socket paths are short
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(staging))
    listener.listen()
    os.rename(staging, path)
    return listener


def _read_request(connection: socket.socket) -> tuple[Request | KernelAttempt, bytes]:
    """A request (and the answer that follows it), or a kernel's report of an attempt (and no answer)."""
    header = b""
    while not header.endswith(b"\n"):
        byte = connection.recv(1)
        if not byte or len(header) > 4096:
            raise ValueError("a malformed request")
        header += byte
    if b'"attempt"' in header:
        return KernelAttempt.from_json(header.decode()), b""
    request = Request.from_json(header.decode())
    if not 0 <= request.size <= LIMITS.answer_bytes:
        raise ValueError(f"an answer of {request.size} bytes")
    payload = bytearray()
    while len(payload) < request.size:
        chunk = connection.recv(min(1 << 20, request.size - len(payload)))
        if not chunk:
            raise ValueError("a truncated answer")
        payload += chunk
    return request, bytes(payload)


def import_for(assignment: str | None):
    """Import once, for every checks' and answer's process forked from here, what the suites will need."""
    import hypothesis  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401

    if _read_apart(_uses_torch, assignment):
        import torch  # noqa: F401 (3 s of CPU: only where some suite uses it)
        import torch._dynamo  # noqa: F401 (torch.optim imports it on an optimizer's first use)
    gc.freeze()  # what is imported now will never be garbage: no collection in a forked process scans it


def _uses_torch(assignment: str | None) -> bool:
    folder = suites.suites_folder() / (assignment or "")
    texts = (path.read_text() for path in folder.rglob("*.py"))
    return any(re.search(r"^\s*(import|from) torch", text, re.MULTILINE) for text in texts)


def one_thread_each():
    """Settings for a process that forks graders, before it imports NumPy or torch: one thread each (BLAS pools
    reserve memory per thread, a class is graded in parallel, and a process that has started no threads can fork
    safely), and pytest loads no plugin it is not told to."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        os.environ[name] = "1"


def main(argv: list[str]):
    parser = argparse.ArgumentParser(prog="python -I -m lrgrader.server", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="the Unix socket to listen on")
    where.add_argument("--template", metavar="SOCKET", help="be a template (for --assignment) forking graders on "
                                                            "request at this socket (see Template)")
    parser.add_argument("--assignment", help="grade this assignment's items only")
    parser.add_argument("--ledger", type=Path, help="append every verdict to this file (JSON lines)")
    parser.add_argument("--owner", type=int, metavar="PID", help="the process that started this grader (its parent): "
                                                                 "end once it has, removing the socket's folder")
    args = parser.parse_args(argv)
    one_thread_each()
    if args.template:
        _serve_template(args.template, args.assignment)
    else:
        serve(args.socket, args.assignment, args.ledger, owner=args.owner)


if __name__ == "__main__":
    main(sys.argv[1:])
