"""Values crossing from the sandboxed answer to the grader: tagged JSON, never pickle.

The grader decodes what an untrusted process wrote, so decoding may build only plain data
(numbers, strings, dates, containers, ObjectIds); anything else arrives as its ``str()``.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

MAX_DEPTH = 64


class Unencodable(ValueError):
    """A value nested too deeply to send."""


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON-able form of ``value`` that :func:`decode` turns back into equal data."""
    if depth > MAX_DEPTH:
        raise Unencodable(f"a value nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, enum.Enum):
        return encode(value.value, depth + 1)
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$td": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, Mapping):
        return {"$map": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value]
    for kind, tag in ((tuple, "$tuple"), (frozenset, "$frozenset"), (set, "$set")):
        if isinstance(value, kind):
            return {tag: [encode(v, depth + 1) for v in value]}
    return _driver_value(value, depth)


def _driver_value(value: Any, depth: int) -> Any:
    kind = type(value).__name__
    if kind == "Decimal128":
        return {"$dec": str(value.to_decimal())}
    if kind == "ObjectId":
        return {"$oid": str(value)}
    if kind == "Int64":
        return int(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return encode(value.item(), depth + 1)
    return {"$str": str(value)}


def decode(data: Any) -> Any:
    """The value :func:`encode` sent."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    ((tag, body),) = data.items()
    if tag == "$map":
        return {_hashable(decode(k)): decode(v) for k, v in body}
    if tag == "$tuple":
        return tuple(decode(v) for v in body)
    if tag in _SETS:
        return _SETS[tag](_hashable(decode(v)) for v in body)
    return _SCALARS[tag](body)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _oid(text: str) -> Any:
    from bson import ObjectId

    return ObjectId(text)


_SETS = {"$set": set, "$frozenset": frozenset}
_SCALARS = {
    "$float": float,
    "$dec": Decimal,
    "$dt": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
    "$td": lambda parts: dt.timedelta(*parts),
    "$bytes": bytes.fromhex,
    "$oid": _oid,
    "$str": str,
}
