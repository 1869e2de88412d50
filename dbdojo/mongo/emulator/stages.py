"""``$graphLookup`` and ``$out`` for the emulator (mongoeco 4.11 refuses both stages).

Both are evaluated around mongoeco's own executor, with MongoDB 8's documented semantics:

- ``$out`` (https://www.mongodb.com/docs/manual/reference/operator/aggregation/out/): the last
  stage; writes the pipeline's result to a collection (``"coll"`` or ``{db, coll}``),
  replacing its documents and keeping its indexes; the aggregation returns no documents.
- ``$graphLookup``
  (https://www.mongodb.com/docs/manual/reference/operator/aggregation/graphLookup/): for each
  input document, a breadth-first search of ``from``: documents whose ``connectToField`` equals
  a ``startWith`` value, then those matching their ``connectFromField`` values, and so on
  (``maxDepth``: the deepest level, 0 = only the first; ``depthField``: each result's level as
  a long; ``restrictSearchWithMatch``: a filter on the searched documents). Each document
  appears once in ``as``. Stages after it run on its output through a scratch collection.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bson.int64 import Int64

from dbdojo.mongo.emulator import geo
from dbdojo.mongo.emulator import text as fulltext

RunCommand = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
Journaled = Callable[[str, dict[str, Any]], None]
ALL = 1 << 30  # one batch holds every result
ORDER = "__dojo_order"


def handles(command: dict[str, Any]) -> bool:
    """Whether an ``aggregate`` command uses a stage this module evaluates."""
    pipeline = command.get("pipeline")
    if not isinstance(pipeline, list):
        return False
    if pipeline and (_spherical_geo_near(pipeline[0]) or _text_match(pipeline[0])):
        return True
    return any(
        isinstance(stage, dict) and ("$graphLookup" in stage or "$out" in stage)
        for stage in pipeline
    )


def _spherical_geo_near(stage: Any) -> bool:
    spec = stage.get("$geoNear") if isinstance(stage, dict) else None
    return isinstance(spec, dict) and (
        geo.is_geojson_point(spec.get("near")) or bool(spec.get("spherical"))
    )


def _text_match(stage: Any) -> bool:
    query = stage.get("$match") if isinstance(stage, dict) else None
    return isinstance(query, dict) and "$text" in query


def handles_find(command: dict[str, Any]) -> bool:
    """Whether a ``find`` filters with ``$near``/``$nearSphere`` around a GeoJSON point."""
    query = command.get("filter")
    return isinstance(query, dict) and geo.near_clause(query) is not None


def handles_text(command: dict[str, Any]) -> bool:
    """Whether a ``find`` filters with ``$text``."""
    query = command.get("filter")
    return isinstance(query, dict) and "$text" in query


class CommandError(Exception):
    """A stage MongoDB refuses, answered as ``{ok: 0, errmsg, code}``."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _error(exc: CommandError) -> dict[str, Any]:
    return {"ok": 0.0, "errmsg": str(exc), "code": exc.code}


def _cursor(db: str, coll: str, docs: list[Any]) -> dict[str, Any]:
    return {"cursor": {"firstBatch": docs, "id": 0, "ns": f"{db}.{coll}"}, "ok": 1.0}


