"""The `dojo` server commands, run as a user runs them: the installed executable."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from tests.helpers import dojo, isolated_state, status_rows

KIT = ["--only", "postgres", "--only", "redis"]  # MongoDB's own tests cover the emulator


@pytest.fixture(scope="module")
def kit():
    with isolated_state():
        result = dojo("up", *KIT)
        assert result.returncode == 0, result.stdout + result.stderr
        yield result
        dojo("down")


def test_up_says_what_it_started(kit):
    assert "started PostgreSQL" in kit.stdout
    assert "started Redis" in kit.stdout


def test_status_json_is_truthful_and_hides_passwords(kit):
    rows = status_rows()
    assert set(rows) == {"postgres", "mongo", "redis", "mysql"}  # mysql: optional (X3)
    state = json.loads((Path(os.environ["DOJO_STATE_DIR"]) / "state.json").read_text())
    for name in ("postgres", "redis"):
        row = rows[name]
        assert row["healthy"] is True, row
        assert row["backend"] == "embedded"
        assert row["pid"] == state["services"][name]["pid"]
        assert "***" in row["url"] and state["secrets"][name] not in row["url"]


def test_status_table(kit):
    result = dojo("status")
    for text in ("PostgreSQL", "Redis", "embedded", "healthy", "Valkey"):
        assert text in result.stdout


def test_env_prints_working_exports(kit):
    result = dojo("env")
    assert result.returncode == 0
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines()
    )
    assert {"DOJO_POSTGRES_URL", "DOJO_REDIS_URL"} <= set(exports)
    with psycopg.connect(exports["DOJO_POSTGRES_URL"].strip("'"), connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_exported_kit_urls_stay_the_kits(kit):
    """After eval "$(dojo env)", `dojo up` still manages its own servers."""
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in dojo("env").stdout.splitlines()
    )
    result = dojo("up", *KIT, **exports)
    assert result.returncode == 0, result.stderr
    assert "user URL" not in result.stdout
    assert "running PostgreSQL" in result.stdout


def test_a_user_url_wins_and_is_not_started(kit):
    kit_url = status_rows()["postgres"]  # masked; take the real one from `dojo env`
    real = next(
        line.split("=", 1)[1].strip("'")
        for line in dojo("env").stdout.splitlines()
        if "POSTGRES" in line
    )
    own = real.replace("127.0.0.1", "localhost")  # the same server, given by the user
    result = dojo("up", "--only", "postgres", DOJO_POSTGRES_URL=own)
    assert "user URL" in result.stdout and "DOJO_POSTGRES_URL" in result.stdout
    row = status_rows(DOJO_POSTGRES_URL=own)["postgres"]
    assert row["backend"] == "url" and row["healthy"] is True
    assert row["url"] != kit_url["url"]


def test_logs(kit):
    result = dojo("logs", "postgres", "-n", "5")
    assert result.returncode == 0
    assert 0 < len(result.stdout.strip().splitlines()) <= 5
    assert "Ready to accept connections" in dojo("logs", "redis", "-n", "200").stdout


def test_doctor_runs_and_names_the_binaries(kit):
    result = dojo("doctor")
    assert "PostgreSQL binaries" in result.stdout
    assert "embedded" in result.stdout
    assert "Answer sandbox" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["up", "status", "env", "doctor"])
def test_bad_url_gives_a_clear_error(kit, command):
    result = dojo(command, DOJO_POSTGRES_URL="mysql://root@localhost/db")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "DOJO_POSTGRES_URL" in output and "is not a postgres URL" in output
    assert "Traceback" not in output


def test_down_then_status_shows_stopped(kit):
    result = dojo("down")
    assert result.returncode == 0
    assert "stopped PostgreSQL" in result.stdout and "stopped Redis" in result.stdout
    rows = status_rows()
    assert rows["postgres"]["healthy"] is False and rows["redis"]["healthy"] is False
    assert dojo("status").returncode == 1, "status exits non-zero while a database is down"
    assert dojo("up", *KIT).returncode == 0  # and the next test module finds them back


def test_lab_without_jupyterlab_says_how_to_install_it():
    with isolated_state():
        result = dojo("lab", "--no-browser", PATH="/usr/bin:/bin")
    assert result.returncode == 1
    assert "pip install -e '.[lab]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_lab_command_line(tmp_path, monkeypatch):
    fake = tmp_path / "jupyter-lab"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    from dbdojo.commands.lab import command

    cmd = command(8899, open_browser=False)
    assert cmd[0] == str(fake)
    assert "--ip=127.0.0.1" in cmd
    assert not any("token" in arg.lower() for arg in cmd), "a command line is public (ps)"
    assert any(arg.startswith("--ServerApp.root_dir=") for arg in cmd), "labs/ must be reachable"
    assert "--LabApp.default_url=/lab/tree/notebooks/00-welcome.ipynb" in cmd
    assert ("--allow-root" in cmd) == (os.geteuid() == 0)


def test_help_mentions_docker_is_not_tested_here():
    result = dojo("up", "--help")
    assert "--docker" in result.stdout and "not exercised" in result.stdout
