"""An ordered answer's own ORDER BY must define the order the reference asks for
(dbdojo/checking/ordering.py): pure, on result sets."""

from __future__ import annotations

from dbdojo.checking.ordering import undetermined
from dbdojo.checking.result import ResultSet

ROWS = ResultSet(["customer_id", "order_id", "order_no"], [(1, 10, 1), (1, 11, 2), (2, 12, 1)])
KEYS = ["customer_id", "order_no"]


def test_rows_tied_on_the_answers_keys_but_ordered_by_the_reference_fail():
    message = undetermined("SELECT ... ORDER BY customer_id", ROWS, KEYS)
    assert message and "ORDER BY (customer_id)" in message and "tiebreaker" in message
    assert undetermined("SELECT ... ORDER BY o.customer_id DESC", ROWS, KEYS)
    assert undetermined("SELECT ... ORDER BY 1", ROWS, KEYS)


def test_a_defined_order_or_keys_it_cannot_read_pass():
    assert undetermined("SELECT ... ORDER BY customer_id, order_no", ROWS, KEYS) is None
    assert undetermined("SELECT ... ORDER BY 1, 3", ROWS, KEYS) is None
    assert undetermined("SELECT ... ORDER BY customer_id, order_id", ROWS, KEYS) is None
    # a sort key outside the output (placed_at) cannot be judged from the rows: no verdict
    assert undetermined("SELECT ... ORDER BY customer_id, placed_at", ROWS, KEYS) is None
    assert undetermined("SELECT ... ORDER BY lower(customer_id::text)", ROWS, KEYS) is None
    assert undetermined("SELECT customer_id FROM t", ROWS, KEYS) is None


def test_rows_tied_on_the_reference_keys_too_may_come_in_any_order():
    same = ResultSet(["customer_id", "total"], [(1, 5), (1, 5), (2, 7)])
    assert undetermined("SELECT ... ORDER BY customer_id", same, ["customer_id", "total"]) is None


def test_a_null_test_orders_as_its_column():
    """MySQL's NULLS LAST idiom (`col IS NULL, col`): ties on the column are ties of both items,
    so a missing tiebreaker after it shows; a null test alone is never taken as more than its
    column (rows it ties that the column tells apart are not reported)."""
    regions = ResultSet(["region_id", "parent_region_id"], [(5, 1), (6, 1), (7, 2), (1, None)])
    keys = ["parent_region_id", "region_id"]
    loose = "SELECT ... ORDER BY parent_region_id IS NULL, parent_region_id"
    assert undetermined(loose, regions, keys)
    assert undetermined("SELECT ... ORDER BY r.parent_region_id IS NOT NULL DESC", regions, keys)
    tied = "SELECT ... ORDER BY parent_region_id IS NULL, parent_region_id, region_id"
    assert undetermined(tied, regions, keys) is None
    apart = ResultSet(["region_id", "parent_region_id"], [(5, 1), (6, 2), (1, None)])
    assert undetermined("SELECT ... ORDER BY parent_region_id IS NULL", apart, keys) is None
