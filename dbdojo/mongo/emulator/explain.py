"""``explain`` for the emulator in MongoDB 8's shape (mongoeco 4.11 answers with its own plan).

MongoDB's explain output (https://www.mongodb.com/docs/manual/reference/explain-results/):
``queryPlanner.winningPlan`` is a tree of stages (``COLLSCAN``; ``IXSCAN`` under ``FETCH``;
``PROJECTION_COVERED`` over an ``IXSCAN`` when the index covers the query, see
https://www.mongodb.com/docs/manual/core/query-optimization/#covered-query; ``SORT`` when no
index gives the order; ``LIMIT``/``SKIP``; ``PROJECTION_SIMPLE``/``PROJECTION_DEFAULT``), and
``executionStats`` counts ``nReturned``, ``totalKeysExamined`` and ``totalDocsExamined``.

The plan is chosen the way MongoDB's planner ranks candidates (fewest keys examined for the
results, then an index that gives the sort): each index whose leading fields the filter bounds
(equalities, then at most one range) is a candidate, and its keys examined are *counted* on the
data (the documents matching its bounded predicates); a scan that gives the sort and has a
limit is walked in the index's order up to its last match, as MongoDB stops it. Counts are
exact for equality and range predicates on scalar fields (MongoDB also counts the key where
it seeks past a range, so its figure can be one or two higher). ``$or``, text, geo, hashed,
wildcard, sparse and partial indexes are not planned: such queries answer as a
``COLLSCAN``, which examines every document.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from dbdojo.mongo.emulator.pipeline import optimize

RunCommand = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
ALL = 1 << 30
RANGE = ("$gt", "$gte", "$lt", "$lte")


def find_of(command: dict[str, Any]) -> dict[str, Any] | None:
    """The ``find`` an explained command amounts to (an aggregation of only ``$match``,
    ``$sort``, ``$skip``, ``$limit`` and a final ``$project``, which MongoDB also runs as a
    find), or None."""
    inner = command.get("explain")
    if not isinstance(inner, dict):
        return None
    if "find" in inner:
        return inner
    pipeline = inner.get("pipeline")
    if "aggregate" not in inner or not isinstance(pipeline, list):
        return None
    find: dict[str, Any] = {"find": inner["aggregate"], "filter": {}}
    order = {"$match": 0, "$sort": 1, "$skip": 2, "$limit": 3, "$project": 4}
    last = -1
    for stage in pipeline:
        (name, value), *more = stage.items() if isinstance(stage, dict) else [(None, None)]
        if more or name not in order or order[name] <= last:
            return None
        last = order[name]
        key = {
            "$match": "filter",
            "$sort": "sort",
            "$skip": "skip",
            "$limit": "limit",
            "$project": "projection",
        }[name]
        find[key] = value
    return find


def _predicates(query: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Field -> its sargable predicate (``{"eq": v}`` / ``{"in": [...]}`` / range operators),
    for the fields of a conjunction; None if the query has an ``$or``/``$nor``/``$where``."""
    bounds: dict[str, dict[str, Any]] = {}
    for field, value in query.items():
        if field == "$and":
            for part in value:
                inner = _predicates(part)
                if inner is None:
                    return None
                bounds.update(inner)
            continue
        if field.startswith("$"):
            if field in ("$or", "$nor", "$where", "$text", "$expr"):
                return None
            continue
        if not isinstance(value, dict) or not any(k.startswith("$") for k in value):
            bounds[field] = {"$eq": value}
            continue
        kept = {op: v for op, v in value.items() if op in ("$eq", "$in", *RANGE)}
        if kept:
            bounds[field] = kept
    return bounds


def _bound_fields(keys: list[str], bounds: dict[str, dict[str, Any]]) -> list[str]:
    """The index's leading fields the predicates bound: equalities, then one range."""
    used = []
    for field in keys:
        predicate = bounds.get(field)
        if predicate is None:
            break
        used.append(field)
        if "$eq" not in predicate and "$in" not in predicate:
            break
    return used


def _bounds_text(predicate: dict[str, Any] | None) -> list[str]:
    if predicate is None:
        return ["[MinKey, MaxKey]"]
    if "$eq" in predicate:
        return [f"[{predicate['$eq']!r}, {predicate['$eq']!r}]"]
    if "$in" in predicate:
        return [f"[{v!r}, {v!r}]" for v in predicate["$in"]]
    low = next((predicate[op] for op in ("$gte", "$gt") if op in predicate), "MinKey")
    high = next((predicate[op] for op in ("$lte", "$lt") if op in predicate), "MaxKey")
    opening = "[" if "$gt" not in predicate else "("
    closing = "]" if "$lt" not in predicate else ")"
    return [f"{opening}{low!r}, {high!r}{closing}"]


