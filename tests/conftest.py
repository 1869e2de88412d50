"""Shared fixtures.

``dojo_servers`` (session): real servers for the whole test session, in an isolated state
directory, exactly as ``dojo up`` starts them. Use it whenever a test needs a live database::

    def test_something(dojo_servers):
        url = dojo_servers.url("postgres")        # fails clearly if PostgreSQL is not up
        conn = dbdojo.connect.pg_connect(...)     # DOJO_STATE_DIR already points at them

It starts the check server too (``dojo grade`` goes to it, as after ``dojo up``).
It sets ``DOJO_STATE_DIR`` for the session (under /var/tmp, reachable by the unprivileged
server user when tests run as root). Services whose ``DOJO_*_URL`` is set use that server
instead, as the CLI does; so ``DOJO_POSTGRES_URL=... pytest`` runs against your own server.
The servers are stopped and the directory removed at the end of the session.

``ipython_shell`` (session): the process's one IPython shell, for tests of the magics.

``seeded_tiny`` (module) and ``scratch`` (one test): the tiny dataset in those servers and
a workspace of it for one test.

Plain helpers shared by test modules (``isolated_state``, ``own_server``, ...) live in
tests/helpers.py; test modules import them from there, never from this file.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dbdojo.records import ServerRecord
from tests.helpers import isolated_state

if TYPE_CHECKING:
    from dbdojo.workspace import Workspace

pytest_plugins = ["tests.fixtures.checking.cli_lab"]


@dataclass
class DojoServers:
    """The servers of a test session: their state directory and what ``up`` did."""

    state_dir: Path
    outcomes: dict = field(default_factory=dict)
    retried: set = field(default_factory=set)

    def url(self, service: str) -> str:
        """The server URL of ``service`` (user's or kit's); fails the test saying why not. A
        server that did not start with the session is started once more, when a test first
        needs it (a first start on a loaded machine can fail where a second succeeds)."""
        from dbdojo.connect import server_url
        from dbdojo.services import manager

        outcome = self.outcomes.get(service)
        if outcome is not None and not outcome.ok and service not in self.retried:
            self.retried.add(service)
            [again] = manager.up([service], wait=True)
            if not again.ok:
                detail = f"{outcome.detail}; started again: {again.detail}"
                again = dataclasses.replace(again, detail=detail)
            self.outcomes[service] = outcome = again
        if outcome is not None and not outcome.ok:
            pytest.fail(f"{service} is not available for tests: {outcome.detail}")
        return server_url(service)

    def record(self, service: str) -> ServerRecord | None:
        from dbdojo import state

        return state.get_record(service)


@pytest.fixture(scope="session")
def dojo_servers() -> Iterator[DojoServers]:
    from dbdojo.commands import grade_control
    from dbdojo.services import manager

    with isolated_state(keep_user_urls=True) as root:
        outcomes = {o.service: o for o in manager.up(wait=True)}
        for outcome in outcomes.values():
            if not outcome.ok:  # in the warnings summary, whichever tests need it
                warnings.warn(f"{outcome.service} did not start: {outcome.detail}", stacklevel=1)
        grade_control.start(wait=30)  # as `dojo up` does: the tests' `dojo grade` goes to it
        try:
            yield DojoServers(root, outcomes)
        finally:
            grade_control.stop()
            manager.down()


@pytest.fixture(scope="session")
def ipython_shell():
    """The one IPython shell of this test process: IPython allows a single interactive shell
    per process, so every test that needs one shares it (the first to ask makes it)."""
    from IPython.testing import globalipapp

    return globalipapp.start_ipython() or globalipapp.get_ipython()


@pytest.fixture(scope="module")
def seeded_tiny(dojo_servers) -> dict[str, str]:
    """The tiny dataset seeded in the test servers, checked again for each module: a module of
    the lab checker's tests on the same worker (``--dist loadfile``) seeds the default scale
    in the same servers, and the tiny one comes back here."""
    from dbdojo.dataset.seeding import ensure_seeded

    dojo_servers.url("postgres")
    dojo_servers.url("redis")
    return ensure_seeded("tiny")


@pytest.fixture
def scratch(seeded_tiny, monkeypatch) -> Iterator[Workspace]:
    """A workspace of this test alone (no spare copies unless the test turns them on)."""
    from dbdojo.dataset import pg
    from dbdojo.dataset.workspaces import reset
    from dbdojo.workspace import Workspace

    monkeypatch.setenv("DOJO_RESET_SPARES", "0")
    ws = Workspace(f"tds_{os.getpid()}")
    reset(ws, services=("postgres", "redis"))
    yield ws
    with pg.admin() as conn:
        for name in (ws.database, pg.spare_name(ws.database), f"{ws.database}_old"):
            pg.drop(conn, name)
