"""The kit's side of the emulator's control socket (see :mod:`dbdojo.mongo.emulator.server`)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from dbdojo.errors import DojoError, NotFound


class ControlError(DojoError, RuntimeError):
    """The emulator refused or failed a control request; the message says why."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


class MissingSnapshot(NotFound):
    """There is no snapshot of that name; the message lists the ones there are."""


def request(path: Path | str, op: str, *, timeout: float = 300, **args: Any) -> dict[str, Any]:
    """Send one control request to the emulator listening on ``path`` and return its reply.

    Raises ConnectionError if nothing listens there, ControlError if the emulator says no.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
        with sock.makefile("rb") as reader:
            line = reader.readline()
    if not line:
        raise ConnectionError(f"the MongoDB emulator closed its control socket {path}")
    reply: dict[str, Any] = json.loads(line)
    if not reply.pop("ok", False):
        error = str(reply.get("error", reply))
        if reply.get("type") == MissingSnapshot.__name__:
            raise MissingSnapshot(error)
        raise ControlError(f"MongoDB emulator: {error}", str(reply.get("type", "")))
    return reply


def status(path: Path | str) -> dict[str, Any] | None:
    """The emulator's status (``ready``, ``recovering``, ...), or None if nothing answers."""
    try:
        return request(path, "status", timeout=2)
    except (OSError, ControlError, ValueError):
        return None


def listening(path: Path | str) -> bool:
    """Whether an emulator process answers on ``path`` (it may still be loading its engine:
    clients that connect now are served once it is)."""
    return status(path) is not None


def answers(path: Path | str) -> bool:
    """Whether an emulator on ``path`` serves requests now."""
    return bool((status(path) or {}).get("ready"))
