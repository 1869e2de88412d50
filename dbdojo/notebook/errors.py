"""Cells that provoke an error on purpose: ``dojo.expect_error()`` and ``%%expect_error``.

The block must fail; the error is shown compactly (database, error class, message) and the
notebook goes on. If nothing fails, the block fails instead, so a lesson that claims "this
violates the constraint" stays true.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


class NoErrorRaised(AssertionError):
    """The block was expected to fail and did not."""


@dataclass
class ErrorInfo:
    source: str  # PostgreSQL, MongoDB, Redis or Python
    kind: str  # the error class, e.g. UniqueViolation
    code: str  # SQLSTATE or server error code, "" if none
    message: str
    detail: str = ""
    constraint: str = ""  # the violated constraint's name (PostgreSQL), "" if none

    def matches(self, expected: str) -> bool:
        names = (self.kind, self.code, self.source, self.constraint)
        return bool(expected) and expected in names

    def compact(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        constraint = f" (constraint {self.constraint})" if self.constraint else ""
        text = f"{self.source} {self.kind}{code}{constraint}: {self.message}"
        return f"{text}\n  {self.detail}" if self.detail else text


def _driver_error(exc: BaseException) -> BaseException:
    """The database driver's exception behind SQLAlchemy and jupysql wrappers."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        orig = getattr(exc, "orig", None)  # sqlalchemy.exc.DBAPIError
        if isinstance(orig, BaseException):
            exc = orig
        elif type(exc).__name__ == "UsageError" and exc.__cause__ is not None:
            exc = exc.__cause__  # jupysql's short errors wrap the original
        else:
            break
    return exc


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def describe_error(exc: BaseException) -> ErrorInfo:
    """Which database failed, with which error class and message."""
    exc = _driver_error(exc)
    module = type(exc).__module__.split(".")[0]
    kind = type(exc).__name__
    if module == "psycopg":
        diag = exc.diag  # type: ignore[attr-defined]
        detail = f"DETAIL: {diag.message_detail}" if diag.message_detail else ""
        message = diag.message_primary or _first_line(str(exc))
        sqlstate = exc.sqlstate or ""  # type: ignore[attr-defined]
        return ErrorInfo("PostgreSQL", kind, sqlstate, message, detail, diag.constraint_name or "")
    if module == "pymysql":  # MariaDB/MySQL (lesson X3): (code, message)
        args = getattr(exc, "args", ())
        code = str(args[0]) if args else ""
        message = str(args[1]) if len(args) > 1 else _first_line(str(exc))
        return ErrorInfo("MariaDB", kind, code, message)
    if module in ("pymongo", "bson"):
        details = getattr(exc, "details", None) or {}
        message = details.get("errmsg") or _first_line(str(exc))
        code = getattr(exc, "code", None)
        return ErrorInfo("MongoDB", kind, "" if code is None else str(code), message)
    if module == "redis":
        return ErrorInfo("Redis", kind, "", _first_line(str(exc)))
    return ErrorInfo("Python", kind, "", _first_line(str(exc)))


@contextmanager
def expect_error(expected: str | None = None, match: str | None = None) -> Iterator[None]:
    """A block that must fail. ``expected`` names the error class or code (``UniqueViolation``,
    ``23505``, ``DuplicateKeyError``, ``11000``, ``ResponseError``) or the violated
    constraint (``orders_total_check``); ``match`` is a regular
    expression the message must contain. Prints the error compactly and carries on."""
    try:
        yield
    except Exception as exc:
        info = describe_error(exc)
        if expected and not info.matches(expected):
            raise AssertionError(f"expected {expected}, got {info.compact()}") from exc
        if match and not re.search(match, f"{info.message}\n{info.detail}"):
            wanted = f"a message matching {match!r}"
            raise AssertionError(f"expected {wanted}, got {info.compact()}") from exc
        print(f"✔ error, as expected: {info.compact()}")
    else:
        wanted = f" ({expected})" if expected else ""
        raise NoErrorRaised(f"expected an error{wanted}, but the block ran without one")


def expect_error_magic(ip: Any, line: str, cell: str) -> None:
    """``%%expect_error [ERROR] [--sql ARGS]``: run the cell's SQL with ``%%sql``; it must fail.

    The first word of the line, if any, is the expected error class or code.
    """
    from dbdojo.notebook import sqlmagic

    expected = line.split()[0] if line.split() else None
    sqlmagic.ensure_loaded(ip)
    previous = sqlmagic.short_errors(ip)
    sqlmagic.set_short_errors(ip, False)  # raise the driver's exception, print nothing
    try:
        with expect_error(expected):
            ip.run_cell_magic("sql", "", cell)
    finally:
        sqlmagic.set_short_errors(ip, previous)


def _is_database_error(exc: BaseException) -> bool:
    module = type(_driver_error(exc)).__module__.split(".")[0]
    return module in ("psycopg", "pymongo", "bson", "redis")


def show_database_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset=None):
    """IPython custom exception handler for learners: a database error is shown as the
    database's own message, without a Python traceback, an interrupted ``%sql`` query as one
    line; anything else as usual."""
    from dbdojo.notebook.sqlmagic import QueryInterrupted

    if isinstance(value, QueryInterrupted):
        print(f"⏹ Interrupted: {value}", file=sys.stderr)
        return None
    if not _is_database_error(value):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    info = describe_error(value)
    code = f" [{info.code}]" if info.code else ""
    text = str(_driver_error(value)).strip() if info.source == "PostgreSQL" else info.message
    print(f"✘ {info.source} {info.kind}{code}: {text}", file=sys.stderr)
    return None


def install_learner_handler(ip: Any) -> None:
    """Show database errors compactly (``%sql`` wraps them in IPython's UsageError)."""
    from IPython.core.error import UsageError

    from dbdojo.notebook.sqlmagic import QueryInterrupted

    errors = (UsageError, QueryInterrupted, *_driver_error_classes())
    ip.set_custom_exc(errors, show_database_error)


def _driver_error_classes() -> tuple[type[BaseException], ...]:
    import psycopg
    import pymongo.errors
    import redis.exceptions
    import sqlalchemy.exc

    return (
        psycopg.Error,
        sqlalchemy.exc.DBAPIError,
        pymongo.errors.PyMongoError,
        redis.exceptions.RedisError,
    )
