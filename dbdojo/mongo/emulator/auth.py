"""The emulator's users, authentication and authorization, as a ``mongod --auth`` has them.

As far as a classroom needs (``notebooks/MONGODB-EMULATOR.md`` says what is left out):

- **Users**: ``createUser``/``dropUser``/``usersInfo`` (MongoDB's documented commands), with the
  built-in roles ``read``, ``readWrite`` and ``dbAdmin`` on a database and ``root`` and
  ``userAdminAnyDatabase`` on ``admin``. Stored as MongoDB stores them (SCRAM-SHA-256 salt,
  ``storedKey``, ``serverKey``; never the password) in ``users.json`` in the emulator's home,
  written atomically at each change: they survive restarts and crashes.
- **Authentication**: SCRAM-SHA-256 over the wire (``saslStart``/``saslContinue``, and
  ``hello``'s ``saslSupportedMechs`` and ``speculativeAuthenticate``), :mod:`.scram`.
- **Authorization**, only when on (``--auth``, or the control socket's ``security`` request,
  kept in ``security.json``): a connection that has not authenticated may run only the
  handshake commands; a user only the commands their roles grant on the database named
  (``Unauthorized``, code 13, in MongoDB's words); ``listDatabases`` lists only theirs. With
  no user at all, MongoDB's *localhost exception* lets a connection create the first user
  on ``admin``.

With authorization off (``dojo up``), users still authenticate (as on a ``mongod`` without
``--auth``) and nothing is refused.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from dbdojo.mongo.emulator import scram

USERS_FILE = "users.json"
SECURITY_FILE = "security.json"
Next = Callable[[Any], Awaitable[dict[str, Any]]]
Save = Callable[[Path, bytes], None]

# what a connection may run before it authenticates (mongod: the handshake and auth itself)
OPEN = frozenset(
    {"hello", "isMaster", "ismaster", "ping", "buildInfo", "buildinfo", "saslStart",
     "saslContinue", "endSessions", "logout", "connectionStatus", "whatsmyuri", "getnonce"}
)  # fmt: skip
# what every authenticated user may run, whatever their roles
ANY_USER = frozenset(
    {"commitTransaction", "abortTransaction", "listDatabases", "killSessions", "getLastError",
     "usersInfo"}
)  # fmt: skip
USER_COMMANDS = frozenset({"createUser", "dropUser", "usersInfo"})
READ = frozenset(
    {"find", "aggregate", "count", "distinct", "getMore", "killCursors", "listCollections",
     "listIndexes", "dbStats", "collStats", "explain", "dataSize"}
)  # fmt: skip
WRITE = frozenset(
    {"insert", "update", "delete", "findAndModify", "findandmodify", "create", "drop",
     "createIndexes", "dropIndexes"}
)  # fmt: skip
DB_ADMIN = frozenset(
    {"dropDatabase", "collMod", "create", "drop", "createIndexes", "dropIndexes",
     "listCollections", "listIndexes", "dbStats", "collStats", "validate", "compact"}
)  # fmt: skip
DATABASE_ROLES: dict[str, frozenset[str]] = {
    "read": READ,
    "readWrite": READ | WRITE,
    "dbAdmin": DB_ADMIN,
}
ADMIN_ROLES = frozenset({"root", "userAdminAnyDatabase"})
# aggregation stages that name another database, and what they need there
CROSS_DATABASE_STAGES = {"$out": "insert", "$merge": "insert", "$lookup": "find",
                         "$unionWith": "find", "$graphLookup": "find"}  # fmt: skip


def error(code: int, name: str, message: str) -> dict[str, Any]:
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": name}


def unauthorized(command: str, db: str, authenticated: bool) -> dict[str, Any]:
    """MongoDB's refusal: code 13 ``Unauthorized``."""
    if not authenticated:
        return error(13, "Unauthorized", f"Command {command} requires authentication")
    return error(
        13, "Unauthorized", f"not authorized on {db} to execute command {{ {command}: ... }}"
    )


