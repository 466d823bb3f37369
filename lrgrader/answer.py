"""The process a student's answer runs in, and the small process that starts one.

The checks' process forks an :class:`AnswerStarter` first thing, before it loads the hidden suite: the starter
holds the pickled answer and nothing of the suite, and forks a fresh answer's process on request (the first
one, and another after a check ran out of time or crashed the last one). An answer's process, before it
rebuilds the answer from its pickle:

- keeps no file descriptor but its socket to the checks, and writes nothing anyone reads (stdout and stderr
  go to /dev/null);
- caps its memory, file sizes and core dumps, and ends with its parent;
- confines itself with Landlock: it reads only what Python needs, writes only a scratch folder of its own,
  opens no TCP connection, and signals or traces no process outside itself; so the hidden suites, the
  gradebook, the checks' process and TCP servers are out of its reach (UDP is not: :mod:`lrgrader.audit`
  flags it, and the item earns nothing);
- gives up root's privileges, if it has them (it stays uid 0, so it reads what it read, without any
  capability: it cannot raise its limits or trace anything);
- puts in place the stand-ins of its exercise's rules (:mod:`lrgrader.rules`);
- starts its audit hook (:mod:`lrgrader.audit`), which reports every attempt to do what Landlock refuses.

Then it serves the checks' calls (:func:`lrgrader.bridge.serve`) until they hang up.
"""

import os
import resource
import signal
import socket
import sys
import tempfile
from pathlib import Path

import cloudpickle

from lrgrader import audit, bridge, landlock, privileges, rules
from lrgrader.limits import LIMITS

_PR_SET_PDEATHSIG = 1


class AnswerStarter:
    """A process, forked before the suite is loaded, that forks a fresh answer's process on each call."""

    def __init__(self, payload: bytes, item: str, folder: Path):
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            ours.close()
            _serve_starts(theirs, payload, item, folder)
        theirs.close()
        self._control, self.pid = ours, pid

    def __call__(self) -> tuple[socket.socket, int]:
        """A socket connected to a new answer's process, and its pid."""
        self._control.sendall(b"s")
        message, descriptors, _, _ = socket.recv_fds(self._control, 32, 1)
        if not message or not descriptors:
            raise bridge.AnswerCrashed("the grader could not start a process for your answer")
        return socket.socket(fileno=descriptors[0]), int(message)

    def close(self):
        self._control.close()


def _serve_starts(control: socket.socket, payload: bytes, item: str, folder: Path):
    """The starter's loop: one answer's process per byte received, its scratch folder in ``folder``; never
    returns."""
    try:
        _die_with_parent()
        _keep_only([control.fileno()])
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # its children are reaped as they end
        while control.recv(1):
            ours, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:
                control.close()
                theirs.close()
                _run_answer(ours, payload, item, Path(tempfile.mkdtemp(prefix="answer-", dir=folder)))
            ours.close()
            socket.send_fds(control, [str(pid).encode()], [theirs.fileno()])
            theirs.close()
    finally:
        os._exit(0)


def _run_answer(connection: socket.socket, payload: bytes, item: str, scratch: Path):
    """An answer's process: confine it, load the answer, serve the checks; never returns."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sys.dont_write_bytecode = True  # a cached .pyc written outside the scratch folder would read as an attempt
        _die_with_parent()
        _keep_only([connection.fileno()])
        os.chdir(scratch)
        os.environ.update(HOME=str(scratch), TMPDIR=str(scratch))
        tempfile.tempdir = str(scratch)
        for limit, value in ((resource.RLIMIT_AS, LIMITS.answer_memory_mb * 2**20),
                             (resource.RLIMIT_FSIZE, LIMITS.file_mb * 2**20), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(limit, (value, value))
        item_rules = rules.rules_for(item)
        readable = landlock.python_roots(exclude=rules.forbidden_roots(item_rules))
        writable = [scratch, *landlock.DEVICES]
        landlock.restrict(read=readable, write=writable, allow_tcp=False)
        privileges.drop()
        broken, attempts = [], []
        rules.enforce(item_rules, broken)
        audit.watch(readable, writable, attempts.append)

        def load():
            answer = cloudpickle.loads(payload)
            rules.check_subclass(answer, item_rules, broken)
            return answer

        bridge.serve(connection, load, LIMITS.request_bytes, broken, attempts)
    finally:
        os._exit(0)


def _die_with_parent():
    import ctypes

    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent ended before the line above
        os._exit(0)


def _keep_only(descriptors: list[int]):
    """Close every file descriptor but ``descriptors``; point stdin, stdout and stderr at /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    keep = sorted({0, 1, 2, *descriptors})
    low = 3
    for fd in keep[3:] + [None]:
        if fd is None:
            os.closerange(low, 65536)
            break
        os.closerange(low, fd)
        low = fd + 1
    sys.stdout = sys.stderr = open(os.devnull, "w")