class Stages:
    """Runs aggregations holding ``$graphLookup`` or ``$out`` with the engine's commands."""

    def __init__(self, run: RunCommand, journal: Journaled | None = None) -> None:
        self.run = run
        self.journal = journal  # told of the writes $out makes (the server's journal)

    async def aggregate(self, db: str, command: dict[str, Any]) -> dict[str, Any]:
        coll, pipeline = str(command["aggregate"]), list(command["pipeline"])
        try:
            out = None
            if pipeline and isinstance(pipeline[-1], dict) and "$out" in pipeline[-1]:
                out = _out_target(db, pipeline.pop()["$out"])
            if any(isinstance(s, dict) and "$out" in s for s in pipeline):
                raise CommandError("$out can only be the final stage in the pipeline", 40601)
            docs = await self._pipeline(db, coll, pipeline)
            if out is None:
                return _cursor(db, coll, docs)
            await self._replace(*out, docs)
            return _cursor(db, coll, [])
        except CommandError as exc:
            return _error(exc)

    async def _pipeline(self, db: str, coll: str, pipeline: list[Any]) -> list[Any]:
        if pipeline and _spherical_geo_near(pipeline[0]):
            docs = await self._geo_near(db, coll, pipeline[0]["$geoNear"])
            return await self._continue(db, docs, pipeline[1:])
        if pipeline and _text_match(pipeline[0]):
            scored = await self._text(db, coll, pipeline[0]["$match"])
            docs = [{**doc, fulltext.SCORE: score} for score, doc in scored]
            rest = fulltext.with_score_field(pipeline[1:])
            out = await self._continue(db, docs, rest)
            return [{k: v for k, v in d.items() if k != fulltext.SCORE} for d in out]
        cut = next((i for i, s in enumerate(pipeline) if "$graphLookup" in s), None)
        if cut is None:
            return await self._aggregate(db, coll, pipeline)
        docs = await self._aggregate(db, coll, pipeline[:cut])
        docs = await self._graph_lookup(db, pipeline[cut]["$graphLookup"], docs)
        return await self._continue(db, docs, pipeline[cut + 1 :])

    async def _continue(self, db: str, docs: list[Any], rest: list[Any]) -> list[Any]:
        """Run the stages ``rest`` on ``docs`` (through a scratch collection)."""
        if not rest:
            return docs
        scratch = f"__dojo_stage_{uuid.uuid4().hex}"
        ordered = [{**doc, ORDER: n} for n, doc in enumerate(docs)]  # keeps their order
        try:
            await self._insert(db, scratch, ordered)
            keep_order = [{"$sort": {ORDER: 1}}, {"$unset": ORDER}]
            return await self._pipeline(db, scratch, keep_order + rest)
        finally:
            await self.run(db, {"drop": scratch})

    async def _aggregate(self, db: str, coll: str, pipeline: list[Any]) -> list[Any]:
        reply = await self.run(
            db, {"aggregate": coll, "pipeline": pipeline, "cursor": {"batchSize": ALL}}
        )
        if reply.get("ok") != 1:
            raise CommandError(str(reply.get("errmsg")), int(reply.get("code") or 8000))
        return [_plain(doc) for doc in reply["cursor"]["firstBatch"]]

    async def _insert(self, db: str, coll: str, docs: list[Any]) -> None:
        if docs:
            reply = await self.run(db, {"insert": coll, "documents": docs, "ordered": True})
            if reply.get("ok") != 1 or reply.get("writeErrors"):
                errors = reply.get("writeErrors") or [reply]
                raise CommandError(str(errors[0].get("errmsg")), int(errors[0].get("code") or 8000))

    async def _replace(self, db: str, coll: str, docs: list[Any]) -> None:
        ids = [d.get("_id") for d in docs if isinstance(d, dict)]
        if len({repr(i) for i in ids}) != len(ids):
            raise CommandError("$out: E11000 duplicate key error: the result repeats an _id", 11000)
        delete = {"delete": coll, "deletes": [{"q": {}, "limit": 0}]}
        await self.run(db, delete)
        await self._insert(db, coll, docs)
        if self.journal is not None:
            self.journal(db, delete)
            if docs:
                self.journal(db, {"insert": coll, "documents": docs, "ordered": True})

    async def _geo_near(self, db: str, coll: str, spec: dict[str, Any]) -> list[Any]:
        if "distanceField" not in spec:
            raise CommandError("$geoNear requires a 'distanceField' option as a String", 16606)
        field = await self._sphere_field(db, coll, spec.get("key"))
        docs = await self._aggregate(db, coll, [{"$match": spec.get("query") or {}}])
        metres = geo.is_geojson_point(spec["near"])
        bounds = (spec.get("minDistance"), spec.get("maxDistance"))
        found = _nearest(docs, field, spec["near"], bounds, metres=metres)
        multiplier = float(spec.get("distanceMultiplier") or 1)
        for distance, doc in found:
            _set_path(doc, str(spec["distanceField"]), distance * multiplier)
            if spec.get("includeLocs"):
                _set_path(doc, str(spec["includeLocs"]), geo._path(doc, field))
        return [doc for _, doc in found]

    async def _text(self, db: str, coll: str, query: dict[str, Any]) -> list[tuple[float, Any]]:
        """(textScore, document) of the documents matching a filter with ``$text``."""
        rest = dict(query)
        spec = rest.pop("$text")
        reply = await self.run(db, {"listIndexes": coll, "cursor": {"batchSize": ALL}})
        index = fulltext.TextIndex.of((reply.get("cursor") or {}).get("firstBatch", []))
        if index is None:
            raise CommandError("text index required for $text query", 27)
        if not isinstance(spec, dict) or not isinstance(spec.get("$search"), str):
            raise CommandError("$text requires a $search string", 2)
        search = fulltext.Search(spec["$search"])
        docs = await self._aggregate(db, coll, [{"$match": rest}])
        scored = [(search.score(index, doc), doc) for doc in docs]
        return [(score, doc) for score, doc in scored if score is not None]

    async def find_text(self, db: str, command: dict[str, Any]) -> dict[str, Any]:
        """A ``find`` with ``$text``: MongoDB's matches and scores, ``{$meta: "textScore"}``
        in the projection and as the sort (other sort keys are not applied)."""
        from mongoeco.core.projections import apply_projection

        coll = str(command["find"])
        try:
            scored = await self._text(db, coll, dict(command["filter"]))
        except CommandError as exc:
            return _error(exc)
        for key, direction in reversed(list(dict(command.get("sort") or {}).items())):
            if direction == fulltext.META:  # stable sorts, the last key first
                scored.sort(key=lambda pair: -pair[0])
            else:
                scored.sort(key=lambda pair: _sort_value(pair[1], key), reverse=direction == -1)
        skip, limit = int(command.get("skip") or 0), abs(int(command.get("limit") or 0))
        scored = scored[skip : skip + limit if limit else None]
        projection = dict(command.get("projection") or {})
        metas = [k for k, v in projection.items() if v == fulltext.META]
        plain = {k: v for k, v in projection.items() if k not in metas}
        docs = []
        for score, doc in scored:
            shown = apply_projection(doc, plain) if plain else dict(doc)
            docs.append({**shown, **dict.fromkeys(metas, score)})
        return _cursor(db, coll, docs)

    async def _sphere_field(self, db: str, coll: str, key: Any) -> str:
        reply = await self.run(db, {"listIndexes": coll, "cursor": {"batchSize": ALL}})
        indexes = (reply.get("cursor") or {}).get("firstBatch", [])
        try:
            return geo.sphere_index_field(indexes, key)
        except geo.GeoError as exc:
            raise CommandError(str(exc), exc.code) from exc

    async def find_near(self, db: str, command: dict[str, Any]) -> dict[str, Any]:
        """A ``find`` with ``$near``/``$nearSphere`` (GeoJSON): nearest first, in metres."""
        coll, query = str(command["find"]), dict(command["filter"])
        field, spec = geo.near_clause(query)  # type: ignore[misc]
        rest = {k: v for k, v in query.items() if k != field}
        try:
            await self._sphere_field(db, coll, field)
            docs = await self._aggregate(db, coll, [{"$match": rest}])
            bounds = (spec.get("$minDistance"), spec.get("$maxDistance"))
            found = _nearest(docs, field, spec["$geometry"], bounds, metres=True)
        except CommandError as exc:
            return _error(exc)
        skip, limit = int(command.get("skip") or 0), abs(int(command.get("limit") or 0))
        ids = [doc["_id"] for _, doc in found][skip : skip + limit if limit else None]
        if command.get("projection"):
            projected = await self._aggregate(
                db, coll, [{"$match": {"_id": {"$in": ids}}}, {"$project": command["projection"]}]
            )
            by_id = {repr(d.get("_id")): d for d in projected}
            docs = [by_id[repr(i)] for i in ids if repr(i) in by_id]
        else:
            by_id = {repr(doc["_id"]): doc for _, doc in found}
            docs = [by_id[repr(i)] for i in ids]
        return _cursor(db, coll, docs)

    async def _graph_lookup(self, db: str, spec: dict[str, Any], docs: list[Any]) -> list[Any]:
        for field in ("from", "startWith", "connectFromField", "connectToField", "as"):
            if field not in spec:
                raise CommandError(f"missing '{field}' option to $graphLookup stage", 40105)
        searched = await self._aggregate(
            db, str(spec["from"]), [{"$match": spec.get("restrictSearchWithMatch") or {}}]
        )
        graph = _Graph(searched, str(spec["connectToField"]))
        max_depth = spec.get("maxDepth")
        for doc in docs:
            start = _values(_evaluate(doc, spec["startWith"]))
            found = graph.search(start, str(spec["connectFromField"]), max_depth)
            if depth_field := spec.get("depthField"):
                found = [{**match, depth_field: Int64(depth)} for match, depth in found]
            else:
                found = [match for match, _ in found]
            _set_path(doc, str(spec["as"]), found)
        return docs