AUTHENTICATION_FAILED = error(18, "AuthenticationFailed", "Authentication failed.")


class Users:
    """The users, by ``(database, name)``, in ``users.json`` (MongoDB's ``system.users``
    shape)."""

    def __init__(self, home: Path, save: Save) -> None:
        self.path = home / USERS_FILE
        self._save = save
        docs = json.loads(self.path.read_text()) if self.path.exists() else []
        self.by_key: dict[tuple[str, str], dict[str, Any]] = {(d["db"], d["user"]): d for d in docs}

    def get(self, db: str, user: str) -> dict[str, Any] | None:
        return self.by_key.get((db, user))

    def put(self, doc: dict[str, Any] | None, db: str, user: str) -> None:
        if doc is None:
            self.by_key.pop((db, user), None)
        else:
            self.by_key[(db, user)] = doc
        self._save(self.path, json.dumps(list(self.by_key.values()), indent=1).encode())

    def __len__(self) -> int:
        return len(self.by_key)


class Security:
    """Authentication and (when :attr:`enabled`) authorization of wire commands."""

    def __init__(self, home: Path, save: Save, enabled: bool = False) -> None:
        self.home = home
        self._save = save
        self.users = Users(home, save)
        flag = home / SECURITY_FILE
        saved = json.loads(flag.read_text()) if flag.exists() else {}
        self.enabled = enabled or saved.get("authorization") == "enabled"

    def set_enabled(self, enabled: bool) -> dict[str, Any]:
        """Authorization on or off (kept across restarts)."""
        self.enabled = enabled
        state = {"authorization": "enabled" if enabled else "disabled"}
        self._save(self.home / SECURITY_FILE, json.dumps(state).encode())
        return {**state, "users": len(self.users)}

    # --- the wire -----------------------------------------------------------------------

    async def serve(self, context: Any, next_: Next) -> dict[str, Any]:
        """Answer ``context``'s command: auth and user commands here, the rest by ``next_``
        if this connection may run it."""
        name, db, conn = context.command_name, context.db_name, context.connection
        body = context.command_document
        if name == "saslStart":
            return self._sasl_start(body, db, conn)
        if name == "saslContinue":
            return self._sasl_continue(body, conn)
        if name == "logout":
            conn.authenticated_users.clear()
            return {"ok": 1.0}
        if name in ("hello", "isMaster", "ismaster"):
            return self._hello(body, db, conn, await next_(context))
        if self.enabled and (refusal := self._refusal(name, db, body, conn)):
            return refusal
        if name in USER_COMMANDS:
            return self._user_command(name, db, body, conn)
        reply = await next_(context)
        if name == "listDatabases" and self.enabled and reply.get("ok") == 1:
            reply = self._only_theirs(reply, conn)
        return reply

    # --- authentication -------------------------------------------------------------------

    def _hello(self, body: dict, db: str, conn: Any, reply: dict[str, Any]) -> dict[str, Any]:
        asked = body.get("saslSupportedMechs")
        if isinstance(asked, str) and "." in asked:
            source, _, user = asked.partition(".")
            if self.users.get(source, user) is not None:
                reply["saslSupportedMechs"] = [scram.MECHANISM]
        speculative = body.get("speculativeAuthenticate")
        if isinstance(speculative, dict) and "saslStart" in speculative:
            source = str(speculative.get("db") or db)
            started = self._sasl_start(speculative, source, conn)
            if started.get("ok") == 1:  # on failure MongoDB leaves the field out
                reply["speculativeAuthenticate"] = {k: v for k, v in started.items() if k != "ok"}
        return reply

    def _sasl_start(self, body: dict, db: str, conn: Any) -> dict[str, Any]:
        from bson.binary import Binary

        if body.get("mechanism") != scram.MECHANISM:
            return error(
                334,
                "MechanismUnavailable",
                f"Received authentication for mechanism {body.get('mechanism')} which is "
                f"not enabled (this server: {scram.MECHANISM} only)",
            )
        try:
            conversation = scram.ServerConversation.start(bytes(body.get("payload") or b""))
        except (scram.ScramError, UnicodeDecodeError):
            return AUTHENTICATION_FAILED
        stored = self._credentials(db, conversation.user)
        if stored is None:
            return AUTHENTICATION_FAILED
        first = conversation.first(stored)
        conversation_id = max(conn.auth_conversations, default=0) + 1
        conn.auth_conversations[conversation_id] = (db, conversation)
        return {"conversationId": conversation_id, "done": False, "payload": Binary(first),
                "ok": 1.0}  # fmt: skip

    def _sasl_continue(self, body: dict, conn: Any) -> dict[str, Any]:
        from bson.binary import Binary

        conversation_id = body.get("conversationId")
        db, conversation = conn.auth_conversations.pop(conversation_id, (None, None))
        if conversation is None:
            return error(17, "ProtocolError", "No SASL session state found")
        stored = self._credentials(db, conversation.user)
        try:
            if stored is None:
                raise scram.ScramError("the user was dropped")
            final = conversation.final(bytes(body.get("payload") or b""), stored)
        except (scram.ScramError, UnicodeDecodeError):
            return AUTHENTICATION_FAILED
        conn.authenticated_users[:] = [{"user": conversation.user, "db": db}]
        return {"conversationId": conversation_id, "done": True, "payload": Binary(final),
                "ok": 1.0}  # fmt: skip

    def _credentials(self, db: str, user: str) -> dict[str, Any] | None:
        doc = self.users.get(db, user)
        return None if doc is None else doc["credentials"][scram.MECHANISM]

    # --- authorization --------------------------------------------------------------------

    def roles(self, conn: Any) -> list[dict[str, str]]:
        """The roles of the connection's user (read at each command: a dropped user has
        none from its next command on)."""
        roles: list[dict[str, str]] = []
        for who in conn.authenticated_users:
            doc = self.users.get(who["db"], who["user"])
            roles.extend(doc["roles"] if doc else [])
        return roles

    def may(self, conn: Any, command: str, db: str) -> bool:
        for role in self.roles(conn):
            if role["role"] == "root" and role["db"] == "admin":
                return True
            user_admin = role["role"] == "userAdminAnyDatabase" and role["db"] == "admin"
            if user_admin and (command in USER_COMMANDS or command == "listDatabases"):
                return True
            if role["db"] == db and command in DATABASE_ROLES.get(role["role"], ()):
                return True
        return False

    def _refusal(self, name: str, db: str, body: dict, conn: Any) -> dict[str, Any] | None:
        if name in OPEN:
            return None
        if not self.users and name == "createUser" and db == "admin":
            return None  # the localhost exception: the first user
        if not conn.authenticated_users:
            return unauthorized(name, db, False)
        if name in ANY_USER:
            return None  # usersInfo and listDatabases answer only what is theirs
        if not self.may(conn, name, db):
            return unauthorized(name, db, True)
        for other, needs in _other_databases(body, db):
            if not self.may(conn, needs, other):
                return unauthorized(name, other, True)
        return None

    def _only_theirs(self, reply: dict[str, Any], conn: Any) -> dict[str, Any]:
        if self.may(conn, "listDatabases", "admin"):
            return reply
        mine = {r["db"] for r in self.roles(conn) if r["role"] in DATABASE_ROLES}
        kept = [d for d in reply.get("databases", []) if d.get("name") in mine]
        reply = {**reply, "databases": kept}
        if "totalSize" in reply:
            reply["totalSize"] = sum(d.get("sizeOnDisk", 0) for d in kept)
        return reply

    # --- user commands --------------------------------------------------------------------

    def _user_command(self, name: str, db: str, body: dict, conn: Any) -> dict[str, Any]:
        user = body[name]
        if name == "usersInfo":
            return self._users_info(user, db, conn)
        if not isinstance(user, str) or not user:
            return error(2, "BadValue", f"{name} needs a user name")
        if name == "dropUser":
            if self.users.get(db, user) is None:
                return error(11, "UserNotFound", f"User '{user}@{db}' not found")
            self.users.put(None, db, user)
            return {"ok": 1.0}
        if self.users.get(db, user) is not None:
            return error(51003, "Location51003", f'User "{user}@{db}" already exists')
        roles = _roles(body.get("roles", []), db)
        if isinstance(roles, str):
            return error(31, "RoleNotFound", roles)
        mechanisms = body.get("mechanisms", [scram.MECHANISM])
        if list(mechanisms) != [scram.MECHANISM] or not isinstance(body.get("pwd"), str):
            return error(2, "BadValue", f"this server stores {scram.MECHANISM} passwords only")
        doc = {
            "_id": f"{db}.{user}",
            "user": user,
            "db": db,
            "roles": roles,
            "mechanisms": [scram.MECHANISM],
            "credentials": {scram.MECHANISM: scram.credentials(body["pwd"])},
        }
        self.users.put(doc, db, user)
        return {"ok": 1.0}

    def _users_info(self, which: Any, db: str, conn: Any) -> dict[str, Any]:
        if which == 1:
            wanted = [d for (udb, _), d in self.users.by_key.items() if udb == db]
        else:
            names = which if isinstance(which, list) else [which]
            keys = [(n.get("db", db), n.get("user")) if isinstance(n, dict) else (db, n)
                    for n in names]  # fmt: skip
            wanted = [d for k in keys if (d := self.users.get(*k)) is not None]
        if self.enabled and not self.may(conn, "usersInfo", db):
            mine = {(w["db"], w["user"]) for w in conn.authenticated_users}
            if any((d["db"], d["user"]) not in mine for d in wanted) or not wanted:
                return unauthorized("usersInfo", db, bool(conn.authenticated_users))
        public = [{k: v for k, v in d.items() if k != "credentials"} for d in wanted]
        return {"users": public, "ok": 1.0}


