"""The state file ``.dojo/state.json``: servers the kit started, generated passwords, data root.

Layout::

    {"services": {"postgres": ServerRecord.to_dict(), ...},
     "secrets": {"postgres": "<generated password>", ...},
     "data_root": "/where/server/data/lives"}

Writers hold an exclusive lock (``state.lock``) for the whole read-modify-write; starting a
server holds that service's own lock (``<service>.lock``), so two ``dojo up`` at once start one
server, not two, and the three services start in parallel. The file is replaced atomically,
so readers (:mod:`dbdojo.connect`) need no lock. It holds passwords: mode 0600.

Each server's password is also kept beside its data (``<data root>/<service>/credentials.json``,
mode 0600), where a damaged or deleted state file cannot lose it: ``dojo up`` rebuilds a damaged
state file from those and from the servers it finds running on the kit's data
(:func:`repair`); it refuses to invent a new password for data whose password is lost.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbdojo import procs
from dbdojo.errors import DojoError
from dbdojo.paths import state_dir
from dbdojo.records import ServerRecord

_held = threading.local()
CREDENTIALS = "credentials.json"
SERVICE_SECRETS = ("postgres", "redis", "mysql")  # a server's own password, the one its data needs


class StateDamaged(DojoError, RuntimeError):
    """The state file is not what the kit wrote; the message says how to rebuild it."""


class CredentialsLost(DojoError, RuntimeError):
    """A server's data exists but its password is known nowhere; the message says what to do."""


def state_file() -> Path:
    return state_dir() / "state.json"


def load() -> dict[str, Any]:
    """The current state (empty if none). A damaged file raises :class:`StateDamaged` (``dojo
    up`` rebuilds it), it is never silently reset.

    Inside :func:`locked`, this is the locked (and not yet saved) state."""
    if (held := getattr(_held, "data", None)) is not None:
        return held
    path = state_file()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StateDamaged(_damaged(path, str(exc))) from exc
    if not isinstance(data, dict):
        raise StateDamaged(_damaged(path, f"it holds a {type(data).__name__}, not an object"))
    return data


def _damaged(path: Path, why: str) -> str:
    return (
        f"the kit's state file {path} is damaged ({why}): run `dojo up`, which rebuilds it from "
        "the servers' data (their passwords are kept beside it)"
    )


def repair() -> Path | None:
    """Rebuild a damaged state file: set it aside (``state.json.damaged-<time>``) and start
    an empty one; passwords come back from beside each server's data, records when ``dojo up``
    finds the servers. Returns where the damaged file went (None if it was fine)."""
    with open(state_dir() / "state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            load()
        except StateDamaged:
            path = state_file()
            aside = path.with_name(f"state.json.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(path, aside)
            return aside
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return None


def _save(data: dict[str, Any]) -> None:
    path = state_file()
    write_private(path, json.dumps(data, indent=2, sort_keys=True))


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by its owner only (0600). A failed
    write (a full disk) leaves the old file and no temporary file behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def locked() -> Iterator[dict[str, Any]]:
    """The state, locked for update; saved on normal exit if it changed (nothing is written
    otherwise: reading under the lock works on a full disk). Re-entrant within a thread."""
    current = getattr(_held, "data", None)
    if current is not None:
        yield current
        return
    with open(state_dir() / "state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load()
        before = json.dumps(data, sort_keys=True)
        _held.data = data
        try:
            yield data
            if json.dumps(data, sort_keys=True) != before:
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
    """The generated password ``name`` of this install, created (and saved) on first use.

    A server's passwords (``postgres``, ``postgres_answer``, ``redis``...) are also kept beside
    its data, and those win: they are the ones its data was made with. A server's own password
    (:data:`SERVICE_SECRETS`) is never invented for data that already exists."""
    service = name.split("_")[0] if name.split("_")[0] in SERVICE_SECRETS else None
    with locked() as data:
        store = data.setdefault("secrets", {})
        kept = _read_credentials(service) if service else {}
        value: str | None = kept.get(name) or store.get(name)
        if value is None:
            if name in SERVICE_SECRETS and _holds_data(name):
                raise CredentialsLost(_lost(name))
            value = secrets.token_urlsafe(18)
        store[name] = value
        if service and kept.get(name) != value:
            write_private(credentials_file(service), json.dumps({**kept, name: value}, indent=1))
    return value


def server_home(service: str, user: procs.RunAs | None) -> Path:
    """The directory holding one service's data, config and log, owned by the server user."""
    home = data_root() / service
    if not home.exists():
        home.mkdir(mode=0o700, parents=True)
        procs.give_to(home, user)
    return home


def credentials_file(service: str) -> Path:
    """Where ``service``'s passwords are kept, in the directory that holds its data."""
    return server_home(service, procs.run_as()) / CREDENTIALS


def _read_credentials(service: str) -> dict[str, str]:
    path = credentials_file(service)
    try:
        kept = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}  # unreadable: treated as lost (and refused below if data exists)
    return kept if isinstance(kept, dict) else {}


def _holds_data(service: str) -> bool:
    home = credentials_file(service).parent
    return any(entry.name != CREDENTIALS for entry in home.iterdir())


def _lost(service: str) -> str:
    home = credentials_file(service).parent
    return (
        f"the {service} password is lost (the state file and {home / CREDENTIALS} do not hold "
        f"it) but its data in {home} still exists, so the kit will not make a new one: restore "
        f"{state_file()} or {home / CREDENTIALS} from a backup, or move {home} away (its data "
        "is then set aside) and run `dojo up` and `dojo seed` to start afresh"
    )


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


def known_data_root() -> Path:
    """Where server data lives, read without writing anything (a full disk, a damaged state
    file): the recorded data root, else the state directory."""
    try:
        recorded = load().get("data_root")
    except StateDamaged:
        recorded = None
    return Path(recorded) if recorded else state_dir()


def _choose_data_root() -> Path:
    home = state_dir().resolve()
    home.chmod(0o755)  # servers running as another user must be able to enter it
    if procs.can_reach(home, procs.run_as()):
        return home
    digest = hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:8]
    root = Path("/var/tmp") / f"dbdojo-{digest}"
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    return root
