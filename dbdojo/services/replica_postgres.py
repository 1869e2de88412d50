"""A PostgreSQL streaming replica of the kit's primary, on its own port.

Made with ``pg_basebackup -R -X stream`` (a copy of the whole cluster that starts as a hot
standby) through a physical replication slot, so a stopped replica can always catch up. After a
promotion, ``pg_rewind`` turns it back into a replica of the primary: only the blocks that
changed since the timelines split are copied, not the whole cluster again.
"""

from __future__ import annotations

import shutil
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from dbdojo import procs, state
from dbdojo.launch import wait_until
from dbdojo.records import ServerRecord
from dbdojo.services.postgres import SUPERUSER, PostgresService
from dbdojo.state import server_home

if TYPE_CHECKING:
    from collections.abc import Iterator

    import psycopg

NAME = "postgres_replica"
SLOT = "dojo_replica"  # also the replica's application_name (pg_stat_replication)
# Bounds the WAL a slot may pin while its replica is down; beyond it the slot is invalidated
# ("lost") and `dojo reset --replicas` clones a fresh replica instead of filling the disk.
SLOT_WAL_LIMIT = "4GB"
# pg_rewind reads the replica's own WAL back to the last checkpoint before the timelines split;
# a standby recycles it at its restartpoints. Keeping about a checkpoint's distance of WAL
# (max_wal_size is 1GB) lets a promoted replica be rewound instead of cloned again.
REPLICA_WAL_KEEP = "1GB"
CLONE_TIMEOUT = 3600  # seconds: a base backup copies the whole cluster (every workspace)


def primary_record() -> ServerRecord:
    """The kit's running PostgreSQL primary, or StartFailed saying how to get one."""
    record = state.get_record("postgres")
    if (
        record is None
        or not record.pid
        or not procs.is_ours(record.pid, record.extra.get("started"), str(record.data_dir))
    ):
        raise procs.StartFailed(
            "the PostgreSQL replica needs the kit's own PostgreSQL running: run `dojo up`"
        )
    return record


@contextmanager
def connect(url: str) -> Iterator[psycopg.Connection]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        yield conn


class PostgresReplica(PostgresService):
    """The kit's PostgreSQL service, except that its data is cloned from the primary."""

    name = NAME
    label = "PostgreSQL replica"

    def start(self, previous: ServerRecord | None) -> ServerRecord:
        primary = primary_record()
        record = super().start(previous)
        record.extra.update(primary_port=primary.port, slot=SLOT)
        return record

    def _initdb(self, bindir: Path, data_dir: Path, password: str, user: procs.RunAs | None):
        clone(bindir, data_dir, user)

    # --- what the topology needs -------------------------------------------------------------

    def home(self) -> Path:
        return server_home(self.name, procs.run_as())

    def data_dir(self) -> Path:
        return self.home() / "data"

    def ensure_data(self) -> None:
        """Clone the primary unless a replica's data is already there (outside the state
        lock: a base backup of a large cluster takes minutes)."""
        data_dir = self.data_dir()
        if (data_dir / "PG_VERSION").exists():
            return
        user = procs.run_as()
        _, bindir = self._binaries(data_dir, user)
        clone(bindir, data_dir, user)

    def promoted(self) -> bool:
        """Whether the replica's data no longer is a standby (promoted, or never one)."""
        data_dir = self.data_dir()
        return (data_dir / "PG_VERSION").exists() and not (data_dir / "standby.signal").exists()

    def rewind(self) -> bool:
        """Make a promoted (stopped) replica a standby of the primary again with pg_rewind;
        False if that is impossible (then clone afresh)."""
        data_dir = self.data_dir()
        user = procs.run_as()
        _, bindir = self._binaries(data_dir, user)
        primary = primary_record()
        with connect(primary.url) as conn:
            prepare_primary(conn, drop_slot=False)
        result = procs.run(
            [str(bindir / "pg_rewind"), "-D", str(data_dir), "--source-server",
             conninfo(primary, passfile(primary)), "-R", "--no-sync"],
            user,
            timeout=CLONE_TIMEOUT,
        )  # fmt: skip
        if result.returncode != 0:
            return False
        # pg_rewind -R writes primary_conninfo and standby.signal, not the slot
        standby_settings(data_dir, slot=True)
        return True

    def discard(self) -> None:
        """Stop the replica's server if one still runs unrecorded (a start that timed out),
        then remove its data."""
        data_dir = self.data_dir()
        if running := self._running(data_dir):
            procs.stop(running[0], None, str(data_dir), sig=signal.SIGINT)
        shutil.rmtree(data_dir, ignore_errors=True)