class _Graph:
    """The searched documents, indexed by their ``connectToField`` values."""

    def __init__(self, docs: list[Any], connect_to: str) -> None:
        from mongoeco.core.bson_ordering import bson_equality_key

        self.key = bson_equality_key
        self.by_value: dict[Any, list[int]] = {}
        self.docs = docs
        for position, doc in enumerate(docs):
            for value in _values(_path(doc, connect_to)):
                self.by_value.setdefault(self.key(value), []).append(position)

    def search(self, start: list[Any], connect_from: str, max_depth: Any) -> list[tuple[Any, int]]:
        seen: set[int] = set()
        found: list[tuple[Any, int]] = []
        frontier, depth = start, 0
        while frontier and (max_depth is None or depth <= int(max_depth)):
            level = []
            for value in frontier:
                for position in self.by_value.get(self.key(value), ()):
                    if position not in seen:
                        seen.add(position)
                        level.append(self.docs[position])
                        found.append((self.docs[position], depth))
            frontier = [v for doc in level for v in _values(_path(doc, connect_from))]
            depth += 1
        return found


def _nearest(
    docs: list[Any], field: str, near: Any, bounds: tuple[Any, Any], *, metres: bool
) -> list[tuple[float, Any]]:
    """:func:`geo.nearest` within (min, max) distance, its refusals as CommandError."""
    try:
        return geo.nearest(
            docs, field, near, metres=metres, min_distance=bounds[0], max_distance=bounds[1]
        )
    except geo.GeoError as exc:
        raise CommandError(str(exc), exc.code) from exc


