"""``dojo.replicas()``: a notebook's handle on the replication topology (lesson X1).

It starts the replicas if they are not running (``dojo up --replicas``), connects to them on
the notebook's workspace, and holds the topology's lease until :meth:`Replicas.reset`, so two
notebooks never promote or stop the same replica at once.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from dbdojo import state
from dbdojo.connect import postgres_url, redis_url
from dbdojo.launch import wait_until
from dbdojo.services import replicas as topology
from dbdojo.workspace import Workspace, current

REPLICAS = ("postgres_replica", "redis_replica")


def _on_port(url: str, port: int) -> str:
    """``url`` (a workspace URL of a primary) pointed at the replica's port."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class Replicas:
    """Clients on the replicas: ``pg`` (psycopg, autocommit) and ``r`` (redis-py)."""

    def __init__(self, ws: Workspace, handle: Any) -> None:
        self.workspace = ws
        self._handle = handle
        self.pg: Any = None
        self.r: Any = None
        self.connect()

    # --- connections -----------------------------------------------------------------------

    def port(self, name: str) -> int:
        record = state.get_record(name)
        if record is None or record.port is None:
            raise RuntimeError(f"no {name} recorded: run `dojo up --replicas`")
        return record.port

    @property
    def pg_url(self) -> str:
        """The replica's URL for this workspace's database."""
        return _on_port(postgres_url(self.workspace), self.port("postgres_replica"))

    @property
    def redis_url(self) -> str:
        return _on_port(redis_url(self.workspace), self.port("redis_replica"))

    def connect(self) -> None:
        """(Re)connect ``pg`` and ``r``; waits until the workspace's database has reached the
        replica (a reset on the primary creates it anew)."""
        import psycopg
        import redis

        self.close()

        def attempt() -> bool:
            try:
                self.pg = psycopg.connect(self.pg_url, autocommit=True, connect_timeout=5)
            except psycopg.OperationalError:
                return False
            return True

        if not wait_until(attempt, 60, interval=0.2):
            raise RuntimeError(f"the replica has no database {self.workspace.database}")
        self.r = redis.Redis.from_url(self.redis_url, decode_responses=True, socket_timeout=10)

    def close(self) -> None:
        for client in (self.pg, self.r):
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
        self.pg = self.r = None

    # --- state of the topology ---------------------------------------------------------------

    def lag(self) -> dict[str, dict[str, Any] | None]:
        """Role and lag of each replica, as `dojo status` shows them."""
        return {name: topology.lag_of(name) for name in REPLICAS}

    def wait_for_replay(self, primary: Any, timeout: float = 30) -> float:
        """Seconds until the replica has replayed everything ``primary`` (a psycopg connection
        to the primary) had written when called."""
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        started = time.perf_counter()
        query = "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0"
        if not wait_until(lambda: self._poll(query, (target,)), timeout, 0.001):
            raise TimeoutError(f"the replica did not replay up to {target} in {timeout} s")
        return time.perf_counter() - started

    def _poll(self, query: str, params: tuple = ()) -> bool:
        """One short query on the replica; False (try again) when replay cancelled it or ended
        the session (a recovery conflict: a dropped database, a vacuumed row): then reconnect."""
        import psycopg.errors

        try:
            return bool(self.pg.execute(query, params).fetchone()[0])
        except psycopg.errors.SerializationFailure:  # the statement was cancelled
            return False
        except psycopg.OperationalError:  # the session was ended (DatabaseDropped, ...)
            self.connect()
            return False

    def promote(self, timeout: float = 60) -> bool:
        """``SELECT pg_promote()`` on the replica, then wait until it accepts writes.

        A replica that is behind replays the rest first, and a statement waiting that long
        (``pg_promote(wait => true)``) can be cancelled by a recovery conflict: ask without
        waiting, then poll with short queries, retrying one that replay cancelled."""
        self.pg.execute("SELECT pg_promote(wait => false)")
        if not wait_until(lambda: self._poll("SELECT NOT pg_is_in_recovery()"), timeout, 0.05):
            raise TimeoutError(f"the replica was not promoted within {timeout} s")
        return True

    def stop_postgres(self) -> None:
        """Stop the PostgreSQL replica (its slot on the primary stays)."""
        self.close()
        topology.stop("postgres_replica")

    def start_postgres(self) -> None:
        """Start the PostgreSQL replica again; it catches up from its slot."""
        outcome = topology.up(["postgres"])[0]
        if not outcome.ok:
            raise RuntimeError(outcome.detail)
        self.connect()

    # --- the end of a lesson -------------------------------------------------------------------

    def reset(self) -> list[str]:
        """``dojo reset --replicas``: both replicas follow their primaries again, caught up.
        Then the topology is free for other notebooks."""
        self.close()
        done = topology.rebuild()
        for line in done:
            print(line)
        self.connect()
        return done

    def release(self) -> None:
        """Let other notebooks use the topology (``reset`` does it too)."""
        if self._handle is not None:
            topology.release(self._handle)
            self._handle = None

    def __repr__(self) -> str:
        return f"<replicas of workspace {self.workspace.name}>"


def replicas(wait: float = 900) -> Replicas:
    """The replicas of the current workspace, started if needed. Waits up to ``wait`` seconds
    while another notebook uses them."""
    handle = topology.acquire(wait)
    try:
        outcomes = topology.up()
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError("; ".join(f"{o.service}: {o.detail}" for o in failed))
        if topology.left_promoted():
            print(
                "An earlier run left a replica promoted: rebuilding the topology first "
                "(`dojo reset --replicas`)."
            )
            for line in topology.rebuild():
                print(line)
        found = Replicas(current(), handle)
    except BaseException:
        topology.release(handle)
        raise
    print("Replicas ready: a PostgreSQL hot standby and a Redis replica (`dojo status`).")
    return found