def passfile(primary: ServerRecord) -> Path:
    """A password file the replica's user can read: the primary's password stays out of
    command lines and of the replica's configuration."""
    user = procs.run_as()
    path = server_home(NAME, user) / "pgpass"
    path.write_text(f"127.0.0.1:{primary.port}:*:{SUPERUSER}:{state.secret('postgres')}\n")
    path.chmod(0o600)
    procs.give_to(path, user)
    return path


def conninfo(primary: ServerRecord, pass_file: Path) -> str:
    return (
        f"host=127.0.0.1 port={primary.port} user={SUPERUSER} passfile={pass_file} "
        f"application_name={SLOT}"
    )


def prepare_primary(conn: psycopg.Connection, *, drop_slot: bool) -> None:
    """Bound the WAL a slot may keep, keep some WAL for rewinds (unless the user set these);
    with ``drop_slot``,
    remove an old, unused slot of a replica that is being cloned again."""
    # A rewound replica replays from the last checkpoint before the split, older than its
    # slot's position: wal_keep_size keeps that WAL on the primary (unless the user set it).
    wanted = {
        "max_slot_wal_keep_size": ("-1", SLOT_WAL_LIMIT),
        "wal_keep_size": ("0", REPLICA_WAL_KEEP),
    }
    changed = False
    for name, (default, value) in wanted.items():
        current = conn.execute(f"SHOW {name}").fetchone()
        if current and current[0] == default:
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            changed = True
    if changed:
        conn.execute("SELECT pg_reload_conf()")
    slot = conn.execute(
        "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)
    ).fetchone()
    if slot and slot[0]:
        raise procs.StartFailed(
            f"the replication slot {SLOT} is in use by another replica: stop it first (`dojo down`)"
        )
    if slot and drop_slot:
        conn.execute("SELECT pg_drop_replication_slot(%s)", (SLOT,))
    if not slot and not drop_slot:
        conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", (SLOT,))


def clone(bindir: Path, data_dir: Path, user: procs.RunAs | None) -> None:
    """``pg_basebackup -R -X stream`` of the primary into ``data_dir`` (via a side directory,
    so an interrupted copy leaves no half replica)."""
    primary = primary_record()
    with connect(primary.url) as conn:
        prepare_primary(conn, drop_slot=True)
    staging = data_dir.with_name(data_dir.name + ".clone")
    shutil.rmtree(staging, ignore_errors=True)
    # --no-sync: a replica is disposable (`dojo reset --replicas` clones it again), and
    # syncing a multi-gigabyte copy takes longer than making it.
    cmd = [
        str(bindir / "pg_basebackup"), "-d", conninfo(primary, passfile(primary)),
        "-D", str(staging), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        "-C", "-S", SLOT,
    ]  # fmt: skip
    result = procs.run(cmd, user, timeout=CLONE_TIMEOUT)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise procs.StartFailed(
            f"pg_basebackup from the primary (port {primary.port}) failed:\n"
            f"{(result.stdout + result.stderr).strip()}"
        )
    standby_settings(staging, slot=False)  # pg_basebackup -R -S wrote the slot's name
    staging.rename(data_dir)


def standby_settings(data_dir: Path, *, slot: bool) -> None:
    """Settings only the replica has, after those ``-R`` wrote (postgresql.auto.conf is read
    last; the replica's dojo.conf is rewritten with the primary's settings on each start)."""
    # after pg_rewind the replica starts with crash recovery, which by default fsyncs every
    # file of the cluster one by one (minutes for a large one); syncfs is one call (Linux)
    lines = [f"wal_keep_size = '{REPLICA_WAL_KEEP}'", "recovery_init_sync_method = 'syncfs'"]
    if slot:
        lines.append(f"primary_slot_name = '{SLOT}'")
    with open(data_dir / "postgresql.auto.conf", "a") as conf:
        conf.write("".join(line + "\n" for line in lines))


def streaming(primary_url: str, timeout: float) -> bool:
    """Whether the replica streams from the primary (waiting up to ``timeout`` seconds)."""

    def check() -> bool:
        with connect(primary_url) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_stat_replication WHERE application_name = %s "
                "AND state = 'streaming'",
                (SLOT,),
            ).fetchone()
        return row is not None

    return wait_until(check, timeout, interval=0.1)


def replayed(primary_url: str, replica_url: str, timeout: float) -> bool:
    """Whether the replica has replayed all the primary had written when asked (waiting up to
    ``timeout`` seconds). ``streaming`` alone is not caught up: the walsender streams as soon
    as it has sent what is pending, before the standby has applied it."""
    import psycopg

    with connect(primary_url) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]

    def check() -> bool:
        try:
            with connect(replica_url) as conn:
                query = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
                return bool(conn.execute(query, (target,)).fetchone()[0])  # type: ignore[index]
        except psycopg.OperationalError:  # a recovery conflict ended the session: ask again
            return False

    return wait_until(check, timeout, interval=0.05)
