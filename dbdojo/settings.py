"""Connection URLs from the user's environment or ``.env`` (backend 1: bring your own servers)."""

from __future__ import annotations

import os

from dotenv import dotenv_values

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


def classroom_kernel() -> bool:
    """True in a classroom learner's kernel (the hub sets ``DOJO_CLASSROOM=1``): checks go to
    the classroom service, and the learner's own credentials are the only ones there."""
    return os.environ.get(CLASSROOM_ENV) == "1"


def strict() -> bool:
    """``DOJO_STRICT`` (set by the tests): errors raise instead of printing, and a ``%%check``
    that does not pass raises. On for any value but empty, ``0``, ``false`` and ``no``."""
    return os.environ.get(STRICT_ENV, "").strip().lower() not in ("", "0", "false", "no")


class BadURL(DojoError, ValueError):
    """A user-given URL that cannot be right."""


def user_urls() -> dict[str, str]:
    """URLs the user gave, by service: the environment first, then ``.env`` in the checkout."""
    dotenv = dotenv_values(project_root() / ".env")
    found: dict[str, str] = {}
    for service, var in ENV_VARS.items():
        value = os.environ.get(var) or dotenv.get(var)
        if value:
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
