"""A real ``mongod`` found on PATH, run as a single-node replica set so transactions work.

Not exercised on the machines the kit is developed on (no ``mongod`` can be installed there).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dbdojo import procs
from dbdojo.launch import on_free_port, wait_until
from dbdojo.records import Health, ServerRecord
from dbdojo.state import server_home

REPLICA_SET = "rs0"


def start_mongod(
    mongod: Path, previous: ServerRecord | None, probe: Callable[[str], Health]
) -> ServerRecord:
    """Start ``mongod`` on this checkout's data; ``probe(url)`` tells when it serves."""
    user = procs.run_as()
    home = server_home("mongo", user)
    dbpath, log_file = home / "db", home / "mongod.log"
    dbpath.mkdir(exist_ok=True)
    procs.give_to(dbpath, user)
    marker = f"--dbpath {dbpath}"

    def launch(port: int) -> ServerRecord | None:
        cmd = [
            str(mongod),
            *marker.split(),
            "--bind_ip", "127.0.0.1",
            "--port", str(port),
            "--replSet", REPLICA_SET,
        ]  # fmt: skip
        pid = procs.spawn(cmd, log_file, user)
        started = procs.started_at(pid)
        url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
        if (
            wait_until(
                lambda: probe(url).healthy or procs.started_at(pid) is None,
                timeout=60,
                interval=0.1,
            )
            and probe(url).healthy
        ):
            _ensure_replica_set(url, port)
            return ServerRecord(
                service="mongo",
                backend="system",
                url=url,
                version=probe(url).version,
                pid=pid,
                port=port,
                data_dir=str(dbpath),
                log_file=str(log_file),
                extra={"started": started, "marker": marker},
            )
        procs.stop(pid, started, marker, timeout=10)
        return None

    if record := on_free_port(previous, launch, log_file):
        return record
    raise procs.StartFailed(f"mongod did not start.\n--- {log_file} ---\n{procs.tail(log_file)}")


def _ensure_replica_set(url: str, port: int) -> None:
    """Initiate ``rs0`` on first start; after a port change, point its one member at the new
    port (forced reconfig, fine for a single node). Waits until the node is primary."""
    import pymongo
    import pymongo.errors

    member = f"127.0.0.1:{port}"
    with pymongo.MongoClient(url, serverSelectionTimeoutMS=5000) as client:
        try:
            config = client.admin.command("replSetGetConfig")["config"]
        except pymongo.errors.OperationFailure:
            client.admin.command(
                "replSetInitiate", {"_id": REPLICA_SET, "members": [{"_id": 0, "host": member}]}
            )
        else:
            if config["members"][0]["host"] != member:
                config["members"][0]["host"] = member
                config["version"] += 1
                client.admin.command("replSetReconfig", config, force=True)
        if not wait_until(lambda: client.admin.command("hello").get("isWritablePrimary"), 30):
            raise procs.StartFailed(f"mongod on {member} did not become replica-set primary")
