"""The kit's own MongoDB user, for an emulator that requires authentication (a classroom).

``dojo classroom up`` turns the kit's emulator's authorization on (:func:`require`): the kit
then connects as ``dojo_admin`` (role ``root``), whose generated password is kept in the
classroom's state directory (mode 0600, the instructor's; never in a learner's ``~/.env``).
:func:`client_options` gives pymongo those credentials for the kit's own connections
(seeding, resets, the classroom service, the checker). Without a classroom nothing changes:
no file, no authentication.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from dbdojo.errors import DojoError
from dbdojo.paths import state_dir

ADMIN_USER = "dojo_admin"
MECHANISM = "SCRAM-SHA-256"


class LostAdminPassword(DojoError, RuntimeError):
    """The emulator requires authentication and the kit's password for it is gone."""


def credentials_file() -> Path:
    return state_dir() / "classroom" / "mongo-admin.json"


def credentials() -> dict[str, str] | None:
    """``{"user", "password"}`` of the kit's MongoDB admin, or None (no authentication)."""
    try:
        return json.loads(credentials_file().read_text())
    except (FileNotFoundError, ValueError):
        return None


def client_options() -> dict[str, Any]:
    """pymongo options authenticating as the kit's admin ({} when there is none)."""
    found = credentials()
    if not found:
        return {}
    return {"username": found["user"], "password": found["password"], "authSource": "admin",
            "authMechanism": MECHANISM}  # fmt: skip


def _emulator() -> Any:
    from dbdojo import state

    record = state.get_record("mongo")
    return record if record is not None and record.backend == "emulator" else None


def require() -> bool:
    """Make the kit's admin user on its emulator and turn authorization on (idempotent).
    False on a real ``mongod``: its security is its own configuration's (``--auth``)."""
    import pymongo

    from dbdojo.mongo.emulator import control

    record = _emulator()
    if record is None:
        return False
    found = credentials()
    if found is None:
        found = {"user": ADMIN_USER, "password": secrets.token_urlsafe(24)}
        path = credentials_file()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(found))
    with pymongo.MongoClient(record.url, serverSelectionTimeoutMS=120_000) as anonymous:
        status = control.status(record.extra["control"]) or {}
        known = (
            status.get("authorization") == "enabled"
            or anonymous.admin.command("usersInfo", ADMIN_USER)["users"]
        )
        if not known:  # auth off, or on with no user yet (the localhost exception)
            anonymous.admin.command("createUser", ADMIN_USER, pwd=found["password"], roles=["root"])
    with pymongo.MongoClient(
        record.url, serverSelectionTimeoutMS=10_000, **client_options()
    ) as admin:
        try:
            admin.admin.command("ping")
        except pymongo.errors.OperationFailure as exc:
            raise LostAdminPassword(
                f"the MongoDB emulator refuses the kit's admin ({exc}): its users are in "
                f"{record.data_dir}/users.json; stop it, remove that file and security.json, "
                "and start again"
            ) from exc
    control.request(record.extra["control"], "security", authorization="enabled")
    return True


def enforced(url: str) -> bool:
    """Whether the MongoDB server at ``url`` refuses an unauthenticated client (its access
    control is on): a ``mongod`` started without ``--auth`` or ``--keyFile`` accepts the
    learners' users but enforces none of their rights."""
    from urllib.parse import urlsplit, urlunsplit

    import pymongo
    import pymongo.errors

    parts = urlsplit(url)  # without the URL's credentials, if it has any
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("auth"))
    bare = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, query, ""))
    with pymongo.MongoClient(bare, serverSelectionTimeoutMS=10_000) as anonymous:
        try:
            anonymous.list_database_names()
        except pymongo.errors.OperationFailure as exc:
            return exc.code == 13  # Unauthorized
    return False


def release() -> None:
    """Authorization off, the kit's admin user dropped and its password forgotten."""
    import pymongo

    from dbdojo.mongo.emulator import control

    record = _emulator()
    if record is not None and credentials() is not None:
        control.request(record.extra["control"], "security", authorization="disabled")
        with pymongo.MongoClient(record.url, serverSelectionTimeoutMS=10_000) as client:
            client.admin.command("dropUser", ADMIN_USER)
    credentials_file().unlink(missing_ok=True)
