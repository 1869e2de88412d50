"""The Redis keys of the dataset (live state), derived from the generated tables."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dbdojo.dataset.generate import Dataset
from dbdojo.dataset.pgbinary import NULL_INT
from dbdojo.dataset.sampling import rng_for

SESSION_TTL_RANGE = (15 * 60, 24 * 3600)
BITMAP_DAYS = 30
CACHED_PRODUCTS = 200


@dataclass
class RedisData:
    """Commands that rebuild the keys: (command, *args) tuples, plus TTLs to apply at restore."""

    commands: list[tuple] = field(default_factory=list)
    ttl: dict[str, int] = field(default_factory=dict)  # key -> seconds, set when restored

    @property
    def keys(self) -> list[str]:
        return list(dict.fromkeys(c[1] for c in self.commands))


def _iso(seconds: int) -> str:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").isoformat()


def build(data: Dataset) -> RedisData:
    out = RedisData()
    t = data.tables
    drivers, pings = t["drivers"], t["gps_pings"]
    n_drivers = len(drivers["driver_id"])
    # Last known position: the last ping of each driver, else their depot.
    last = np.full(n_drivers + 1, -1)
    last[pings["driver_id"]] = np.arange(len(pings["driver_id"]))  # later pings overwrite
    depot_index = drivers["depot_id"] - 1
    geo: list = []
    for i, driver_id in enumerate(drivers["driver_id"]):
        p = last[driver_id]
        lon = pings["lon"][p] if p >= 0 else t["depots"]["lon"][depot_index[i]]
        lat = pings["lat"][p] if p >= 0 else t["depots"]["lat"][depot_index[i]]
        geo += [float(lon), float(lat), f"driver:{driver_id}"]
    out.commands.append(("GEOADD", "drivers:positions", *geo))
    vehicle_type = dict(
        zip(t["vehicles"]["vehicle_id"], t["vehicles"]["vehicle_type"], strict=True)
    )
    for i, driver_id in enumerate(drivers["driver_id"]):
        v = drivers["vehicle_id"][i]
        fields = {
            "name": f"{drivers['first_name'][i]} {drivers['last_name'][i]}",
            "depot_id": int(drivers["depot_id"][i]),
            "status": drivers["status"][i],
            "vehicle_type": vehicle_type.get(v, "none") if v != NULL_INT else "none",
        }
        out.commands.append(("HSET", f"driver:{driver_id}", *_flat(fields)))
    _leaderboards(data, out)
    _sessions(data, out)
    _stream(data, out)
    _product_cache(data, out)
    _bitmaps(data, out)
    return out


def _flat(fields: dict) -> list:
    return [x for kv in fields.items() for x in kv]


def _leaderboards(data: Dataset, out: RedisData) -> None:
    ratings, jobs = data.tables["ratings"], data.tables["delivery_jobs"]
    rated = ratings["driver_id"] != NULL_INT
    frame = pd.DataFrame({"driver": ratings["driver_id"][rated], "stars": ratings["stars"][rated]})
    stats = frame.groupby("driver")["stars"].agg(["mean", "count"])
    stats = stats[stats["count"] >= 3]
    scores = [
        x
        for d, m in zip(stats.index, stats["mean"], strict=True)
        for x in (round(float(m), 2), f"driver:{d}")
    ]
    if scores:
        out.commands.append(("ZADD", "leaderboard:drivers:rating", *scores))
    delivered = jobs["driver_id"][jobs["status"] == "delivered"]
    ids, counts = np.unique(delivered, return_counts=True)
    pairs = [x for d, c in zip(ids, counts, strict=True) for x in (int(c), f"driver:{d}")]
    if pairs:
        out.commands.append(("ZADD", "leaderboard:drivers:deliveries", *pairs))


def _sessions(data: Dataset, out: RedisData) -> None:
    rng = rng_for(data.seed, 20)
    customers = data.tables["customers"]["customer_id"]
    n = min(data.scale.sessions, len(customers))
    who = rng.choice(customers, n, replace=False)
    tokens = rng.integers(0, 2**63, n)
    ttl = rng.integers(*SESSION_TTL_RANGE, n)
    end = int(data.tables["orders"]["placed_at"].max())
    for c, token, seconds in zip(who, tokens, ttl, strict=True):
        key = f"session:{int(token):016x}"
        fields = {
            "customer_id": int(c),
            "created_at": _iso(end - int(rng.integers(60, SESSION_TTL_RANGE[1]))),
            "cart_items": int(rng.integers(0, 6)),
            "device": str(rng.choice(["ios", "android", "web"])),
        }
        out.commands.append(("HSET", key, *_flat(fields)))
        out.ttl[key] = int(seconds)


def _stream(data: Dataset, out: RedisData) -> None:
    """Status events of the most recent orders, stream ids from the event times."""
    jobs, events = data.tables["delivery_jobs"], data.tables["delivery_status_events"]
    orders = data.tables["orders"]["order_id"]
    recent = orders[-data.scale.stream_orders :]
    job_ids = jobs["delivery_job_id"][np.isin(jobs["order_id"], recent)]
    pick = np.flatnonzero(np.isin(events["delivery_job_id"], job_ids))
    order_of_job = dict(zip(jobs["delivery_job_id"], jobs["order_id"], strict=True))
    driver_of_job = dict(zip(jobs["delivery_job_id"], jobs["driver_id"], strict=True))
    last_ms, seq = -1, 0
    for i in pick:  # events are sorted by time
        ms = int(events["occurred_at"][i]) * 1000
        seq = seq + 1 if ms == last_ms else 0
        last_ms = ms
        job = int(events["delivery_job_id"][i])
        driver = driver_of_job[job]
        fields = {
            "order_id": int(order_of_job[job]),
            "delivery_job_id": job,
            "status": events["status"][i],
            "driver_id": "" if driver == NULL_INT else int(driver),
        }
        out.commands.append(("XADD", "orders:events", f"{ms}-{seq}", *_flat(fields)))


def _product_cache(data: Dataset, out: RedisData) -> None:
    lines, products = data.tables["order_lines"], data.tables["products"]
    counts = np.bincount(lines["product_id"], weights=lines["quantity"])
    top = np.argsort(-counts, kind="stable")[:CACHED_PRODUCTS]
    for product_id in top:
        if counts[product_id] == 0:
            break
        i = product_id - 1
        doc = {
            "product_id": int(product_id),
            "name": products["name"][i],
            "price": f"{products['price'][i] / 100:.2f}",
            "category": products["category"][i],
            "merchant_id": int(products["merchant_id"][i]),
        }
        out.commands.append(("SET", f"product:{product_id}", json.dumps(doc)))


def _bitmaps(data: Dataset, out: RedisData) -> None:
    """active:customers:<day>: bit customer_id set when the customer ordered that day."""
    orders = data.tables["orders"]
    local_day = (
        pd.to_datetime(orders["placed_at"], unit="s", utc=True)
        .tz_convert("Europe/Amsterdam")
        .strftime("%Y-%m-%d")
    )
    days = sorted(set(local_day))[-BITMAP_DAYS:]
    size = int(data.tables["customers"]["customer_id"].max()) + 1
    local_day = np.asarray(local_day)
    for day in days:
        bits = np.zeros(size, dtype=bool)
        bits[orders["customer_id"][local_day == day]] = True
        out.commands.append(
            ("SET", f"active:customers:{day}", np.packbits(bits, bitorder="big").tobytes())
        )
