"""The one-line banner a notebook prints: each database, its backend and its version."""

from __future__ import annotations

import json
from typing import Any

from dbdojo.paths import state_dir
from dbdojo.settings import user_urls

PREFIX = "dbdojo ▸ "
BACKEND_WORDS = {"url": "your server", "embedded": "embedded", "system": "system binary"}


def backend(service: str) -> str:
    """Where ``service`` runs: the user's own URL, else what ``dojo up`` recorded."""
    if service in user_urls():
        return "your server"
    path = state_dir() / "state.json"
    try:
        record = json.loads(path.read_text()).get("services", {}).get(service, {})
    except (OSError, ValueError):
        record = {}
    name = record.get("backend", "unknown backend")
    return BACKEND_WORDS.get(name, name)


def postgres(conn: Any) -> str:
    version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    return f"PostgreSQL {version} ({backend('postgres')})"


def redis(client: Any) -> str:
    """Valkey says which Redis it is compatible with: its ``redis_version`` (7.2.4) is not
    its own version, so the banner says both."""
    info = client.info("server")
    if "valkey_version" in info:
        compatible = info.get("redis_version", "?")
        return (
            f"Valkey {info['valkey_version']} ({backend('redis')}; reports redis_version "
            f"{compatible}, the Redis it is compatible with)"
        )
    return f"Redis {info.get('redis_version', '?')} ({backend('redis')})"


def mongo(database: Any) -> str:
    """The MongoDB part; the emulator is named as such, with where its differences are listed."""
    client = database.client
    from dbdojo.mongo.service import describe

    about = describe(client)
    if not about.get("limits_doc"):
        return f"MongoDB {about['dialect']} ({backend('mongo')})"
    return f"MongoDB {about['dialect']} on the {about['label']}: see {about['limits_doc']}"


def line(parts: list[str]) -> str:
    return PREFIX + " · ".join(parts)
