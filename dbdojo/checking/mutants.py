"""Mutants of an SQL reference: the small changes that turn a right query into the mistakes
learners really make (a join type, a boundary, a ranking function, a lost tiebreaker...).

A checker that passes a mutant cannot tell that mistake from the right answer: either the data
(main and edge-case workspaces) holds no row that shows the difference, or the mutant is
equivalent to the reference. ``benchmarks/bench_mutants.py`` runs every mutant of every lab and
prints the kill rate; XData (mutation-killing test data for SQL grading) is the idea behind it.
Parsing and printing are sqlglot's, in PostgreSQL's dialect or (``dialect="mysql"``, lesson
X3's MariaDB exercises) MySQL's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp


@dataclass(frozen=True)
class Mutant:
    operator: str
    sql: str


# each operator: a node -> the replacement nodes it proposes (the node itself is never changed)
Operator = Callable[[exp.Expression], Iterator[exp.Expression]]

_COMPARISONS: dict[type, list[type]] = {
    exp.LT: [exp.LTE],
    exp.LTE: [exp.LT],
    exp.GT: [exp.GTE],
    exp.GTE: [exp.GT],
    exp.EQ: [exp.NEQ],
}
_RANKING = [exp.RowNumber, exp.Rank, exp.DenseRank]


def _comparison(node: exp.Expression) -> Iterator[exp.Expression]:
    for other in _COMPARISONS.get(type(node), []):
        yield other(this=node.this.copy(), expression=node.expression.copy())


def _ranking(node: exp.Expression) -> Iterator[exp.Expression]:
    if type(node) in _RANKING:
        for other in _RANKING:
            if other is not type(node):
                yield other()


def _join(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Join) and node.args.get("on") is not None:
        changed = node.copy()
        changed.set("side", None if node.side == "LEFT" else "LEFT")
        changed.set("kind", None)
        yield changed


def _tiebreaker(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Order) and len(node.expressions) > 1:
        changed = node.copy()
        changed.set("expressions", changed.expressions[:-1])
        yield changed


def _direction(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Order):
        for i in range(len(node.expressions)):  # each key on its own: a tiebreaker's too
            changed = node.copy()
            item = changed.expressions[i]
            item.set("desc", not item.args.get("desc"))
            yield changed


def _distinct(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Select) and node.args.get("distinct"):
        changed = node.copy()
        changed.set("distinct", None)
        yield changed
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
        yield exp.Count(this=node.this.expressions[0].copy())


def _count_star(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Column):
        yield exp.Count(this=exp.Star())


def _coalesce(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Coalesce):
        yield node.this.copy()


def _frame(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.WindowSpec):
        changed = node.copy()
        changed.set("kind", "RANGE" if str(node.args.get("kind")).upper() == "ROWS" else "ROWS")
        yield changed
    if isinstance(node, exp.Window) and node.args.get("spec") is not None:
        changed = node.copy()
        changed.set("spec", None)
        yield changed


def _conjunct(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.And):
        yield node.this.copy()
        yield node.expression.copy()


def _limit(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Limit) and isinstance(node.expression, exp.Literal):
        value = node.expression.this
        if str(value).isdigit():
            yield exp.Limit(expression=exp.Literal.number(int(value) + 1))


def _min_max(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Min):
        yield exp.Max(this=node.this.copy())
    if isinstance(node, exp.Max):
        yield exp.Min(this=node.this.copy())


def _union(node: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(node, exp.Union):
        changed = node.copy()
        changed.set("distinct", not node.args.get("distinct"))
        yield changed


OPERATORS: dict[str, Operator] = {
    "comparison": _comparison,
    "ranking function": _ranking,
    "join type": _join,
    "missing tiebreaker": _tiebreaker,
    "order direction": _direction,
    "missing DISTINCT": _distinct,
    "count(*) for count(col)": _count_star,
    "missing COALESCE": _coalesce,
    "frame": _frame,
    "dropped condition": _conjunct,
    "LIMIT + 1": _limit,
    "min/max": _min_max,
    "UNION / UNION ALL": _union,
}


def parse(sql: str, dialect: str = "postgres") -> exp.Expression | None:
    """The last statement of ``sql`` as sqlglot reads ``dialect``, or None."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError:
        return None
    return statements[-1] if statements else None


def mutants(sql: str, dialect: str = "postgres") -> list[Mutant]:
    """Every single-change mutant of the last statement of ``sql`` (earlier statements, a
    setup, are kept as they are), each once."""
    tree = parse(sql, dialect)
    if tree is None:
        return []
    prefix = _before_last_statement(sql, dialect)

    def put(copy: exp.Expression, target: exp.Expression, replacement: exp.Expression):
        if target is copy:
            return replacement
        target.replace(replacement)
        return copy

    changes = each_change(
        tree, OPERATORS, lambda t: t.walk(), lambda t: t.copy(), put,
        lambda t: t.sql(dialect=dialect),
    )  # fmt: skip
    return [Mutant(name, prefix + text) for name, text in changes]


def each_change[T](
    tree: T,
    operators: dict[str, Callable[[Any], Iterator[Any]]],
    walk: Callable[[T], Iterable[Any]],
    copy: Callable[[T], T],
    put: Callable[[T, Any, Any], T],
    render: Callable[[T], str],
) -> Iterator[tuple[str, str]]:
    """(operator, text) of every single-change mutant of ``tree``, each once and never the
    tree itself: each node (``walk``) offered to each operator, each replacement it proposes
    ``put`` in place of that node in a ``copy`` of the tree, then ``render``-ed."""
    seen = {render(tree)}
    for index, node in enumerate(walk(tree)):
        for name, operator in operators.items():
            for replacement in operator(node):
                changed = copy(tree)
                changed = put(changed, list(walk(changed))[index], replacement)
                text = render(changed)
                if text not in seen:
                    seen.add(text)
                    yield name, text


def reprinted(sql: str, dialect: str = "postgres") -> str | None:
    """``sql`` parsed and printed back unchanged (the control: it must still pass)."""
    tree = parse(sql, dialect)
    if tree is None:
        return None
    return _before_last_statement(sql, dialect) + tree.sql(dialect=dialect)


def _before_last_statement(sql: str, dialect: str = "postgres") -> str:
    from dbdojo.checking.runners.mysql_scratch import statements as mysql_statements
    from dbdojo.checking.sqltext import split_statements

    statements = mysql_statements(sql) if dialect == "mysql" else split_statements(sql)
    return "".join(s + ";\n" for s in statements[:-1])
