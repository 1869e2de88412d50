"""Run MongoDB answers: a ``find`` (or a bare filter) or an aggregation pipeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dbdojo.checking import connections
from dbdojo.checking.pyexec import evaluate
from dbdojo.checking.result import MAX_ROWS, ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.workspace import Workspace

REGROUPING = {"$group", "$bucket", "$bucketAuto", "$facet", "$sortByCount", "$unionWith"}


def _namespace(db: Any) -> dict[str, Any]:
    from bson import Decimal128, ObjectId

    return {
        "db": db,
        "datetime": dt.datetime,
        "timezone": dt.timezone,
        "timedelta": dt.timedelta,
        "ObjectId": ObjectId,
        "Decimal128": Decimal128,
    }


def pipeline_order(pipeline: list[dict]) -> list[str] | None:
    """The keys of the last ``$sort`` stage, unless a later stage regroups the documents."""
    keys = None
    for stage in pipeline:
        name = next(iter(stage), "")
        if name == "$sort":
            keys = list(stage["$sort"])
        elif name in REGROUPING:
            keys = None
    return keys


def run(source: str, ws: Workspace, options: dict[str, Any], timeout: float) -> ResultSet:
    """Evaluate the answer with ``db`` bound to the workspace's database; fetch its documents."""
    import pymongo.errors
    from pymongo.command_cursor import CommandCursor
    from pymongo.cursor import Cursor

    db = connections.mongo(ws)
    value = evaluate(source, _namespace(db))
    ms = max(1, int(timeout * 1000))
    order: list[str] | None = None
    stages: list[str] | None = None
    collection = options.get("collection")
    try:
        if isinstance(value, list) and all(isinstance(s, dict) for s in value) and collection:
            order = pipeline_order(value)
            stages = [next(iter(stage), "") for stage in value]
            value = db[collection].aggregate(value, maxTimeMS=ms)
        elif isinstance(value, dict) and collection:
            value = db[collection].find(value, options.get("projection"))
        if isinstance(value, Cursor):
            keys = value._ordering  # pymongo keeps the sort spec here
            order = list(keys) if keys else None
            value = value.max_time_ms(ms)
        if not isinstance(value, Cursor | CommandCursor | list):
            raise AnswerError(
                f"the answer evaluates to a {type(value).__name__}, not documents",
                "end the cell with db.<collection>.find(...), or the pipeline list",
            )
        docs = []
        for doc in value:
            docs.append(doc)
            if len(docs) > MAX_ROWS:
                raise AnswerError(f"more than {MAX_ROWS:,} documents: add a filter or a $limit")
    except pymongo.errors.ExecutionTimeout as exc:
        message = f"stopped after {timeout:g} s: the query runs too long"
        raise AnswerError(message, timeout=True) from exc
    except pymongo.errors.PyMongoError as exc:
        raise AnswerError(f"MongoDB error: {str(exc).splitlines()[0][:300]}") from exc
    if not all(isinstance(d, dict) for d in docs):
        raise AnswerError("the answer must produce documents (dicts)")
    result = ResultSet.from_documents(docs, order_by=order, ordered=order is not None)
    result.commands = stages  # the pipeline's stages, one per line, for options.commands
    return result
