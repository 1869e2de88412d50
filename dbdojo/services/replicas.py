"""The replication topology of lesson X1: a replica next to each of the kit's primaries.

- ``postgres_replica``: a streaming hot standby of the kit's PostgreSQL (replica_postgres.py);
- ``redis_replica``: a ``replicaof`` replica of the kit's Redis (replica_redis.py).

Both are recorded in ``.dojo/state.json`` like the primaries. ``dojo up --replicas`` starts
them, ``dojo down`` stops them, ``dojo status`` shows their role and lag, and
``dojo reset --replicas`` rebuilds them from the primaries (after a learner promoted one).
A notebook that changes the topology holds its :func:`lease`, so two notebooks never promote,
stop or rebuild the same replica at once.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from dbdojo import procs, state
from dbdojo.connect import mask
from dbdojo.launch import Service
from dbdojo.paths import state_dir
from dbdojo.records import Outcome
from dbdojo.services import manager
from dbdojo.services.replica_postgres import PostgresReplica
from dbdojo.services.replica_redis import RedisReplica

PRIMARY_OF = {"postgres_replica": "postgres", "redis_replica": "redis"}
REPLICA_OF = {primary: replica for replica, primary in PRIMARY_OF.items()}
CATCH_UP_SECONDS = 120


class ReplicasUnavailable(procs.StartFailed):
    """The topology cannot be built here (a user URL, Docker, a primary that is down)."""


def replica_service(name: str) -> PostgresReplica | RedisReplica:
    if name == "postgres_replica":
        return PostgresReplica()
    if name == "redis_replica":
        return RedisReplica()
    raise KeyError(f"unknown replica {name!r}: choose from {', '.join(PRIMARY_OF)}")


def replicas_for(only: Iterable[str] | None) -> list[str]:
    """The replicas of the chosen primaries (``--only redis`` -> the Redis replica)."""
    chosen = set(only or REPLICA_OF)
    return [REPLICA_OF[p] for p in REPLICA_OF if p in chosen]


# --- the lease: one user of the topology at a time ----------------------------------------

_lease = threading.local()


@contextmanager
def lease(wait: float | None = None) -> Iterator[None]:
    """Exclusive use of the topology (re-entrant in a process). ``wait``: seconds to wait for
    another holder (None: forever); then ReplicasUnavailable names the holder."""
    if getattr(_lease, "fd", None) is not None:
        yield
        return
    handle = acquire(wait)
    try:
        yield
    finally:
        release(handle)


def acquire(wait: float | None = None) -> Any:
    """Take the lease and return its handle (keep it; :func:`release` gives it back)."""
    import time

    handle = open(state_dir() / "replicas.lock", "a+")  # noqa: SIM115 (held across calls)
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if deadline is not None and time.monotonic() > deadline:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise ReplicasUnavailable(
                    f"the replicas are in use by {holder}: finish or restart that notebook's "
                    "kernel, then try again"
                ) from None
            time.sleep(0.2)
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    _lease.fd = handle
    return handle


def release(handle: Any) -> None:
    if getattr(_lease, "fd", None) is handle:
        _lease.fd = None
    handle.close()


# --- up and down -----------------------------------------------------------------------------


def check_primaries(names: list[str]) -> None:
    """Replicas are made of the kit's own primaries; say what to do otherwise."""
    own = manager.user_urls()
    for name in names:
        primary = PRIMARY_OF[name]
        record = state.get_record(primary)
        if primary in own:
            raise ReplicasUnavailable(
                f"replicas are made of the kit's own servers, but you use your own "
                f"{primary} server (DOJO_{primary.upper()}_URL): unset it, or run the "
                "`replication` profile of docker-compose.yml"
            )
        if record is not None and record.backend == "docker":
            raise ReplicasUnavailable(
                "with Docker, the replicas come from docker-compose.yml: "
                "`docker compose --profile replication up -d`"
            )


