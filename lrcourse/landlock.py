"""Confining a process's file access with Linux's Landlock, through ctypes (no extra package).

Landlock lets an unprivileged process give up access to every path but the ones it names; the restriction
holds for the rest of its life, for every program it executes and every process it starts, and binds root
too. The grader uses it twice: on a student's kernel (:mod:`lrcourse.sandbox`) and on the process that runs a
hidden suite against a student's answer (:mod:`lrcourse.grading`), so neither can read the hidden suites or
write outside its own folder. On a system without Landlock, :func:`restrict` restricts nothing and says so.
"""

import ctypes
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


def python_roots() -> list[Path]:
    """What any Python process of this course reads: the interpreter, the environment, the system, this package."""
    return [Path(sys.prefix), Path(sys.base_prefix), Path("/usr"), Path("/etc"), Path("/proc"), Path("/sys"),
            Path(__file__).resolve().parent]


def restrict(read: list[Path], write: list[Path]) -> int:
    """From now on, let this process read (and execute) only under ``read`` and write only under ``write``.

    Paths that do not exist are skipped. Also keeps the process from signalling processes outside its
    sandbox (ABI 6+). Returns the ABI used, 0 if Landlock is unavailable and nothing was restricted.
    """
    version = abi()
    if version == 0:
        return 0
    every_right = _ALL_RIGHTS_BY_ABI[max(v for v in _ALL_RIGHTS_BY_ABI if v <= version)]
    file_rights = _FILE_RIGHTS_BY_ABI[max(v for v in _FILE_RIGHTS_BY_ABI if v <= version)]
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if version >= 6 else 0
    attr = _RulesetAttr(every_right, 0, scoped)
    size = ctypes.sizeof(attr) if version >= 6 else 8  # older kernels reject the fields they do not know
    ruleset = _check(_libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    try:
        for paths, rights in ((read, READ), (write, every_right)):
            for path in paths:
                _allow(ruleset, Path(path), rights, file_rights)
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        _check(_libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)))
    finally:
        os.close(ruleset)
    return version


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
