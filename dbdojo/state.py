"""The state file ``.dojo/state.json``: servers the kit started, generated passwords, data root.

Layout::

    {"services": {"postgres": ServerRecord.to_dict(), ...},
     "secrets": {"postgres": "<generated password>", ...},
     "data_root": "/where/server/data/lives"}

Writers hold an exclusive lock (``state.lock``) for the whole read-modify-write; starting a
server holds that service's own lock (``<service>.lock``), so two ``dojo up`` at once start one
server, not two, and the three services start in parallel. The file is replaced atomically,
so readers (:mod:`dbdojo.connect`) need no lock. It holds passwords: mode 0600.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbdojo import procs
from dbdojo.paths import state_dir
from dbdojo.services.base import ServerRecord

_held = threading.local()


def state_file() -> Path:
    return state_dir() / "state.json"


def load() -> dict[str, Any]:
    """The current state (empty if none). A damaged file is reported, not silently reset.

    Inside :func:`locked`, this is the locked (and not yet saved) state."""
    if (held := getattr(_held, "data", None)) is not None:
        return held
    path = state_file()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"the kit's state file {path} is damaged ({exc}); move it away and run `dojo up` "
            "(stopped servers keep their data; generated passwords are in that file)"
        ) from exc
    return data if isinstance(data, dict) else {}


def _save(data: dict[str, Any]) -> None:
    path = state_file()
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextmanager
def locked() -> Iterator[dict[str, Any]]:
    """The state, locked for update; saved on normal exit. Re-entrant within a thread."""
    current = getattr(_held, "data", None)
    if current is not None:
        yield current
        return
    with open(state_dir() / "state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load()
        _held.data = data
        try:
            yield data
            _save(data)
        finally:
            _held.data = None
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def service_locked(service: str) -> Iterator[None]:
    """Held while one service is being started or stopped: two ``dojo up`` at once start one
    server, while the services themselves start in parallel (each records its result under
    :func:`locked`, briefly)."""
    with open(state_dir() / f"{service}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def get_record(service: str) -> ServerRecord | None:
    raw = load().get("services", {}).get(service)
    return ServerRecord.from_dict(raw) if raw else None


def records() -> dict[str, ServerRecord]:
    raw = load().get("services", {})
    return {name: ServerRecord.from_dict(value) for name, value in raw.items()}


def put_record(record: ServerRecord) -> None:
    with locked() as data:
        data.setdefault("services", {})[record.service] = record.to_dict()


def secret(name: str) -> str:
    """The generated password ``name`` of this install, created (and saved) on first use."""
    with locked() as data:
        store = data.setdefault("secrets", {})
        if name not in store:
            store[name] = secrets.token_urlsafe(18)
        value: str = store[name]
    return value


def data_root() -> Path:
    """Where servers keep their data: the state directory if the server user can reach it,
    else ``/var/tmp/dbdojo-<id>`` (as root, when the checkout sits in a private directory such
    as /root). Chosen once and recorded, so data is found again."""
    with locked() as data:
        if recorded := data.get("data_root"):
            root = Path(recorded)
        else:
            root = _choose_data_root()
            data["data_root"] = str(root)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _choose_data_root() -> Path:
    home = state_dir().resolve()
    home.chmod(0o755)  # servers running as another user must be able to enter it
    if procs.can_reach(home, procs.run_as()):
        return home
    digest = hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:8]
    root = Path("/var/tmp") / f"dbdojo-{digest}"
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    return root
