"""Noticing attempts to get around grading, so that the instructor hears of every one.

Landlock (:mod:`lrgrader.landlock`) already stops a student's code from reading the hidden suites, writing outside
its folder, opening TCP connections or signalling the processes that grade it; this module makes such an attempt
visible, and flags what Landlock cannot stop (UDP datagrams, host name lookups). :func:`watch` installs a Python
audit hook (``sys.addaudithook``: it sees every ``open``, socket connection, signal and program start that goes
through Python, before the system refuses it, and no code can remove it) in the process that is about to run student
code: an answer's process, or a student's kernel when a class is graded. Each attempt is described once, in words,
to a callback: the answer's process reports it with every reply (the item then earns nothing, like a broken rule),
the kernel to the grader, which records it in the ledger.
"""

import os
import socket
import sys
from pathlib import Path

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def watch(read: list[Path], write: list[Path], report, allowed_sockets: tuple[str, ...] = ()):
    """From now on, call ``report(description)`` once for each attempt to read outside ``read`` (and ``write``),
    write outside ``write``, connect, bind or send from a socket (but to ``allowed_sockets``), look up a host or an
    address, signal another process or start a program. ``description`` completes "tried to ...": "read
    /course/hidden/x.py"."""
    read_roots = tuple(str(Path(path).resolve()) for path in [*read, *write])
    write_roots = tuple(str(Path(path).resolve()) for path in write)
    seen, busy = set(), [False]

    def inside(path: str, roots: tuple[str, ...]) -> bool:
        return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)

    def note(description: str):
        if description not in seen:
            seen.add(description)
            report(description)

    def hook(event: str, args: tuple):
        if busy[0] or event not in _EVENTS:
            return
        busy[0] = True  # the report may itself open a socket
        try:
            description = _EVENTS[event](args, inside, read_roots, write_roots, allowed_sockets)
            if description:
                note(description)
        except Exception:  # an audit hook must never break the code it watches
            pass
        finally:
            busy[0] = False

    sys.addaudithook(hook)


def _opened(args, inside, read_roots, write_roots, allowed_sockets) -> str | None:
    path, mode, flags = args
    if isinstance(path, int) or path is None:
        return None
    path = os.path.abspath(os.fsdecode(path))
    writes = (isinstance(mode, str) and any(letter in mode for letter in "wax+")) or \
        (mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS)
    if writes and not inside(path, write_roots):
        return f"write {path}"
    if not writes and not inside(path, read_roots):
        return f"read {path}"
    return None


def _listed(args, inside, read_roots, write_roots, allowed_sockets) -> str | None:
    path = args[0] if args and args[0] is not None else "."
    if isinstance(path, int):
        return None
    path = os.path.abspath(os.fsdecode(path))
    return None if inside(path, read_roots) else f"list the folder {path}"


def _connected(args, inside, read_roots, write_roots, allowed_sockets) -> str | None:
    sock, address = args
    if sock.family == socket.AF_UNIX and str(address) in allowed_sockets:
        return None
    return f"open a network connection to {address!r}"


def _bound(args, inside, read_roots, write_roots, allowed_sockets) -> str | None:
    return f"listen on the network at {args[1]!r}"


def _signalled(args, inside, read_roots, write_roots, allowed_sockets) -> str | None:
    pid = args[0]
    return None if pid == os.getpid() else f"send a signal to process {pid}"


def _started(args, inside, read_roots, write_roots, allowed_sockets) -> str | None:
    program = args[1] if isinstance(args[0], int) or args[0] is None else args[0]  # os.spawn: (mode, path, ...)
    if isinstance(program, (list, tuple)) and program:  # subprocess.Popen(args) without an executable
        program = program[0]
    return f"start the program {os.fsdecode(program) if isinstance(program, (str, bytes)) else program!r}"


def _sent(args, inside, read_roots, write_roots, allowed_sockets) -> str | None:
    sock, address = args
    if address is None or (sock.family == socket.AF_UNIX and str(address) in allowed_sockets):
        return None
    return f"send network data to {address!r}"


def _looked_up(args, inside, read_roots, write_roots, allowed_sockets) -> str | None:
    return f"look up the network address of {args[0]!r}"


_EVENTS = {"open": _opened, "os.listdir": _listed, "os.scandir": _listed, "socket.connect": _connected,
           "socket.bind": _bound, "socket.getaddrinfo": _looked_up,
           "socket.gethostbyname": _looked_up, "socket.gethostbyaddr": _looked_up, "socket.sendto": _sent,
           "socket.sendmsg": _sent, "os.kill": _signalled, "os.killpg": _signalled,
           "os.system": _started, "os.exec": _started, "os.posix_spawn": _started, "os.spawn": _started,
           "subprocess.Popen": _started}
