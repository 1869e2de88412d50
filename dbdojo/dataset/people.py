"""Customers and their wallets, vehicles and drivers."""

from __future__ import annotations

import json

import numpy as np

from dbdojo.dataset.pgbinary import NULL_INT
from dbdojo.dataset.sampling import END_LOCAL, ascii_fold, epoch, names, pick, rng_for
from dbdojo.dataset.scales import Scale
from dbdojo.dataset.vocab import CITIES, EMAIL_DOMAINS

Table = dict[str, np.ndarray]
DIETS = ["vegan", "vegetarian", "gluten_free", "halal", "lactose_free"]
VEHICLES = ["bicycle", "e_bike", "scooter", "car", "van"]
VEHICLE_SHARE = [0.25, 0.30, 0.25, 0.12, 0.08]
VEHICLE_CAPACITY = np.array([15, 25, 40, 250, 800])
VEHICLE_SPEED_KMH = np.array([14.0, 20.0, 25.0, 28.0, 25.0])
WALK_SPEED_KMH = 12.0  # drivers without an assigned vehicle use their own bike


def zone_choice(rng: np.random.Generator, zones: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Zone indices weighted by their city's population."""
    city_weight = np.array([c[3] for c in CITIES])
    zone_weight = city_weight[zones["city"]] / np.bincount(zones["city"])[zones["city"]]
    return rng.choice(len(zone_weight), size=n, p=zone_weight / zone_weight.sum())


def _email(first: str, last: str, number: int, style: int, domain: str) -> str:
    local = f"{ascii_fold(first)}.{ascii_fold(last)}{number}"
    if style == 0:  # typed as-is, e.g. Anna.deVries812@gmail.com
        return f"{local}@{domain}"
    if style == 1:
        return f"{local.lower()}@{domain}"
    return f"{local}@{domain.upper()}" if style == 2 else f"{local.upper()}@{domain}"


def _preferences(rng: np.random.Generator, n: int) -> np.ndarray:
    language = pick(rng, ["nl", "en", "de", "tr"], n, [0.68, 0.24, 0.05, 0.03])
    newsletter = rng.random(n) < 0.4
    has_diet_key = rng.random(n) < 0.85
    diet_count = np.where(rng.random(n) < 0.3, rng.integers(1, 3, n), 0)
    diet_pick = rng.integers(0, len(DIETS), (n, 2))
    sms, push = rng.random(n) < 0.2, rng.random(n) < 0.75
    out = np.empty(n, object)
    for i in range(n):
        pref: dict = {"language": language[i], "newsletter": bool(newsletter[i])}
        if has_diet_key[i]:
            pref["dietary"] = sorted({DIETS[d] for d in diet_pick[i, : diet_count[i]]})
        pref["notify"] = {"sms": bool(sms[i]), "push": bool(push[i])}
        out[i] = json.dumps(pref)
    return out


def customers(seed: int, scale: Scale, zones: dict[str, np.ndarray]) -> tuple[Table, Table, dict]:
    """Customers, one wallet each, and their home coordinates (for delivery addresses)."""
    rng = rng_for(seed, 3)
    n = scale.customers
    first, last = names(rng, seed, n)
    zone = zone_choice(rng, zones, n)
    ids = np.arange(1, n + 1)
    style = rng.choice(4, size=n, p=[0.55, 0.3, 0.1, 0.05])
    domain = pick(rng, EMAIL_DOMAINS, n)
    phone = np.array([f"+31 6 {x:08d}" for x in rng.integers(10_000_000, 99_999_999, n)], object)
    phone[rng.random(n) < 0.2] = None
    start, end = epoch("2022-01-01"), epoch(END_LOCAL)
    table: Table = {
        "customer_id": ids,
        "email": np.array(
            [_email(*args) for args in zip(first, last, ids, style, domain, strict=True)], object
        ),
        "first_name": first,
        "last_name": last,
        "phone": phone,
        "region_id": zones["region_id"][zone],
        "city": np.array([c[0] for c in CITIES], object)[zones["city"][zone]],
        "preferences": _preferences(rng, n),
        "is_active": rng.random(n) < 0.95,
        "created_at": start + rng.integers(0, end - start, n),  # moved before the first order later
    }
    balance = np.where(rng.random(n) < 0.6, 0, (rng.gamma(1.5, 12.0, n) * 100).astype(np.int64))
    wallets: Table = {
        "wallet_id": ids,
        "customer_id": ids,
        "balance": balance,
        "currency": np.array(["EUR"] * n, object),
        "updated_at": end - rng.integers(3_600, 200 * 86_400, n),
    }
    home = {
        "zone": zone,
        "lat": zones["lat"][zone] + rng.normal(0, 0.012, n),
        "lon": zones["lon"][zone] + rng.normal(0, 0.018, n),
    }
    return table, wallets, home


def fleet(seed: int, scale: Scale, depots: Table, zones: dict) -> tuple[Table, Table, dict]:
    """Vehicles and drivers; each depot gets at least one driver. Also each driver's speed."""
    rng = rng_for(seed, 4)
    n_depots = len(depots["depot_id"])
    n = scale.drivers
    city_weight = np.array([c[3] for c in CITIES])[zones["depot_city"]]
    depot = np.concatenate(
        [np.arange(n_depots), rng.choice(n_depots, n - n_depots, p=city_weight / city_weight.sum())]
    )[:n]
    depot = np.sort(depot)  # drivers numbered depot by depot
    has_vehicle = rng.random(n) < 0.9
    n_spare = max(1, n // 10)
    v_depot = np.concatenate([depot[has_vehicle], rng.integers(0, n_depots, n_spare)])
    n_vehicles = len(v_depot)
    v_type = rng.choice(len(VEHICLES), size=n_vehicles, p=VEHICLE_SHARE)
    letters = np.array(list("BDFGHJKLNPRSTVXZ"))
    plate = np.array(
        [
            None
            if t < 2
            else f"{letters[i % 16]}{letters[i // 16 % 16]}-{100 + i % 900}-"
            f"{letters[i // 256 % 16]}"  # unique for the first 4096 * 225 vehicles
            for i, t in enumerate(v_type)
        ],
        object,
    )
    vehicles: Table = {
        "vehicle_id": np.arange(1, n_vehicles + 1),
        "depot_id": depots["depot_id"][v_depot],
        "vehicle_type": np.array(VEHICLES, object)[v_type],
        "plate": plate,
        "capacity_kg": VEHICLE_CAPACITY[v_type],
        "created_at": epoch("2022-01-01") + rng.integers(0, 900 * 86_400, n_vehicles),
    }
    vehicle_id = np.full(n, NULL_INT)
    vehicle_id[has_vehicle] = np.arange(1, has_vehicle.sum() + 1)
    speed = np.full(n, WALK_SPEED_KMH)
    speed[has_vehicle] = VEHICLE_SPEED_KMH[v_type[: has_vehicle.sum()]]
    first, last = names(rng, seed + 7, n)
    ids = np.arange(1, n + 1)
    phone = np.array([f"+31 6 {x:08d}" for x in rng.integers(10_000_000, 99_999_999, n)], object)
    phone[rng.random(n) < 0.05] = None
    hired = epoch("2021-01-01") // 86_400 + rng.integers(0, 4 * 365, n)
    drivers: Table = {
        "driver_id": ids,
        "depot_id": depots["depot_id"][depot],
        "vehicle_id": vehicle_id,
        "first_name": first,
        "last_name": last,
        "email": np.array(
            [
                f"driver{i}.{ascii_fold(la).lower()}@dbdojo-delivery.nl"
                for i, la in zip(ids, last, strict=True)
            ],
            object,
        ),
        "phone": phone,
        "status": pick(rng, ["active", "on_leave", "inactive"], n, [0.85, 0.05, 0.10]),
        "hired_on": hired,
        "created_at": hired * 86_400 + rng.integers(0, 86_400, n),
    }
    return vehicles, drivers, {"depot_index": depot, "speed_kmh": speed}
