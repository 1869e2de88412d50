"""Store a snapshot build's documents straight into mongoeco's MemoryEngine (pinned: 4.11).

mongoeco's ``insert_many`` costs about 1 ms per order document in-process: it deep-copies each
document, recompiles the collection's validator for each one, checks the ``_id`` and walks
the value through its codec twice. A snapshot build inserts generated documents into empty
collections, so :func:`bulk_insert` stores them as ``insert_many`` would (the same stored
payload, the same storage key), checking what ``insert_many`` checks (a validator, once
compiled; duplicate ``_id``) and leaving anything unusual to ``insert_many`` itself.
:func:`encode` is mongoeco's ``DocumentCodec.encode`` of the document as the wire server
would decode it, for the value types the dataset holds; others go through mongoeco.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bson import Decimal128

_INT32 = range(-(2**31), 2**31)
_MARKER = "$mongoeco"
_DECIMALS: dict[bytes, Decimal] = {}  # money repeats: BSON's to_decimal is pure Python


class _Unusual(Exception):
    """A value this module does not encode itself: let mongoeco store the document."""


def _tagged(kind: str, value: Any) -> dict[str, Any]:
    return {_MARKER: {"type": kind, "value": value}}


def _decimal(value: Decimal128) -> Decimal:
    found = _DECIMALS.get(value.bid)
    if found is None:
        found = _DECIMALS[value.bid] = value.to_decimal()
    return found


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _key(key: Any) -> None:
    if type(key) is not str or key.startswith("$") or "." in key or "\0" in key:
        raise _Unusual
    _KEYS.add(key)


_KEYS: set[str] = set()  # the field names checked so far (documents repeat theirs)


def _convert(value: Any, decimal: Callable[[Decimal], Any], when: Callable[[dt.datetime], Any]):
    """``value`` with each Decimal128 and datetime replaced by ``decimal(...)``/``when(...)``
    of its value (a datetime first made naive UTC at BSON's millisecond precision); raises
    _Unusual for a value of another kind. Leaves are handled in their container's loop (a
    document holds millions: a call each doubled the time)."""
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if key not in _KEYS:
                _key(key)
            leaf = type(item)
            if leaf in _LEAVES or item is None or (leaf is int and item in _INT32):
                out[key] = item
            else:
                out[key] = _convert(item, decimal, when)
        return out
    if kind is list:
        return [
            item
            if type(item) in _LEAVES or item is None or (type(item) is int and item in _INT32)
            else _convert(item, decimal, when)
            for item in value
        ]
    if kind is Decimal128:
        return decimal(_decimal(value))
    if kind is dt.datetime:
        return when(_utc(value))
    if (kind is int and value in _INT32) or kind in _LEAVES or value is None:
        return value
    raise _Unusual  # an Int64-sized int (the wire makes it an Int64), or another type


def encode(value: Any) -> Any:
    """mongoeco's stored form of ``value`` (as ``codec.encode(as_wire(value))``); raises
    _Unusual for a value of another kind."""
    return _convert(
        value,
        lambda number: _tagged("decimal128_public", str(number)),
        lambda when: _tagged("datetime", when.isoformat()),
    )


def wire(value: Any) -> Any:
    """``value`` as mongoeco's wire server decodes it (as ``as_wire(value)``), for the kinds
    :func:`encode` handles."""
    from mongoeco.types import Decimal128 as WireDecimal128

    return _convert(value, WireDecimal128, lambda when: when)


_LEAVES = (str, float, bool)  # stored as they are (and None, and an int of 32 bits)


def bulk_insert(engine: Any, db_name: str, coll_name: str, documents: list[Any]) -> bool:
    """Store ``documents`` in the existing collection ``coll_name`` if it holds no secondary
    index, every document has an ``_id`` (an int or a string) that no other has, passes the
    collection's validator and is of the kinds :func:`encode` knows; True if it did (else
    nothing is stored: call ``insert_many``)."""
    from mongoeco.core.schema_validation import compile_collection_validator
    from mongoeco.engines._memory_collection import MemoryCollection

    from dbdojo.mongo.emulator.memstate import PackedDocument

    if coll_name not in engine._collections.get(db_name, ()):
        return False
    if engine._indexes.get(db_name, {}).get(coll_name):
        return False
    validator = compile_collection_validator(
        engine._collection_options.get(db_name, {}).get(coll_name)
    )
    stored = engine._storage.get(db_name, {}).get(coll_name) or MemoryCollection()
    plain_keys = {engine._storage_key(0)[0], engine._storage_key("")[0]}
    if any(key[0] not in plain_keys for key in stored):
        return False  # a float or decimal _id may equal an int one: mongoeco checks that
    rows = {}
    try:
        for doc in documents:
            doc_id = doc.get("_id") if type(doc) is dict else None
            if type(doc_id) not in (int, str) or (type(doc_id) is int and doc_id not in _INT32):
                return False
            key = engine._storage_key(doc_id)
            if key in rows or key in stored:
                return False
            if validator is not None:
                result = validator.validate_document(wire(doc))
                if not (result.valid or validator.validation_action == "warn"):
                    return False
            rows[key] = PackedDocument(encode(doc))
    except _Unusual:
        return False
    stored = stored.copy()
    for key, row in rows.items():
        stored[key] = row
    with engine._meta_lock:
        engine._storage.setdefault(db_name, {})[coll_name] = stored
    return True
