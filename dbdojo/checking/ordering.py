"""Whether an ordered ``sql`` answer's own ORDER BY defines the order the reference asks for.

Rows tied on every ORDER BY key may come back in any order: PostgreSQL often returns them in
the order a window or an index gave them, so an answer without the tiebreaker the prompt asks
for can match on every dataset by luck of the plan. The answer's result shows it: two rows
side by side, equal on all of the answer's sort keys but different on the reference's.
"""

from __future__ import annotations

from typing import Any

from dbdojo.checking.result import ResultSet
from dbdojo.checking.sqltext import column_names, order_by_items


def undetermined(answer: str, result: ResultSet, reference_keys: list[str] | None) -> str | None:
    """What the learner is told when ``answer``'s ORDER BY leaves rows tied that the
    reference orders (None: the order is defined, or the keys cannot be read)."""
    items = order_by_items(answer)
    if not items or not reference_keys or result.documents:
        return None
    keys = _columns(items, result.columns)
    if keys is None or not set(reference_keys) <= set(result.columns):
        return None
    mine = [result.columns.index(k) for k in keys]
    theirs = [result.columns.index(k) for k in reference_keys]
    for before, after in zip(result.rows, result.rows[1:], strict=False):
        if _at(before, mine) == _at(after, mine) and _at(before, theirs) != _at(after, theirs):
            return (
                f"your ORDER BY ({', '.join(keys)}) leaves rows tied that the prompt orders: "
                "tied rows may come back in any order, so the order is right only by luck of "
                "the plan. Add the tiebreaker the prompt asks for"
            )
    return None


def _columns(items: list[str], columns: list[str]) -> list[str] | None:
    """The output columns the items name (positions, names, names with a table qualifier)."""
    return column_names([item.rsplit(".", 1)[-1].strip('"') for item in items], columns)


def _at(row: Any, indexes: list[int]) -> list[Any]:
    return [row[i] for i in indexes]


_MISSING = object()


def undetermined_documents(result: ResultSet, reference_keys: list[str] | None) -> str | None:
    """The same for a MongoDB answer's documents: two neighbours equal on every key of the
    answer's own sort (``result.order_by``: its ``.sort()`` or last ``$sort``) but different on
    the reference's. Judged only where both documents show every key of both sorts."""
    mine = result.order_by
    if not result.documents or not mine or not reference_keys:
        return None
    for before, after in zip(result.rows, result.rows[1:], strict=False):
        a = [_path(before, k) for k in [*mine, *reference_keys]]
        b = [_path(after, k) for k in [*mine, *reference_keys]]
        if _MISSING in a or _MISSING in b:
            continue
        n = len(mine)
        if a[:n] == b[:n] and a[n:] != b[n:]:
            return (
                f"your sort ({', '.join(mine)}) leaves documents tied that the prompt orders: "
                "tied documents may come back in any order, so the order is right only by "
                "luck. Add the tiebreaker the prompt asks for"
            )
    return None


def _path(doc: Any, key: str) -> Any:
    """The value at a dotted path of a document (``_MISSING`` when it is not there)."""
    for part in key.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return _MISSING
        doc = doc[part]
    return doc
