"""The PostgreSQL gate: Python answers that read PostgreSQL (cache-aside in R2) log in as a
role made for this one check, able to read and to use temporary tables, nothing more, and
reach only the workspace's database, through a Unix socket the grader relays.

The relay reads the connection's first message (the startup packet, in clear: the kit's
servers have no TLS and the gate declines it) and lets it through only for that role and that
database; after that it copies bytes.
"""

from __future__ import annotations

import secrets
import socket
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

SSL_REQUEST, GSS_REQUEST = 80877103, 80877104
PROTOCOL_3 = 196608
MAX_STARTUP = 10_000


def open_role(admin: Any) -> tuple[str, str]:
    """A new login role that may read every table (``pg_read_all_data``); (name, password)."""
    from psycopg import sql

    name, password = f"dojo_sbx_{secrets.token_hex(6)}", secrets.token_urlsafe(24)
    admin.execute(
        sql.SQL(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
            "CONNECTION LIMIT 8 PASSWORD {} IN ROLE pg_read_all_data"
        ).format(sql.Identifier(name), sql.Literal(password))
    )
    return name, password


def close_role(admin: Any, name: str) -> None:
    """End the role's sessions and drop it (whatever temporary objects it left go with them)."""
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,)
    )
    admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def url(socket_dir: str, role: str, password: str, database: str) -> str:
    return (
        f"postgresql://{role}:{quote(password, safe='')}@/{database}"
        f"?host={quote(socket_dir, safe='')}&port=5432&sslmode=disable&gssencmode=disable"
    )


class Gate:
    """Checks each connection's startup packet: this role, this database, nothing else."""

    def __init__(self, role: str, database: str) -> None:
        self.role, self.database = role, database

    def messages(self, sock: socket.socket) -> Iterator[bytes]:
        """The connection's startup packet once checked (TLS and GSS requests are declined
        here), then everything else as it comes."""
        while True:
            header = _read(sock, 8)
            (length, code) = struct.unpack("!ii", header)
            if not 8 <= length <= MAX_STARTUP:
                raise ValueError("startup packet size out of bounds")
            packet = header + _read(sock, length - 8)
            if code in (SSL_REQUEST, GSS_REQUEST):
                sock.sendall(b"N")  # nothing from upstream can interleave yet
                continue
            params = _parameters(packet[8:]) if code == PROTOCOL_3 else {}
            if params.get("user") != self.role or params.get("database") != self.database:
                raise ValueError("a connection for another role or database")
            yield packet
            break
        while data := sock.recv(65536):
            yield data


def _parameters(body: bytes) -> dict[str, str]:
    parts = body.split(b"\x00")
    pairs = zip(parts[0::2], parts[1::2], strict=False)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs if k}


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ValueError("the client hung up during the startup")
        data += chunk
    return data
