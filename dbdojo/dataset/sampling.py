"""Random helpers shared by the table generators (vectorized, deterministic)."""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np
import pandas as pd

from dbdojo.dataset.vocab import NAME_LOCALES, TIMEZONE

DAY = 86_400
START_LOCAL = "2024-09-01"  # orders are placed from here ...
END_LOCAL = "2025-09-01"  # ... up to (not including) here, local time
# Local order volume by hour of day: quiet nights, lunch and dinner peaks.
HOUR_WEIGHTS = np.array(
    [2, 1, 0.6, 0.4, 0.4, 0.6, 1.5, 3, 4, 4, 5, 7, 11, 10, 6, 5, 6, 9, 13, 14, 11, 7, 5, 3.5]
)
WEEKDAY_WEIGHTS = np.array([0.85, 0.85, 0.9, 0.95, 1.15, 1.25, 1.2])  # Monday first


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent generator per table, so one table's changes do not shift the others."""
    return np.random.default_rng([seed, *stream])


def epoch(local_day: str) -> int:
    """Unix seconds of local midnight of ``local_day`` in the dataset's time zone."""
    return int(pd.Timestamp(local_day, tz=TIMEZONE).timestamp())


def local_to_utc(naive_seconds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Local wall-clock seconds (as if UTC) to real Unix seconds in the dataset's time zone.

    Times in the hour that repeats when DST ends are given either offset at random; times in
    the hour skipped when DST starts move forward, like a clock app would.
    """
    index = pd.DatetimeIndex(naive_seconds.astype("datetime64[s]"))
    ambiguous = rng.random(len(index)) < 0.5
    aware = index.tz_localize(TIMEZONE, ambiguous=ambiguous, nonexistent="shift_forward")
    return (
        aware.tz_convert("UTC")
        .tz_localize(None)
        .to_numpy()
        .astype("datetime64[s]")
        .astype(np.int64)
    )


def choose_in_groups(
    rng: np.random.Generator,
    item_group: np.ndarray,
    item_weight: np.ndarray,
    draw_group: np.ndarray,
) -> np.ndarray:
    """For each draw, the index of an item of the draw's group, chosen by weight.

    ``item_group`` must be sorted (non-decreasing, small non-negative integers); every drawn
    group must hold some positive weight.
    """
    weight = item_weight.astype(np.float64)
    totals = np.bincount(item_group, weights=weight)
    cumulative = np.cumsum(weight)
    group_start = np.concatenate([[0.0], np.cumsum(totals)])[item_group]
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(
            totals[item_group] > 0, (cumulative - group_start) / totals[item_group], 0
        )
    key = item_group + np.minimum(within, 1.0)
    target = draw_group + rng.random(len(draw_group)) * (1 - 1e-12)
    return np.minimum(np.searchsorted(key, target, side="right"), len(key) - 1)


def pick(rng: np.random.Generator, options: list, n: int, p: list[float] | None = None):
    """``n`` choices from ``options`` as an object array (weights ``p`` normalized)."""
    probs = None if p is None else np.asarray(p, float) / np.sum(p)
    index = rng.choice(len(options), size=n, p=probs)
    return np.array(options, dtype=object)[index]


def ascii_fold(text: str) -> str:
    """``Şükrü Öztürk`` -> ``SukruOzturk``: what people type into an email address."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum())


@cache
def name_pool(seed: int, size: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First names, last names and each one's locale index, from Faker with a fixed seed."""
    from faker import Faker

    firsts, lasts, locales = [], [], []
    for i, locale in enumerate(dict.fromkeys(NAME_LOCALES)):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        firsts += [fake.first_name() for _ in range(size)]
        lasts += [fake.last_name() for _ in range(size)]
        locales += [i] * size
    return np.array(firsts, object), np.array(lasts, object), np.array(locales)


def names(rng: np.random.Generator, seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (first, last) names with the locale mix of the dataset."""
    firsts, lasts, locales = name_pool(seed)
    unique_locales = list(dict.fromkeys(NAME_LOCALES))
    weights = np.array([NAME_LOCALES.count(loc) for loc in unique_locales], float)
    locale = rng.choice(len(unique_locales), size=n, p=weights / weights.sum())
    per_locale = np.bincount(locales)
    offset = np.concatenate([[0], np.cumsum(per_locale)[:-1]])
    first = offset[locale] + rng.integers(0, per_locale[locale])
    last = offset[locale] + rng.integers(0, per_locale[locale])
    return firsts[first], lasts[last]


def round_price(euros: np.ndarray) -> np.ndarray:
    """Prices as shops write them (x.49, x.95, x.99, x.00): integer cents, with many ties."""
    whole = np.floor(euros).astype(np.int64)
    endings = np.array([0, 49, 50, 95, 99])
    ending = endings[np.minimum((euros * 7).astype(np.int64) % 5, 4)]
    return np.maximum(whole * 100 + ending, 49)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))
