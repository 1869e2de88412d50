"""Mutants of a MongoDB reference (a ``mongo-query`` call chain, a ``mongo-pipeline`` list, or
a ``python`` answer's pymongo calls): the small changes that turn a right query into the
mistakes learners really make (a boundary, a ranking operator, a sort direction, a dropped
sort key or condition, ``$sum: 1`` for a sum of a field, ``update_one`` for ``update_many``...).

The sibling of :mod:`.mutants` (SQL), with the same shape: :func:`mutants` gives every
single-change mutant of a reference, :func:`reprinted` the control that must still pass.
References are Python source; they are parsed and printed back with :mod:`ast`.
``benchmarks/bench_mutants.py`` runs both harnesses and prints the kill rate per lab.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from dbdojo.checking.mutants import Mutant, each_change

# each operator: a node -> the replacement nodes it proposes (the node itself is never changed)
Operator = Callable[[ast.AST], Iterator[ast.AST]]

_SWAPS: dict[str, list[str]] = {
    "$gt": ["$gte"],
    "$gte": ["$gt"],
    "$lt": ["$lte"],
    "$lte": ["$lt"],
    "$eq": ["$ne"],
    "$ne": ["$eq"],
    "$in": ["$nin"],
    "$nin": ["$in"],
    "$all": ["$in"],
}
_RANKING = ["$rank", "$denseRank", "$documentNumber"]
_ACCUMULATORS = {"$first": "$last", "$last": "$first", "$min": "$max", "$max": "$min",
                 "$push": "$addToSet", "$addToSet": "$push"}  # fmt: skip
_METHODS = {"update_one": "update_many", "update_many": "update_one", "find_one": "find",
            "delete_one": "delete_many", "delete_many": "delete_one"}  # fmt: skip


def _key(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _method_of(node: ast.AST) -> str | None:
    """The method a call calls (``find`` of ``db.orders.find(...)``), if it is a method call."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _stage(node: ast.AST, name: str) -> ast.expr | None:
    """The value of a one-key dict ``{name: value}`` (a stage, an accumulator), if it is one."""
    if isinstance(node, ast.Dict) and len(node.keys) == 1 and _key(node.keys[0]) == name:
        return node.values[0]
    return None


def _with_key(node: ast.Dict, index: int, key: str) -> ast.Dict:
    changed = _copy(node)
    changed.keys[index] = ast.Constant(key)
    return changed


def _copy(node: ast.AST):
    return ast.parse(ast.unparse(node), mode="eval").body


def _comparison(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Dict):
        for i, key in enumerate(node.keys):
            for other in _SWAPS.get(_key(key) or "", []):
                yield _with_key(node, i, other)


def _ranking(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Dict):
        for i, key in enumerate(node.keys):
            if _key(key) in _RANKING:
                for other in _RANKING:
                    if other != _key(key):
                        yield _with_key(node, i, other)


def _accumulator(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Dict):
        for i, key in enumerate(node.keys):
            other = _ACCUMULATORS.get(_key(key) or "")
            if other:
                yield _with_key(node, i, other)


def _sort_items(node: ast.AST) -> ast.Dict | ast.List | None:
    """The sort specification ``node`` is, if it is one: a ``{"$sort": {...}}`` stage's dict or
    a ``.sort([...])`` call's list of pairs (a ``.sort("f", 1)`` call is handled apart)."""
    spec = _stage(node, "$sort")
    if isinstance(spec, ast.Dict):
        return spec
    if _method_of(node) == "sort" and len(node.args) == 1 and isinstance(node.args[0], ast.List):
        return node.args[0]
    return None


def _direction(node: ast.AST) -> Iterator[ast.AST]:
    if _method_of(node) == "sort" and len(node.args) == 2:  # .sort("field", 1)
        changed = _copy(node)
        changed.args[1] = _flipped(changed.args[1])
        yield changed
    spec = _sort_items(node)
    if spec is None:
        return
    count = len(spec.keys) if isinstance(spec, ast.Dict) else len(spec.elts)
    for i in range(count):
        changed = _copy(node)
        inner = _sort_items(changed)
        if isinstance(inner, ast.Dict):
            inner.values[i] = _flipped(inner.values[i])
        elif isinstance(inner, ast.List) and isinstance(inner.elts[i], ast.Tuple):
            pair = inner.elts[i]
            pair.elts[1] = _flipped(pair.elts[1])
        yield changed


def _flipped(value: ast.expr) -> ast.expr:
    literal = ast.literal_eval(value) if isinstance(value, ast.UnaryOp | ast.Constant) else None
    return ast.Constant(-literal) if isinstance(literal, int) else value


