"""How the kit runs a database server: the :class:`Service` every database implements, and the
helpers its local servers share to start (a port, a spawn, a wait, a retry on a port clash)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from dbdojo import procs
from dbdojo.records import Health, ServerRecord

TRIES = 3  # ports tried before giving up

IN_USE = ("Address already in use", "could not bind", "could not create listen socket")


def choose_port(previous: ServerRecord | None) -> int:
    """The previous port if it is still free (URLs stay the same), else a new free one."""
    if previous and previous.port and procs.port_free(previous.port):
        return previous.port
    return procs.free_port()


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Call ``check`` until it is true or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def port_clash(log_file: Path) -> bool:
    """Whether the last lines of a server log say its port was taken."""
    return any(text in procs.tail(log_file, 15) for text in IN_USE)


def on_free_port[T](
    previous: ServerRecord | None, start: Callable[[int], T | None], log_file: Path
) -> T | None:
    """The one start loop of the kit's local servers: ``start(port)`` on the previous port if
    it is free (URLs stay the same), else on a new one; it returns what it started, or None
    after cleaning up. A failed start is retried on another port only when ``log_file`` says
    the port was taken (another program got it first). None if no try started a server:
    :func:`port_clash` then tells whether every port was taken."""
    for attempt in range(TRIES):
        started = start(choose_port(previous if attempt == 0 else None))
        if started is not None:
            return started
        if not port_clash(log_file):
            break
    return None


def found_record(
    service: str, backend: str, record: ServerRecord | None, found: tuple[int, int] | None
) -> ServerRecord | None:
    """A record of the server ``found`` (pid, port) running on the kit's data, enough for
    ``stop``; None if none was found."""
    if found is None:
        return None
    pid, port = found
    url = record.url if record else ""
    extra = {"started": procs.started_at(pid)}
    return ServerRecord(service, backend, url, pid=pid, port=port, extra=extra)


class Service(ABC):
    """A database the kit can start, stop and probe. One subclass per database."""

    name: ClassVar[str]  # one of settings.SERVICES
    label: ClassVar[str]  # "PostgreSQL", "MongoDB", "Redis", "MariaDB"
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
