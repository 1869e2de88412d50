"""A copy-on-write file system where the disk has none: a sparse XFS image, loop-mounted.

Needs root (``mount``) and ``mkfs.xfs`` (Debian package ``xfsprogs``). The image file is
sparse: it costs only what is written into it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

MIN_BYTES = 512 * 1024**2  # XFS refuses file systems under 300 MB


class Refused(RuntimeError):
    """The image could not be made or mounted; the message says why."""


def unavailable() -> str | None:
    """Why no image can be mounted here (not root, no ``mkfs.xfs``), or None."""
    if os.geteuid() != 0:
        return "not root (mounting an image needs root)"
    if shutil.which("mkfs.xfs") is None and not Path("/usr/sbin/mkfs.xfs").exists():
        return "no mkfs.xfs (install the xfsprogs package)"
    return None


def _run(*cmd: str) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        raise Refused(f"`{' '.join(cmd)}` failed: {detail[-1] if detail else out.returncode}")


def mounted(directory: Path) -> bool:
    return directory.is_dir() and os.path.ismount(directory)


def mount(image: Path, directory: Path, size: int) -> None:
    """Make ``image`` (sparse, ``size`` bytes, XFS with reflink) if it is missing, grow it if
    smaller, and mount it on ``directory``; nothing to do if it is mounted there already."""
    problem = unavailable()
    if problem:
        raise Refused(problem)
    size = max(size, MIN_BYTES)
    directory.mkdir(parents=True, exist_ok=True)
    if not image.exists():
        image.parent.mkdir(parents=True, exist_ok=True)
        with open(image, "wb") as f:
            f.truncate(size)
        image.chmod(0o600)
        _run(shutil.which("mkfs.xfs") or "/usr/sbin/mkfs.xfs", "-q", "-m", "reflink=1", str(image))
    if not mounted(directory):
        _run("mount", "-o", "loop", str(image), str(directory))
    if image.stat().st_size < size:  # a larger class than last time: grow it, mounted
        with open(image, "r+b") as f:
            f.truncate(size)
        _run("losetup", "--set-capacity", _loop_device(image))
        _run("xfs_growfs", str(directory))


def _loop_device(image: Path) -> str:
    out = subprocess.run(
        ["losetup", "-j", str(image)], capture_output=True, text=True, check=True
    ).stdout
    return out.split(":", 1)[0]


def unmount(image: Path, directory: Path, remove: bool = True) -> None:
    """Unmount ``directory`` (a few tries: a server may still close files) and delete
    ``image`` when ``remove``."""
    for attempt in range(10):
        if not mounted(directory):
            break
        try:
            _run("umount", str(directory))
        except Refused:
            if attempt == 9:
                raise
            time.sleep(0.3)
    if remove:
        image.unlink(missing_ok=True)
        if directory.is_dir() and not mounted(directory):
            directory.rmdir()


def used_bytes(directory: Path) -> int:
    """Bytes in use on the file system mounted at ``directory``."""
    st = os.statvfs(directory)
    return (st.f_blocks - st.f_bfree) * st.f_frsize
