"""A Redis replica of the kit's Redis (``replicaof``), on its own port, in its own directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbdojo import procs, state
from dbdojo.launch import wait_until
from dbdojo.records import ServerRecord
from dbdojo.services.redis import RedisService

NAME = "redis_replica"


def primary_record() -> ServerRecord:
    """The kit's running Redis, or StartFailed saying how to get one."""
    record = state.get_record("redis")
    if record is None or not record.pid or not RedisService._ours(record.pid, record.port or 0):
        raise procs.StartFailed("the Redis replica needs the kit's own Redis running: `dojo up`")
    return record


def client(url: str, **kwargs: Any) -> Any:
    import redis

    kwargs.setdefault("socket_timeout", 5)
    return redis.Redis.from_url(url, decode_responses=True, **kwargs)


class RedisReplica(RedisService):
    """The kit's Redis service, started as a replica of the kit's Redis."""

    name = NAME
    label = "Redis replica"

    def start(self, previous: ServerRecord | None) -> ServerRecord:
        primary = primary_record()
        prepare_master(primary)
        self._master_port = primary.port
        record = super().start(previous)
        record.extra["primary_port"] = primary.port
        caught_up(record, primary, timeout=30)  # ready means synced; else `dojo status` tells
        return record

    def _config(self, port: int, password: str, home: Path) -> str:
        return super()._config(port, password, home) + "\n".join(
            [
                f"replicaof 127.0.0.1 {self._master_port}",
                f"masterauth {password}",
                "replica-read-only yes",
                "replica-serve-stale-data yes",  # serve (possibly old) data when the link is down
                "repl-diskless-sync-delay 0",  # matters once promoted, with replicas of its own
                "",
            ]
        )


def prepare_master(primary: ServerRecord) -> None:
    """The master starts a diskless full sync at once instead of waiting ~5 s for more
    replicas to join (a runtime setting: the master's own config file is left alone)."""
    with client(primary.url) as master:
        master.config_set("repl-diskless-sync-delay", 0)


def follow(replica: ServerRecord, primary: ServerRecord, timeout: float = 60) -> bool:
    """Point the replica at the master again (after REPLICAOF NO ONE or another master) and
    wait until the link is up and the replica has caught up."""
    prepare_master(primary)
    with client(replica.url) as rep:
        info = rep.info("replication")
        if info.get("role") != "slave" or info.get("master_port") != primary.port:
            rep.execute_command("REPLICAOF", "127.0.0.1", str(primary.port))
    return caught_up(replica, primary, timeout)


def caught_up(replica: ServerRecord, primary: ServerRecord, timeout: float) -> bool:
    def check() -> bool:
        lag = offsets(replica, primary)
        return lag is not None and lag["link"] == "up" and lag["bytes_behind"] == 0

    return wait_until(check, timeout, interval=0.05)


def offsets(replica: ServerRecord, primary: ServerRecord) -> dict[str, Any] | None:
    """The replica's role, link state and how many bytes of the master's replication stream it
    has not processed yet (``INFO replication`` offsets); None if either does not answer."""
    import redis

    try:
        with client(primary.url) as master, client(replica.url) as rep:
            theirs = master.info("replication")
            mine = rep.info("replication")
    except redis.RedisError:
        return None
    if mine.get("role") != "slave":
        return {"role": "master", "link": "-", "bytes_behind": None}
    following = mine.get("master_port") == primary.port
    behind = theirs.get("master_repl_offset", 0) - mine.get("slave_repl_offset", 0)
    return {
        "role": "replica" if following else f"replica of port {mine.get('master_port')}",
        "link": mine.get("master_link_status", "?"),
        "bytes_behind": max(behind, 0) if following else None,
    }
