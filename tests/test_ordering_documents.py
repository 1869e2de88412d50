"""A MongoDB answer whose own sort leaves neighbours tied that the reference orders is told so
(dbdojo/checking/ordering.py: undetermined_documents); keys it projected away are not judged."""

from __future__ import annotations

from dbdojo.checking.ordering import undetermined_documents
from dbdojo.checking.result import ResultSet

DOCS = [{"_id": 1, "price": 5, "name": "a"}, {"_id": 2, "price": 5, "name": "b"},
        {"_id": 3, "price": 7, "name": "c"}]  # fmt: skip


def result(order_by, docs=DOCS) -> ResultSet:
    return ResultSet.from_documents(docs, order_by=order_by, ordered=order_by is not None)


def test_a_missing_tiebreaker_is_named():
    said = undetermined_documents(result(["price"]), ["price", "_id"])
    assert said and "your sort (price)" in said


def test_a_full_sort_and_an_unsorted_answer_are_left_alone():
    assert undetermined_documents(result(["price", "_id"]), ["price", "_id"]) is None
    assert undetermined_documents(result(None), ["price", "_id"]) is None
    untied = [{"_id": 1, "price": 5}, {"_id": 2, "price": 6}]
    assert undetermined_documents(result(["price"], untied), ["price", "_id"]) is None


def test_keys_the_documents_do_not_show_are_not_judged():
    hidden = [{"_id": 1, "name": "a"}, {"_id": 2, "name": "b"}]
    assert undetermined_documents(result(["placed_at"], hidden), ["placed_at", "_id"]) is None
    nested = [{"_id": 1, "m": {"n": 1}}, {"_id": 2, "m": {"n": 1}}]
    assert "your sort (m.n)" in (
        undetermined_documents(result(["m.n"], nested), ["m.n", "_id"]) or ""
    )