def _sort_direction(
    index: dict[str, Any], bounds: dict[str, dict[str, Any]], sort: dict[str, Any]
) -> str | None:
    """'forward'/'backward' if scanning the index gives the sort, else None."""
    if not sort:
        return "forward"
    keys = list(index["key"].items())
    start = 0  # leading fields bound to one value do not change the order of the rest
    while start < len(keys) and _single_value(bounds.get(keys[start][0])):
        start += 1
    rest = keys[start : start + len(sort)]
    if [k for k, _ in rest] != list(sort):
        return None
    same = all(int(d) == int(sort[k]) for k, d in rest)
    opposite = all(int(d) == -int(sort[k]) for k, d in rest)
    return "forward" if same else "backward" if opposite else None


def _single_value(predicate: dict[str, Any] | None) -> bool:
    return predicate is not None and (
        "$eq" in predicate or ("$in" in predicate and len(predicate["$in"]) == 1)
    )


def _covers(index: dict[str, Any], filter_: dict[str, Any], projection: Any) -> bool:
    """Whether the index alone answers: every filtered and projected field is in the index
    and the projection excludes ``_id`` (unless ``_id`` is indexed)."""
    if not isinstance(projection, dict) or not projection:
        return False
    fields = set(index["key"])
    included = {k for k, v in projection.items() if v not in (0, False)}
    if any(not isinstance(v, int | bool) for v in projection.values()):
        return False
    if "_id" not in fields and projection.get("_id", 1) not in (0, False):
        return False
    if not included - {"_id"} or not included <= fields | {"_id"}:
        return False
    return all(f.startswith("$") or f in fields for f in filter_) and "$and" not in filter_


def _projection_stage(projection: Any) -> str:
    simple = all(isinstance(v, int | bool) for v in projection.values()) and not any(
        "." in k for k in projection
    )
    return "PROJECTION_SIMPLE" if simple else "PROJECTION_DEFAULT"


def aggregate_of(command: dict[str, Any]) -> tuple[str, list[Any], str] | None:
    """(collection, pipeline, verbosity) of an explained aggregation: the ``explain``
    command around an ``aggregate``, or an ``aggregate`` with ``explain: true``."""
    inner = command.get("explain")
    if isinstance(inner, dict) and isinstance(inner.get("pipeline"), list) and "aggregate" in inner:
        verbosity = str(command.get("verbosity") or "allPlansExecution")
        return str(inner["aggregate"]), inner["pipeline"], verbosity
    if command.get("explain") is True and isinstance(command.get("pipeline"), list):
        return str(command["aggregate"]), command["pipeline"], "queryPlanner"
    return None


