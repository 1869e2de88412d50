"""The generator on its own (no servers): determinism, sizes, integrity, realistic shape."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest

from dbdojo.dataset import edge
from dbdojo.dataset.columns import TABLES
from dbdojo.dataset.generate import generate
from dbdojo.dataset.pgbinary import NULL_INT, encode_rows
from dbdojo.dataset.sampling import epoch

# (child table, column) -> (parent table, key); NULL allowed where the schema allows it
FOREIGN_KEYS = {
    ("regions", "parent_region_id"): ("regions", "region_id"),
    ("depots", "region_id"): ("regions", "region_id"),
    ("employees", "manager_id"): ("employees", "employee_id"),
    ("employees", "depot_id"): ("depots", "depot_id"),
    ("customers", "region_id"): ("regions", "region_id"),
    ("wallets", "customer_id"): ("customers", "customer_id"),
    ("merchants", "region_id"): ("regions", "region_id"),
    ("products", "merchant_id"): ("merchants", "merchant_id"),
    ("vehicles", "depot_id"): ("depots", "depot_id"),
    ("drivers", "depot_id"): ("depots", "depot_id"),
    ("drivers", "vehicle_id"): ("vehicles", "vehicle_id"),
    ("orders", "customer_id"): ("customers", "customer_id"),
    ("orders", "merchant_id"): ("merchants", "merchant_id"),
    ("orders", "region_id"): ("regions", "region_id"),
    ("order_lines", "order_id"): ("orders", "order_id"),
    ("order_lines", "product_id"): ("products", "product_id"),
    ("payments", "order_id"): ("orders", "order_id"),
    ("delivery_jobs", "order_id"): ("orders", "order_id"),
    ("delivery_jobs", "driver_id"): ("drivers", "driver_id"),
    ("delivery_status_events", "delivery_job_id"): ("delivery_jobs", "delivery_job_id"),
    ("gps_pings", "driver_id"): ("drivers", "driver_id"),
    ("gps_pings", "delivery_job_id"): ("delivery_jobs", "delivery_job_id"),
    ("ratings", "order_id"): ("orders", "order_id"),
    ("ratings", "driver_id"): ("drivers", "driver_id"),
}


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny")


def test_same_seed_same_bytes_other_seed_other_bytes(tiny):
    assert generate("tiny").checksum() == tiny.checksum()
    assert generate("tiny", seed=7).checksum() != tiny.checksum()


def test_tiny_sizes(tiny):
    rows = {t: tiny.rows(t) for t in TABLES}
    assert rows["customers"] == rows["wallets"] == 500
    assert rows["orders"] == rows["delivery_jobs"] == 2_000
    assert 2.0 < rows["order_lines"] / rows["orders"] < 4.5
    assert rows["regions"] == 51 and rows["depots"] == 15
    assert rows["gps_pings"] > 5 * rows["orders"]


def test_every_table_has_its_schema_columns(tiny):
    for table, columns in TABLES.items():
        data = tiny.tables[table]
        assert list(data) == [c for c, _ in columns], table
        assert len({len(v) for v in data.values()}) == 1, f"{table}: ragged columns"


@pytest.mark.parametrize("data_name", ["tiny", *edge.VARIANTS])
def test_keys_unique_and_references_resolve(tiny, data_name):
    data = tiny if data_name == "tiny" else edge.variant(data_name)
    for table, columns in TABLES.items():
        key = data.tables[table][columns[0][0]]
        assert len(np.unique(key)) == len(key), f"{table}: duplicate primary key"
    for (child, column), (parent, key) in FOREIGN_KEYS.items():
        values = data.tables[child][column]
        values = values[values != NULL_INT]
        missing = np.setdiff1d(values, data.tables[parent][key])
        assert len(missing) == 0, f"{data_name}: {child}.{column} -> {parent}: {missing[:5]}"


def test_money_adds_up(tiny):
    orders, lines = tiny.tables["orders"], tiny.tables["order_lines"]
    sums = pd.Series(lines["quantity"] * lines["unit_price"]).groupby(lines["order_id"]).sum()
    assert (sums.reindex(orders["order_id"], fill_value=0).to_numpy() == orders["subtotal"]).all()
    tip = np.where(orders["tip"] == NULL_INT, 0, orders["tip"])
    assert (orders["total"] == orders["subtotal"] + orders["delivery_fee"] + tip).all()


def test_realistic_shape(tiny):
    orders, customers = tiny.tables["orders"], tiny.tables["customers"]
    per_customer = np.bincount(orders["customer_id"], minlength=len(customers["customer_id"]) + 1)[
        1:
    ]
    assert per_customer.max() >= 10 * np.median(per_customer[per_customer > 0])  # heavy tail
    assert (per_customer == 0).mean() > 0.05  # some never order
    assert 0.1 < np.mean([p is None for p in customers["phone"]]) < 0.3
    assert 0.3 < np.mean(orders["tip"] == NULL_INT) < 0.6
    emails = customers["email"]
    assert any(e != e.lower() for e in emails)
    assert len({e.lower() for e in emails}) == len(emails)
    assert (np.diff(tiny.tables["gps_pings"]["recorded_at"]) >= 0).all()  # BRIN-friendly
    local = pd.to_datetime(orders["placed_at"], unit="s", utc=True).tz_convert("Europe/Amsterdam")
    by_hour = np.bincount(local.hour, minlength=24)
    assert by_hour[18:21].sum() > 4 * by_hour[2:5].sum()  # dinner peak, quiet night
    offsets = {ts.utcoffset().total_seconds() for ts in local}
    assert offsets == {3600.0, 7200.0}  # crosses DST
    assert orders["placed_at"].min() >= epoch("2024-09-01")
    assert orders["placed_at"].max() < epoch("2025-09-01")


def test_created_before_first_order(tiny):
    orders, customers = tiny.tables["orders"], tiny.tables["customers"]
    first = pd.Series(orders["placed_at"]).groupby(orders["customer_id"]).min()
    signup = pd.Series(customers["created_at"], index=customers["customer_id"])[first.index]
    assert (signup.to_numpy() < first.to_numpy()).all()


def test_pings_are_in_time_order_then_driver_order(tiny):
    """gps_ping_id follows (recorded_at, driver_id), ties kept in the order they were made."""
    pings = tiny.tables["gps_pings"]
    at, driver = pings["recorded_at"], pings["driver_id"]
    assert len(at) > 1000
    later = (at[1:] > at[:-1]) | ((at[1:] == at[:-1]) & (driver[1:] >= driver[:-1]))
    assert later.all()
    assert (np.diff(pings["gps_ping_id"]) == 1).all()


def test_edge_variants_carry_their_trouble():
    dup = edge.variant("duplicates").tables["customers"]["email"]
    assert len({e.lower() for e in dup}) < len(set(dup)) == len(dup)
    regions = edge.variant("cycles").tables["regions"]
    parent = dict(zip(regions["region_id"], regions["parent_region_id"], strict=True))
    assert any(parent.get(parent[r]) == r for r in parent)
    dst = edge.variant("dst").tables["orders"]["placed_at"]
    local = pd.to_datetime(dst, unit="s", utc=True).tz_convert("Europe/Amsterdam")
    repeated_hour = (local.month == 10) & (local.hour == 2)
    assert {ts.utcoffset().total_seconds() for ts in local[repeated_hour]} == {3600.0, 7200.0}
    empty = edge.variant("empty")
    ordered = set(empty.tables["orders"]["customer_id"])
    assert len(set(empty.tables["customers"]["customer_id"]) - ordered) >= 5
    ties = edge.variant("ties").tables["orders"]["total"]
    assert len(np.unique(ties)) < len(ties) / 5
    nulls = edge.variant("nulls").tables["ratings"]["driver_id"]
    assert (nulls == NULL_INT).any()


def test_binary_encoder_layout():
    rows = encode_rows([("int4", np.array([1, NULL_INT])), ("text", np.array(["é", None], object))])
    assert rows == (
        b"\x00\x02" + b"\x00\x00\x00\x04\x00\x00\x00\x01" + b"\x00\x00\x00\x02\xc3\xa9"
        + b"\x00\x02" + b"\xff\xff\xff\xff" + b"\xff\xff\xff\xff"
    )  # fmt: skip


def _row_by_row(ids: list[int | None], names: list[str | None]) -> bytes:
    """The binary COPY rows of (int8, text), packed one field at a time."""
    out = b""
    for id_, name in zip(ids, names, strict=True):
        out += b"\x00\x02"
        out += b"\xff\xff\xff\xff" if id_ is None else struct.pack(">iq", 8, id_)
        data = None if name is None else name.encode()
        out += b"\xff\xff\xff\xff" if data is None else struct.pack(">i", len(data)) + data
    return out


@pytest.mark.parametrize("nulls_every", [1, 3, 400], ids=["all", "many", "few"])
def test_binary_encoder_cuts_short_values_like_a_row_by_row_encoder(nulls_every):
    """Few short values take the span-joining path, many the byte-mask path: same bytes."""
    n = 2_000
    ids = [None if i % nulls_every == 0 else i * 7 for i in range(n)]
    names = ["x" * 12 if i % nulls_every else (None if i % 2 else "é") for i in range(n)]
    columns = [
        ("int8", np.array([NULL_INT if v is None else v for v in ids])),
        ("text", np.array(names, object)),
    ]
    assert encode_rows(columns) == _row_by_row(ids, names)
