"""The user's settings: every ``DOJO_*`` variable the kit reads, each with a typed accessor.

The values come from the environment (:mod:`dbdojo.env`); the connection URLs, the class size
and the classroom service's address and token also from ``.env`` in the checkout. Each
accessor reads when called, so a change of the environment (a test's ``monkeypatch``) shows
at once. ``dbdojo/README.md`` lists them all in one table. Two more are read below this
module, by :mod:`dbdojo.paths`: ``DOJO_HOME`` and ``DOJO_STATE_DIR`` locate the checkout, and
so its ``.env``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dbdojo import env
from dbdojo.errors import DojoError
from dbdojo.paths import project_root

SERVICES = ("postgres", "mongo", "redis", "mysql")
ENV_VARS = {name: f"DOJO_{name.upper()}_URL" for name in SERVICES}
URL_SCHEMES = {
    "postgres": ("postgresql://", "postgres://"),
    "mongo": ("mongodb://", "mongodb+srv://"),
    "redis": ("redis://", "rediss://", "unix://"),
    "mysql": ("mysql://", "mariadb://"),
}

STRICT_ENV = "DOJO_STRICT"
CLASSROOM_ENV = "DOJO_CLASSROOM"
WORKSPACE_ENV = "DOJO_WORKSPACE"
WORKSPACE_SUFFIX_ENV = "DOJO_WORKSPACE_SUFFIX"
CLASS_SIZE_ENV = "DOJO_CLASS_SIZE"
MONGO_TIME_LIMIT_ENV = "DOJO_MONGO_TIME_LIMIT"
RESET_SPARES_ENV = "DOJO_RESET_SPARES"
DEFAULT_CLASS_SIZE = 20
UNPRIVILEGED_USER = "nobody"


def _dotenv() -> Path:
    return project_root() / ".env"


# --- what kind of process this is ---------------------------------------------------------


def classroom_kernel() -> bool:
    """True in a classroom learner's kernel (the hub sets ``DOJO_CLASSROOM=1``): checks go to
    the classroom service, and the learner's own credentials are the only ones there."""
    return env.value(CLASSROOM_ENV) == "1"


def strict() -> bool:
    """``DOJO_STRICT`` (set by the tests): errors raise instead of printing, and a ``%%check``
    that does not pass raises. On for any value but empty, ``0``, ``false`` and ``no``."""
    return (env.value(STRICT_ENV) or "").strip().lower() not in ("", "0", "false", "no")


def workspace_name() -> str | None:
    """``DOJO_WORKSPACE``: the workspace a notebook or an answer works on (unset: ``main``)."""
    return env.value(WORKSPACE_ENV) or None


def workspace_suffix() -> str:
    """``DOJO_WORKSPACE_SUFFIX``: appended to the names given to ``dojo.use_workspace()``
    (the tests give each worker its own copy)."""
    return env.value(WORKSPACE_SUFFIX_ENV) or ""


def learner() -> str:
    """``DOJO_LEARNER``, else the OS user: whose progress a check records."""
    return env.value("DOJO_LEARNER") or getpass.getuser()


def labs_dir() -> Path | None:
    """``DOJO_LABS_DIR``: another course's labs (tests); ``None``: the checkout's ``labs/``."""
    found = env.value("DOJO_LABS_DIR")
    return Path(found) if found else None


# --- the servers the kit runs ---------------------------------------------------------------


def run_as() -> str:
    """``DOJO_RUN_AS``: the account servers run as when the kit runs as root (``nobody``)."""
    found = env.value("DOJO_RUN_AS")
    return UNPRIVILEGED_USER if found is None else found


def pg_no_sync() -> bool:
    """``DOJO_PG_NO_SYNC=1`` (tests only): ``initdb --no-sync``, no fsync of a new cluster."""
    return env.value("DOJO_PG_NO_SYNC") == "1"


