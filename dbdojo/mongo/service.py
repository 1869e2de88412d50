"""MongoDB run by the kit: a ``mongod`` on PATH, else the mongoeco emulator.

A real ``mongod`` runs as a single-node replica set (``rs0``, :mod:`dbdojo.mongo.mongod`) so
that transactions work. Where there is none (these machines), the kit starts
:mod:`dbdojo.mongo.emulator.server`, a MongoDB-compatible server that pymongo reaches over a
normal ``mongodb://`` URL; what it does not do is listed in ``notebooks/MONGODB-EMULATOR.md``
and in :mod:`dbdojo.mongo.gaps`. Snapshots and restores live in :mod:`dbdojo.mongo.snapshots`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbdojo import procs
from dbdojo.launch import Service, on_free_port, wait_until
from dbdojo.mongo.emulator import control as emulator_control
from dbdojo.mongo.emulator.interpreter import interpreter
from dbdojo.mongo.gaps import LIMITS_DOC
from dbdojo.records import Health, ServerRecord
from dbdojo.state import server_home

if TYPE_CHECKING:
    import pymongo

__all__ = ["MongoService", "describe", "emulator_available"]

EMULATOR_MODULE = "dbdojo.mongo.emulator.server"
START_TIMEOUT = 60  # until the emulator listens (it loads mongoeco and recovers afterwards)
READY_TIMEOUT = 120  # until it serves: importing mongoeco takes 1-7 s


def emulator_available() -> str | None:
    """Why the emulator cannot run here, or None if it can."""
    if importlib.util.find_spec("mongoeco") is None:
        return "mongoeco is not installed: `pip install 'mongoeco[wire]>=4.11'`"
    return None


def mongoeco_version() -> str:
    try:
        return importlib.metadata.version("mongoeco")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def describe(client: pymongo.MongoClient) -> dict[str, Any]:
    """Which MongoDB ``client`` talks to, for a notebook's banner.

    ``{"kind": "mongodb" | "emulator", "version": ..., "label": ..., "limits_doc": ...}``
    (``limits_doc`` is None on a real MongoDB), from ``buildInfo``.
    """
    info = client.admin.command("buildInfo")
    version = str(info.get("version", "?"))
    if info.get("gitVersion") == "mongoeco":
        emu = mongoeco_version()
        short = ".".join(emu.split(".")[:2])
        return {
            "kind": "emulator",
            "version": emu,
            "dialect": version,
            "label": f"mongoeco {short} emulator (not a real MongoDB)",
            "limits_doc": LIMITS_DOC,
        }
    return {
        "kind": "mongodb",
        "version": version,
        "dialect": version,
        "label": f"MongoDB {version}",
        "limits_doc": None,
    }


class MongoService(Service):
    name = "mongo"
    label = "MongoDB"
    stop_timeout: float = 30  # seconds between SIGTERM and SIGKILL

    def backends(self) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        if mongod := shutil.which("mongod"):
            found.append(("system", mongod))
        if emulator_available() is None:
            found.append(("emulator", sys.executable))
        return found

    def start(self, previous: ServerRecord | None) -> ServerRecord:
        if previous and self._running(previous):
            return previous
        backends = dict(self.backends())
        if "system" in backends:
            from dbdojo.mongo.mongod import start_mongod

            return start_mongod(Path(str(backends["system"])), previous, self.probe)
        if "emulator" in backends:
            return self._start_emulator(previous)
        raise procs.StartFailed(f"no MongoDB server can run here: {emulator_available()}")

    def _running(self, record: ServerRecord) -> bool:
        marker = record.extra.get("marker", "")
        if not procs.is_ours(record.pid, record.extra.get("started"), marker):
            return False
        if record.backend == "emulator":
            return emulator_control.listening(record.extra["control"])
        return self.probe(record.url).healthy

    def wait_ready(self, record: ServerRecord, timeout: float = READY_TIMEOUT) -> bool:
        """Wait until a started emulator serves requests (``start`` returns once it listens);
        False if it did not within ``timeout``. Other backends are ready when started."""
        if record.backend != "emulator":
            return True
        control = record.extra["control"]
        return wait_until(lambda: emulator_control.answers(control), timeout, interval=0.05)

    def _start_emulator(self, previous: ServerRecord | None) -> ServerRecord:
        user = procs.run_as()
        home = server_home(self.name, user)
        if user and home.stat().st_uid != user.uid:  # an older kit ran the emulator as root
            procs.give_to(home, user)
        (home / "snapshots").mkdir(exist_ok=True)
        procs.give_to(home / "snapshots", user)
        control, log_file = home / "control.sock", home / "emulator.log"
        if running := self.find_running(previous):  # unrecorded (a lost or damaged state file)
            return running
        python, env = interpreter(user)
        marker = f"--home {home}"

        def launch(port: int) -> ServerRecord | None:
            cmd = [python, "-m", EMULATOR_MODULE, "--port", str(port), *marker.split()]
            pid = procs.spawn(cmd, log_file, user, cwd=home, env=env)
            started = procs.started_at(pid)
            if wait_until(
                lambda: emulator_control.listening(control) or procs.started_at(pid) is None,
                timeout=START_TIMEOUT,
                interval=0.02,
            ) and emulator_control.listening(control):
                return self._emulator_record(pid, port, home)
            procs.stop(pid, started, marker, timeout=5)
            return None

        if record := on_free_port(previous, launch, log_file):
            return record
        raise procs.StartFailed(
            f"the MongoDB emulator did not start.\n--- {log_file} ---\n{procs.tail(log_file)}"
        )

    def _emulator_record(self, pid: int, port: int, home: Path) -> ServerRecord:
        return ServerRecord(
            service=self.name,
            backend="emulator",
            url=f"mongodb://127.0.0.1:{port}/?directConnection=true",
            version=f"mongoeco {mongoeco_version()} (MongoDB 8.0 dialect)",
            pid=pid,
            port=port,
            data_dir=str(home),
            log_file=str(home / "emulator.log"),
            extra={
                "started": procs.started_at(pid),
                "marker": f"--home {home}",
                "control": str(home / "control.sock"),
            },
        )

    def find_running(self, record: ServerRecord | None) -> ServerRecord | None:
        """The emulator serving this checkout's MongoDB home, found by its control socket (which
        is never removed while an emulator answers on it) and checked by its command line."""
        if record is not None and record.backend not in ("emulator", None):
            return None
        home = server_home(self.name, procs.run_as())
        status = emulator_control.status(home / "control.sock")
        pid = int(status.get("pid") or 0) if status else 0
        if not pid or not procs.is_ours(pid, None, f"--home {home}"):
            return None
        return self._emulator_record(pid, _port_argument(pid), home)

    def stop(self, record: ServerRecord) -> None:
        # The emulator saves changed databases on SIGTERM; a busy one only sees the signal when
        # idle, so procs.stop escalates to SIGKILL after the timeout (snapshots are safe).
        marker = record.extra.get("marker", "")
        procs.stop(record.pid, record.extra.get("started"), marker, timeout=self.stop_timeout)

    def probe(self, url: str) -> Health:
        import pymongo
        import pymongo.errors

        try:
            with pymongo.MongoClient(url, serverSelectionTimeoutMS=2000) as client:
                info = describe(client)
        except pymongo.errors.PyMongoError as exc:
            return Health(False, detail=str(exc).splitlines()[0][:200])
        return Health(True, version=info["label"])


def _port_argument(pid: int) -> int:
    """The ``--port`` an emulator process was started with (it also listens on an unused
    port of mongoeco's own, so its listening sockets do not tell)."""
    import psutil

    try:
        cmdline = psutil.Process(pid).cmdline()
    except psutil.Error:
        return 0
    flag = cmdline.index("--port") if "--port" in cmdline else -1
    return int(cmdline[flag + 1]) if 0 <= flag < len(cmdline) - 1 else 0
