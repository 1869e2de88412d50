"""Helpers shared by the services that run a server binary on this machine."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from dbdojo import procs, state
from dbdojo.services.base import ServerRecord

IN_USE = ("Address already in use", "could not bind", "could not create listen socket")


def server_home(service: str, user: procs.RunAs | None) -> Path:
    """The directory holding one service's data, config and log, owned by the server user."""
    home = state.data_root() / service
    if not home.exists():
        home.mkdir(mode=0o700, parents=True)
        procs.give_to(home, user)
    return home


def choose_port(previous: ServerRecord | None) -> int:
    """The previous port if it is still free (URLs stay the same), else a new free one."""
    if previous and previous.port and procs.port_free(previous.port):
        return previous.port
    return procs.free_port()


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


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def port_clash(log_file: Path) -> bool:
    """Whether the last lines of a server log say its port was taken."""
    return any(text in procs.tail(log_file, 15) for text in IN_USE)


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