def _plain(value: Any) -> Any:
    """``value`` with plain dicts and lists: mongoeco hands out immutable containers, which
    cannot be changed here, nor stored and pickled with a database image."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _sort_value(doc: Any, path: str) -> tuple[bool, Any]:
    from mongoeco.core.bson_ordering import bson_engine_key

    value = _path(doc, path)
    return value is not None, bson_engine_key(value)


def _out_target(db: str, spec: Any) -> tuple[str, str]:
    if isinstance(spec, str):
        return db, spec
    if isinstance(spec, dict) and "coll" in spec:
        return str(spec.get("db", db)), str(spec["coll"])
    raise CommandError("$out requires a collection name or {db, coll}", 16990)


def _path(doc: Any, path: str) -> Any:
    """The value at a dotted path; arrays on the way give the list of their elements' values."""
    value = doc
    for part in path.split("."):
        if isinstance(value, list):
            value = [v.get(part) for v in value if isinstance(v, dict) and part in v]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _values(value: Any) -> list[Any]:
    """The values a field contributes to matching: each element of an array, else itself
    (a missing field matches null, as ``{field: null}`` does)."""
    return list(value) if isinstance(value, list) else [value]


def _evaluate(doc: Any, expression: Any) -> Any:
    """``startWith``: a field path (``"$a.b"``), a literal, or an array of those."""
    if isinstance(expression, str) and expression.startswith("$"):
        return _path(doc, expression[1:])
    if isinstance(expression, list):
        return [_evaluate(doc, item) for item in expression]
    if isinstance(expression, dict):
        raise CommandError("the emulator's $graphLookup takes startWith as a field path", 40106)
    return expression


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value
