"""The MongoDB collections of the dataset, derived from the generated tables.

MongoDB holds the catalog, the most recent orders as documents (embedded lines, an extended
reference to the customer), a bucket of events and pings per delivery job, drivers with a
GeoJSON location, customers and the region tree. Ids and amounts match PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from dbdojo.dataset.generate import Dataset
from dbdojo.dataset.pgbinary import NULL_INT

if TYPE_CHECKING:
    from pymongo.database import Database

Doc = dict[str, Any]
ORDER_VALIDATOR = {
    "$jsonSchema": {
        "bsonType": "object",
        "required": ["_id", "status", "placed_at", "customer", "lines", "total"],
        "properties": {
            "status": {
                "enum": [
                    "placed",
                    "accepted",
                    "preparing",
                    "in_transit",
                    "delivered",
                    "cancelled",
                    "refunded",
                ]
            },
            "lines": {"bsonType": "array", "minItems": 1},
            "total": {"bsonType": "decimal"},
        },
    }
}


def _ts(seconds: int) -> dt.datetime | None:
    return None if seconds == NULL_INT else dt.datetime.fromtimestamp(int(seconds), dt.UTC)


@functools.cache
def _money(cents: int):
    """The Decimal128 of an amount in cents (cached: amounts repeat, and BSON's conversion
    is pure Python)."""
    from bson import Decimal128

    return None if cents == NULL_INT else Decimal128(Decimal(int(cents)).scaleb(-2))


def _opt(value: int) -> int | None:
    return None if value == NULL_INT else int(value)


def documents(data: Dataset) -> dict[str, list[Doc]]:
    """Every collection's documents, in insertion order."""
    t = data.tables
    orders = t["orders"]
    held = np.arange(
        max(0, len(orders["order_id"]) - data.scale.mongo_orders), len(orders["order_id"])
    )
    return {
        "regions": _regions(t["regions"]),
        "customers": _customers(t["customers"], np.unique(orders["customer_id"][held])),
        "products": _products(t["products"], data.scale.mongo_products),
        "orders": _orders(data, held),
        "delivery_events": _delivery_events(data, orders["order_id"][held]),
        "drivers": _drivers(data),
    }


def _regions(r: dict) -> list[Doc]:
    return [
        {
            "_id": int(r["region_id"][i]),
            "parent_region_id": _opt(r["parent_region_id"][i]),
            "name": r["name"][i],
            "level": r["level"][i],
            "code": r["code"][i],
        }
        for i in range(len(r["region_id"]))
    ]


def _customers(c: dict, ids: np.ndarray) -> list[Doc]:
    return [
        {
            "_id": int(c["customer_id"][i]),
            "email": c["email"][i],
            "name": {"first": c["first_name"][i], "last": c["last_name"][i]},
            "phone": c["phone"][i],
            "city": c["city"][i],
            "region_id": int(c["region_id"][i]),
            "preferences": json.loads(c["preferences"][i]),
            "is_active": bool(c["is_active"][i]),
            "created_at": _ts(c["created_at"][i]),
        }
        for i in np.searchsorted(c["customer_id"], ids)
    ]


def _products(p: dict, limit: int) -> list[Doc]:
    return [
        {
            "_id": int(p["product_id"][i]),
            "sku": p["sku"][i],
            "merchant_id": int(p["merchant_id"][i]),
            "name": p["name"][i],
            "category": p["category"][i],
            "price": _money(p["price"][i]),
            "attributes": json.loads(p["attributes"][i]),
            "tags": list(p["tags"][i]),
            "description": p["description"][i],
            "is_active": bool(p["is_active"][i]),
        }
        for i in range(min(limit, len(p["product_id"])))
    ]


def _orders(data: Dataset, held: np.ndarray) -> list[Doc]:
    t = data.tables
    o, lines, c, m, p = t["orders"], t["order_lines"], t["customers"], t["merchants"], t["products"]
    first_line = np.searchsorted(lines["order_id"], o["order_id"])
    last_line = np.searchsorted(lines["order_id"], o["order_id"], side="right")
    docs = []
    customer_at = np.searchsorted(c["customer_id"], o["customer_id"])  # ids need not be 1..n
    for i in held:
        ci, mi = customer_at[i], o["merchant_id"][i] - 1
        doc_lines = [
            {
                "line_no": int(lines["line_no"][k]),
                "product_id": int(lines["product_id"][k]),
                "name": p["name"][lines["product_id"][k] - 1],
                "quantity": int(lines["quantity"][k]),
                "unit_price": _money(lines["unit_price"][k]),
            }
            for k in range(first_line[i], last_line[i])
        ]
        docs.append(
            {
                "_id": int(o["order_id"][i]),
                "status": o["status"][i],
                "placed_at": _ts(o["placed_at"][i]),
                "customer": {
                    "customer_id": int(c["customer_id"][ci]),
                    "name": f"{c['first_name'][ci]} {c['last_name'][ci]}",
                    "email": c["email"][ci],
                    "city": c["city"][ci],
                },
                "merchant": {
                    "merchant_id": int(m["merchant_id"][mi]),
                    "name": m["name"][mi],
                    "category": m["category"][mi],
                },
                "region_id": int(o["region_id"][i]),
                "payment_method": o["payment_method"][i],
                "lines": doc_lines,
                "item_count": int(sum(line["quantity"] for line in doc_lines)),
                "subtotal": _money(o["subtotal"][i]),
                "delivery_fee": _money(o["delivery_fee"][i]),
                "tip": _money(o["tip"][i]),
                "total": _money(o["total"][i]),
                "delivery_location": {
                    "type": "Point",
                    "coordinates": [float(o["delivery_lon"][i]), float(o["delivery_lat"][i])],
                },
                "notes": o["notes"][i],
            }
        )
    return docs