def _tiebreaker(node: ast.AST) -> Iterator[ast.AST]:
    spec = _sort_items(node)
    count = 0 if spec is None else len(spec.keys if isinstance(spec, ast.Dict) else spec.elts)
    if count > 1:
        changed = _copy(node)
        inner = _sort_items(changed)
        if isinstance(inner, ast.Dict):
            inner.keys.pop()
            inner.values.pop()
        elif inner is not None:
            inner.elts.pop()
        yield changed


def _conjunct(node: ast.AST) -> Iterator[ast.AST]:
    """A condition dropped: one key of a ``$match`` stage's or a ``find()`` filter's dict,
    one branch of an ``$and``."""
    spec = _stage(node, "$match")
    if _method_of(node) in ("find", "find_one", "count_documents", "update_one", "update_many"):
        spec = node.args[0] if node.args else None
    if isinstance(spec, ast.Dict) and len(spec.keys) > 1:
        for i in range(len(spec.keys)):
            changed = _copy(node)
            inner = _filter_of(changed)
            del inner.keys[i], inner.values[i]
            yield changed
    if isinstance(node, ast.Dict):
        for i, key in enumerate(node.keys):
            branches = node.values[i]
            if _key(key) == "$and" and isinstance(branches, ast.List) and len(branches.elts) > 1:
                for j in range(len(branches.elts)):
                    changed = _copy(node)
                    del changed.values[i].elts[j]
                    yield changed


def _filter_of(node: ast.AST) -> ast.Dict:
    if isinstance(node, ast.Dict):
        return node.values[0]
    return node.args[0]


def _sum_one(node: ast.AST) -> Iterator[ast.AST]:
    """``{"$sum": 1}`` (a count) and ``{"$sum": "$field"}`` (a sum) taken for each other."""
    value = _stage(node, "$sum")
    if value is not None:
        if isinstance(value, ast.Constant) and value.value == 1:
            changed = _copy(node)
            changed.values[0] = ast.Constant("$_id")
            yield changed
        elif _key(value) and str(_key(value)).startswith("$"):
            changed = _copy(node)
            changed.values[0] = ast.Constant(1)
            yield changed


def _limit(node: ast.AST) -> Iterator[ast.AST]:
    stage = _stage(node, "$limit")
    call = _method_of(node) == "limit" and len(node.args) == 1
    value = node.args[0] if call else stage
    if isinstance(value, ast.Constant) and type(value.value) is int:
        changed = _copy(node)
        (changed.args if call else changed.values)[0] = ast.Constant(value.value + 1)
        yield changed


def _unwind(node: ast.AST) -> Iterator[ast.AST]:
    """``$unwind`` that keeps documents with an empty or missing array, or no longer does."""
    value = _stage(node, "$unwind")
    if value is not None:
        if _key(value):
            yield ast.parse(
                f'{{"$unwind": {{"path": {value.value!r}, "preserveNullAndEmptyArrays": True}}}}',
                mode="eval",
            ).body
        elif isinstance(value, ast.Dict):
            keys = [_key(k) for k in value.keys]
            if "preserveNullAndEmptyArrays" in keys:
                changed = _copy(node)
                at = keys.index("preserveNullAndEmptyArrays")
                flag = changed.values[0].values[at]
                if isinstance(flag, ast.Constant) and isinstance(flag.value, bool):
                    changed.values[0].values[at] = ast.Constant(not flag.value)
                    yield changed


def _method(node: ast.AST) -> Iterator[ast.AST]:
    other = _METHODS.get(_method_of(node) or "")
    if other:
        changed = _copy(node)
        changed.func.attr = other
        yield changed


OPERATORS: dict[str, Operator] = {
    "comparison": _comparison,
    "ranking operator": _ranking,
    "accumulator": _accumulator,
    "sort direction": _direction,
    "missing tiebreaker": _tiebreaker,
    "dropped condition": _conjunct,
    "$sum: 1 / $sum: field": _sum_one,
    "limit + 1": _limit,
    "$unwind empty arrays": _unwind,
    "one / many": _method,
}


def parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def mutants(source: str) -> list[Mutant]:
    """Every single-change mutant of ``source`` (a MongoDB reference), each once."""
    tree = parse(source)
    if tree is None:
        return []
    changes = each_change(
        tree, OPERATORS, lambda t: list(ast.walk(t)), lambda t: ast.parse(ast.unparse(t)),
        _replace, ast.unparse,
    )  # fmt: skip
    return [Mutant(name, text) for name, text in changes]


def _replace(tree: ast.AST, target: ast.AST, replacement: ast.AST) -> ast.AST:
    """Put ``replacement`` where ``target`` is in ``tree``; the tree."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, field, replacement)
                return tree
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = replacement
                        return tree
    return tree


def reprinted(source: str) -> str | None:
    """``source`` parsed and printed back unchanged (the control: it must still pass)."""
    tree = parse(source)
    return None if tree is None else ast.unparse(tree)
