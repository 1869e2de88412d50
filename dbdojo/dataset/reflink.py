"""Copy-on-write files: can a directory clone them, and how many bytes a file keeps to itself.

On a reflink file system (XFS made with reflink, the default since xfsprogs 5.1; btrfs) a
clone shares every block with its source until one side writes it. PostgreSQL 18 clones a
database's files when ``file_copy_method = clone`` (``copy_file_range()`` on Linux); on ext4
the same call copies every byte, so the kit asks the file system first (:func:`supported`).

``FIEMAP`` tells which extents of a file are shared (:func:`private_bytes`): what a clone
really costs on disk, where ``pg_database_size`` counts the shared blocks as well.
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
import struct
import sys
import tempfile
from functools import cache
from pathlib import Path

FICLONE = 0x40049409  # _IOW(0x94, 9, int)
FS_IOC_FIEMAP = 0xC020660B  # _IOWR('f', 11, struct fiemap)
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_SHARED = 0x2000
_HEADER = struct.Struct("=QQLLLL")  # fm_start, fm_length, flags, mapped, count, reserved
_EXTENT = struct.Struct("=QQQQQLLLL")  # logical, physical, length, 2 reserved, flags, 3 reserved
_BATCH = 256  # extents asked for per call
_NOT_SUPPORTED = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.ENOSYS}


def supported(directory: Path) -> bool:
    """Whether files in ``directory`` can be cloned (an ``FICLONE`` of a small file there
    succeeds). False off Linux, where the directory is missing or not writable, or where the
    file system copies instead."""
    if not sys.platform.startswith("linux") or not os.access(directory, os.W_OK | os.X_OK):
        return False
    try:
        with (
            tempfile.NamedTemporaryFile(dir=directory, prefix=".dojo-reflink-") as source,
            tempfile.NamedTemporaryFile(dir=directory, prefix=".dojo-reflink-") as clone,
        ):
            source.write(b"\0" * 65536)
            source.flush()
            fcntl.ioctl(clone.fileno(), FICLONE, source.fileno())
    except OSError as exc:
        if exc.errno in _NOT_SUPPORTED or exc.errno in (errno.EACCES, errno.EPERM, errno.ENOENT):
            return False
        raise
    return True


@cache
def supported_cached(directory: str) -> bool:
    """:func:`supported`, asked once per directory and process."""
    return supported(Path(directory))


def _extents(fd: int):
    """(length, flags) of every extent of the open file ``fd``."""
    start = 0
    while True:
        buf = array.array("B", bytes(_HEADER.size + _BATCH * _EXTENT.size))
        _HEADER.pack_into(buf, 0, start, 2**64 - 1 - start, FIEMAP_FLAG_SYNC, 0, _BATCH, 0)
        fcntl.ioctl(fd, FS_IOC_FIEMAP, buf, True)
        mapped = _HEADER.unpack_from(buf, 0)[3]
        if mapped == 0:
            return
        for i in range(mapped):
            logical, _, length, _, _, flags, *_ = _EXTENT.unpack_from(
                buf, _HEADER.size + i * _EXTENT.size
            )
            yield length, flags
            if flags & FIEMAP_EXTENT_LAST:
                return
        start = logical + length


def file_private_bytes(path: Path) -> int:
    """Bytes of ``path``'s extents that no other file shares."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return sum(n for n, flags in _extents(fd) if not flags & FIEMAP_EXTENT_SHARED)
    finally:
        os.close(fd)


def private_bytes(directory: Path) -> int:
    """Bytes the files under ``directory`` keep to themselves (shared extents not counted; a
    file that disappears while counted counts nothing)."""
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            try:
                total += file_private_bytes(Path(root) / name)
            except FileNotFoundError:
                continue
    return total
