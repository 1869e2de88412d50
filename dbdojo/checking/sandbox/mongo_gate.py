"""The MongoDB gate: reads every request an answer sends and forwards only what the exercise
allows, so an answer reaches its own databases and nothing else.

MongoDB's wire protocol (OP_MSG, and OP_QUERY for the first handshake) carries each command as
a BSON document naming its database in ``$db``. The gate decodes it, checks the command, the
database and every operator inside it, and forwards the document it checked, re-encoded
(never the original bytes: a document with a key twice must not mean one thing here and
another upstream). With a real MongoDB the answer could be given a user of its own; the
emulator has no users, so the gate is what scopes it.
"""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

OP_QUERY, OP_MSG = 2004, 2013
MAX_MESSAGE = 48 * 1024 * 1024
HANDSHAKE = {"hello", "ismaster", "ping", "buildinfo", "endsessions"}
READS = {"find", "aggregate", "getmore", "killcursors", "count", "distinct", "listcollections",
         "listindexes", "collstats", "dbstats", "explain"}  # fmt: skip
WRITES = {"insert", "update", "delete", "findandmodify", "create", "drop", "createindexes",
          "dropindexes", "collmod", "dropdatabase", "committransaction",
          "aborttransaction"}  # fmt: skip
TRANSACTION = {"committransaction", "aborttransaction"}  # sent to admin
TIMED = {"find", "aggregate", "count", "distinct", "findandmodify"}
# operators that run code, write elsewhere or read other sessions: never for answers
FORBIDDEN = {"$where", "$function", "$accumulator", "$out", "$merge", "$currentOp",
             "$listSessions", "$listLocalSessions"}  # fmt: skip
CROSS_DATABASE = {"$lookup", "$unionWith", "$graphLookup"}


class Refused(Exception):
    """What an answer may not send, and why (shown to the learner)."""


@dataclass
class Policy:
    databases: set[str]
    writes: bool
    max_time_ms: int


def messages(sock: socket.socket) -> Iterator[bytes]:
    """The wire messages a client sends, until it hangs up."""
    while (message := read_message(sock)) is not None:
        yield message


def read_message(sock: socket.socket) -> bytes | None:
    header = _read(sock, 16)
    if header is None:
        return None
    (length,) = struct.unpack("<i", header[:4])
    if not 16 <= length <= MAX_MESSAGE:
        raise ValueError("message size out of bounds")
    body = _read(sock, length - 16)
    if body is None:
        raise ValueError("truncated message")
    return header + body