def up(only: Iterable[str] | None = None) -> list[Outcome]:
    """Start (or adopt) the replicas of the chosen primaries, cloning them on first use."""
    names = replicas_for(only)
    outcomes = []
    with lease():
        try:
            check_primaries(names)
        except ReplicasUnavailable as exc:
            return [Outcome(n, "unavailable", detail=str(exc)) for n in names]
        for name in names:
            service = replica_service(name)
            try:
                if isinstance(service, PostgresReplica):
                    service.ensure_data()
            except (procs.StartFailed, OSError) as exc:
                outcomes.append(Outcome(name, "failed", detail=str(exc)))
                continue
            outcomes.append(manager.start_service(service, name, True))
    return outcomes


def down(only: Iterable[str] | None = None) -> list[Outcome]:
    """Stop the replicas of the chosen primaries (their data is kept)."""
    outcomes = []
    for name in replicas_for(only):
        with state.locked():
            record = state.get_record(name)
            if record is None:
                continue
            if not record.pid:
                outcomes.append(Outcome(name, "not running", record))
                continue
            replica_service(name).stop(record)
            record.pid = None
            state.put_record(record)
        outcomes.append(Outcome(name, "stopped", record))
    return outcomes


def stop(name: str) -> None:
    """Stop one replica (a notebook shows what a primary does while its replica is down)."""
    down([PRIMARY_OF[name]])


# --- rebuild -------------------------------------------------------------------------------


def rebuild(only: Iterable[str] | None = None) -> list[str]:
    """Make each replica a caught-up replica of its primary again, whatever the learner did
    (promoted it, stopped it, paused it, pointed it elsewhere); returns what was done."""
    names = replicas_for(only)
    done: list[str] = []
    with lease():
        check_primaries(names)
        if "postgres_replica" in names:
            done += _rebuild_postgres()
        if "redis_replica" in names:
            done += _rebuild_redis()
    return done


def left_promoted() -> bool:
    """Whether a replica no longer follows its primary because it was promoted (and the
    topology was never rebuilt): what a lesson must undo before it starts."""
    from dbdojo.services import replica_redis as rr

    if PostgresReplica().promoted():
        return True
    replica, primary = state.get_record("redis_replica"), state.get_record("redis")
    found = rr.offsets(replica, primary) if replica and primary else None
    return found is not None and found["role"] == "master"


def _start(name: str) -> None:
    outcome = up([PRIMARY_OF[name]])[0]
    if not outcome.ok:
        raise procs.StartFailed(f"{outcome.service}: {outcome.detail}")


def _rebuild_postgres() -> list[str]:
    from dbdojo.services import replica_postgres as pgr

    service = PostgresReplica()
    primary = pgr.primary_record()
    done = []
    with pgr.connect(primary.url) as conn:
        if conn.execute("SHOW synchronous_standby_names").fetchone()[0]:  # type: ignore[index]
            conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
            conn.execute("SELECT pg_reload_conf()")
            done.append("synchronous_standby_names reset on the primary")
        lost = conn.execute(
            "SELECT wal_status = 'lost' FROM pg_replication_slots WHERE slot_name = %s",
            (pgr.SLOT,),
        ).fetchone()
    if service.promoted() or (lost and lost[0]):
        down(["postgres"])
        if not (lost and lost[0]) and service.rewind():
            done.append("PostgreSQL replica rewound to the primary (pg_rewind)")
        else:
            service.discard()  # cloned again below
    if not (service.data_dir() / "PG_VERSION").exists():
        done.append("PostgreSQL replica cloned (pg_basebackup)")
    if not _start_streaming(primary.url, done):
        # it cannot follow (WAL it needs is gone, say): start over from a fresh copy
        down(["postgres"])
        service.discard()
        done.append("PostgreSQL replica cloned afresh (pg_basebackup)")
        if not _start_streaming(primary.url, done):
            raise procs.StartFailed(
                "the PostgreSQL replica does not stream from the primary: "
                "see `.dojo/postgres_replica/postgres.log`"
            )
    return done or ["PostgreSQL replica was already streaming"]