def _roles(given: Any, db: str) -> list[dict[str, str]] | str:
    """``roles`` of createUser as ``[{"role", "db"}]``, or why not."""
    roles = []
    for role in given if isinstance(given, list) else []:
        spec = {"role": role, "db": db} if isinstance(role, str) else dict(role)
        name, on = spec.get("role"), spec.get("db")
        if name in DATABASE_ROLES or (name in ADMIN_ROLES and on == "admin"):
            roles.append({"role": str(name), "db": str(on)})
        else:
            return f"Could not find role: {name}@{on} (this server has {_role_names()})"
    return roles


def _role_names() -> str:
    return ", ".join([*DATABASE_ROLES, *(f"{r}@admin" for r in sorted(ADMIN_ROLES))])


def _other_databases(body: dict, db: str) -> list[tuple[str, str]]:
    """Databases an aggregation writes (``$out``/``$merge``) or reads besides ``db``
    (``$lookup``/``$unionWith``/``$graphLookup`` from another), with the command each needs
    there."""
    found: list[tuple[str, str]] = []

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                needs = CROSS_DATABASE_STAGES.get(key)
                target: Any = db
                if needs and isinstance(inner, dict):
                    into = inner.get("into")
                    target = inner.get("db") or (into.get("db") if isinstance(into, dict) else None)
                    target = target or db
                if needs and (target != db or needs == "insert"):  # $out writes, even at home
                    found.append((str(target), needs))
                visit(inner)
        elif isinstance(value, list):
            for inner in value:
                visit(inner)

    visit(body)  # an aggregate's pipeline, an explained one, a view's
    return found


def placeholder_context(build: Callable[..., Any], body: dict[str, Any], **kwargs: Any) -> Any:
    """A request context for a user command mongoeco does not know (it refuses to build
    one): built as ``ping`` with the same fields, then named back."""
    name = next(iter(body))
    ping = {"ping": 1, **{k: v for k, v in body.items() if k.startswith("$") or k == "lsid"}}
    context = build(ping, **kwargs)
    document = {k: v for k, v in body.items() if not k.startswith("$") and k != "lsid"}
    return dataclasses.replace(context, command_name=name, command_document=document, raw_body=body)
