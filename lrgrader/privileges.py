"""Giving up root's privileges without changing user: what a process running student code does when it is root.

Grading often runs as root (in a container, in CI). Changing to an unprivileged user would lock such a process
out of the interpreter itself when it lives under /root, so instead the process stays uid 0 and drops every
capability, for good: the bounding set is emptied and the securebits locked so that executing a program as
root does not give them back. Without CAP_SYS_RESOURCE it cannot raise its own limits; without CAP_SYS_PTRACE,
CAP_KILL or CAP_DAC_OVERRIDE it reaches no other process or file beyond what permissions and Landlock allow.
"""

import ctypes
import os
from pathlib import Path

_PR_CAPBSET_DROP, _PR_SET_SECUREBITS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 28, 47, 4
# NOROOT, NO_SETUID_FIXUP, KEEP_CAPS, NO_CAP_AMBIENT_RAISE, each with its lock
_SECUREBITS = sum(1 << bit for bit in range(8)) & ~(1 << 4)
_CAPABILITY_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop() -> bool:
    """Drop every capability of this process for good; False if it had none to drop (not root)."""
    if os.geteuid() != 0:
        return False
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    _check(_libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS, 0, 0, 0))
    for capability in range(last + 1):
        _check(_libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0))
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _check(_libc.capset(ctypes.byref(_Header(_CAPABILITY_VERSION_3, 0)), (_Data * 2)()))
    return True


def capabilities() -> int:
    """The effective capabilities of this process, as a bit mask (0 when it has none)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def _check(result: int):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"dropping privileges: {os.strerror(error)}")