def _start_streaming(primary_url: str, done: list[str]) -> bool:
    """Start the PostgreSQL replica, resume a paused replay, and wait until it streams."""
    from dbdojo.services import replica_postgres as pgr

    try:
        _start("postgres_replica")
    except procs.StartFailed:
        return False  # a standby that never gets consistent is not "ready"
    record = state.get_record("postgres_replica")
    assert record is not None
    with pgr.connect(record.url) as conn:
        paused = conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()
        if paused and paused[0] != "not paused":
            conn.execute("SELECT pg_wal_replay_resume()")
            done.append("WAL replay resumed on the replica")
    if not pgr.streaming(primary_url, CATCH_UP_SECONDS):
        return False
    if not pgr.replayed(primary_url, record.url, CATCH_UP_SECONDS):
        done.append(f"PostgreSQL replica streams but is still replaying after {CATCH_UP_SECONDS} s")
    return True


def _rebuild_redis() -> list[str]:
    from dbdojo.services import replica_redis as rr

    _start("redis_replica")
    replica, primary = state.get_record("redis_replica"), rr.primary_record()
    assert replica is not None
    before = rr.offsets(replica, primary)
    if not rr.follow(replica, primary, CATCH_UP_SECONDS):
        raise procs.StartFailed(
            f"the Redis replica did not catch up with its master: see `{replica.log_file}`"
        )
    if before and before["role"] == "replica" and before["link"] == "up":
        return ["Redis replica was already following its master"]
    return ["Redis replica follows its master again (full resync)"]


# --- status ---------------------------------------------------------------------------------


def status_rows() -> list[manager.Row]:
    """A ``dojo status`` row per recorded replica: role and lag in the note."""
    rows = []
    for name in PRIMARY_OF:
        record = state.get_record(name)
        if record is None:
            continue
        service: Service = replica_service(name)
        if not record.pid:
            rows.append(
                manager.Row(name, record.backend, record.version, mask(record.url), False, None,
                            "stopped: `dojo up --replicas` starts it")
            )  # fmt: skip
            continue
        health = service.probe(record.url)
        alive = manager.process_alive(record)
        note = describe(name) if health.healthy and alive else (health.detail or "process gone")
        rows.append(
            manager.Row(name, record.backend, health.version or record.version, mask(record.url),
                        health.healthy and alive, record.pid, note)
        )  # fmt: skip
    return rows


def describe(name: str) -> str:
    """Role and lag of a running replica, in words."""
    lag = lag_of(name)
    if lag is None:
        return "primary does not answer"
    if lag["role"] != "replica":
        return f"role: {lag['role']} (`dojo reset --replicas` makes it a replica again)"
    seconds = f", replay lag {lag['seconds']:.3f} s" if lag.get("seconds") is not None else ""
    return f"replica, {lag['state']}, {lag['bytes_behind']} bytes behind{seconds}"


def lag_of(name: str) -> dict[str, Any] | None:
    """``{"role", "state", "bytes_behind", "seconds"}`` for a replica, probed now."""
    if name == "postgres_replica":
        return _postgres_lag()
    from dbdojo.services import replica_redis as rr

    replica, primary = state.get_record(name), state.get_record("redis")
    if replica is None or primary is None:
        return None
    found = rr.offsets(replica, primary)
    if found is None:
        return None
    return {"role": found["role"], "state": f"link {found['link']}",
            "bytes_behind": found["bytes_behind"], "seconds": None}  # fmt: skip


def _postgres_lag() -> dict[str, Any] | None:
    import psycopg

    from dbdojo.services import replica_postgres as pgr

    replica, primary = state.get_record("postgres_replica"), state.get_record("postgres")
    if replica is None or primary is None:
        return None
    try:
        with pgr.connect(replica.url) as conn:
            standby = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]  # type: ignore[index]
        with pgr.connect(primary.url) as conn:
            row = conn.execute(
                "SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
                "extract(epoch FROM replay_lag)::float8 "
                "FROM pg_stat_replication WHERE application_name = %s",
                (pgr.SLOT,),
            ).fetchone()
    except psycopg.Error:
        return None
    if not standby:
        return {"role": "primary (promoted)", "state": "-", "bytes_behind": None, "seconds": None}
    if row is None:
        return {"role": "replica", "state": "not connected", "bytes_behind": None,
                "seconds": None}  # fmt: skip
    return {"role": "replica", "state": row[0], "bytes_behind": row[1], "seconds": row[2]}
