"""Workspaces: a named, independent copy of the seeded data in each of the three databases.

The learner's everyday workspace is ``main``. A notebook or lab may ask for its own (so labs do
not disturb each other), the test suite uses one per worker, and the answer checker uses the
``edge_*`` workspaces that hold the edge-case variants of the dataset.

Naming, the contract every other module relies on:

==============  =====================  =====================  ==============================
workspace       PostgreSQL database    MongoDB database       Redis logical database
==============  =====================  =====================  ==============================
``main``        ``dojo``               ``dojo``               0 (or the db in the user's URL)
``<name>``      ``dojo_<name>``        ``dojo_<name>``        allocated from the registry
==============  =====================  =====================  ==============================
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dbdojo import settings
from dbdojo.errors import DojoError, Invalid
from dbdojo.paths import state_dir

MAIN = "main"
MAIN_DATABASE = "dojo"  # the main workspace's database; others are dojo_<name>
REDIS_DATABASES = 1024  # the embedded Redis is started with this many logical databases
# The seeded snapshot's database: 63 since the kit started Redis with 64 databases, kept there
# so a server started before (its data is persisted) still finds its snapshot. 1,024 empty
# databases cost Valkey ~8 KB over 64 (benchmarks/bench_redis_class.py).
SNAPSHOT_REDIS_DB = 63
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class NoRoomForWorkspace(DojoError, RuntimeError):
    """Every Redis logical database is taken; the message says how to free one."""


@dataclass(frozen=True)
class Workspace:
    name: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise Invalid(
                f"workspace name {self.name!r}: use lowercase letters, digits and _ "
                "(start with a letter, at most 41 characters)"
            )

    @property
    def database(self) -> str:
        """The PostgreSQL and MongoDB database name."""
        return MAIN_DATABASE if self.name == MAIN else f"{MAIN_DATABASE}_{self.name}"

    @property
    def redis_db(self) -> int:
        return 0 if self.name == MAIN else _redis_db_for(self.name)

    @classmethod
    def of_database(cls, database: str) -> Workspace:
        """The workspace whose PostgreSQL/MongoDB database is ``database`` (the table above,
        read backwards); ValueError if it cannot be one."""
        if database == MAIN_DATABASE:
            return cls(MAIN)
        if not database.startswith(f"{MAIN_DATABASE}_"):
            raise ValueError(f"{database!r} is no workspace database")
        return cls(database.removeprefix(f"{MAIN_DATABASE}_"))


def current() -> Workspace:
    """The workspace named by ``DOJO_WORKSPACE``, else ``main``."""
    return Workspace(settings.workspace_name() or MAIN)


@contextmanager
def _registry() -> Iterator[dict[str, int]]:
    path = state_dir() / "workspaces.json"
    with open(state_dir() / "workspaces.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
        yield data
        path.write_text(json.dumps(data, indent=1, sort_keys=True))


def _redis_db_for(name: str) -> int:
    """A stable logical-database number per workspace (never 0, main's, nor the snapshot's)."""
    with _registry() as registry:
        if name not in registry:
            used = set(registry.values())
            free = [i for i in range(1, REDIS_DATABASES) if i not in used | {SNAPSHOT_REDIS_DB}]
            if not free:
                raise NoRoomForWorkspace(
                    f"no room for the workspace {name!r}: every Redis logical database is "
                    "taken by a workspace; see them with `dojo workspaces`, drop some with "
                    "`dojo drop WORKSPACE...`"
                )
            registry[name] = free[0]
        return registry[name]


def allocated() -> dict[str, int]:
    """Workspace name -> its Redis logical database, for every workspace given one so far."""
    path = state_dir() / "workspaces.json"
    return json.loads(path.read_text()) if path.exists() else {}


def release(name: str) -> int | None:
    """Give back the Redis logical database of workspace ``name``; returns it (None if it had
    none). The caller empties that database first."""
    with _registry() as registry:
        return registry.pop(name, None)