def _grouped(keys: np.ndarray, wanted: np.ndarray) -> dict[int, np.ndarray]:
    """Row indices per key, for the keys in ``wanted``."""
    rows = np.flatnonzero(np.isin(keys, wanted))
    order = rows[np.argsort(keys[rows], kind="stable")]
    split = np.flatnonzero(np.diff(keys[order])) + 1
    return {int(keys[g[0]]): g for g in np.split(order, split) if len(g)}


def _delivery_events(data: Dataset, order_ids: np.ndarray) -> list[Doc]:
    """Bucket pattern: one document per delivery job, its status events and GPS pings."""
    t = data.tables
    jobs, events, pings = t["delivery_jobs"], t["delivery_status_events"], t["gps_pings"]
    job_rows = np.flatnonzero(np.isin(jobs["order_id"], order_ids))
    job_ids = jobs["delivery_job_id"][job_rows]
    event_rows = _grouped(events["delivery_job_id"], job_ids)
    ping_rows = _grouped(pings["delivery_job_id"], job_ids)
    docs = []
    for j in job_rows:
        job_id = int(jobs["delivery_job_id"][j])
        evs = event_rows.get(job_id, [])
        pgs = ping_rows.get(job_id, np.array([], int))
        docs.append(
            {
                "_id": job_id,
                "order_id": int(jobs["order_id"][j]),
                "driver_id": _opt(jobs["driver_id"][j]),
                "status": jobs["status"][j],
                "events": [
                    {
                        "status": events["status"][e],
                        "at": _ts(events["occurred_at"][e]),
                        "note": events["note"][e],
                    }
                    for e in evs
                ],
                "pings": [
                    {
                        "at": _ts(pings["recorded_at"][k]),
                        "loc": {
                            "type": "Point",
                            "coordinates": [float(pings["lon"][k]), float(pings["lat"][k])],
                        },
                        "speed_kmh": float(pings["speed_kmh"][k]),
                    }
                    for k in pgs
                ],
                "ping_count": len(pgs),
                "first_at": _ts(pings["recorded_at"][pgs[0]]) if len(pgs) else None,
                "last_at": _ts(pings["recorded_at"][pgs[-1]]) if len(pgs) else None,
            }
        )
    return docs


def _drivers(data: Dataset) -> list[Doc]:
    t = data.tables
    d, v, pings, depots = t["drivers"], t["vehicles"], t["gps_pings"], t["depots"]
    last = np.full(len(d["driver_id"]) + 1, -1)
    last[pings["driver_id"]] = np.arange(len(pings["driver_id"]))
    docs = []
    for i in range(len(d["driver_id"])):
        driver_id = int(d["driver_id"][i])
        k, depot = last[driver_id], d["depot_id"][i] - 1
        lon = pings["lon"][k] if k >= 0 else depots["lon"][depot]
        lat = pings["lat"][k] if k >= 0 else depots["lat"][depot]
        vid = d["vehicle_id"][i]
        docs.append(
            {
                "_id": driver_id,
                "name": f"{d['first_name'][i]} {d['last_name'][i]}",
                "depot_id": int(d["depot_id"][i]),
                "status": d["status"][i],
                "vehicle": None
                if vid == NULL_INT
                else {
                    "type": v["vehicle_type"][vid - 1],
                    "capacity_kg": int(v["capacity_kg"][vid - 1]),
                },
                "last_location": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                "last_seen_at": _ts(pings["recorded_at"][k]) if k >= 0 else None,
            }
        )
    return docs


def builder(data: Dataset, meta: Mapping[str, str] | Callable[[], Mapping[str, str]]):
    """The ``build(db)`` callback for :func:`dbdojo.mongo.snapshots.build_snapshot` (which
    makes the documents too: on the emulator, with the cyclic garbage collector paused).
    ``meta``, the recorded metadata, may be a function: called once the documents are in."""

    def build(db: Database) -> None:
        db.create_collection("orders", validator=ORDER_VALIDATOR)
        for name, items in documents(data).items():
            for start in range(0, len(items), 5_000):
                db[name].insert_many(items[start : start + 5_000], ordered=False)
        info = meta() if callable(meta) else meta
        db["dataset_info"].insert_one({"_id": "dataset", **info})
        db.orders.create_index("customer.customer_id")
        db.orders.create_index("placed_at")
        db.products.create_index("category")
        db.drivers.create_index([("last_location", "2dsphere")])

    return build
