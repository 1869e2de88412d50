"""What the emulator's operations cost, brought near MongoDB's (mongoeco 4.11 internals, pinned).

Writes at O(1) per document, as on MongoDB.

mongoeco's MemoryEngine keys each document by the *typed* value of its ``_id`` (``1`` and
``1.0`` are different keys), while MongoDB's ``_id`` index compares numbers by value (``1``,
``1.0``, ``NumberLong(1)`` and ``NumberDecimal("1")`` are one key). To find a clash it scans the
whole collection: on every single-document insert (the wire server inserts one document at a
time, so ``insert_many`` of n documents costs O(n²)), on every insert of a numeric ``_id``, and
on every update of a document (``update_many`` over n documents: O(n²), 49 s for 11,000).

:func:`patch_write_costs` replaces those scans with look-ups of the few typed keys a scalar
number can be stored under (its int, double and decimal forms): same answers, O(1). ``_id``
values that are documents or arrays holding numbers keep mongoeco's scan (rare, and still
right). Measured by ``benchmarks/bench_mongo_writes.py``.

Reads: answering with a document converts each decimal (every price and total) to BSON's
Decimal128 in pure Python, 40% of a find of every order; money values repeat, so
:func:`patch_costs` caches the conversion by the exact text of the number. ``$lookup`` joins
by hash (:data:`MATERIALIZATION_LIMIT`). A compiled ``$in`` compared every document with every
listed value (100 ``_id`` values over 12,000 orders: 9.9 s); ``$in`` and ``$nin`` now look the
document's values up in a set prepared once per query (numbers compared as mongoeco's ``$eq``
compares them).
"""

from __future__ import annotations

import decimal
import functools
import math
from collections.abc import Iterator
from typing import Any

_PATCHED = "__dbdojo_write_costs__"

#: mongoeco joins ``$lookup`` (localField/foreignField) through a hash of the foreign values
#: only under a cost policy; without one each input document scans the whole foreign
#: collection (orders x customers: 12,000 x 7,902 ran for minutes, holding every client, where
#: MongoDB uses the ``_id`` index). The policy's materialization budget, its other effect, is
#: set far above any pipeline here so that it never refuses one.
MATERIALIZATION_LIMIT = 50_000_000


def _scalar_number(value: Any) -> decimal.Decimal | None:
    """``value`` as a Decimal if it is a BSON number (not a bool, not a container)."""
    from mongoeco.core.bson_scalars import unwrap_bson_numeric, wrap_bson_numeric

    wrapped = wrap_bson_numeric(value)
    if wrapped is None:
        return None
    raw = unwrap_bson_numeric(wrapped)
    if isinstance(raw, float):
        return None if math.isnan(raw) or math.isinf(raw) else decimal.Decimal(raw)
    if isinstance(raw, decimal.Decimal):
        return None if not raw.is_finite() else raw
    return decimal.Decimal(int(raw))  # type: ignore[call-overload]


def numeric_twins(value: Any) -> Iterator[Any]:
    """The values of other numeric BSON types equal to the scalar number ``value``."""
    from mongoeco.types import Decimal128

    number = _scalar_number(value)
    if number is None:
        return
    if number == number.to_integral_value() and -(2**63) <= number < 2**63:
        yield int(number)
    as_float = float(number)
    if decimal.Decimal(as_float) == number:
        yield as_float
    yield Decimal128(number)


def _composite_numeric(value: Any) -> bool:
    """Whether an ``_id`` is a document or array holding a number (kept on the scan path)."""
    from mongoeco.core.identity import id_contains_numeric_value

    return isinstance(value, dict | list | tuple) and id_contains_numeric_value(value)


def _clashing_key(engine: Any, coll: Any, candidate_id: Any, exclude: Any) -> Any | None:
    """The storage key of a stored document whose ``_id`` equals ``candidate_id``, if any."""
    keys = [engine._storage_key(candidate_id)]
    keys += [engine._storage_key(twin) for twin in numeric_twins(candidate_id)]
    return next((key for key in keys if key != exclude and key in coll), None)


