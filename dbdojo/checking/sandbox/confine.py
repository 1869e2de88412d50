"""What the answer's process gives up before it reads the answer: run in that process.

In order: its own network namespace (root only: loopback down, so no TCP at all), resource
limits, the unprivileged sandbox user (root only), then Landlock (no file outside the Python
installation and its scratch directory, no TCP, no signals out).
"""

from __future__ import annotations

import os
import resource
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dbdojo.checking.sandbox import landlock

MEMORY_BYTES = 1536 * 1024 * 1024
FILE_BYTES = 64 * 1024 * 1024
OPEN_FILES = 256
PROCESSES = 256  # per sandbox user, threads included; a learner's answer: this many more


@dataclass
class Confinement:
    """What the parent asks for, and (after :func:`apply`) what the kernel granted."""

    scratch: Path
    cpu_seconds: int
    uid: int | None = None  # root only: the sandbox user
    granted: list[str] = field(default_factory=list)


def readable_paths() -> list[Path]:
    """The Python installation and the kit's own package: never the checkout around it."""
    from dbdojo.paths import PACKAGE_DIR

    found = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    found |= {Path(p) for p in ("/usr", "/lib", "/lib64", "/bin", "/etc", "/dev/urandom")}
    found.add(PACKAGE_DIR)
    return sorted(found)


def apply(c: Confinement) -> Confinement:
    if c.uid is not None:
        os.unshare(os.CLONE_NEWNET)
        c.granted.append("own network namespace")
    limits = {
        resource.RLIMIT_AS: MEMORY_BYTES,
        resource.RLIMIT_CPU: c.cpu_seconds,
        resource.RLIMIT_FSIZE: FILE_BYTES,
        resource.RLIMIT_NOFILE: OPEN_FILES,
        resource.RLIMIT_CORE: 0,
    }
    if c.uid is not None:
        limits[resource.RLIMIT_NPROC] = PROCESSES
    elif os.geteuid() != 0:  # the learner's own uid: this many beyond what the learner runs
        limits[resource.RLIMIT_NPROC] = _within_hard_limit(_tasks_of(os.getuid()) + PROCESSES)
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))
    c.granted.append("memory, CPU, file and process limits")
    if c.uid is not None:
        os.setgroups([])
        os.setresgid(c.uid, c.uid, c.uid)
        os.setresuid(c.uid, c.uid, c.uid)
        c.granted.append(f"unprivileged uid {c.uid}")
    version = landlock.restrict(readable_paths(), [c.scratch, Path("/dev/null")])
    if version:
        c.granted.append(f"landlock ABI {version}")
    return c


def _tasks_of(uid: int) -> int:
    """The tasks (threads included) ``uid`` runs now: what RLIMIT_NPROC counts."""
    import psutil

    count = 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        uids, threads = proc.info["uids"], proc.info["num_threads"]
        if uids is not None and uids.real == uid:
            count += threads or 1
    return count


def _within_hard_limit(wanted: int) -> int:
    hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


def expected() -> tuple[str, str, str]:
    """(level, what answers will give up on this machine, how to get more) for `dojo doctor`."""
    version = landlock.abi()
    if os.geteuid() == 0:
        detail = "a sandbox uid of their own, an own network namespace"
        if version:
            return "ok", f"{detail}, Landlock ABI {version}", ""
        return "ok", f"{detail} (no Landlock on this kernel)", ""
    if version >= 4:
        return "ok", f"Landlock ABI {version}: no files outside Python, no TCP", ""
    if version:
        return (
            "warn",
            f"Landlock ABI {version} restricts files but not TCP: an answer could reach the "
            "MongoDB emulator (it has no passwords) directly",
            "grade a class's answers as root, or on Linux 6.7 or later",
        )
    return (
        "warn",
        "no Landlock: answers run in their own process with limits, but can read what you can "
        "read and reach servers on this machine",
        "grade a class's answers as root, or on Linux 6.7 or later",
    )
