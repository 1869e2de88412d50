"""The kit's own Redis (Valkey): started, probed, killed, recovered, moved off a taken port."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import psutil
import pytest
import redis

from dbdojo import procs, state
from dbdojo.connect import redis_client
from dbdojo.launch import wait_until
from dbdojo.services import manager
from dbdojo.services.redis import RedisService
from dbdojo.workspace import REDIS_DATABASES, Workspace
from tests.helpers import is_healthy, own_server, recorded


@pytest.fixture(scope="module")
def kv():
    with own_server("redis"):
        yield


def client() -> redis.Redis:
    return redis.Redis.from_url(recorded("redis").url, decode_responses=True)


def test_round_trip_through_the_kits_client(kv):
    r = redis_client()
    r.set("greeting", "héllo")
    r.zadd("board", {"ana": 3, "bo": 5})
    assert r.get("greeting") == "héllo"
    assert r.zrevrange("board", 0, 0) == ["bo"]


def test_settings_workspaces_rely_on(kv):
    r = client()
    assert int(r.config_get("databases")["databases"]) == REDIS_DATABASES
    assert r.config_get("bind")["bind"] == "127.0.0.1"
    assert r.config_get("appendonly")["appendonly"] == "yes"
    other = redis_client(Workspace("redis_test_ws"))
    other.set("only_here", 1)
    assert client().get("only_here") is None, "a workspace has its own logical database"


def test_password_is_required(kv):
    rec = recorded("redis")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=rec.port).ping()
    assert "***" not in rec.url and state.secret("redis") in rec.url


def test_runs_unprivileged_without_password_on_its_command_line(kv):
    proc = psutil.Process(recorded("redis").pid)
    assert proc.username() == ("nobody" if os.geteuid() == 0 else psutil.Process().username())
    assert state.secret("redis") not in " ".join(proc.cmdline())
    assert recorded("redis").version.startswith("Valkey ")


def test_kill_9_then_up_recovers_with_data(kv):
    client().set("survivor", "yes")  # no SAVE: the append-only file must carry it
    before = recorded("redis")
    os.kill(before.pid, signal.SIGKILL)
    assert wait_until(lambda: not is_healthy("redis"), 10)
    [outcome] = manager.up(["redis"])
    assert outcome.action == "started", outcome.detail
    assert recorded("redis").pid != before.pid
    assert recorded("redis").port == before.port
    assert client().get("survivor") == "yes"


def test_up_adopts_a_running_server_it_lost_track_of(kv):
    """`dojo up` killed after starting the server but before recording it."""
    running = recorded("redis")
    with state.locked() as data:
        del data["services"]["redis"]
    [outcome] = manager.up(["redis"])
    assert outcome.ok, outcome.detail
    assert recorded("redis").pid == running.pid, "adopted, not a second server on the same files"


def test_down_then_up_keeps_data(kv):
    client().hset("driver:1", mapping={"name": "Ana", "zone": "north"})
    [outcome] = manager.down(["redis"])
    assert outcome.action == "stopped"
    assert not is_healthy("redis")
    manager.up(["redis"])
    assert client().hgetall("driver:1") == {"name": "Ana", "zone": "north"}


def test_stale_pid_file_is_ignored(kv, tmp_path):
    rec = recorded("redis")
    manager.down(["redis"])
    impostor = procs.spawn(["sleep", "60"], tmp_path / "sleep.log", procs.run_as())
    try:
        (Path(rec.data_dir) / "server.pid").write_text(f"{impostor}\n")
        [outcome] = manager.up(["redis"])
        assert outcome.action == "started", outcome.detail
        assert psutil.pid_exists(impostor), "a process that is not ours is left alone"
        assert client().ping()
    finally:
        procs.stop(impostor, None, "sleep 60", timeout=2)


def test_port_taken_by_someone_else(kv):
    client().set("moved", "along")
    old = recorded("redis")
    manager.down(["redis"])
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old.port))
        squatter.listen()
        [outcome] = manager.up(["redis"])
        assert outcome.action == "started", outcome.detail
        assert recorded("redis").port != old.port
        assert client().get("moved") == "along"


def test_probe_of_a_dead_url_is_unhealthy():
    health = RedisService().probe(f"redis://127.0.0.1:{procs.free_port()}")
    assert not health.healthy and health.detail
