"""Delivery jobs, their status history, GPS pings along each trip, and ratings."""

from __future__ import annotations

import numpy as np

from dbdojo.dataset.pgbinary import NULL_INT
from dbdojo.dataset.sampling import choose_in_groups, haversine_km, rng_for
from dbdojo.dataset.vocab import REVIEW_PHRASES, STATUS_NOTES

Table = dict[str, np.ndarray]
PING_EVERY_S = 90
MAX_PINGS_PER_TRIP = 40
PREP_MINUTES = {"restaurant": (10, 25), "bakery": (3, 10), "grocery": (5, 15)}  # else 3-8


def _maybe(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.where(mask, values, NULL_INT)


def jobs(
    seed: int,
    orders: Table,
    order_aux: dict,
    merchants: Table,
    merchant_category: np.ndarray,
    drivers: Table,
    fleet_aux: dict,
    zones: dict,
) -> tuple[Table, dict]:
    """One job per order, timestamps filled as far as the job got."""
    rng = rng_for(seed, 8)
    n = len(orders["order_id"])
    status = orders["status"]
    zone = order_aux["zone"]
    # The zone's own depot, else a depot of the same city.
    depot_city = zones["depot_city"]
    by_city = np.argsort(depot_city, kind="stable")
    any_in_city = by_city[
        choose_in_groups(rng, depot_city[by_city], np.ones(len(by_city)), zones["city"][zone])
    ]
    depot_index = np.where(zones["depot"][zone] > 0, zones["depot"][zone] - 1, any_in_city)
    weight = np.where(drivers["status"] == "active", 1.0, 0.3)
    driver = choose_in_groups(rng, fleet_aux["depot_index"], weight, depot_index)

    merchant = order_aux["merchant"]
    distance = haversine_km(
        merchants["lat"][merchant], merchants["lon"][merchant],
        orders["delivery_lat"], orders["delivery_lon"],
    ) * 1.35 + 0.3  # fmt: skip
    travel = (distance / fleet_aux["speed_kmh"][driver] * 3600 * rng.lognormal(0, 0.15, n)).astype(
        np.int64
    )
    low = np.full(n, 3)
    high = np.full(n, 8)
    for name, (lo, hi) in PREP_MINUTES.items():
        is_cat = merchant_category[merchant] == name
        low[is_cat], high[is_cat] = lo, hi
    prep = rng.integers(low * 60, high * 60 + 1)

    created = orders["placed_at"] + rng.integers(20, 300, n)
    assigned = created + rng.exponential(120, n).astype(np.int64) + 5
    picked = np.maximum(assigned + 60, orders["placed_at"] + prep)
    delivered = picked + travel

    failed = (status == "refunded") & (rng.random(n) < 0.5)
    cancelled_early = (status == "cancelled") & (rng.random(n) < 0.6)
    has_driver = ~np.isin(status, ["placed", "accepted"]) & ~cancelled_early
    has_pickup = has_driver & ~np.isin(status, ["preparing", "cancelled"])
    is_delivered = has_pickup & ~failed & (status != "in_transit")
    job_status = np.select(
        [status == "cancelled", failed, is_delivered, has_pickup, has_driver],
        ["cancelled", "failed", "delivered", "picked_up", "assigned"],
        "unassigned",
    ).astype(object)
    order = np.lexsort((orders["order_id"], created))
    table: Table = {
        "delivery_job_id": np.arange(1, n + 1),
        "order_id": orders["order_id"][order],
        "driver_id": _maybe(has_driver, drivers["driver_id"][driver])[order],
        "depot_id": (depot_index + 1)[order],
        "status": job_status[order],
        "created_at": created[order],
        "assigned_at": _maybe(has_driver, assigned)[order],
        "picked_up_at": _maybe(has_pickup, picked)[order],
        "delivered_at": _maybe(is_delivered, delivered)[order],
        "distance_km": _maybe(has_driver, np.round(distance * 100).astype(np.int64))[order],
    }
    aux = {
        "driver": driver[order],
        "order_index": order,
        "trip_end": np.where(has_pickup, picked + np.where(failed, travel // 2, travel), NULL_INT)[
            order
        ],
        "merchant": merchant[order],
        "cancelled_at": (created + rng.integers(60, 1_200, n))[order],
        "end_now": orders["placed_at"].max() + 1,
    }
    return table, aux


def status_events(seed: int, jobs_table: Table, aux: dict) -> Table:
    """The history of each job: unassigned, assigned, picked_up, then the final status."""
    rng = rng_for(seed, 9)
    ids = jobs_table["delivery_job_id"]
    status = jobs_table["status"]
    parts = [(ids, "unassigned", jobs_table["created_at"])]
    for column, name in (("assigned_at", "assigned"), ("picked_up_at", "picked_up")):
        has = jobs_table[column] != NULL_INT
        parts.append((ids[has], name, jobs_table[column][has]))
    done = jobs_table["delivered_at"] != NULL_INT
    parts.append((ids[done], "delivered", jobs_table["delivered_at"][done]))
    failed = status == "failed"
    parts.append((ids[failed], "failed", aux["trip_end"][failed]))
    cancelled = status == "cancelled"
    parts.append((ids[cancelled], "cancelled", aux["cancelled_at"][cancelled]))
    job = np.concatenate([p[0] for p in parts])
    name = np.concatenate([np.full(len(p[0]), p[1], object) for p in parts])
    at = np.concatenate([p[2] for p in parts])
    note = np.full(len(job), None, object)
    is_failed = name == "failed"
    note[is_failed] = rng.choice(STATUS_NOTES["failed"], is_failed.sum())
    order = np.lexsort((job, at))
    return {
        "delivery_status_event_id": np.arange(1, len(job) + 1),
        "delivery_job_id": job[order],
        "status": name[order],
        "occurred_at": at[order],
        "note": note[order],
    }


def gps_pings(seed: int, jobs_table: Table, aux: dict, merchants: Table, orders: Table,
              drivers: Table, speed_kmh: np.ndarray) -> Table:  # fmt: skip
    """A ping every 90 s along each trip (merchant to customer), plus a few on the way back."""
    rng = rng_for(seed, 10)
    trip = np.flatnonzero(jobs_table["picked_up_at"] != NULL_INT)
    start = jobs_table["picked_up_at"][trip]
    end = np.minimum(aux["trip_end"][trip], aux["end_now"])
    count = np.clip((end - start) // PING_EVERY_S, 1, MAX_PINGS_PER_TRIP)
    which = np.repeat(np.arange(len(trip)), count)
    step = np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)
    frac = (step + 0.5) / count[which]
    job_index = trip[which]
    merchant = aux["merchant"][job_index]
    order = aux["order_index"][job_index]
    lat = merchants["lat"][merchant] + frac * (
        orders["delivery_lat"][order] - merchants["lat"][merchant]
    )
    lon = merchants["lon"][merchant] + frac * (
        orders["delivery_lon"][order] - merchants["lon"][merchant]
    )
    driver = aux["driver"][job_index]
    spacing = np.maximum((end - start) // count, 1)[which]
    recorded = start[which] + step * spacing + rng.integers(0, 20, len(which))
    speed = speed_kmh[driver] * rng.lognormal(0, 0.3, len(which))
    speed[rng.random(len(which)) < 0.08] = 0  # waiting at a traffic light
    job_id = jobs_table["delivery_job_id"][job_index]
    # The way back to the depot, not part of any job.
    back = trip[(jobs_table["status"][trip] == "delivered") & (rng.random(len(trip)) < 0.15)]
    back_at = np.concatenate(
        [jobs_table["delivered_at"][back] + 90, jobs_table["delivered_at"][back] + 180]
    )
    back_order = np.tile(aux["order_index"][back], 2)
    all_driver = np.concatenate([driver, np.tile(aux["driver"][back], 2)])
    all_at = np.concatenate([recorded, back_at])
    all_lat = np.concatenate([lat, orders["delivery_lat"][back_order] + 0.002])
    all_lon = np.concatenate([lon, orders["delivery_lon"][back_order] + 0.003])
    all_speed = np.concatenate([speed, np.full(2 * len(back), 15.0)])
    all_job = np.concatenate([job_id, np.full(2 * len(back), NULL_INT)])
    keep = all_at < aux["end_now"]
    # by time, then driver: one stable sort of a combined key (lexsort took three times as long)
    at, by = all_at[keep], all_driver[keep]
    key = (at - at.min(initial=0)) * (by.max(initial=0) + 1) + by
    idx = np.flatnonzero(keep)[np.argsort(key, kind="stable")]
    n = len(idx)
    return {
        "gps_ping_id": np.arange(1, n + 1),
        "driver_id": drivers["driver_id"][all_driver[idx]],
        "delivery_job_id": all_job[idx],
        "recorded_at": all_at[idx],
        "lat": np.round(all_lat[idx] + rng.normal(0, 0.0002, n), 6),
        "lon": np.round(all_lon[idx] + rng.normal(0, 0.0003, n), 6),
        "speed_kmh": np.round(all_speed[idx], 1),
    }


def ratings(seed: int, jobs_table: Table, aux: dict, orders: Table) -> Table:
    """About a third of delivered orders are rated; most ratings have no comment."""
    rng = rng_for(seed, 11)
    done = np.flatnonzero(jobs_table["status"] == "delivered")
    rated = done[rng.random(len(done)) < 0.35]
    n = len(rated)
    order = aux["order_index"][rated]
    refunded = orders["status"][order] == "refunded"
    stars = rng.choice([1, 2, 3, 4, 5], n, p=[0.06, 0.05, 0.09, 0.25, 0.55])
    stars[refunded] = rng.choice([1, 2], refunded.sum())
    comment = np.full(n, None, object)
    has = np.flatnonzero(rng.random(n) < 0.4)
    two = rng.random(len(has)) < 0.3
    picks = rng.integers(0, 100, (len(has), 2))
    for k, i in enumerate(has):
        phrases = REVIEW_PHRASES[int(stars[i])]
        text = phrases[picks[k, 0] % len(phrases)]
        second = phrases[picks[k, 1] % len(phrases)]
        comment[i] = f"{text} {second}" if two[k] and second != text else text
    created = np.minimum(
        jobs_table["delivered_at"][rated] + rng.exponential(3 * 3600, n).astype(np.int64) + 60,
        aux["end_now"] - 1,
    )
    sort = np.lexsort((jobs_table["order_id"][rated], created))
    return {
        "rating_id": np.arange(1, n + 1),
        "order_id": orders["order_id"][order][sort],
        "customer_id": orders["customer_id"][order][sort],
        "merchant_id": orders["merchant_id"][order][sort],
        "driver_id": jobs_table["driver_id"][rated][sort],
        "stars": stars[sort],
        "comment": comment[sort],
        "created_at": created[sort],
    }