class Explainer:
    """Answers ``explain`` of a find (or a find-like aggregation) in MongoDB's shape."""

    def __init__(self, run: RunCommand) -> None:
        self.run = run

    async def _count(self, db: str, coll: str, query: dict[str, Any]) -> int:
        reply = await self.run(db, {"count": coll, "query": query})
        return int(reply.get("n", 0))

    async def _indexes(self, db: str, coll: str) -> list[dict[str, Any]]:
        reply = await self.run(db, {"listIndexes": coll, "cursor": {"batchSize": ALL}})
        indexes = (reply.get("cursor") or {}).get("firstBatch", [])
        return [
            dict(ix, key=dict(ix["key"]))
            for ix in indexes
            if all(isinstance(d, int | float) for d in dict(ix["key"]).values())
            and "partialFilterExpression" not in ix
            and not ix.get("sparse")
        ]

    async def explain(self, db: str, command: dict[str, Any], find: dict[str, Any]) -> Any:
        coll = str(find["find"])
        filter_ = dict(find.get("filter") or {})
        sort = dict(find.get("sort") or {})
        projection = find.get("projection")
        limit, skip = abs(int(find.get("limit") or 0)), int(find.get("skip") or 0)
        began = time.perf_counter()
        # counted on `_id` alone: returning every full document (a COLLSCAN of 50,000
        # orders) took seconds where the plan needs only how many
        run = {"find": coll, **_without(find, "find"), "projection": {"_id": 1}, "batchSize": ALL}
        if isinstance(run.get("hint"), dict) and "$natural" in run["hint"]:
            del run["hint"]  # a forced collection scan: the same documents
        reply = await self.run(db, run)
        if reply.get("ok") != 1:
            return reply
        returned = len(reply["cursor"]["firstBatch"])
        millis = int((time.perf_counter() - began) * 1000)
        candidates = await self._candidates(
            db, coll, filter_, sort, find.get("hint"), limit + skip if limit else 0
        )
        if candidates:
            candidates.sort(
                key=lambda c: (c["keys"], c["direction"] is None, len(c["index"]["key"]))
            )
            plan, stats = self._index_plan(candidates[0], filter_, sort, projection, limit, skip)
            plan_stats = [
                self._index_plan(c, filter_, sort, projection, limit, skip)[0]
                for c in candidates[1:]
            ]
        else:
            total = await self._count(db, coll, {})
            plan, stats = self._scan_plan(filter_, sort, projection, limit, skip, total, returned)
            plan_stats = []
        verbosity = str(command.get("verbosity") or "allPlansExecution")
        answer: dict[str, Any] = {
            "explainVersion": "1",
            "queryPlanner": {
                "namespace": f"{db}.{coll}",
                "parsedQuery": filter_,
                "indexFilterSet": False,
                "planCacheShapeHash": "",
                "maxIndexedOrSolutionsReached": False,
                "maxIndexedAndSolutionsReached": False,
                "maxScansToExplodeReached": False,
                "prunedSimilarIndexes": False,
                "winningPlan": _strip(plan),
                "rejectedPlans": [_strip(p) for p in plan_stats],
            },
            "command": {"find": coll, **_without(find, "find"), "$db": db},
            "serverInfo": {"host": "127.0.0.1", "version": "8.0.0", "gitVersion": "mongoeco"},
            "ok": 1.0,
        }
        if verbosity != "queryPlanner":
            answer["executionStats"] = {
                "executionSuccess": True,
                "nReturned": returned,
                "executionTimeMillis": millis,
                "totalKeysExamined": stats[0],
                "totalDocsExamined": stats[1],
                "executionStages": _with_returned(plan, returned),
            }
            if verbosity == "allPlansExecution":
                answer["executionStats"]["allPlansExecution"] = []
        return answer

    async def explain_aggregate(
        self, db: str, coll: str, pipeline: list[Any], verbosity: str
    ) -> dict[str, Any]:
        """The classic engine's shape: the optimized pipeline's leading ``$match``/``$sort``
        run as a find in ``stages[0].$cursor``, the other stages listed after it."""
        optimized = optimize(pipeline)
        find: dict[str, Any] = {"find": coll, "filter": {}}
        rest = list(optimized)
        for key, stage in (("filter", "$match"), ("sort", "$sort")):
            if rest and isinstance(rest[0], dict) and list(rest[0]) == [stage]:
                find[key] = rest.pop(0)[stage]
        inner = await self.explain(db, {"verbosity": verbosity}, find)
        if inner.get("ok") != 1:
            return inner
        cursor = {k: inner[k] for k in ("queryPlanner", "executionStats") if k in inner}
        return {
            "explainVersion": "1",
            "stages": [{"$cursor": cursor}, *rest],
            "command": {"aggregate": coll, "pipeline": pipeline, "$db": db},
            "serverInfo": inner["serverInfo"],
            "ok": 1.0,
        }

    async def _candidates(
        self,
        db: str,
        coll: str,
        filter_: dict[str, Any],
        sort: dict[str, Any],
        hint: Any,
        limit: int,
    ) -> list[dict[str, Any]]:
        bounds = _predicates(filter_)
        if bounds is None or hint == {"$natural": 1} or hint == {"$natural": -1}:
            return []
        found = []
        for index in await self._indexes(db, coll):
            if hint and hint not in (index["name"], index["key"]):
                continue
            used = _bound_fields(list(index["key"]), bounds)
            direction = _sort_direction(index, bounds, sort)
            if not used and (direction is None or not (sort or hint)):
                continue
            candidate = {"index": index, "used": used, "bounds": bounds, "direction": direction}
            candidate.update(await self._examined(db, coll, filter_, candidate, limit))
            found.append(candidate)
        return found

    async def _examined(
        self, db: str, coll: str, filter_: dict[str, Any], c: dict[str, Any], limit: int
    ) -> dict[str, int]:
        """Keys and documents the candidate's scan examines, counted on the data: the keys
        within its bounds (up to the limit's last match when the scan gives the order), and
        one document per key, or per match when the rest of the filter is on index fields
        (checked on the keys before fetching)."""
        index, used = c["index"], c["used"]
        bounded = {f: c["bounds"][f] for f in used}
        residual = [k for k in filter_ if k not in used]
        on_keys = all(k in index["key"] for k in residual)
        if limit and c["direction"] is not None:
            sign = -1 if c["direction"] == "backward" else 1
            order = {k: sign * int(d) for k, d in index["key"].items()}
            walk = await self._ids(db, coll, bounded, order)
            wanted = set(await self._ids(db, coll, filter_, None)) if residual else None
            keys = found = 0
            for doc_id in walk:
                if found == limit:
                    break
                keys += 1
                found += wanted is None or doc_id in wanted
            return {"keys": keys, "docs": found if on_keys else keys}
        keys = await self._count(db, coll, bounded)
        docs = await self._count(db, coll, filter_) if residual and on_keys else keys
        return {"keys": keys, "docs": docs}

    async def _ids(
        self, db: str, coll: str, query: dict[str, Any], sort: dict[str, Any] | None
    ) -> list[Any]:
        find = {"find": coll, "filter": query, "projection": {"_id": 1}, "batchSize": ALL}
        if sort:
            find["sort"] = sort
        reply = await self.run(db, find)
        return [repr(d.get("_id")) for d in (reply.get("cursor") or {}).get("firstBatch", [])]

    def _index_plan(
        self,
        c: dict[str, Any],
        filter_: dict[str, Any],
        sort: dict[str, Any],
        projection: Any,
        limit: int,
        skip: int,
    ) -> tuple[dict[str, Any], tuple[int, int]]:
        index, bounds = c["index"], c["bounds"]
        residual = {k: v for k, v in filter_.items() if k not in c["used"]}
        keys = c["keys"]
        scan = {
            "stage": "IXSCAN",
            "keyPattern": index["key"],
            "indexName": index["name"],
            "isMultiKey": False,
            "multiKeyPaths": {f: [] for f in index["key"]},
            "isUnique": bool(index.get("unique")) or index["name"] == "_id_",
            "isSparse": False,
            "isPartial": False,
            "indexVersion": 2,
            "direction": c["direction"] or "forward",
            "indexBounds": {
                f: _bounds_text(bounds.get(f) if f in c["used"] else None) for f in index["key"]
            },
            "keysExamined": keys,
        }
        if _covers(index, filter_, projection):
            plan: dict[str, Any] = {
                "stage": "PROJECTION_COVERED",
                "transformBy": projection,
                "inputStage": scan,
            }
            docs = 0
        else:
            docs = c["docs"]
            plan = {"stage": "FETCH", "inputStage": scan, "docsExamined": docs}
            if residual:
                plan["filter"] = residual
        plan = _order(plan, sort if c["direction"] is None else {}, limit, skip)
        if projection and plan["stage"] != "PROJECTION_COVERED" and docs:
            plan = {
                "stage": _projection_stage(projection),
                "transformBy": projection,
                "inputStage": plan,
            }
        return plan, (keys, docs)

    def _scan_plan(
        self,
        filter_: dict[str, Any],
        sort: dict[str, Any],
        projection: Any,
        limit: int,
        skip: int,
        total: int,
        returned: int,
    ) -> tuple[dict[str, Any], tuple[int, int]]:
        docs = total
        plan: dict[str, Any] = {
            "stage": "COLLSCAN",
            "filter": filter_,
            "direction": "forward",
            "docsExamined": docs,
        }
        plan = _order(plan, sort, limit, skip)
        if projection:
            plan = {
                "stage": _projection_stage(projection),
                "transformBy": projection,
                "inputStage": plan,
            }
        return plan, (0, docs)


