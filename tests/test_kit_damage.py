"""Fault injection on the kit's own bookkeeping (issue 16): damaged or deleted state files,
garbage pid files, servers that will not stop, lost passwords, a JupyterLab token. Real
servers, each test in its own state directory (``isolated_state``), driven through the `dojo`
executable as a learner drives them."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import redis

from dbdojo import procs, state
from dbdojo.launch import wait_until
from tests.helpers import DOJO as DOJO_BIN
from tests.helpers import dojo, isolated_state, own_server, status_rows

KIT = ["--only", "postgres", "--only", "redis"]
NO_TRACEBACK = "Traceback"


@pytest.fixture
def kit():
    """PostgreSQL and Redis started by `dojo up` in a fresh state directory (its path)."""
    with isolated_state() as root:
        result = dojo("up", *KIT)
        assert result.returncode == 0, result.stdout + result.stderr
        try:
            yield root
        finally:
            dojo("down")


def saved(root: Path) -> dict:
    return json.loads((root / "state.json").read_text())


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command's error, checked to be a sentence (no traceback)."""
    assert NO_TRACEBACK not in result.stdout + result.stderr, result.stderr
    return " ".join(result.stderr.split())


# --- 1. passwords survive a damaged state file --------------------------------------------


@pytest.mark.parametrize("damage", ["[1, 2]", "{not json", None], ids=["list", "garbage", "gone"])
def test_a_damaged_state_file_keeps_every_password_and_server(kit, damage):
    before = saved(kit)
    path = kit / "state.json"
    if damage is None:
        path.unlink()
    else:
        path.write_text(damage)
        status = dojo("status")
        assert status.returncode == 1
        assert "damaged" in one_line(status) and "`dojo up`" in one_line(status)
    up = dojo("up", *KIT)
    assert up.returncode == 0, up.stdout + up.stderr
    after = saved(kit)
    for name in ("postgres", "redis"):
        assert after["secrets"][name] == before["secrets"][name], f"{name}'s password changed"
        assert after["services"][name]["url"] == before["services"][name]["url"]
        assert after["services"][name]["pid"] == before["services"][name]["pid"], "not adopted"
        assert status_rows()[name]["healthy"] is True
    if damage is not None:
        [aside] = kit.glob("state.json.damaged-*")
        assert aside.read_text() == damage, "the damaged file is kept for inspection"


def test_passwords_are_kept_privately_beside_each_servers_data(kit):
    secrets = saved(kit)["secrets"]
    for name in ("postgres", "redis"):
        kept = kit / name / state.CREDENTIALS
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert json.loads(kept.read_text())[name] == secrets[name]


def test_a_lost_password_is_refused_not_replaced(kit):
    assert dojo("down").returncode == 0
    (kit / "state.json").unlink()
    (kit / "postgres" / state.CREDENTIALS).unlink()
    result = dojo("up", "--only", "postgres")
    assert result.returncode == 1
    message = " ".join((result.stdout + result.stderr).split())
    assert "password is lost" in message and "move" in message and "`dojo up`" in message
    assert NO_TRACEBACK not in result.stdout + result.stderr
    assert (kit / "postgres" / "data" / "PG_VERSION").exists(), "the data is left alone"
    assert not (kit / "postgres" / state.CREDENTIALS).exists(), "no new password was made"


def test_a_running_emulator_is_adopted_and_keeps_its_control_socket():
    from dbdojo.services import manager

    with own_server("mongo"):
        record = state.get_record("mongo")
        assert record is not None and record.pid
        control = Path(record.extra["control"])
        state.state_file().write_text("[]")
        [outcome] = manager.up(["mongo"], wait=True)
        assert outcome.action == "running", outcome.detail
        assert outcome.record is not None and outcome.record.pid == record.pid
        assert outcome.record.port == record.port
        assert control.exists(), "the running emulator's control socket was deleted"
        assert manager.status(["mongo"])[0].healthy


# --- 2. servers found by their data, not by a pid file ------------------------------------


def gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie nobody reaped yet counts as exited)."""
    return procs.started_at(pid) is None


def _server_processes(directory: Path) -> list[psutil.Process]:
    found = procs.processes_in(directory)
    pids = {p.pid for p in found}
    return [p for p in found if p.ppid() not in pids]  # a postmaster, not its backends


def test_a_garbage_redis_pid_file_starts_no_second_server(kit):
    home, pid = kit / "redis", saved(kit)["services"]["redis"]["pid"]
    (home / "server.pid").write_text("garbage\n")
    result = dojo("up", "--only", "redis")
    assert result.returncode == 0, result.stdout + result.stderr
    assert saved(kit)["services"]["redis"]["pid"] == pid
    assert [p.pid for p in _server_processes(home)] == [pid], "a second Valkey on the same data"


def test_a_garbage_postmaster_pid_starts_no_second_server(kit):
    data = kit / "postgres" / "data"
    (data / "postmaster.pid").write_text("garbage\n")
    result = dojo("up", "--only", "postgres")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(_server_processes(data)) == 1, "two postmasters on the same data"
    assert status_rows()["postgres"]["healthy"] is True


def test_down_stops_servers_running_on_the_kits_data_without_a_record(kit):
    pids = [saved(kit)["services"][name]["pid"] for name in ("postgres", "redis")]
    (kit / "state.json").unlink()
    (kit / "redis" / "server.pid").write_text("garbage\n")
    result = dojo("down")
    assert result.returncode == 0, result.stdout + result.stderr
    assert wait_until(lambda: all(gone(pid) for pid in pids), 10)
    assert "stopped" in result.stdout


def test_a_valkey_that_cannot_save_is_still_stopped_with_its_data(kit):
    record = saved(kit)["services"]["redis"]
    client = redis.Redis.from_url(record["url"])
    client.set("learner:work", "kept")
    client.close()
    home = kit / "redis"
    home.chmod(0o500)  # its final snapshot cannot be written: Valkey refuses SIGTERM
    try:
        started = time.monotonic()
        result = dojo("down", "--only", "redis")
        took = time.monotonic() - started
    finally:
        home.chmod(0o700)
    assert result.returncode == 0, result.stdout + result.stderr
    assert gone(record["pid"]), f"still running after {took:.0f} s"
    assert "can't exit" in (home / "server.log").read_text(), "it did refuse SIGTERM"
    assert dojo("up", "--only", "redis").returncode == 0
    url = saved(kit)["services"]["redis"]["url"]
    assert redis.Redis.from_url(url).get("learner:work") == b"kept", "the AOF lost the write"


# --- 7. a sentence, not a traceback ---------------------------------------------------------


def test_grading_with_a_damaged_state_file_says_what_to_do(tmp_path):
    answer = tmp_path / "answer.sql"
    answer.write_text("SELECT 1")
    with isolated_state() as root:
        (root / "state.json").write_text("{not json")
        result = dojo("grade", "intro.no-phone", "--answer", str(answer))
    assert result.returncode != 0
    assert "damaged" in one_line(result) and "`dojo up`" in one_line(result)


def test_a_server_dying_during_a_check_is_not_the_answers_fault():
    from dbdojo.checking.runners import AnswerError
    from dbdojo.checking.runners.sql import run_query
    from dbdojo.connect import ServiceDown, pg_connect
    from dbdojo.workspace import Workspace

    with own_server("postgres"):
        with pg_connect(Workspace("x"), conninfo=state.get_record("postgres").url) as admin:
            admin.execute("CREATE DATABASE dojo")
        ws = Workspace("main")
        with pytest.raises(AnswerError, match="division by zero"):  # the answer's own error
            run_query("SELECT 1/0", ws, {}, 10)
        record = state.get_record("postgres")
        killer = subprocess.Popen(
            [sys.executable, "-c", f"import time, os; time.sleep(1.5); os.kill({record.pid}, 2)"]
        )
        with pytest.raises(ServiceDown, match="died or was stopped") as caught:
            run_query("SELECT pg_sleep(20)", ws, {}, 30)
        killer.wait(10)
        assert "dojo up" in str(caught.value)


# --- 8. nothing as root that need not be, no token on a command line -----------------------


def test_the_emulator_runs_as_the_server_user():
    with own_server("mongo"):
        record = state.get_record("mongo")
        assert record is not None and record.pid
        user = procs.run_as()
        expected = user.uid if user else os.geteuid()
        assert psutil.Process(record.pid).uids().real == expected


def test_jupyterlab_gets_its_token_where_other_users_cannot_read_it(tmp_path):
    fake = tmp_path / "jupyter-lab"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    launcher = "from dbdojo.commands.lab import launch; launch([%r, '--port=1'], 'tok-123')"
    proc = subprocess.Popen([sys.executable, "-c", launcher % str(fake)])
    try:
        assert wait_until(lambda: "sleep" in " ".join(psutil.Process(proc.pid).cmdline()), 10)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert b"tok-123" not in cmdline, "the token is on a public command line"
        assert psutil.Process(proc.pid).environ().get("JUPYTER_TOKEN") == "tok-123"
        if (user := procs.run_as()) is not None:  # as root: another user's view
            assert procs.run(["cat", f"/proc/{proc.pid}/cmdline"], user).returncode == 0
            assert procs.run(["cat", f"/proc/{proc.pid}/environ"], user).returncode != 0
    finally:
        proc.kill()
        proc.wait()


# --- 4. the emulator's writes survive a crash -----------------------------------------------


def test_emulator_writes_survive_kill_9():
    from dbdojo.connect import mongo_client
    from dbdojo.services import manager

    with own_server("mongo"):
        client = mongo_client()
        db = client["dojo_learner"]
        db.work.insert_many([{"_id": i, "n": i} for i in range(20)])
        db.work.update_one({"_id": 3}, {"$set": {"n": 300}})
        db.work.delete_one({"_id": 4})
        db.work.create_index("n")
        with client.start_session() as session, session.start_transaction():
            db.work.insert_one({"_id": 100}, session=session)  # committed
        with (
            pytest.raises(RuntimeError),
            client.start_session() as session,
            session.start_transaction(),
        ):
            db.work.insert_one({"_id": 101}, session=session)
            raise RuntimeError("aborted")
        client.close()
        record = state.get_record("mongo")
        assert record is not None and record.pid
        os.kill(record.pid, 9)
        assert wait_until(lambda: gone(record.pid), 10)
        [outcome] = manager.up(["mongo"], wait=True)
        assert outcome.action == "started", outcome.detail
        db = mongo_client()["dojo_learner"]
        assert db.work.count_documents({}) == 20  # 20 - 1 deleted + 1 committed
        assert db.work.find_one({"_id": 3})["n"] == 300
        assert db.work.find_one({"_id": 4}) is None
        assert db.work.find_one({"_id": 101}) is None, "an aborted transaction came back"
        assert "n_1" in [index["name"] for index in db.work.list_indexes()]


# --- 5. a full disk ------------------------------------------------------------------------


@pytest.fixture
def small_disk():
    """A 160 MB tmpfs as the state directory, so the disk can be filled without filling the
    real one (mounting needs root; elsewhere this test cannot simulate a full disk)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (the simulated full disk) needs root")
    mount = Path(tempfile.mkdtemp(prefix="dojo-full-", dir="/var/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m,mode=755", "tmpfs", str(mount)],
                   check=True)  # fmt: skip
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DOJO_STATE_DIR", str(mount / "state"))
            mp.setenv("DOJO_PG_NO_SYNC", "1")
            for var in ("DOJO_POSTGRES_URL", "DOJO_MONGO_URL", "DOJO_REDIS_URL"):
                mp.delenv(var, raising=False)
            try:
                yield mount
            finally:  # this state directory's servers, not the session's
                subprocess.run([str(DOJO_BIN), "down"], capture_output=True, check=False)
    finally:
        for proc in psutil.process_iter():  # whatever a failed test left running there
            try:
                if proc.cwd().startswith(str(mount)):
                    proc.kill()
            except psutil.Error:
                pass
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def fill(directory: Path) -> Path:
    """Grow a file in ``directory`` until the disk is full; returns it."""
    filler = directory / "filler"
    with open(filler, "ab") as fh:
        try:
            while True:
                fh.write(b"\0" * 2**20)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_is_said_and_survived(small_disk):
    assert dojo("up", *KIT).returncode == 0
    pids = [saved(small_disk / "state")["services"][n]["pid"] for n in ("postgres", "redis")]
    filler = fill(small_disk)
    doctor = dojo("doctor")
    advice = " ".join((doctor.stdout + doctor.stderr).split())
    assert NO_TRACEBACK not in advice
    assert "full" in advice and "`dojo workspaces`" in advice and "`dojo drop" in advice
    down = dojo("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert NO_TRACEBACK not in down.stdout + down.stderr
    assert wait_until(lambda: all(gone(pid) for pid in pids), 10), "a server still runs"
    fill(small_disk)  # what stopping freed (a pid file, say) is taken again
    up = dojo("up", *KIT)
    said = " ".join((up.stdout + up.stderr).split())
    assert up.returncode == 1 and NO_TRACEBACK not in said
    assert "full" in said and "`dojo workspaces`" in said
    filler.unlink()  # what the learner does; nothing else left behind may stop the servers
    again = dojo("up", *KIT)
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(status_rows()[name]["healthy"] for name in ("postgres", "redis"))


def test_a_write_that_fails_on_a_full_disk_leaves_nothing_and_says_so(small_disk):
    from dbdojo.failures import explain
    from dbdojo.mongo.emulator.server import write_atomic

    fill(small_disk)
    for write in (state.write_private, lambda p, t: write_atomic(p, t.encode())):
        with pytest.raises(OSError) as caught:
            write(small_disk / "state.json", "x" * 2**20)
        assert [p.name for p in small_disk.iterdir()] == ["filler"], "a temporary file is left"
        message = explain(caught.value, "dojo seed")
        assert message and "disk is full" in message and "`dojo drop WORKSPACE...`" in message
