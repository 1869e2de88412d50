"""Shared fixtures.

``dojo_servers`` (session): real servers for the whole test session, in an isolated state
directory, exactly as ``dojo up`` starts them. Use it whenever a test needs a live database::

    def test_something(dojo_servers):
        url = dojo_servers.url("postgres")        # fails clearly if PostgreSQL is not up
        conn = dbdojo.connect.pg_connect(...)     # DOJO_STATE_DIR already points at them

It sets ``DOJO_STATE_DIR`` for the session (under /var/tmp, reachable by the unprivileged
server user when tests run as root). Services whose ``DOJO_*_URL`` is set use that server
instead, as the CLI does; so ``DOJO_POSTGRES_URL=... pytest`` runs against your own server.
The servers are stopped and the directory removed at the end of the session.

``isolated_state`` (a context manager, not a fixture) gives a fresh state directory without
user URLs, for tests of the kit's own servers (see tests/test_services_*.py).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dbdojo.records import ServerRecord
from tests.leftovers import stop_servers_under

URL_VARS = ("DOJO_POSTGRES_URL", "DOJO_MONGO_URL", "DOJO_REDIS_URL", "DOJO_MYSQL_URL")


@contextmanager
def isolated_state(*, keep_user_urls: bool = False) -> Iterator[Path]:
    """A fresh state directory as ``DOJO_STATE_DIR`` (removed afterwards); user URLs are
    hidden unless ``keep_user_urls``. Tests skip initdb's final fsync (DOJO_PG_NO_SYNC)."""
    root = Path(tempfile.mkdtemp(prefix="dojo-test-", dir="/var/tmp"))
    root.chmod(0o755)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOJO_STATE_DIR", str(root))
        mp.setenv("DOJO_PG_NO_SYNC", "1")
        if not keep_user_urls:
            for var in URL_VARS:
                mp.delenv(var, raising=False)
        try:
            yield root
        finally:
            stop_servers_under(root)  # before the directory goes: see tests/leftovers.py
            shutil.rmtree(root, ignore_errors=True)


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


@dataclass
class DojoServers:
    """The servers of a test session: their state directory and what ``up`` did."""

    state_dir: Path
    outcomes: dict = field(default_factory=dict)

    def url(self, service: str) -> str:
        """The server URL of ``service`` (user's or kit's); fails the test saying why not."""
        from dbdojo.connect import server_url

        outcome = self.outcomes.get(service)
        if outcome is not None and not outcome.ok:
            pytest.fail(f"{service} is not available for tests: {outcome.detail}")
        return server_url(service)

    def record(self, service: str) -> ServerRecord | None:
        from dbdojo import state

        return state.get_record(service)


@pytest.fixture(scope="session")
def dojo_servers() -> Iterator[DojoServers]:
    from dbdojo.services import manager

    with isolated_state(keep_user_urls=True) as root:
        outcomes = {o.service: o for o in manager.up(wait=True)}
        try:
            yield DojoServers(root, outcomes)
        finally:
            manager.down()
