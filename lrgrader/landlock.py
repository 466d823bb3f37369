"""Confining a process with Linux's Landlock, through ctypes (no extra package).

Landlock lets an unprivileged process give up access to every path but the ones it names, and (ABI 4, Linux 6.7)
every TCP connection and bind; from ABI 6 it also stops the process signalling processes outside its sandbox. A
sandboxed process can never trace one outside it. The restriction holds for the rest of its life, for every program
it executes and every process it starts, and binds root too. Grading uses it on every process that runs student
code: a student's kernel (:mod:`lrgrader.kernel`) and the process of a graded answer (:mod:`lrgrader.answer`), so
that neither can read the hidden suites, write outside its own folder, reach a TCP server or touch the processes
that grade it (Landlock has no rule for UDP). On a system without Landlock, :func:`restrict` restricts nothing and
says so; on one whose ABI is older, :func:`unenforced` names what it cannot enforce.
"""

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same numbers on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FILE_RIGHTS_BY_ABI = {1: 0b111, 3: 0b111 | 1 << 14, 5: 0b111 | 1 << 14 | 1 << 15}  # + truncate, ioctl
_ALL_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6: no signals, no abstract sockets outside
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
READ = EXECUTE | READ_FILE | READ_DIR

# The devices a Python program needs; not the rest of /dev, which to root includes the raw disks.
DEVICES = [Path("/dev", name) for name in ("null", "zero", "full", "random", "urandom", "shm")]


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi() -> int:
    """The Landlock ABI version this kernel offers; 0 if none."""
    if not sys.platform.startswith("linux"):
        return 0
    return max(0, _libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)))


def python_roots(exclude: list[str] = ()) -> list[Path]:
    """What any Python process of grading reads: the interpreter, the environment, the system, and the folders
    of the course's two packages (installed in place, they live outside the environment), but those of the
    top-level packages named in ``exclude``."""
    roots = [Path(sys.prefix), Path(sys.base_prefix), Path("/usr"), Path("/etc"), Path("/proc"), Path("/sys")]
    for package in ("lrgrader", "lrcourse"):
        spec = None if package in exclude else importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots.extend(Path(location).resolve() for location in spec.submodule_search_locations)
    return roots


def unenforced(close_tcp: bool = True) -> list[str]:
    """What this kernel's Landlock cannot enforce of what :func:`restrict` asks for, in words."""
    version = abi()
    if version == 0:
        return ["Landlock (files, network, signals)"]
    missing = []
    if close_tcp and version < 4:
        missing.append("closing TCP (Landlock ABI 4, Linux 6.7)")
    if version < 6:
        missing.append("keeping signals inside the sandbox (Landlock ABI 6, Linux 6.12)")
    return missing


def restrict(read: list[Path], write: list[Path], allow_tcp: bool = True) -> int:
    """From now on, let this process read (and execute) only under ``read`` and write only under ``write``; with
    ``allow_tcp=False``, also forbid every TCP connection and bind (UDP and Unix sockets are not covered).

    Paths that do not exist are skipped. Also keeps the process from signalling processes outside its
    sandbox (ABI 6+). Returns the ABI used, 0 if Landlock is unavailable and nothing was restricted.
    """
    version = abi()
    if version == 0:
        return 0
    every_right = _ALL_RIGHTS_BY_ABI[max(v for v in _ALL_RIGHTS_BY_ABI if v <= version)]
    file_rights = _FILE_RIGHTS_BY_ABI[max(v for v in _FILE_RIGHTS_BY_ABI if v <= version)]
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if version >= 6 else 0
    tcp = _NET_BIND_TCP | _NET_CONNECT_TCP if not allow_tcp and version >= 4 else 0
    size = 24 if version >= 6 else 16 if version >= 4 else 8  # older kernels reject the fields they do not know
    paths = [(path, READ) for path in read] + [(path, every_right) for path in write]
    _enforce(_RulesetAttr(every_right, tcp, scoped), size, paths, file_rights)
    return version


def close_network() -> int:
    """From now on, forbid every TCP connection and bind of this process (ABI 4+), leaving files as they are.

    For a process that must bind its own sockets before it is closed in (a kernel). Returns the ABI used, 0 if
    nothing was restricted.
    """
    version = abi()
    if version < 4:
        return 0
    _enforce(_RulesetAttr(0, _NET_BIND_TCP | _NET_CONNECT_TCP, 0), 16, [], 0)
    return version


def _enforce(attr: _RulesetAttr, size: int, paths: list[tuple[Path, int]], file_rights: int):
    """Create a ruleset handling what ``attr`` says, allow ``paths`` their rights, and restrict this process."""
    ruleset = _check(_libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    try:
        for path, rights in paths:
            _allow(ruleset, Path(path), rights, file_rights)
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        _check(_libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)))
    finally:
        os.close(ruleset)


def _allow(ruleset: int, path: Path, rights: int, file_rights: int):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        allowed = rights if path.is_dir() else rights & file_rights
        rule = _PathBeneathAttr(allowed, fd)
        _check(_libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                             ctypes.byref(rule), ctypes.c_uint32(0)))
    finally:
        os.close(fd)


def _check(result: int) -> int:
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"Landlock: {os.strerror(error)}")
    return result
