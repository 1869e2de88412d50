"""Regions (country > city > zone > depot), depots and the employee org tree."""

from __future__ import annotations

import numpy as np

from dbdojo.dataset.pgbinary import NULL_INT
from dbdojo.dataset.sampling import ascii_fold, epoch, names, rng_for
from dbdojo.dataset.scales import Scale
from dbdojo.dataset.vocab import (
    CITIES,
    COUNTRY,
    DIRECTORS,
    HQ_TITLES,
    JOB_TITLES,
    STREETS,
    TIMEZONE,
)

Table = dict[str, np.ndarray]
CREATED = epoch("2022-01-01")


def regions_and_depots(seed: int) -> tuple[Table, Table, dict[str, np.ndarray]]:
    """The region tree, the depots, and per-zone facts the other generators need."""
    rng = rng_for(seed, 1)
    rows: list[tuple[int, int, str, str, str]] = [(1, NULL_INT, COUNTRY[0], "country", "NL")]
    zone_ids, zone_city, zone_lat, zone_lon = [], [], [], []
    depot_rows = []
    next_id = 2 + len(CITIES)
    for c, (city, code, (lat, lon), _, zones, n_depots) in enumerate(CITIES):
        city_id = 2 + c
        rows.append((city_id, 1, city, "city", f"NL-{code}"))
        with_depot = set(rng.choice(len(zones), size=n_depots, replace=False).tolist())
        for z, zone in enumerate(zones):
            zone_code = f"NL-{code}-{ascii_fold(zone).upper()}"
            rows.append((next_id, city_id, f"{city} {zone}", "zone", zone_code))
            zone_ids.append(next_id)
            zone_city.append(c)
            zone_lat.append(lat + rng.normal(0, 0.02))
            zone_lon.append(lon + rng.normal(0, 0.03))
            if z in with_depot:
                depot_rows.append((len(zone_ids) - 1, f"Depot {city} {zone}", f"{zone_code}-D1"))
            next_id += 1
    depot_region = []
    for zone_index, name, depot_code in depot_rows:
        rows.append((next_id, zone_ids[zone_index], name, "depot", depot_code))
        depot_region.append(next_id)
        next_id += 1
    regions: Table = {
        "region_id": np.array([r[0] for r in rows]),
        "parent_region_id": np.array([r[1] for r in rows]),
        "name": np.array([r[2] for r in rows], object),
        "level": np.array([r[3] for r in rows], object),
        "code": np.array([r[4] for r in rows], object),
        "timezone": np.array([TIMEZONE] * len(rows), object),
        "created_at": np.full(len(rows), CREATED),
    }
    n = len(depot_rows)
    zone_of_depot = np.array([d[0] for d in depot_rows])
    zone_lat, zone_lon = np.array(zone_lat), np.array(zone_lon)
    streets = rng.choice(STREETS, size=n)
    depots: Table = {
        "depot_id": np.arange(1, n + 1),
        "region_id": np.array(depot_region),
        "name": np.array([d[1] for d in depot_rows], object),
        "address": np.array(
            [
                f"{s} {rng.integers(1, 200)}, {CITIES[zone_city[z]][0]}"
                for s, z in zip(streets, zone_of_depot, strict=True)
            ],
            object,
        ),
        "lat": np.round(zone_lat[zone_of_depot] + rng.normal(0, 0.004, n), 6),
        "lon": np.round(zone_lon[zone_of_depot] + rng.normal(0, 0.006, n), 6),
        "capacity": rng.integers(4, 30, n) * 50,
        "opened_on": (epoch("2019-01-01") // 86_400) + rng.integers(0, 4 * 365, n),
        "created_at": np.full(n, CREATED),
    }
    depot_of_zone = np.zeros(len(zone_ids), dtype=np.int64)  # 0: the zone has no depot
    depot_of_zone[zone_of_depot] = np.arange(1, n + 1)
    zones = {
        "region_id": np.array(zone_ids),
        "city": np.array(zone_city),
        "lat": zone_lat,
        "lon": zone_lon,
        "depot": depot_of_zone,
        "depot_city": np.array([zone_city[d[0]] for d in depot_rows]),
    }
    return regions, depots, zones


def employees(seed: int, scale: Scale, depots: Table, zones: dict[str, np.ndarray]) -> Table:
    """CEO > directors > city managers > depot managers > shift leads > dispatchers."""
    rng = rng_for(seed, 2)
    rows: list[tuple[int, int, int, str, str, int]] = []  # id, manager, depot, title, dept, level

    def add(manager: int, depot: int, title: str, dept: str, level: int) -> int:
        rows.append((len(rows) + 1, manager, depot, title, dept, level))
        return len(rows)

    ceo = add(NULL_INT, NULL_INT, *JOB_TITLES[1], 1)
    directors = {dept: add(ceo, NULL_INT, title, dept, 2) for title, dept in DIRECTORS}
    for dept, title in HQ_TITLES.items():
        for _ in range(scale.hq_staff_per_director):
            add(directors[dept], NULL_INT, title, dept, 3)
    city_managers = [
        add(directors["Operations"], NULL_INT, *JOB_TITLES[3], 3) for _ in range(len(CITIES))
    ]
    for depot_index, depot_id in enumerate(depots["depot_id"]):
        city = zones["depot_city"][depot_index]
        manager = add(city_managers[city], int(depot_id), *JOB_TITLES[4], 4)
        for _ in range(scale.leads_per_depot):
            lead = add(manager, int(depot_id), *JOB_TITLES[5], 5)
            for _ in range(scale.staff_per_lead):
                add(lead, int(depot_id), *JOB_TITLES[6], 6)
    n = len(rows)
    first, last = names(rng, seed, n)
    level = np.array([r[5] for r in rows])
    base = np.array([0, 240_000, 150_000, 85_000, 62_000, 48_000, 36_000])[level]
    salary = (np.round(base * rng.uniform(0.9, 1.15, n) / 500) * 50_000).astype(np.int64)
    return {
        "employee_id": np.arange(1, n + 1),
        "manager_id": np.array([r[1] for r in rows]),
        "depot_id": np.array([r[2] for r in rows]),
        "first_name": first,
        "last_name": last,
        "email": np.array(
            [
                f"{ascii_fold(f).lower()}.{ascii_fold(la).lower()}.{i}@dbdojo-delivery.nl"
                for i, (f, la) in enumerate(zip(first, last, strict=True), 1)
            ],
            object,
        ),
        "job_title": np.array([r[3] for r in rows], object),
        "department": np.array([r[4] for r in rows], object),
        "salary": salary,
        "hired_on": (epoch("2018-01-01") // 86_400) + np.sort(rng.integers(0, 7 * 365, n)),
        "created_at": np.full(n, CREATED),
    }
