"""MariaDB (or MySQL) run by the kit from a server binary on this machine (lesson X3).

No pip wheel ships a MySQL server, so this service is optional: ``dojo up`` starts it when
``mariadbd`` or ``mysqld`` is on PATH (or in /usr/sbin: Debian's ``mariadb-server``, Homebrew's
``mariadb``, a MySQL tarball's bin directory on PATH) and otherwise says once how to get one.
``DOJO_MYSQL_URL`` (``mysql://user:password@host:port/``) points the kit at a server you run.

The server runs as the unprivileged server user, listens on 127.0.0.1 only, keeps its data,
socket and log under the state directory, and its ``root@127.0.0.1`` account gets a generated
password (kept beside the data in ``credentials.json``, like the other services').
"""

from __future__ import annotations

import re
import shutil
import signal
from functools import cache
from pathlib import Path

from dbdojo import procs, state
from dbdojo.launch import Service, found_record, on_free_port, wait_until
from dbdojo.records import Health, ServerRecord
from dbdojo.state import server_home

SERVER_NAMES = ("mariadbd", "mysqld")
SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin")
SUPERUSER = "root"
HOW_TO_GET = (
    "no MariaDB/MySQL server binary (mariadbd or mysqld) found: lesson X3 needs one. Install "
    "one (`sudo apt install mariadb-server`, `brew install mariadb`), or run the compose "
    "file's MySQL 8.4 (`dojo up --docker --only mysql`), or point DOJO_MYSQL_URL at your own "
    "server; everything else works without it"
)
# Settings of the course server; the rest are the server's defaults (which X3 teaches).
SETTINGS = (
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",  # what Debian's packaging and MySQL 8 default to
    "--local-infile=1",  # `dojo seed` loads the tables with LOAD DATA LOCAL INFILE
    "--innodb-buffer-pool-size=256M",
    "--max-connections=100",
)


def server_binary() -> Path | None:
    """``mariadbd`` or ``mysqld``: PATH first, then the usual sbin directories."""
    for name in SERVER_NAMES:
        if found := shutil.which(name):
            return Path(found)
        for folder in SEARCH_DIRS:
            candidate = Path(folder) / name
            if candidate.is_file():
                return candidate
    return None


def install_tool(binary: Path) -> list[str]:
    """The command that makes a new data directory for ``binary``'s server."""
    for folder in (binary.parent, binary.parent.parent / "bin", binary.parent.parent / "scripts"):
        for name in ("mariadb-install-db", "mysql_install_db"):
            if (folder / name).is_file():
                return [str(folder / name), f"--basedir={binary.parent.parent}"]
    return [str(binary), "--initialize-insecure"]  # MySQL 5.7+: the server makes its own


@cache
def binary_version(binary: Path) -> str:
    """``mariadbd  Ver 10.11.18-MariaDB-0+deb12u1 ...`` -> ``MariaDB 10.11.18``."""
    out = procs.run([str(binary), "--version"], None, timeout=20).stdout
    match = re.search(r"Ver (\d+\.\d+\.\d+)(-MariaDB)?", out)
    if not match:
        return out.strip()
    return f"{'MariaDB' if match.group(2) else 'MySQL'} {match.group(1)}"


