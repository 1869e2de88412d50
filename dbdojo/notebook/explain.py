"""``dojo.explain(sql)`` and ``%explain`` / ``%%explain``: a query's plan, drawn as a tree.

The query runs under ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` inside a transaction that is
always rolled back, on the notebook's PostgreSQL connection (the learner's role): explaining an
``UPDATE`` changes nothing. Statements before the last one run first in that transaction, so
``CREATE INDEX …; SELECT …`` shows the plan the index would give, and leaves no index behind.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import psycopg

from dbdojo.checking import plan as plans
from dbdojo.checking.sqltext import split_statements
from dbdojo.notebook import plantree


class Plan:
    """An explained query: ``json`` (EXPLAIN's document), ``root`` (its top node), the nodes,
    and a drawing (HTML in a notebook, a text tree elsewhere)."""

    def __init__(self, document: dict[str, Any], query: str) -> None:
        self.json = document
        self.query = query

    @property
    def root(self) -> dict[str, Any]:
        return self.json["Plan"]

    @property
    def analyzed(self) -> bool:
        return "Actual Rows" in self.root

    @property
    def execution_ms(self) -> float | None:
        return self.json.get("Execution Time")

    @property
    def buffers(self) -> int:
        """Shared blocks hit or read by the whole execution (needs ``analyze``)."""
        return plans.buffers(self.root)

    def nodes(self, node_type: str | None = None) -> list[dict[str, Any]]:
        """Every node, depth first; only those of ``node_type`` when given."""
        return [n for n in plans.nodes(self.root) if node_type in (None, n.get("Node Type"))]

    def node_types(self) -> list[str]:
        return [n.get("Node Type", "?") for n in plans.nodes(self.root)]

    def misestimates(self, factor: float = plantree.MISESTIMATE) -> list[dict[str, Any]]:
        """Nodes whose row estimate is off by ``factor`` or more, either way."""
        return [n for n in self.nodes() if (plans.estimate_factor(n) or 0) >= factor]

    def outline(self) -> str:
        """The nodes in one line, e.g. ``Sort > Seq Scan on orders``."""
        return plans.outline(self.root)

    def text(self) -> str:
        return plantree.text(self.json)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return plantree.to_html(self.json)


def _connection() -> tuple[psycopg.Connection, bool]:
    """The notebook's ``pg`` connection (and False), else a new one on the current workspace
    as the learner (and True: the caller closes it)."""
    from dbdojo import pgroles
    from dbdojo.notebook.heal import pg_alive
    from dbdojo.notebook.session import session
    from dbdojo.workspace import current

    active = session()
    conn = active.clients.get("pg") if active else None
    if pg_alive(conn):  # not one the server has ended since (a reset of its workspace)
        return conn, False
    return pgroles.connect(current(), pgroles.LEARNER, autocommit=True), True


@contextlib.contextmanager
def _rolled_back() -> Iterator[psycopg.Cursor]:
    conn, owned = _connection()
    try:
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            yield cur
    finally:
        if owned:
            conn.close()


def explain(sql: str, analyze: bool = True, buffers: bool = True) -> Plan:
    """Explain the last statement of ``sql`` (earlier ones run first, all rolled back).

    ``analyze=False`` only plans the query (for one too slow to run): estimates, no times."""
    statements = split_statements(sql)
    if not statements:
        raise ValueError("dojo.explain needs a query, e.g. dojo.explain('SELECT 1')")
    options = [o for o, on in (("ANALYZE", analyze), ("BUFFERS", buffers and analyze)) if on]
    with _rolled_back() as cur:
        for statement in statements[:-1]:
            cur.execute(statement.encode())
        prefix = f"EXPLAIN ({', '.join([*options, 'FORMAT JSON'])}) "
        cur.execute((prefix + statements[-1]).encode())
        row = cur.fetchone()
    document = row[0] if row else None
    if isinstance(document, str):
        document = json.loads(document)
    return Plan(document[0], statements[-1])


def explain_magic(line: str, cell: str | None = None) -> Plan:
    """``%explain [--no-analyze] SELECT …``, or ``%%explain [--no-analyze]`` above the SQL."""
    flag = "--no-analyze"
    head = line.strip()
    quick = head.startswith(flag)
    if quick:
        head = head[len(flag) :].strip()
    if cell is None:
        return explain(head, analyze=not quick)
    if head:
        raise ValueError(f"%%explain takes only {flag} on its line; the SQL goes in the cell")
    return explain(cell, analyze=not quick)


def register(ip: Any) -> None:
    """Register ``%explain`` / ``%%explain`` on an IPython shell."""
    from IPython.core.magic import no_var_expand

    ip.register_magic_function(
        no_var_expand(explain_magic), magic_kind="line_cell", magic_name="explain"
    )
