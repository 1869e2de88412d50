"""Helpers shared by several test modules (plain functions, no fixtures: those are in
conftest.py). Test modules import from here, never from conftest or from each other.

``isolated_state`` (a context manager, not a fixture) gives a fresh state directory without
user URLs, for tests of the kit's own servers (see tests/test_services_*.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dbdojo.records import ServerRecord
from tests.leftovers import stop_servers_under, temporary_state_dir

if TYPE_CHECKING:  # imported where used: conftest loads this module for every test
    import pymongo

ROOT = Path(__file__).resolve().parent.parent
URL_VARS = ("DOJO_POSTGRES_URL", "DOJO_MONGO_URL", "DOJO_REDIS_URL", "DOJO_MYSQL_URL")
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
DOJO = Path(sys.executable).parent / "dojo"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


@contextmanager
def isolated_state(*, keep_user_urls: bool = False) -> Iterator[Path]:
    """A fresh state directory as ``DOJO_STATE_DIR`` (removed afterwards); user URLs are
    hidden unless ``keep_user_urls``. Tests skip initdb's final fsync (DOJO_PG_NO_SYNC), and
    resets make no spare copies unless a test asks (DOJO_RESET_SPARES: each spare is a copy of
    the dataset, 0.8 GB at the default scale, and a small CI disk ran full)."""
    root = temporary_state_dir()
    root.chmod(0o755)
    fixed = {"DOJO_STATE_DIR": str(root), "DOJO_PG_NO_SYNC": "1", "DOJO_RESET_SPARES": "0"}
    changed = [*fixed, *([] if keep_user_urls else URL_VARS)]
    saved = {var: os.environ.get(var) for var in changed}
    os.environ.update(fixed)
    for var in changed[len(fixed) :]:
        os.environ.pop(var, None)
    try:
        yield root
    finally:
        stop_servers_under(root)  # before the directory goes: see tests/leftovers.py
        shutil.rmtree(root, ignore_errors=True)
        # A longer-lived fixture (the session's servers) first entered inside this one owns
        # the environment now: putting ours back would send every later test of this worker
        # to the checkout's own servers (a CI run lost its emulator that way).
        if os.environ.get("DOJO_STATE_DIR") == str(root):
            for var, value in saved.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value


@contextmanager
def own_server(service: str) -> Iterator[None]:
    """The kit's own server for ``service`` in an isolated state directory, stopped after."""
    from dbdojo.services import manager

    with isolated_state():
        [outcome] = manager.up([service], wait=True)
        assert outcome.action == "started", outcome.detail
        try:
            yield
        finally:
            manager.down([service])


def recorded(service: str) -> ServerRecord:
    """The state file's record of ``service`` (fails the test if there is none)."""
    from dbdojo import state

    found = state.get_record(service)
    assert found is not None, f"no {service} record in the state file"
    return found


def is_healthy(service: str) -> bool:
    """What `dojo status` says about ``service`` now."""
    from dbdojo.services import manager

    [row] = manager.status([service])
    return row.healthy


def require_mysql_binary() -> None:
    """Skip the test when no MariaDB/MySQL server binary is installed (fail it in CI, where
    ``DOJO_REQUIRE_MYSQL=1`` says one must be)."""
    from dbdojo.services import mysql as mysql_service

    if mysql_service.server_binary() is not None:
        return
    message = f"MariaDB/MySQL is missing: {mysql_service.HOW_TO_GET}"
    if os.environ.get("DOJO_REQUIRE_MYSQL") == "1":
        pytest.fail(message + " (CI installs Debian's mariadb-server in .ci/run: it failed)")
    pytest.skip(message)


def sanitize(text: str) -> str:
    """``text`` after the nbval sanitizers of tests/nbval_sanitize.cfg (what nbval compares)."""
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", SANITIZE.read_text(), flags=re.M)
    assert len(pairs) >= 10, "the sanitize file lost its patterns"
    for regex, replace in pairs:
        text = re.sub(regex, replace, text)
    return text


def outside_code(text: str, blank_spans: bool = True) -> Iterator[tuple[int, str]]:
    """(line number, line) of the markdown lines outside fenced code blocks, inline code
    blanked out (links in code are not links) unless ``blank_spans`` is false (a heading
    keeps its code)."""
    fence = ""
    prose: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        prose.append((number, line))
    # code spans may not cross paragraphs; blanking them line by line is close enough
    for number, line in prose:
        yield number, _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line) if blank_spans else line


def dojo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the `dojo` executable of this venv with ``args`` (``env`` added to the environment)."""
    if not DOJO.exists():
        pytest.fail(f"the `dojo` executable is missing at {DOJO}: run `pip install -e .`")
    return subprocess.run(
        [str(DOJO), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **env},
        check=False,
    )


def status_rows(**env: str) -> dict[str, dict]:
    """`dojo status --json`, one row per service."""
    result = dojo("status", "--json", **env)
    return {row["service"]: row for row in json.loads(result.stdout)}


def pg_checksum(conn) -> str:
    """md5 of every table's rows in key order: equal iff the contents are equal."""
    from dbdojo.dataset.columns import TABLES

    parts = []
    for table, columns in TABLES.items():
        key = columns[0][0]
        row = conn.execute(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {key}), '')) FROM {table} t"
        ).fetchone()
        parts.append(row[0])
    return ",".join(parts)


class Running:
    """An emulator of a throwaway checkout state directory, started for one test module."""

    def __init__(self, state_dir: Path) -> None:
        from dbdojo.mongo.service import MongoService

        self.state_dir = state_dir
        self.service = MongoService()
        self.record: ServerRecord | None = None

    def start(self) -> ServerRecord:
        from dbdojo import state

        self.record = self.service.start(state.get_record("mongo"))
        state.put_record(self.record)
        assert self.service.wait_ready(self.record), "the emulator listens but never served"
        return self.record

    def stop(self) -> None:
        from dbdojo import state

        if self.record and self.record.pid:
            self.service.stop(self.record)
            self.record.pid = None
            state.put_record(self.record)

    def client(self) -> pymongo.MongoClient:
        import pymongo

        assert self.record is not None
        return pymongo.MongoClient(self.record.url, serverSelectionTimeoutMS=3000)


def running_emulator() -> Iterator[Running]:
    """Start an emulator with its own state dir (and no user URL); stop it afterwards. The
    state dir is an ``isolated_state`` one, which the server user can enter: in a private
    directory (pytest's tmp_path as root) the data would go to /var/tmp/dbdojo-<id> and stay."""
    with isolated_state() as state_dir:
        emulator = Running(state_dir)
        emulator.start()
        try:
            yield emulator
        finally:
            emulator.stop()
