"""The database services the kit runs, by name, in the order ``dojo`` shows them.

Service modules are imported on first use: ``dojo --help`` stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbdojo.settings import SERVICES

if TYPE_CHECKING:
    from dbdojo.launch import Service


def load(name: str) -> Service:
    """The primary service ``name`` (replicas: :func:`.replicas.replica_service`); raises
    ImportError (with the reason) if its module is missing."""
    if name == "postgres":
        from dbdojo.services.postgres import PostgresService

        return PostgresService()
    if name == "redis":
        from dbdojo.services.redis import RedisService

        return RedisService()
    if name == "mongo":
        from dbdojo.mongo.service import MongoService

        return MongoService()
    if name == "mysql":
        from dbdojo.services.mysql import MysqlService

        return MysqlService()
    raise KeyError(f"unknown service {name!r}: choose one of {', '.join(SERVICES)}")


def registry() -> tuple[dict[str, Service], dict[str, str]]:
    """All services this install can run, and why the others cannot (name -> reason)."""
    available: dict[str, Service] = {}
    missing: dict[str, str] = {}
    for name in SERVICES:
        try:
            available[name] = load(name)
        except ImportError as exc:
            missing[name] = f"{exc} (reinstall the kit: `pip install -e '.[embedded]'`)"
    return available, missing
