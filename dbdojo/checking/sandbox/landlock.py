"""Linux Landlock through its three system calls: an unprivileged process gives up, for good,
access to every file outside the paths it names, TCP, and signals to processes outside it.

Kernel documentation: Documentation/userspace-api/landlock.rst. ABI 1 (Linux 5.13) restricts
files; ABI 4 (6.7) TCP bind/connect; ABI 6 (6.12) signals and abstract Unix sockets.
"""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path

_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
READ = EXECUTE | READ_FILE | READ_DIR
_NET_TCP = 0b11  # bind and connect
_SCOPES = 0b11  # abstract Unix sockets and signals


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (other OS, disabled, old)."""
    calls = _SYSCALLS.get(platform.machine())
    if platform.system() != "Linux" or calls is None:
        return 0
    version = _libc().syscall(calls[0], None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


def restrict(read: list[Path], write: list[Path]) -> int:
    """Allow reading under ``read`` and everything under ``write``, nothing else on the file
    system; no TCP; no signals out. Returns the ABI used (0: not available, nothing done)."""
    version = abi()
    if version < 1:
        return 0
    libc = _libc()
    create, add_rule, restrict_self = _SYSCALLS[platform.machine()]
    handled = _FS_BY_ABI[max(v for v in _FS_BY_ABI if v <= version)]
    attr = _RulesetAttr(handled, _NET_TCP if version >= 4 else 0, _SCOPES if version >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if version >= 4 else 8
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, access in ((read, READ), (write, handled)):
            for path in paths:
                _allow(libc, add_rule, ruleset, path, access & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(restrict_self, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return version


def _allow(libc: ctypes.CDLL, add_rule: int, ruleset: int, path: Path, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # absent or unreachable: nothing to allow
    try:
        if not path.is_dir():
            access &= EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # file rights
        rule = _PathBeneath(access, fd)
        if libc.syscall(add_rule, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)
