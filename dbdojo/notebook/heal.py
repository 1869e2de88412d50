"""Connections that recover by themselves: before each cell, the kernel's PostgreSQL
connections (``pg`` and the one behind ``%sql``) are checked without a round trip, and one the
server has closed (``dojo reset`` in a terminal, a server restart) is replaced.

The check costs a ``select()`` on the socket: an idle connection receives nothing unless the
server ended it (or sent a notice); only then does a ``SELECT 1`` tell which.
"""

from __future__ import annotations

import select
import sys
from typing import Any

REOPENED = "↻ {what}: the server had closed the connection (`dojo reset`, a restart): reconnected."


def pg_alive(conn: Any) -> bool:
    """False when the psycopg connection ``conn`` is closed or the server has ended it.

    A connection inside a transaction or busy is left alone (reported alive)."""
    from psycopg import pq

    if conn is None or conn.closed:
        return False
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        return conn.info.transaction_status != pq.TransactionStatus.UNKNOWN
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    if not readable:
        return True
    try:  # the server's goodbye (FATAL 57P01), or a notice: only a round trip tells
        conn.execute("SELECT 1")
    except Exception:
        return False
    return True


def heal(session: Any) -> list[str]:
    """Reconnect what the server closed; returns what was reconnected ("pg", "%sql")."""
    from dbdojo import pgroles
    from dbdojo.connect import ServiceDown
    from dbdojo.notebook import sqlmagic

    ws = session.workspace
    if ws is None:
        return []
    healed = []
    pg = session.clients.get("pg")
    if pg is not None and session.ip.user_ns.get("pg") is pg and not pg_alive(pg):
        try:
            fresh = pgroles.connect(ws, pgroles.LEARNER)
        except ServiceDown:
            return healed  # still down: the cell's own error says so
        session.clients["pg"] = fresh
        session.ip.user_ns["pg"] = fresh
        healed.append("pg")
    held = sqlmagic.dbapi_connection(session.ip)
    if held is not None and not pg_alive(held):
        sqlmagic.reopen()
        healed.append("%sql")
    if healed:
        print(REOPENED.format(what=" and ".join(healed)), file=sys.stderr)
    return healed


def install(ip: Any, session: Any) -> None:
    """Check the connections before every cell the kernel runs (once per shell)."""
    callbacks = ip.events.callbacks["pre_run_cell"]
    for callback in list(callbacks):
        if getattr(callback, "dojo_heal", False):
            ip.events.unregister("pre_run_cell", callback)

    def before_cell(info: Any = None) -> None:
        try:
            heal(session)
        except Exception as exc:  # never block a cell: its own error will be clearer
            print(f"(dbdojo could not check the connections: {exc})", file=sys.stderr)

    before_cell.dojo_heal = True  # type: ignore[attr-defined]
    ip.events.register("pre_run_cell", before_cell)