def _read(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Gate:
    """Checks one connection's requests under ``policy`` (see :func:`check`)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def check(self, message: bytes) -> tuple[bytes, bytes]:
        """(what to forward, what to answer the client with): exactly one is empty."""
        request_id, _, opcode = struct.unpack("<iii", message[4:16])
        try:
            if opcode == OP_QUERY:
                return self._handshake(message), b""
            if opcode != OP_MSG:
                raise Refused(f"MongoDB wire opcode {opcode} is not allowed for answers")
            flags, sections = _parse_msg(message)
            body = sections[0][1]
            self._allow(body, sections)
            return _build_msg(message[4:16], flags & ~1, body, sections[1:]), b""
        except Refused as exc:
            return b"", _error_reply(request_id, str(exc))

    def _handshake(self, message: bytes) -> bytes:
        from bson import decode

        namespace_end = message.index(b"\x00", 20)
        namespace = message[20:namespace_end].decode()
        start = namespace_end + 1 + 8
        (size,) = struct.unpack("<i", message[start : start + 4])
        query = decode(message[start : start + size])
        name = next(iter(query), "").lower()
        if namespace != "admin.$cmd" or name not in HANDSHAKE:
            raise ValueError("legacy OP_QUERY other than the handshake")  # hang up
        return message

    def _allow(self, body: dict[str, Any], sections: list[tuple[str, Any]]) -> None:
        name = next(iter(body), "")
        command = name.lower()
        database = body.get("$db")
        if command in HANDSHAKE:
            return
        allowed = READS | (WRITES if self.policy.writes else set())
        if command not in allowed:
            raise Refused(f"the {name!r} command is not available to answers")
        expected = "admin" if command in TRANSACTION else None
        if database not in self.policy.databases and database != expected:
            raise Refused(
                f"answers reach only their own database, not {database!r}: use the `db` "
                "(or the collection) the exercise gives you"
            )
        for _, doc in sections:
            for docs in doc if isinstance(doc, list) else [doc]:
                _scan(docs)
        if command == "explain" and isinstance(body.get("explain"), dict):
            self._allow({**body["explain"], "$db": database}, [])
        if command in TIMED:
            limit = self.policy.max_time_ms
            body["maxTimeMS"] = min(int(body.get("maxTimeMS") or limit), limit)


def _scan(value: Any) -> None:
    for key, item in _items(value):
        if key in FORBIDDEN:
            raise Refused(f"{key} is not available to answers (it runs code or writes elsewhere)")
        if key in CROSS_DATABASE and isinstance(item, dict):
            source = item.get("from", item.get("coll"))
            if isinstance(source, dict) or "db" in item:
                raise Refused(f"{key} may read only collections of the answer's own database")


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, item in current.items():
                yield key, item
                stack.append(item)
        elif isinstance(current, list | tuple):
            stack.extend(current)


def _codec() -> Any:
    from bson.codec_options import CodecOptions, DatetimeConversion

    return CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_AUTO)


def _parse_msg(message: bytes) -> tuple[int, list[tuple[str, Any]]]:
    """flagBits and sections: ("", body) first, then (identifier, [documents])."""
    from bson import decode, decode_all

    (flags,) = struct.unpack("<I", message[16:20])
    end = len(message) - (4 if flags & 1 else 0)
    pos, sections = 20, []
    while pos < end:
        kind = message[pos]
        pos += 1
        (size,) = struct.unpack("<i", message[pos : pos + 4])
        if kind == 0:
            sections.insert(0, ("", decode(message[pos : pos + size], _codec())))
        elif kind == 1:
            name_end = message.index(b"\x00", pos + 4)
            name = message[pos + 4 : name_end].decode()
            sections.append((name, decode_all(message[name_end + 1 : pos + size], _codec())))
        else:
            raise ValueError(f"unknown OP_MSG section kind {kind}")
        pos += size
    if not sections or sections[0][0] != "":
        raise ValueError("OP_MSG without a body")
    return flags, sections


def _build_msg(ids: bytes, flags: int, body: dict, sequences: list[tuple[str, Any]]) -> bytes:
    from bson import encode

    parts = [struct.pack("<I", flags), b"\x00", encode(body, codec_options=_codec())]
    for name, docs in sequences:
        encoded = b"".join(encode(d, codec_options=_codec()) for d in docs)
        payload = name.encode() + b"\x00" + encoded
        parts += [b"\x01", struct.pack("<i", len(payload) + 4), payload]
    content = b"".join(parts)
    return struct.pack("<i", 16 + len(content)) + ids[:8] + struct.pack("<i", OP_MSG) + content


def _error_reply(request_id: int, message: str) -> bytes:
    from bson import encode

    doc = encode({"ok": 0.0, "errmsg": message, "code": 13, "codeName": "Unauthorized"})
    content = struct.pack("<I", 0) + b"\x00" + doc
    header = struct.pack("<iiii", 16 + len(content), random.getrandbits(31), request_id, OP_MSG)
    return header + content


def command(sock: socket.socket, db: str, body: dict[str, Any]) -> dict[str, Any]:
    """Run one command on ``sock`` (a connection the gate opens upstream) and return the
    reply's body."""
    sock.sendall(
        _build_msg(struct.pack("<ii", random.getrandbits(31), 0), 0, {**body, "$db": db}, [])
    )
    reply = read_message(sock)
    if reply is None:
        raise ConnectionError("MongoDB hung up during the gate's own command")
    return _parse_msg(reply)[1][0][1]
