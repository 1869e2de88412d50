"""The aggregation optimizer's ``$match`` moves, as MongoDB makes them (mongoeco makes none).

MongoDB (https://www.mongodb.com/docs/manual/core/aggregation-pipeline-optimization/) moves
the filters of a ``$match`` that do not depend on what the stage before it computes ahead of
that stage: ahead of ``$addFields``/``$set``/``$unset`` ("projection stage + $match"),
``$sort`` ("$sort + $match"), ``$unwind`` when the filter is not on the unwound field
(SERVER-20506) and ``$lookup`` when it is not on the ``as`` field; and it coalesces two
adjacent ``$match`` stages into one. So a pipeline written "filter last" runs as "filter
first", and its leading ``$match`` can use an index. :func:`optimize` makes those moves
before the emulator runs (or explains) a pipeline; results do not change, only the work.
"""

from __future__ import annotations

from typing import Any

MAX_PASSES = 50


def _related(field: str, other: str) -> bool:
    """Whether two dotted paths overlap (one is the other or a prefix of it)."""
    return field == other or field.startswith(other + ".") or other.startswith(field + ".")


def _produced(stage: dict[str, Any]) -> list[str] | None:
    """The fields a stage computes or changes (a $match on others can move ahead of it), or
    None if no $match may move ahead of it."""
    (name, spec), *_ = stage.items()
    if name == "$sort":
        return []
    if name in ("$addFields", "$set") and isinstance(spec, dict):
        return list(spec)
    if name == "$unset":
        return [spec] if isinstance(spec, str) else list(spec)
    if name == "$unwind":
        path = spec if isinstance(spec, str) else spec.get("path", "")
        index = [] if isinstance(spec, str) else [spec.get("includeArrayIndex")]
        return [str(path).removeprefix("$"), *[i for i in index if i]]
    if name == "$lookup" and isinstance(spec, dict) and "as" in spec:
        return [str(spec["as"])]
    return None


def _split(query: dict[str, Any], produced: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the filters that may move ahead, those that must stay): a top-level operator
    (``$expr``, ``$or``...) stays, as does a field related to a produced one."""
    movable, staying = {}, {}
    for field, value in query.items():
        fixed = field.startswith("$") or any(_related(field, p) for p in produced)
        (staying if fixed else movable)[field] = value
    return movable, staying


def _one_pass(pipeline: list[Any]) -> list[Any] | None:
    for i in range(len(pipeline) - 1):
        stage, after = pipeline[i], pipeline[i + 1]
        if not (isinstance(stage, dict) and isinstance(after, dict) and len(after) == 1):
            continue
        query = after.get("$match")
        if not isinstance(query, dict) or len(stage) != 1:
            continue
        if "$match" in stage and isinstance(stage["$match"], dict):
            first = stage["$match"]
            disjoint = not set(first) & set(query)
            merged = {**first, **query} if disjoint else {"$and": [first, query]}
            return [*pipeline[:i], {"$match": merged}, *pipeline[i + 2 :]]
        produced = _produced(stage)
        if produced is None:
            continue
        movable, staying = _split(query, produced)
        if not movable:
            continue
        rest = [{"$match": staying}] if staying else []
        return [*pipeline[:i], {"$match": movable}, stage, *rest, *pipeline[i + 2 :]]
    return None


def optimize(pipeline: list[Any]) -> list[Any]:
    """``pipeline`` with every movable ``$match`` moved as early as it can go."""
    for _ in range(MAX_PASSES):
        changed = _one_pass(pipeline)
        if changed is None:
            break
        pipeline = changed
    return pipeline
