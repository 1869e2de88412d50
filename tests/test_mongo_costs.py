"""The emulator's cost patches keep mongoeco's answers (dbdojo.mongo.emulator.costs): a stored
document is checked for BSON once, whole, and still refused wherever it is not BSON."""

from __future__ import annotations

import decimal

import pytest

from dbdojo.mongo.emulator.costs import patch_costs


@pytest.fixture(scope="module")
def codec():
    from mongoeco.core.codec import DocumentCodec

    patch_costs()
    return DocumentCodec


@pytest.mark.parametrize(
    "document",
    [
        {"a": {"b": {"c": {1, 2}}}},  # a set, three levels down
        {"a": [{"ok": 1}, {2: "not a string key"}]},  # a number as a key, in an array
        {"a": {"b": frozenset()}},
    ],
)
def test_a_value_that_is_not_bson_is_refused_at_any_depth(codec, document):
    with pytest.raises(TypeError):
        codec.encode(document)


def test_encoding_is_unchanged(codec):
    document = {
        "_id": 7,
        "total": decimal.Decimal("12.50"),
        "items": [{"sku": "a", "n": 2, "tags": ["x", {"k": "v"}]}],
        "nested": {"deep": {"deeper": [1, 2.5, None, True]}},
    }
    assert codec.decode(codec.encode(document)) == document
    # a second encoding inside the first's call stack is not a way around the check
    with pytest.raises(TypeError):
        codec.encode({"ok": {"inner": {"s": {1}}}})