class MysqlService(Service):
    name = "mysql"
    label = "MariaDB/MySQL"
    secret_name = "mysql"
    optional = True  # no wheel ships a server: the kit works without one

    def backends(self) -> list[tuple[str, str | None]]:
        binary = server_binary()
        return [("system", str(binary))] if binary else []

    def unavailable(self) -> str | None:
        """Why this machine cannot run the server (how to get one), or None if it can."""
        return None if server_binary() else HOW_TO_GET

    # --- start ---------------------------------------------------------------------------

    def start(self, previous: ServerRecord | None) -> ServerRecord:
        binary = server_binary()
        if binary is None:
            raise procs.StartFailed(HOW_TO_GET)
        user = procs.run_as()
        home = server_home(self.name, user)
        data_dir, log_file = home / "data", home / "server.log"
        password = state.secret(self.secret_name)
        if running := self._find(data_dir):
            pid, port = running
            return self._record(binary, password, port, pid, home)
        # its temporary tables under its own home, not the machine's /tmp: CI runs lost them
        # there mid-query ("Error on delete of '/tmp/#sql-temptable-...'") and while making
        # the data directory ("Can't find file: '/tmp/#sql-temptable-....MAI'")
        tmp_dir = home / "tmp"
        tmp_dir.mkdir(mode=0o700, exist_ok=True)
        procs.give_to(tmp_dir, user)
        fresh = not (data_dir / "mysql").is_dir()
        if fresh:
            self._initialize(binary, data_dir, tmp_dir, user)
        init_file = home / "init.sql"
        extra = []
        if fresh:  # the account the kit connects with, made once with the new data
            init_file.write_text(_init_sql(password))
            init_file.chmod(0o600)  # it holds the password; a command line would show it
            procs.give_to(init_file, user)
            extra.append(f"--init-file={init_file}")

        def launch(port: int) -> ServerRecord | None:
            cmd = [
                str(binary), "--no-defaults", f"--datadir={data_dir}", f"--port={port}",
                f"--socket={home / 'mysqld.sock'}", f"--pid-file={home / 'mysqld.pid'}",
                f"--log-error={log_file}", f"--tmpdir={tmp_dir}", *SETTINGS, *extra,
            ]  # fmt: skip
            pid = procs.spawn(cmd, log_file, user, cwd=home)
            wait_until(
                lambda: (
                    self.probe(self._url(password, port)).healthy or procs.started_at(pid) is None
                ),
                timeout=180,  # a first start on a loaded machine; a dead server ends it at once
                interval=0.1,
            )
            if procs.started_at(pid) is not None and self.probe(self._url(password, port)).healthy:
                return self._record(binary, password, port, pid, home)
            procs.stop(pid, None, f"--datadir={data_dir}", timeout=10)
            return None

        try:
            if started := on_free_port(previous, launch, log_file):
                return started
        finally:
            init_file.unlink(missing_ok=True)
        raise procs.StartFailed(
            f"{binary_version(binary)} ({binary}) did not start.\n--- {log_file} ---\n"
            f"{procs.tail(log_file)}"
        )

    @staticmethod
    def _initialize(binary: Path, data_dir: Path, tmp_dir: Path, user: procs.RunAs | None) -> None:
        """A new data directory, made aside and renamed (an interrupted one leaves none)."""
        staging = data_dir.with_name("data.init")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        procs.give_to(staging, user)
        cmd = [
            *install_tool(binary),
            "--no-defaults",
            f"--datadir={staging}",
            f"--tmpdir={tmp_dir}",
        ]
        if "install-db" in cmd[0]:
            cmd += ["--skip-test-db", "--auth-root-authentication-method=socket"]
            if user:
                cmd.append(f"--user={user.name}")
        result = procs.run(cmd, user, timeout=300)
        if result.returncode != 0:
            raise procs.StartFailed(
                f"making the MariaDB/MySQL data directory failed:\n"
                f"{(result.stdout + result.stderr).strip()[-2000:]}"
            )
        staging.rename(data_dir)

    def _find(self, data_dir: Path) -> tuple[int, int] | None:
        """(pid, port) of a server of ours running on ``data_dir``, found from the process
        (the server works in its data directory; its program and owner), with or without a
        record."""
        proc = procs.server_in(data_dir, SERVER_NAMES)
        if proc is None:
            return None
        port = procs.listening_port(proc.pid)
        return (proc.pid, port) if port else None

    def find_running(self, record: ServerRecord | None) -> ServerRecord | None:
        data_dir = Path(record.data_dir) if record and record.data_dir else None
        found = self._find(data_dir or server_home(self.name, procs.run_as()) / "data")
        return found_record(self.name, "system", record, found)

    @staticmethod
    def _url(password: str, port: int) -> str:
        return f"mysql://{SUPERUSER}:{password}@127.0.0.1:{port}/"

    def _record(self, binary: Path, password: str, port: int, pid: int, home: Path) -> ServerRecord:
        return ServerRecord(
            service=self.name,
            backend="system",
            url=self._url(password, port),
            version=binary_version(binary),
            pid=pid,
            port=port,
            data_dir=str(home / "data"),
            log_file=str(home / "server.log"),
            extra={"started": procs.started_at(pid), "superuser": SUPERUSER},
        )

    # --- stop and probe ------------------------------------------------------------------

    def stop(self, record: ServerRecord) -> None:
        # SIGTERM is a normal shutdown: InnoDB flushes and the server exits.
        marker = f"--datadir={record.data_dir}" if record.data_dir else "--datadir="
        procs.stop(record.pid, record.extra.get("started"), marker, sig=signal.SIGTERM, timeout=60)

    def probe(self, url: str) -> Health:
        from dbdojo.connect import mysql_connect_url

        try:
            with mysql_connect_url(url, connect_timeout=3) as conn, conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                version = cur.fetchone()[0]
        except Exception as exc:  # PyMySQL's errors and socket errors alike
            return Health(False, detail=str(exc).splitlines()[0] if str(exc) else repr(exc))
        kind = "MariaDB" if "MariaDB" in version else "MySQL"
        return Health(True, version=f"{kind} {version.split('-')[0]}")


def _init_sql(password: str) -> str:
    quoted = password.replace("\\", "\\\\").replace("'", "\\'")
    return (
        f"CREATE USER IF NOT EXISTS '{SUPERUSER}'@'127.0.0.1' IDENTIFIED BY '{quoted}';\n"
        f"GRANT ALL PRIVILEGES ON *.* TO '{SUPERUSER}'@'127.0.0.1' WITH GRANT OPTION;\n"
    )


def available() -> str | None:
    """None when a MariaDB/MySQL server is configured and answers; else why not (one line
    that says how to get one)."""
    from dbdojo.connect import ServiceDown, server_url

    try:
        url = server_url("mysql")
    except ServiceDown:
        return MysqlService().unavailable() or "MariaDB is not running: run `dojo up`"
    health = MysqlService().probe(url)
    return None if health.healthy else f"MariaDB/MySQL does not answer: {health.detail}"
