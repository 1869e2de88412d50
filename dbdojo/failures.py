"""Failures a ``dojo`` command can meet that are not bugs, each said in one sentence with the
command that fixes it, instead of a traceback: a server that dies mid-command, a full disk, a
damaged state file, no room for another workspace."""

from __future__ import annotations

import errno
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
NEARLY_FULL = 64 * 2**20  # bytes: below this, servers may fail to start or to save
FREE_SPACE = (
    "`dojo workspaces` shows what each workspace takes and `dojo drop WORKSPACE...` removes "
    "those you do not need"
)


def disk_free(path: Path) -> int:
    """Free bytes on the file system holding ``path`` (for whoever runs the kit)."""
    return shutil.disk_usage(path).free


def disk_full_advice(path: Path) -> str:
    """A sentence saying the disk holding ``path`` is (nearly) full and what to delete, or
    empty if it is not."""
    free = disk_free(path)
    if free >= NEARLY_FULL:
        return ""
    return f"the disk holding {path} is full ({free // 2**20} MB free): free space ({FREE_SPACE})"


def explain(exc: BaseException, command: str) -> str | None:
    """One clear sentence for ``exc`` met while running ``command`` (``dojo seed``...), or None
    if it is not one of these (then it is a bug, and its traceback is worth having)."""
    for error in _chain(exc):
        if message := _explain_one(error, command):
            return message
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _explain_one(exc: BaseException, command: str) -> str | None:
    from dbdojo import state
    from dbdojo.workspace import NoRoomForWorkspace

    if isinstance(exc, (state.StateDamaged, state.CredentialsLost, NoRoomForWorkspace)):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"the disk is full{where}: free space ({FREE_SPACE}), then run `{command}` again"
    if service := _server_lost(exc):
        return (
            f"the {service} server stopped or died while `{command}` ran ({_first_line(exc)}): "
            f"restart it with `dojo up`, then run `{command}` again (it picks up where it was)"
        )
    return None


def _server_lost(exc: BaseException) -> str | None:
    """Which server ``exc`` says is gone (its connection lost, or refused), if any."""
    psycopg, redis = sys.modules.get("psycopg"), sys.modules.get("redis")
    pymongo = sys.modules.get("pymongo")
    if psycopg and isinstance(exc, psycopg.Error) and pg_session_lost(exc):
        return "PostgreSQL"
    if redis and isinstance(exc, (redis.ConnectionError, redis.BusyLoadingError)):
        return "Redis"
    if pymongo and isinstance(exc, pymongo.errors.ConnectionFailure):
        return "MongoDB"
    control = sys.modules.get("dbdojo.mongo.emulator.control")  # loaded if it raised
    kinds = (ConnectionError, control.ControlError) if control else (ConnectionError,)
    if isinstance(exc, kinds) and "emulator" in str(exc):
        return "MongoDB"
    return None


def pg_session_lost(exc: psycopg.Error, conn: psycopg.Connection | None = None) -> bool:
    """Whether PostgreSQL's error ``exc`` ended the session (the server stopped or died, the
    session was terminated, the connection failed) rather than being an error of a statement;
    ``conn``: the session's connection, which is then broken or closed."""
    state = exc.sqlstate or ""
    if state.startswith(("57P", "08")):
        return True
    if conn is not None:
        return conn.broken or conn.closed
    return isinstance(exc, sys.modules["psycopg"].OperationalError) and not state


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
