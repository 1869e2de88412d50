"""The state file and the process helpers behind `dojo up`/`down`."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import pytest

from dbdojo import procs, state
from dbdojo.launch import wait_until
from dbdojo.records import ServerRecord
from tests.helpers import isolated_state


@pytest.fixture
def fresh_state():
    with isolated_state() as root:
        yield root


def test_secret_is_generated_once_and_kept(fresh_state):
    first = state.secret("postgres")
    assert len(first) >= 20
    assert state.secret("postgres") == first
    assert state.secret("redis") != first
    saved = json.loads((fresh_state / "state.json").read_text())
    assert saved["secrets"]["postgres"] == first


def test_each_install_gets_its_own_password():
    with isolated_state():
        one = state.secret("postgres")
    with isolated_state():
        two = state.secret("postgres")
    assert one != two


def test_state_file_is_private(fresh_state):
    state.secret("postgres")
    mode = stat.S_IMODE((fresh_state / "state.json").stat().st_mode)
    assert mode == 0o600


def test_records_round_trip(fresh_state):
    record = ServerRecord("redis", "embedded", "redis://x@127.0.0.1:1", pid=5, port=1)
    state.put_record(record)
    assert state.get_record("redis") == record
    assert state.get_record("postgres") is None
    assert set(state.records()) == {"redis"}


def test_concurrent_writers_lose_no_update(fresh_state):
    script = (
        "from dbdojo import state\n"
        "for _ in range(25):\n"
        "    with state.locked() as data:\n"
        "        data['n'] = data.get('n', 0) + 1\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
    assert [w.wait(60) for w in workers] == [0, 0, 0]
    assert state.load()["n"] == 75


def test_nested_lock_does_not_deadlock(fresh_state):
    with state.locked() as outer:
        outer["a"] = 1
        assert state.secret("x")  # takes the lock again inside
    assert state.load()["a"] == 1
    assert "x" in state.load()["secrets"]


def test_damaged_state_file_is_reported(fresh_state):
    (fresh_state / "state.json").write_text("{not json")
    with pytest.raises(RuntimeError, match=r"state file .* is damaged"):
        state.load()


def test_data_root_is_the_state_dir_when_reachable(fresh_state):
    assert state.data_root() == fresh_state.resolve()


def test_data_root_leaves_a_directory_the_server_user_cannot_enter(tmp_path, monkeypatch):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)  # like /root: only its owner may enter
    monkeypatch.setenv("DOJO_STATE_DIR", str(private / ".dojo"))
    root = state.data_root()
    assert state.load()["data_root"] == str(root)
    assert procs.can_reach(root, procs.run_as())
    if os.geteuid() == 0:  # servers run as `nobody`, who cannot enter `private`
        assert str(root).startswith("/var/tmp/dbdojo-")
        root.rmdir()
    else:  # servers run as the owner, who can
        assert root == (private / ".dojo").resolve()


# --- procs -------------------------------------------------------------------------------


@pytest.fixture
def sleeper(tmp_path):
    pid = procs.spawn(["sleep", "600"], tmp_path / "sleep.log", None)
    yield pid
    procs.stop(pid, None, "sleep", timeout=2)


def test_is_ours_checks_start_time_and_command(sleeper):
    started = procs.started_at(sleeper)
    assert started is not None
    assert procs.is_ours(sleeper, started, "sleep 600")
    assert not procs.is_ours(sleeper, started - 3600, "sleep 600"), "a reused pid is not ours"
    assert not procs.is_ours(sleeper, started, "postgres"), "another program is not ours"
    assert not procs.is_ours(None, None, "")


def test_stop_leaves_a_process_that_is_not_ours_alone(sleeper):
    started = procs.started_at(sleeper)
    assert procs.stop(sleeper, started - 3600, "sleep") is False
    assert procs.is_ours(sleeper, started, "sleep")
    assert procs.stop(sleeper, started, "sleep", timeout=5) is True
    assert not procs.is_ours(sleeper, started, "sleep")


def test_spawned_process_outlives_its_session(tmp_path):
    log = tmp_path / "out.log"
    pid = procs.spawn(["sh", "-c", "echo hello; sleep 600"], log, None)
    try:
        assert os.getsid(pid) == pid, "a server must not share the terminal's session"
        assert wait_until(lambda: "hello" in log.read_text(), 5)
    finally:
        procs.stop(pid, None, "sleep 600", timeout=2)


def test_port_free_sees_a_listener():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not procs.port_free(port)
        owner = procs.port_owner(port)
        assert owner and f"pid {os.getpid()}" in owner
    assert procs.port_free(port)
    assert procs.port_free(procs.free_port())
