"""The comparison rules, one by one, on in-memory results (no database needed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from dbdojo.checking.compare import compare
from dbdojo.checking.normalize import canonical, digits_for, row_hash
from dbdojo.checking.result import ResultSet, Rules, digest


def check(ref: ResultSet, ans: ResultSet, ordered=False, order_by=None, tolerance=None):
    rules = Rules("t.x", digits_for(tolerance), ordered, order_by)
    return compare(digest(ref, rules), ans, rules)


def table(columns: str, *rows) -> ResultSet:
    return ResultSet(columns.split(), [tuple(r) for r in rows])


def test_rows_are_a_multiset_where_duplicates_count():
    ref = table("a", (1,), (1,), (2,))
    assert check(ref, table("a", (2,), (1,), (1,))).ok
    outcome = check(ref, table("a", (1,), (2,), (2,)))
    assert not outcome.ok
    assert outcome.problems == [
        "1 row missing, 1 row that should not be there (you returned 3 rows, 3 expected)"
    ]
    assert outcome.extra_examples == ["a=2"]


def test_the_columns_that_differ_are_named_not_their_values():
    ref = table("city n total", ("Delft", 2, 10), ("Leiden", 1, 5))
    outcome = check(ref, table("city n total", ("Delft", 2, 11), ("Leiden", 1, 5)))
    assert outcome.problems[1:] == ["the differences are in the columns: total"]
    assert "10" not in " ".join(outcome.problems)


def test_null_equals_null():
    assert check(table("a b", (None, 1)), table("a b", (None, 1))).ok
    assert not check(table("a b", (None, 1)), table("a b", (0, 1))).ok


def test_order_ignored_when_the_reference_does_not_order():
    assert check(table("a", (1,), (2,)), table("a", (2,), (1,)), ordered=False).ok


def test_right_rows_wrong_order_is_said_exactly():
    outcome = check(table("a", (1,), (2,), (3,)), table("a", (1,), (3,), (2,)), ordered=True)
    assert not outcome.ok
    assert outcome.problems[0].startswith("right rows, wrong order")
    assert "row 2" in outcome.problems[0]


def test_ties_on_the_order_keys_may_come_in_any_order():
    ref = table("total id", (5, 1), (5, 2), (3, 3))
    tied = table("total id", (5, 2), (5, 1), (3, 3))
    assert check(ref, tied, ordered=True, order_by=["total"]).ok
    assert not check(ref, tied, ordered=True, order_by=None).ok  # unknown keys: full sequence
    assert not check(ref, table("total id", (3, 3), (5, 1), (5, 2)), True, ["total"]).ok


def test_columns_match_by_name_in_any_order():
    assert check(table("a b", (1, "x")), table("b a", ("x", 1))).ok


def test_columns_fall_back_to_position_with_a_note():
    outcome = check(table("a b", (1, "x")), table("c d", (1, "x")))
    assert outcome.ok
    assert "by position" in outcome.notes[0] and "c (expected name: a)" in outcome.notes[0]


def test_missing_and_extra_columns_are_named():
    outcome = check(table("a b", (1, 2)), table("a", (1,)))
    assert not outcome.ok and "missing: b" in outcome.problems[0]
    outcome = check(table("a", (1,)), table("a z", (1, 2)))
    assert not outcome.ok and "extra: z" in outcome.problems[0]


def test_numbers_compare_across_types():
    ref = table("n", (Decimal("2.50"),), (3,), (Decimal("0.3"),))
    assert check(ref, table("n", (2.5,), (3.0,), (0.1 + 0.2,))).ok
    assert canonical(Decimal("3.000")) == canonical(3) == canonical(3.0)


def test_default_tolerance_and_per_exercise_tolerance():
    assert check(table("n", (1.0,)), table("n", (1.0000001,))).ok
    assert not check(table("n", (1.0,)), table("n", (1.001,))).ok
    assert check(table("n", (1.0,)), table("n", (1.004,)), tolerance=0.01).ok
    assert not check(table("n", (1.0,)), table("n", (1.02,)), tolerance=0.01).ok


def test_aware_datetimes_compare_in_utc():
    utc = dt.datetime(2025, 3, 30, 1, 30, tzinfo=dt.UTC)
    amsterdam = utc.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert check(table("t", (utc,)), table("t", (amsterdam,))).ok
    assert not check(table("t", (utc,)), table("t", (utc.replace(tzinfo=None),))).ok


def test_documents_compare_independent_of_field_order():
    ref = ResultSet.from_documents([{"a": 1, "b": {"x": 1, "y": [1, 2]}}])
    ans = ResultSet.from_documents([{"b": {"y": [1, 2], "x": 1}, "a": 1}])
    assert check(ref, ans).ok
    assert not check(ref, ResultSet.from_documents([{"a": 1, "b": {"x": 1, "y": [2, 1]}}])).ok


def test_extra_id_field_is_named_with_a_tip():
    ref = ResultSet.from_documents([{"a": 1}])
    outcome = check(ref, ResultSet.from_documents([{"_id": 7, "a": 1}]))
    assert not outcome.ok and "_id" in outcome.problems[0] and "'_id': 0" in outcome.problems[0]


def test_feedback_never_shows_expected_values():
    secret = "SECRET-ANSWER-4242"
    outcome = check(table("a", (secret,), ("shared",)), table("a", ("mine",), ("shared",)))
    text = " ".join(outcome.problems + outcome.notes + outcome.extra_examples)
    assert not outcome.ok and secret not in text and "mine" in text


def test_row_hashes_are_salted_per_exercise():
    assert row_hash([1], "a.one") != row_hash([1], "a.two")
    assert row_hash([1], "a.one") == row_hash([Decimal(1)], "a.one")