def sandbox_uid_base() -> int:
    """``DOJO_SANDBOX_UID_BASE``: the first of the user ids answers run as (1800000000)."""
    return int(env.value("DOJO_SANDBOX_UID_BASE") or "1800000000")


def mongo_time_limit() -> float:
    """Seconds a notebook's MongoDB operation may take (``timeoutMS`` of ``db``): 120, or
    ``DOJO_MONGO_TIME_LIMIT``; a runaway or interrupted query stops on the server then."""
    try:
        return max(0.1, float(env.value(MONGO_TIME_LIMIT_ENV) or "120"))
    except ValueError:
        return 120.0


_spares: list[bool] = []  # this process's choice (innermost last), over the environment's


def reset_spares() -> bool:
    """Whether a reset prepares the workspace's next copy in the background (a spare): on,
    unless ``DOJO_RESET_SPARES=0`` or this process chose otherwise (:func:`spares`)."""
    if _spares:
        return _spares[-1]
    return (env.value(RESET_SPARES_ENV) or "1") != "0"


@contextmanager
def spares(enabled: bool) -> Iterator[None]:
    """Resets in this process (all its threads) prepare spares or not, whatever the
    environment says; child processes are not affected."""
    _spares.append(enabled)
    try:
        yield
    finally:
        _spares.pop()


def no_spares_by_default() -> None:
    """From now on this process's resets prepare no spare copy, unless the environment sets
    ``DOJO_RESET_SPARES`` (a classroom: a spare per learner would take half the disk)."""
    if env.value(RESET_SPARES_ENV) is None:
        _spares.append(False)


class BadClassSize(DojoError, ValueError):
    """``DOJO_CLASS_SIZE`` is not a positive whole number."""


def class_size() -> int:
    """``DOJO_CLASS_SIZE`` (environment or ``.env``): the learners one PostgreSQL server
    expects (default 20)."""
    raw = env.value(CLASS_SIZE_ENV, _dotenv())
    if not raw:
        return DEFAULT_CLASS_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise BadClassSize(f"{CLASS_SIZE_ENV}={raw!r}: give the number of learners, e.g. 30")
    return size


# --- the classroom service, seen from a learner's kernel ----------------------------------


CHECK_URL_ENV = "DOJO_CHECK_URL"
CHECK_TOKEN_ENV = "DOJO_CHECK_TOKEN"


def check_url() -> str | None:
    """``DOJO_CHECK_URL`` (environment or ``.env``): where a classroom kernel's checks go."""
    return env.value(CHECK_URL_ENV, _dotenv()) or None


def check_token() -> str | None:
    """``DOJO_CHECK_TOKEN`` (environment or ``.env``): the learner's token there."""
    return env.value(CHECK_TOKEN_ENV, _dotenv()) or None


# --- the user's own servers (backend 1) ---------------------------------------------------


class BadURL(DojoError, ValueError):
    """A user-given URL that cannot be right."""


def url_setting(service: str, dotenv: bool = True) -> str | None:
    """The URL the user gave for ``service`` (``DOJO_<SERVICE>_URL``), unchecked: from the
    environment, else (``dotenv``) from ``.env`` in the checkout."""
    return env.value(ENV_VARS[service], _dotenv() if dotenv else None) or None


def user_urls() -> dict[str, str]:
    """URLs the user gave, by service: the environment first, then ``.env`` in the checkout."""
    found: dict[str, str] = {}
    for service, var in ENV_VARS.items():
        if value := url_setting(service):
            found[service] = validate_url(service, value.strip(), var)
    return found


def validate_url(service: str, url: str, source: str) -> str:
    """Return ``url`` if its scheme fits ``service``; raise BadURL saying what is wrong."""
    schemes = URL_SCHEMES[service]
    if not url.startswith(schemes):
        raise BadURL(
            f"{source}={url!r} is not a {service} URL: it must start with "
            f"{' or '.join(schemes)} (fix it in the environment or in .env)"
        )
    return url