def patch_costs() -> None:
    """Install the O(1) ``_id`` checks on mongoeco's MemoryEngine and the cached decimal
    conversion (idempotent)."""
    _patch_decimal_conversion()
    _patch_in_membership()
    from mongoeco.engines import memory

    engine_class = memory.MemoryEngine
    if getattr(engine_class, _PATCHED, False):
        return
    ensure_unique = engine_class._ensure_unique_indexes

    @functools.wraps(ensure_unique)
    def ensure_unique_indexes(self: Any, db_name: str, coll_name: str, candidate: Any, **kw: Any):
        if "_id" not in candidate or _composite_numeric(candidate["_id"]):
            return ensure_unique(self, db_name, coll_name, candidate, **kw)
        if kw.get("check_id_storage"):
            storage = kw.get("storage_view")
            coll = (self._storage if storage is None else storage).get(db_name, {}).get(coll_name)
            exclude = kw.get("exclude_storage_key")
            if exclude is not None and coll is not None and exclude not in coll:
                exclude = self._storage_key(exclude)
            if coll is not None and _clashing_key(self, coll, candidate["_id"], exclude):
                raise self._unique_key_error(
                    f"Duplicate key: _id={candidate['_id']}", f"{db_name}.{coll_name}", candidate
                )
        kw.update(check_id_storage=False, scan_payload_id=False)
        return ensure_unique(self, db_name, coll_name, candidate, **kw)

    get_document, delete_document = engine_class.get_document, engine_class.delete_document

    @functools.wraps(get_document)
    async def get_document_(self: Any, db_name: str, coll_name: str, doc_id: Any, *a, **kw):
        found = await get_document(self, db_name, coll_name, doc_id, *a, **kw)
        for twin in numeric_twins(doc_id) if found is None else ():
            if (found := await get_document(self, db_name, coll_name, twin, *a, **kw)) is not None:
                break
        return found

    @functools.wraps(delete_document)
    async def delete_document_(self: Any, db_name: str, coll_name: str, doc_id: Any, **kw: Any):
        if await delete_document(self, db_name, coll_name, doc_id, **kw):
            return True
        for twin in numeric_twins(doc_id):
            if await delete_document(self, db_name, coll_name, twin, **kw):
                return True
        return False

    engine_class._ensure_unique_indexes = ensure_unique_indexes
    engine_class.get_document = get_document_
    engine_class.delete_document = delete_document_
    # The insert path collects every stored _id's equality key when a new _id is a number;
    # scalar numbers are now checked above, so only composite ones need that set.
    memory.id_contains_numeric_value = _composite_numeric
    setattr(engine_class, _PATCHED, True)


def _patch_decimal_conversion() -> None:
    from bson import decimal128

    convert = decimal128._decimal_to_128
    if getattr(convert, _PATCHED, False):
        return
    # Keyed by the text, never by the Decimal: Decimal("1.0") == Decimal("1.00") but their
    # Decimal128s differ. The (high, low) pair returned is immutable.
    by_text = functools.lru_cache(maxsize=1 << 16)(convert)

    @functools.wraps(convert)
    def decimal_to_128(value: Any) -> tuple[int, int]:
        return by_text(value) if isinstance(value, str) else convert(value)

    setattr(decimal_to_128, _PATCHED, True)
    decimal128._decimal_to_128 = decimal_to_128


def _in_key(value: Any, collation: Any) -> tuple[str, Any] | None:
    """``value``'s key in a hashed ``$in`` list: numbers by value across BSON's numeric types,
    strings exactly (without a collation), the rest as mongoeco keys them; None: compare."""
    from mongoeco.core.bson_scalars import (
        _is_nan_numeric_value,
        _numeric_to_decimal,
        wrap_bson_numeric,
    )
    from mongoeco.core.filtering import QueryEngine

    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, str):
        return ("str", value) if collation is None else None
    if (wrapped := wrap_bson_numeric(value)) is not None:
        raw = wrapped.value
        if _is_nan_numeric_value(raw):
            return None
        return ("number", _numeric_to_decimal(raw))  # how mongoeco's $eq compares numbers
    return QueryEngine._hashable_in_lookup_key(value)


class _Membership:
    """An ``$in`` list prepared once: hashable values in a set, regexes and the rest (arrays,
    documents, null, NaN, strings under a collation) matched by mongoeco's own test."""

    def __init__(self, values: tuple[Any, ...], null_matches_undefined: bool) -> None:
        from mongoeco.core.filtering import QueryEngine

        self.engine, self.values, self.nulls = QueryEngine, values, null_matches_undefined
        self.prepared = self._prepare(None)

    def _prepare(self, collation: Any) -> tuple[set[Any], list[Any], list[Any]]:
        lookup, rest = set(), []
        for item in self.values:
            key = None if item is None and self.nulls else _in_key(item, collation)
            lookup.add(key) if key is not None else rest.append(item)
        hashed, regexes, residual = self.engine._prepare_membership_values(
            tuple(rest), null_matches_undefined=self.nulls, collation=collation
        )
        return lookup | hashed, regexes, residual

    def matches(self, candidates: list[Any], dialect: Any, collation: Any) -> bool:
        lookup, regexes, residual = self.prepared if collation is None else self._prepare(collation)
        for candidate in candidates:
            if (key := _in_key(candidate, collation)) is not None and key in lookup:
                return True
            if (regexes or residual) and self.engine._candidate_matches_membership(
                candidate,
                literal_lookup=set(),
                regex_values=regexes,
                residual_values=residual,
                null_matches_undefined=self.nulls,
                dialect=dialect,
                collation=collation,
            ):
                return True
        return False


def _patch_in_membership() -> None:
    from mongoeco.core.compiled_query import CompiledQuery
    from mongoeco.core.query_plan import InCondition, NotInCondition

    to_code = CompiledQuery._node_to_code
    if getattr(to_code, _PATCHED, False):
        return

    @functools.wraps(to_code)
    def node_to_code(self: Any, node: Any, depth: int) -> str:
        if type(node) not in (InCondition, NotInCondition):
            return to_code(self, node, depth)
        membership = self._store("values", _Membership(node.values, node.null_matches_undefined))
        field = self._field(node.field)
        test = f"{membership}.matches(_extract(doc, {field}) or [None], dialect, collation)"
        # $nin is the negation of $in: a missing field is null to both (mongoeco's $nin kept
        # documents without the field when the list held null).
        return test if type(node) is InCondition else f"(not {test})"

    setattr(node_to_code, _PATCHED, True)
    CompiledQuery._node_to_code = node_to_code
