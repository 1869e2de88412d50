"""Dataset sizes: ``tiny`` for tests, ``default`` for learning, ``large`` for performance."""

from __future__ import annotations

from dataclasses import dataclass, replace

from dbdojo.errors import Invalid

DEFAULT_SEED = 20240901


@dataclass(frozen=True)
class Scale:
    name: str
    customers: int
    merchants: int
    products: int
    drivers: int
    orders: int
    leads_per_depot: int  # shift leads per depot (employee tree width)
    staff_per_lead: int
    hq_staff_per_director: int
    mongo_orders: int  # the most recent orders MongoDB holds (the emulator's memory and load)
    mongo_products: int
    sessions: int  # Redis session hashes
    stream_orders: int  # orders whose status events go into the Redis stream
    days: tuple[str, ...] = ()  # restrict order days (local dates), e.g. around DST changes
    flat_hours: bool = False  # orders spread evenly over the 24 hours


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 500, 24, 300, 25, 2_000, 2, 3, 3, 2_000, 300, 100, 300),
    "default": Scale(
        "default", 60_000, 1_200, 24_000, 1_500, 330_000, 4, 5, 8, 50_000, 6_000, 2_000, 3_000
    ),
    "large": Scale(
        "large", 300_000, 3_000, 60_000, 5_000, 1_650_000, 6, 8, 20, 100_000, 10_000, 5_000, 5_000
    ),
}

# The base of every edge-case variant: small enough to load everywhere in a second.
EDGE_BASE = Scale("edge", 60, 8, 40, 16, 200, 1, 2, 1, 200, 40, 10, 50)


def get_scale(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise Invalid(f"unknown scale {name!r}: choose one of {', '.join(SCALES)}") from None


def with_days(scale: Scale, days: tuple[str, ...]) -> Scale:
    return replace(scale, days=days, flat_hours=True)
