"""Merchants and their products (category-specific attributes, tags, descriptions, embeddings)."""

from __future__ import annotations

import json

import numpy as np

from dbdojo.dataset.people import zone_choice
from dbdojo.dataset.sampling import ascii_fold, epoch, names, pick, rng_for, round_price
from dbdojo.dataset.scales import Scale
from dbdojo.dataset.vocab import (
    CATEGORIES,
    CITIES,
    DESCRIPTION_DETAILS,
    DESCRIPTION_OPENERS,
    MERCHANT_PATTERNS,
)

Table = dict[str, np.ndarray]
CATEGORY_NAMES = list(CATEGORIES)
EMBEDDING_DIM = 16


def merchants(seed: int, scale: Scale, zones: dict) -> tuple[Table, dict]:
    """Merchants; also each one's popularity (a few are never ordered from) and city."""
    rng = rng_for(seed, 5)
    n = scale.merchants
    weights = [c[0] for c in CATEGORIES.values()]
    category = np.concatenate(  # every category at least once
        [np.arange(len(CATEGORY_NAMES)), rng.choice(len(weights), n, p=weights)]
    )[:n]
    zone = zone_choice(rng, zones, n)
    _, last = names(rng, seed + 11, n)
    pattern = rng.integers(0, 4, n)
    name = np.array(
        [
            MERCHANT_PATTERNS[CATEGORY_NAMES[c]][
                p % len(MERCHANT_PATTERNS[CATEGORY_NAMES[c]])
            ].format(name=la)
            for c, p, la in zip(category, pattern, last, strict=True)
        ],
        object,
    )
    popularity = rng.pareto(1.5, n) + 0.05
    popularity[rng.random(n) < 0.03] = 0  # new merchants nobody has ordered from yet
    table: Table = {
        "merchant_id": np.arange(1, n + 1),
        "name": name,
        "category": np.array(CATEGORY_NAMES, object)[category],
        "region_id": zones["region_id"][zone],
        "email": np.array(
            [f"shop{i}@{ascii_fold(la).lower()}-shop.nl" for i, la in enumerate(last, 1)], object
        ),
        "lat": np.round(zones["lat"][zone] + rng.normal(0, 0.01, n), 6),
        "lon": np.round(zones["lon"][zone] + rng.normal(0, 0.015, n), 6),
        "is_active": popularity > 0,
        "created_at": epoch("2022-01-01") + rng.integers(0, 600 * 86_400, n),
    }
    aux = {"category": category, "popularity": popularity, "city": zones["city"][zone]}
    return table, aux


def _attributes(category: str, r: np.random.Generator) -> dict:
    if category == "grocery":
        return {
            "organic": bool(r.random() < 0.3),
            "weight_g": int(r.choice([250, 500, 750, 1000])),
            "brand": str(r.choice(["Albert", "Jumbo", "Ekoplaza", "Boer Jan"])),
            "allergens": sorted(set(r.choice(["milk", "nuts", "soy", "gluten"], r.integers(0, 3)))),
            "storage": str(r.choice(["ambient", "chilled", "frozen"], p=[0.6, 0.3, 0.1])),
        }
    if category == "restaurant":
        return {
            "cuisine": str(r.choice(["dutch", "italian", "japanese", "indian", "turkish", "thai"])),
            "spicy_level": int(r.choice(4, p=[0.5, 0.25, 0.15, 0.1])),
            "vegetarian": bool(r.random() < 0.35),
            "calories": int(r.integers(25, 120) * 10),
            "prep_minutes": int(r.integers(5, 30)),
        }
    if category == "pharmacy":
        return {
            "prescription": bool(r.random() < 0.2),
            "active_ingredient": str(r.choice(["paracetamol", "ibuprofen", "cetirizine", "zinc"])),
            "dosage_mg": int(r.choice([200, 400, 500, 1000])),
            "pack_size": int(r.choice([10, 20, 30, 60])),
        }
    if category == "electronics":
        return {
            "brand": str(r.choice(["Philips", "Sony", "Anker", "Logitech", "JBL"])),
            "warranty_months": int(r.choice([12, 24, 36])),
            "color": str(r.choice(["black", "white", "silver", "blue"])),
            "specs": {
                "battery_mah": int(r.choice([0, 1000, 5000, 10000])),
                "weight_g": int(r.integers(20, 900)),
                "wireless": bool(r.random() < 0.6),
            },
        }
    if category == "florist":
        return {
            "color": str(r.choice(["red", "yellow", "pink", "white", "mixed"])),
            "stems": int(r.choice([5, 10, 15, 20, 25])),
            "vase_included": bool(r.random() < 0.2),
            "season": str(r.choice(["spring", "summer", "autumn", "winter", "all"])),
        }
    return {  # bakery
        "gluten_free": bool(r.random() < 0.1),
        "weight_g": int(r.choice([80, 400, 800, 1200])),
        "baked_today": bool(r.random() < 0.8),
        "allergens": sorted(set(r.choice(["wheat", "milk", "eggs", "nuts"], r.integers(1, 3)))),
    }