def _order(plan: dict[str, Any], sort: dict[str, Any], limit: int, skip: int) -> dict[str, Any]:
    """Wrap ``plan`` in the SORT (limit folded in), SKIP and LIMIT stages MongoDB adds."""
    if sort:
        plan = {
            "stage": "SORT",
            "sortPattern": sort,
            "memLimit": 104857600,
            "type": "simple",
            "inputStage": plan,
        }
        if limit:
            plan["limitAmount"] = limit + skip
    if skip:
        plan = {"stage": "SKIP", "skipAmount": skip, "inputStage": plan}
    if limit and not sort:
        plan = {"stage": "LIMIT", "limitAmount": limit, "inputStage": plan}
    return plan


def _strip(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan without execution counters (``queryPlanner`` shows none)."""
    out = {k: v for k, v in plan.items() if k not in ("keysExamined", "docsExamined")}
    if "inputStage" in out:
        out["inputStage"] = _strip(out["inputStage"])
    return out


def _with_returned(plan: dict[str, Any], returned: int) -> dict[str, Any]:
    """``executionStages``: each stage with its ``nReturned`` (an index scan returns every
    key it examined; the stages above it what the query returns)."""
    out = {**plan, "nReturned": plan["keysExamined"] if plan["stage"] == "IXSCAN" else returned}
    if "inputStage" in out:
        out["inputStage"] = _with_returned(out["inputStage"], returned)
    return out


def _without(command: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in command.items() if k != key}
