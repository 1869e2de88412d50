"""Canonical forms of result values, so that equal answers hash equally whatever their types."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

DEFAULT_TOLERANCE = 1e-6


def digits_for(tolerance: float | None) -> int:
    """Decimal places kept for non-integer numbers under an absolute ``tolerance``."""
    tol = tolerance if tolerance and tolerance > 0 else DEFAULT_TOLERANCE
    return max(0, math.ceil(-math.log10(tol) - 1e-9))


def _number(value: Decimal, digits: int) -> Any:
    if not value.is_finite():
        return str(value)
    if value == value.to_integral_value():
        return int(value)
    rounded = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    if rounded == rounded.to_integral_value():
        return int(rounded)
    return {"$num": format(rounded.normalize(), "f")}


def canonical(value: Any, digits: int = 6) -> Any:
    """A JSON-able canonical form: numbers unified, datetimes in UTC, mappings unordered."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return canonical(value.value, digits)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return _number(Decimal(repr(value)), digits)
    if isinstance(value, Decimal):
        return _number(value, digits)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            return {"$ts": value.replace(tzinfo=None).isoformat()}
        return {"$local": value.isoformat()}  # no time zone: not comparable with an instant
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return {"$interval": value.total_seconds()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, Mapping):
        return {str(k): canonical(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [canonical(v, digits) for v in value]
        if isinstance(value, set | frozenset):
            items.sort(key=_dump)
        return items
    return _special(value, digits)


def _special(value: Any, digits: int) -> Any:
    """Types from drivers (bson, numpy) without importing them."""
    kind = type(value).__name__
    if kind == "Decimal128":
        try:
            return _number(value.to_decimal(), digits)
        except InvalidOperation:
            return str(value)
    if kind in {"Int64"}:
        return int(value)
    if hasattr(value, "item") and callable(value.item) and type(value).__module__ == "numpy":
        return canonical(value.item(), digits)
    return str(value)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(values: Any, salt: str = "", digits: int = 6) -> str:
    """A short digest of one row (a sequence of values or a document)."""
    data = (salt + "\x00" + _dump(canonical(values, digits))).encode()
    return hashlib.sha256(data).hexdigest()[:20]


def display(value: Any, limit: int = 100) -> str:
    """A compact rendering of a learner's own row or value for feedback."""
    if isinstance(value, Mapping):
        text = ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    else:
        text = _short(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float | Decimal | int | str):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return _dump(canonical(value, 6))