def products(
    seed: int, scale: Scale, merchant_table: Table, merchant_aux: dict
) -> tuple[Table, dict]:
    """Products of merchants in merchant order; also each one's popularity and embedding."""
    rng = rng_for(seed, 6)
    n_merchants = len(merchant_table["merchant_id"])
    # Merchants nobody orders from may have no products at all (an empty group).
    share = np.where(merchant_aux["popularity"] > 0, rng.pareto(2.0, n_merchants) + 1, 0.3)
    count = np.maximum(np.round(share / share.sum() * scale.products).astype(np.int64), 0)
    count[merchant_aux["popularity"] > 0] = np.maximum(count[merchant_aux["popularity"] > 0], 1)
    merchant = np.repeat(np.arange(n_merchants), count)
    n = len(merchant)
    category = merchant_aux["category"][merchant]
    cat_name = np.array(CATEGORY_NAMES, object)[category]
    adjective = np.empty(n, object)
    noun = np.empty(n, object)
    price = np.empty(n, np.int64)
    tags = np.empty(n, object)
    attributes = np.empty(n, object)
    description = np.empty(n, object)
    cities = [c[0] for c in CITIES]
    detail_pick = rng.integers(0, 100, (n, 2))
    opener_pick = rng.integers(0, len(DESCRIPTION_OPENERS), n)
    for c, name in enumerate(CATEGORY_NAMES):
        _, _, (low, high), tag_words, adjectives, nouns = CATEGORIES[name]
        idx = np.flatnonzero(category == c)
        adjective[idx] = pick(rng, adjectives, len(idx))
        noun[idx] = pick(rng, nouns, len(idx))
        price[idx] = round_price(np.exp(rng.uniform(np.log(low), np.log(high), len(idx))))
        tag_count = rng.choice(4, len(idx), p=[0.3, 0.4, 0.2, 0.1])
        tag_pick = rng.integers(0, len(tag_words), (len(idx), 3))
        for k, i in enumerate(idx):
            tags[i] = sorted({tag_words[t] for t in tag_pick[k, : tag_count[k]]})
            attributes[i] = json.dumps(_attributes(name, rng))
            details = DESCRIPTION_DETAILS[name]
            opener = DESCRIPTION_OPENERS[opener_pick[i]].format(
                adj=adjective[i],
                adj_l=adjective[i].lower(),
                noun=noun[i],
                merchant=merchant_table["name"][merchant[i]],
                city=cities[merchant_aux["city"][merchant[i]]],
            )
            first, second = (details[d % len(details)] for d in detail_pick[i])
            description[i] = f"{opener} {first}" + ("" if first == second else f" {second}")
    description[rng.random(n) < 0.02] = None
    ids = np.arange(1, n + 1)
    prefix = np.array([CATEGORIES[c][1] for c in CATEGORY_NAMES], object)[category]
    centroids = rng_for(seed, 60).normal(0, 1, (len(CATEGORY_NAMES) * 8, EMBEDDING_DIM))
    noun_index = np.array([hash_word(w) % 8 for w in noun])
    embedding = centroids[category * 8 + noun_index] + rng.normal(0, 0.35, (n, EMBEDDING_DIM))
    embedding /= np.linalg.norm(embedding, axis=1, keepdims=True)
    table: Table = {
        "product_id": ids,
        "merchant_id": merchant_table["merchant_id"][merchant],
        "sku": np.array([f"{p}-{i:06d}" for p, i in zip(prefix, ids, strict=True)], object),
        "name": np.array([f"{a} {w}" for a, w in zip(adjective, noun, strict=True)], object),
        "category": cat_name,
        "price": price,
        "attributes": attributes,
        "tags": tags,
        "description": description,
        "is_active": rng.random(n) < 0.97,
        "created_at": merchant_table["created_at"][merchant] + rng.integers(0, 200 * 86_400, n),
    }
    popularity = rng.pareto(1.2, n) + 0.1
    popularity[rng.random(n) < 0.05] = 0  # never ordered
    # Each ordering merchant needs one product that can be ordered.
    first_of_merchant = np.concatenate([[0], np.cumsum(count)[:-1]])[count > 0]
    popularity[first_of_merchant] = np.maximum(popularity[first_of_merchant], 0.1)
    aux = {
        "merchant": merchant,
        "popularity": popularity,
        "embedding": embedding.astype(np.float32),
    }
    return table, aux


def hash_word(word: str) -> int:
    """A stable small hash (Python's hash() changes between runs)."""
    return sum(word.encode()) * 31 % 1_000_003
