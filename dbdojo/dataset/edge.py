"""Edge-case variants of the dataset for the answer checker (workspaces ``edge_<variant>``).

Each variant is a small dataset with one kind of trouble added, still satisfying every
constraint of the schema: an answer that is right only by accident on the main data (a join
that drops NULLs, a RANK where DENSE_RANK was meant, a GROUP BY that forgets empty groups)
gives a different result on one of them.
"""

from __future__ import annotations

import json

import numpy as np

from dbdojo.dataset.edge_ids import CUSTOMER, PROTON, customer_named, jobs_across
from dbdojo.dataset.edge_labday import lab_day
from dbdojo.dataset.edge_names import VARIANTS
from dbdojo.dataset.generate import Dataset, generate
from dbdojo.dataset.pgbinary import NULL_INT
from dbdojo.dataset.sampling import rng_for
from dbdojo.dataset.scales import DEFAULT_SEED, EDGE_BASE, with_days

EDGE_VERSION = 20  # bump when a variant's mutation changes: it rebuilds the edge workspaces
DST_DAYS = ("2024-10-26", "2024-10-27", "2025-03-29", "2025-03-30")
UNICODE_FIRST = [
    "Zoë", "Łukasz", "François", "Şükrü", "Åsa", "José", "Ólafur", "Nguyễn", "Dmitrij", "Ольга",
    "山田", "محمد", "Renée", "Jürgen", "Zoë",
]  # fmt: skip
UNICODE_LAST = [
    "Ærøe", "Müller", "O'Brien", "de la Cruz", "Øster", "Straße", "Кузнецова", "太郎", "אברהם",
    "Nuñez", "Kowalczyk", "e\u0301cole", "Ünal",
]  # fmt: skip
UNICODE_PRODUCTS = [
    "Crème brûlée 🍮", "Ramen 拉麵", "Smørrebrød", "Pão de queijo", "Gâteau 🎂", "Bún chả",
    "Köttbullar", "Café au lait ☕", "Falafel فلافل", "Pierogi ruskie",
]  # fmt: skip
UNICODE_REVIEWS = [
    "Très bien 👍", "Sehr gut, schnell geliefert!", "很好吃 😋", "Ótimo serviço", "Çok lezzetli",
    "Geweldig! 🚲💨", "Ужасно, холодная еда", "No comment ¯\\_(ツ)_/¯",
]  # fmt: skip


def variant(name: str, seed: int = DEFAULT_SEED) -> Dataset:
    """Generate edge variant ``name``."""
    if name not in VARIANTS:
        raise ValueError(f"unknown edge variant {name!r}: choose one of {', '.join(VARIANTS)}")
    base = with_days(EDGE_BASE, DST_DAYS) if name == "dst" else EDGE_BASE
    data = generate(base, seed)
    rng = rng_for(seed, 100 + VARIANTS.index(name))
    MUTATIONS.get(name, lambda d, r: None)(data, rng)
    _recompute_money(data)
    if name in AFTER_MONEY:  # changes that read the totals, then the totals again
        AFTER_MONEY[name](data)
        _recompute_money(data)
    return data


def _recompute_money(data: Dataset) -> None:
    """Subtotals from the lines, totals from their parts, payments from the totals."""
    t = data.tables
    orders, lines, payments = t["orders"], t["order_lines"], t["payments"]
    index = np.searchsorted(orders["order_id"], lines["order_id"])
    orders["subtotal"] = (
        np.bincount(
            index,
            weights=lines["quantity"] * lines["unit_price"],
            minlength=len(orders["order_id"]),
        )
        .round()
        .astype(np.int64)
    )
    tip = np.where(orders["tip"] == NULL_INT, 0, orders["tip"])
    orders["total"] = orders["subtotal"] + orders["delivery_fee"] + tip
    pay_index = np.searchsorted(orders["order_id"], payments["order_id"])
    sign = np.where(payments["amount"] < 0, -1, 1)
    payments["amount"] = sign * orders["total"][pay_index]


def _set_null(rng, values: np.ndarray, share: float) -> None:
    mask = rng.random(len(values)) < share
    values[mask] = None if values.dtype == object else NULL_INT


def _nulls(data: Dataset, rng) -> None:
    t = data.tables
    _set_null(rng, t["customers"]["phone"], 0.5)
    _set_null(rng, t["drivers"]["phone"], 0.5)
    _set_null(rng, t["drivers"]["vehicle_id"], 0.4)
    _set_null(rng, t["orders"]["tip"], 0.5)
    _set_null(rng, t["orders"]["notes"], 0.3)
    _set_null(rng, t["products"]["description"], 0.3)
    _set_null(rng, t["ratings"]["comment"], 0.5)
    _set_null(rng, t["ratings"]["driver_id"], 0.3)
    _set_null(rng, t["gps_pings"]["delivery_job_id"], 0.2)
    _set_null(rng, t["employees"]["depot_id"], 0.2)
    orders = t["orders"]  # one merchant whose orders all lack a tip: a NULL-only group
    first_merchant = orders["merchant_id"][0]
    orders["tip"][orders["merchant_id"] == first_merchant] = NULL_INT
    customers = t["customers"]  # and one city where every customer has a phone: a count of
    city = customers["city"] == customers["city"][0]  # the missing ones lists it with 0
    customers["phone"][city] = [f"+31 6 {5000_0000 + i}" for i in np.flatnonzero(city)]
    _implied_conditions(data)
    lab_day(data)  # the M3 lab's day, with ties and orders on its boundaries


def _implied_conditions(data: Dataset) -> None:
    """Rows that break what the main data happens to imply, so that a condition the prompt
    states cannot be left out: a product outside electronics with an electronics brand, battery
    and warranty (P4 arrow operators); a bakery product stored chilled (only groceries have a
    storage on the main data: P4 path filter) and an organic frozen one (M1: organic frozen
    products are not all groceries); a vegetarian, spicy curry without a description (a text
    search over name || description without coalesce loses it: P4 menu search); an
    electronics product without a battery (an average that counts it as 0 is off: P4 JSON_TABLE);
    a wireless one without a warranty (`NOT warranty < 24` matches it: M1 nested attributes)."""
    t = data.tables
    products = t["products"]
    attributes, category = products["attributes"], products["category"]

    def first(kind: str, test=lambda a: True) -> int:
        return next(i for i in range(len(category))
                    if category[i] == kind and test(json.loads(attributes[i])))  # fmt: skip

    def update(i: int, **changes) -> None:
        attributes[i] = json.dumps({**json.loads(attributes[i]), **changes})

    amplifier = first("pharmacy")
    products["name"][amplifier] = "Rechargeable hearing amplifier"
    update(amplifier, brand="Sony", warranty_months=24, color="white",
           specs={"battery_mah": 6000, "weight_g": 40, "wireless": True})  # fmt: skip
    update(first("bakery", lambda a: "nuts" in a.get("allergens", [])), storage="chilled")
    update(first("bakery", lambda a: "nuts" not in a.get("allergens", [])),
           organic=True, storage="frozen", baked_today=False)  # fmt: skip
    cable = first("electronics", lambda a: "battery_mah" in a.get("specs", {}))
    specs = {k: v for k, v in json.loads(attributes[cable])["specs"].items() if k != "battery_mah"}
    update(cable, specs=specs)  # an electronics product without a battery: an average skips it
    speaker = first("electronics", lambda a: a.get("specs", {}).get("wireless") is True)
    attributes[speaker] = json.dumps(  # wireless, no warranty: `$not: {$lt: 24}` matches it
        {k: v for k, v in json.loads(attributes[speaker]).items() if k != "warranty_months"}
    )
    curry = first("restaurant")
    update(curry, vegetarian=True, spicy_level=3)
    products["name"][curry] = "Green vegetable curry"
    products["description"][curry] = None


def _ties(data: Dataset, rng) -> None:
    t = data.tables
    products, lines, orders = t["products"], t["order_lines"], t["orders"]
    products["price"] = rng.choice([500, 1000], len(products["price"]))
    lines["unit_price"] = products["price"][lines["product_id"] - 1]
    lines["quantity"] = np.ones_like(lines["quantity"])
    orders["delivery_fee"] = np.full_like(orders["delivery_fee"], 249)
    orders["tip"] = np.where(rng.random(len(orders["tip"])) < 0.5, NULL_INT, 100)
    orders["placed_at"] = orders["placed_at"] // 3600 * 3600  # same hour, same timestamp
    t["ratings"]["stars"] = rng.choice([4, 5], len(t["ratings"]["stars"]))
    t["employees"]["salary"] = t["employees"]["salary"] // 1_000_000 * 1_000_000
    pings = t["gps_pings"]
    pings["recorded_at"] = pings["recorded_at"] // 600 * 600
    events = t["delivery_status_events"]  # a job's steps minutes apart share a time: the event id
    events["occurred_at"] = events["occurred_at"] // 600 * 600  # alone orders them
    _same_moment_orders(orders)
    _earlier_id_placed_later(orders)
    _orders_at_midnight(orders)
    _order_at_week_start(orders, lines)
    _same_moment_latest_orders(orders)
    _tie_rare_statuses(orders, t["payments"])
    customer_named(data)  # the customer M1 and M2 name, two of their orders tied
    _orders_on_year_bounds(orders, lines, products)


# 2025-01-01 00:00 UTC (as MariaDB's copy stores it). Not earlier bounds: the data starts in
# September 2024, and P7's monthly partitions (from 2024-09) have no room for older orders.
YEAR_2025 = 1735689600
ORDERS_AT_YEAR_2025 = 2


def _orders_on_year_bounds(orders: dict, lines: dict, products: dict) -> None:
    """Two delivered orders with a "fresh" product moved to the first instant of 2025: a year
    2024 written with <= for < (or BETWEEN ... AND '2025-01-01') counts them (X3's yearly
    sums). None of them is among the latest orders or tied with another order of its
    customer, which the other ties arrange."""
    fresh = {
        int(pid)
        for pid, name, text in zip(
            products["product_id"], products["name"], products["description"], strict=True
        )
        if "fresh" in f"{name} {text or ''}".lower().split()
    }
    with_fresh = {int(o) for o, p in zip(lines["order_id"], lines["product_id"], strict=True)
                  if int(p) in fresh}  # fmt: skip
    recent = set(np.argsort(orders["placed_at"], kind="stable")[-30:].tolist())
    candidates = [
        i
        for i in np.argsort(-orders["customer_id"], kind="stable").tolist()
        if orders["status"][i] == "delivered"
        and int(orders["order_id"][i]) in with_fresh
        and i not in recent
        and int(orders["customer_id"][i]) not in (CUSTOMER, PROTON)  # M2's first orders
        and np.count_nonzero(
            (orders["customer_id"] == orders["customer_id"][i])
            & (orders["placed_at"] == orders["placed_at"][i])
        )
        == 1
    ]
    orders["placed_at"][candidates[:ORDERS_AT_YEAR_2025]] = YEAR_2025


def _tie_rare_statuses(orders: dict, payments: dict) -> None:
    """As many refunded orders as cancelled ones (delivered orders turned refunded, each with
    its refund): the planner's estimates for the two tie, so that an ORDER BY on the estimate
    alone leaves them in any order (P3's most-common-values estimates)."""
    status = orders["status"]
    gap = int((status == "cancelled").sum() - (status == "refunded").sum())
    fewer = "refunded" if gap > 0 else "cancelled"
    if fewer == "cancelled":  # cancelled ones are refunded too (or failed): both need a refund
        gap = -gap
    delivered = np.flatnonzero(status == "delivered")[:gap]
    status[delivered] = fewer
    first_payment = {int(o): i for i, o in reversed(list(enumerate(payments["order_id"])))}
    paid = np.array([first_payment[int(o)] for o in orders["order_id"][delivered]], np.int64)
    refunds = {c: payments[c][paid].copy() for c in payments}
    refunds["status"] = np.array(["refunded"] * len(paid), object)
    refunds["amount"] = -refunds["amount"]
    refunds["paid_at"] = refunds["paid_at"] + 3_600
    _append(payments, refunds)
    order = np.lexsort((payments["order_id"], payments["paid_at"]))
    for column in payments:
        payments[column] = payments[column][order]
    payments["payment_id"] = np.arange(1, len(order) + 1)


def _tie_city_revenue(data: Dataset) -> None:
    """The two cities whose delivered revenue is closest made equal (one delivered order's
    delivery fee raised by the difference): a ranking of cities by revenue needs its
    tiebreaker (P2 city revenue)."""
    t = data.tables
    orders, regions = t["orders"], t["regions"]
    delivered = np.flatnonzero(orders["status"] == "delivered")
    city = _city_of(orders["region_id"][delivered], regions)
    cities = np.unique(city)
    revenue = np.array([orders["total"][delivered[city == c]].sum() for c in cities])
    ranked = np.argsort(revenue)
    gaps = np.diff(revenue[ranked])
    low = ranked[int(np.argmin(gaps))]
    lucky = delivered[city == cities[low]][0]
    orders["delivery_fee"][lucky] += int(gaps.min())


def _city_of(zones: np.ndarray, regions: dict) -> np.ndarray:
    """The city (parent region) of each zone id in ``zones``."""
    parent = dict(zip(regions["region_id"].tolist(), regions["parent_region_id"].tolist(),
                      strict=True))  # fmt: skip
    return np.array([parent[int(z)] for z in zones])


def _orders_at_midnight(orders: dict) -> None:
    """The two latest orders placed exactly at the last two local midnights of the data (the
    course's local time), both delivered: a day's window written with > for >= (or <= for <)
    shows, in queries over delivered orders too."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    local = ZoneInfo("Europe/Amsterdam")
    latest = np.argsort(orders["placed_at"], kind="stable")[-2:]
    last_day = dt.datetime.fromtimestamp(int(orders["placed_at"][latest[-1]]), local).date()
    midnights = [
        int(dt.datetime.combine(day, dt.time(), local).timestamp())
        for day in (last_day, last_day + dt.timedelta(days=1))
    ]
    orders["placed_at"][latest] = midnights
    orders["status"][latest] = "delivered"


def _order_at_week_start(orders: dict, lines: dict) -> None:
    """The first order of the last 7 × 24 hours before the latest order moved back to that
    window's very start, with 5 of each of its lines: a "last 7 days" window written with >=
    for > counts them (the data's last week has no daylight-saving change, so 7 days are
    7 × 86,400 s in any time zone)."""
    start = orders["placed_at"].max() - 7 * 86_400
    inside = np.flatnonzero(orders["placed_at"] > start)
    first = inside[np.argmin(orders["placed_at"][inside])]
    orders["placed_at"][first] = start
    lines["quantity"][lines["order_id"] == orders["order_id"][first]] = 5


def _same_moment_latest_orders(orders: dict, merchants: int = 5) -> None:
    """For the lowest merchant ids with two orders or more, the latest order moved back to the
    moment of the one before it: which order is a merchant's latest is then decided by the
    tiebreaker alone (order_id descending). The orders placed at the data's last midnights and
    at its last week's start stay where they are."""
    placed = orders["placed_at"]
    latest = placed.max()
    kept = set(np.flatnonzero((placed >= latest - 86_400) | (placed == latest - 7 * 86_400)))
    owners = orders["merchant_id"]
    moved = 0
    for merchant in np.unique(owners):
        mine = np.flatnonzero(owners == merchant)
        mine = mine[np.argsort(placed[mine], kind="stable")]
        if len(mine) < 2 or kept & {int(mine[-1]), int(mine[-2])}:
            continue
        placed[mine[-1]] = placed[mine[-2]]
        moved += 1
        if moved == merchants:
            return


def _same_moment_orders(orders: dict, customers: int = 10) -> None:
    """For the lowest customer ids with two orders or more, the second order placed at the very
    moment of the first: a customer's own orders tie, so a missing tiebreaker (or one sorted the
    wrong way) shows in exercises that rank a customer's orders (customer ids are small there)."""
    owners = orders["customer_id"]
    tied = 0
    for customer in np.unique(owners):
        mine = np.flatnonzero(owners == customer)
        if len(mine) < 2:
            continue
        mine = mine[np.argsort(orders["placed_at"][mine], kind="stable")]
        orders["placed_at"][mine[1]] = orders["placed_at"][mine[0]]
        tied += 1
        if tied == customers:
            return


def _earlier_id_placed_later(orders: dict, customers: int = 3) -> None:
    """For the lowest customer ids with four orders or more, of their two latest order ids the
    smaller placed an hour after the larger (two orders :func:`_same_moment_orders` tied stay
    as they are): on that day time order and id order disagree, so ordering by one where the
    prompt names the other shows."""
    owners, placed = orders["customer_id"], orders["placed_at"]
    changed = 0
    for customer in np.unique(owners):
        mine = np.flatnonzero(owners == customer)
        if len(mine) < 4:
            continue
        smaller, larger = mine[np.argsort(orders["order_id"][mine], kind="stable")][-2:]
        if (
            np.count_nonzero(placed[mine] == placed[smaller]) > 1
            or np.count_nonzero(placed[mine] == placed[larger]) > 1
        ):
            continue  # a tie another case relies on
        placed[smaller] = placed[larger] + 3600
        changed += 1
        if changed == customers:
            return


def _append(table: dict, rows: dict) -> None:
    for column, values in rows.items():
        table[column] = np.concatenate(
            [table[column], np.asarray(values, dtype=table[column].dtype)]
        )


def _duplicates(data: Dataset, rng) -> None:
    t = data.tables
    customers, wallets = t["customers"], t["wallets"]
    pick = rng.choice(len(customers["customer_id"]), 5, replace=False)
    next_id = customers["customer_id"].max() + 1
    new_ids = np.arange(next_id, next_id + len(pick))
    _append(customers, {c: customers[c][pick] for c in customers})
    customers["customer_id"][-len(pick) :] = new_ids
    customers["email"][-len(pick) :] = [e.swapcase() for e in customers["email"][pick]]
    _append(wallets, {c: wallets[c][pick] for c in wallets})
    wallets["wallet_id"][-len(pick) :] = new_ids
    wallets["customer_id"][-len(pick) :] = new_ids
    _same_moment_newest_customers(customers)
    _same_moment_city_orders(t["orders"], t["regions"])
    products = t["products"]
    same = rng.choice(len(products["name"]), 10, replace=False)
    products["name"][same] = products["name"][same[0]]
    lines = t["order_lines"]  # the same product twice in one order, on separate lines
    repeat = rng.choice(len(lines["order_id"]), 10, replace=False)
    last_line = {int(o): int(n) for o, n in zip(lines["order_id"], lines["line_no"], strict=True)}
    extra = {c: lines[c][repeat].copy() for c in lines}
    extra["order_line_id"] = np.arange(len(lines["order_id"]) + 1, len(lines["order_id"]) + 11)
    for k, order_id in enumerate(extra["order_id"]):
        last_line[int(order_id)] += 1
        extra["line_no"][k] = last_line[int(order_id)]
    _append(lines, extra)
    order = np.lexsort((lines["line_no"], lines["order_id"]))
    for column in lines:
        lines[column] = lines[column][order]


def _same_moment_newest_customers(customers: dict) -> None:
    """The fifth to seventh newest customers signed up at one moment: "the five newest"
    is then decided by the tiebreaker (X3's LIMIT in a subquery)."""
    newest = np.argsort(-customers["created_at"], kind="stable")[4:7]
    customers["created_at"][newest] = customers["created_at"][newest[0]]


def _same_moment_city_orders(orders: dict, regions: dict, cities: int = 2) -> None:
    """In the cities with the fewest orders, the third latest order placed at the moment of
    the second: which two are a city's latest is then decided by the tiebreaker (X3's latest
    orders per city)."""
    city = _city_of(orders["region_id"], regions)
    found, counts = np.unique(city, return_counts=True)
    for c in found[np.argsort(counts, kind="stable")][:cities]:
        mine = np.flatnonzero(city == c)
        if len(mine) < 3:
            continue
        mine = mine[np.argsort(orders["placed_at"][mine], kind="stable")]
        orders["placed_at"][mine[-3]] = orders["placed_at"][mine[-2]]


def _empty(data: Dataset, rng) -> None:
    t = data.tables
    customers, wallets = t["customers"], t["wallets"]
    start = customers["customer_id"].max() + 1
    ids = np.arange(start, start + 5)
    template = {c: np.repeat(customers[c][:1], 5) for c in customers}
    template["customer_id"] = ids
    template["email"] = np.array([f"nobody{i}@example.org" for i in ids], object)
    _append(customers, template)
    _append(wallets, {"wallet_id": ids, "customer_id": ids, "balance": np.zeros(5, np.int64),
                      "currency": np.array(["EUR"] * 5, object),
                      "updated_at": np.repeat(wallets["updated_at"][:1], 5)})  # fmt: skip
    merchants = t["merchants"]
    start = merchants["merchant_id"].max() + 1
    rows = {c: np.repeat(merchants[c][:1], 2) for c in merchants}
    rows["merchant_id"] = np.arange(start, start + 2)
    rows["name"] = np.array(["Closed Shop A", "Closed Shop B"], object)
    _append(merchants, rows)
    drivers = t["drivers"]
    start = drivers["driver_id"].max() + 1
    rows = {c: np.repeat(drivers[c][:1], 3) for c in drivers}
    rows["driver_id"] = np.arange(start, start + 3)
    rows["vehicle_id"] = np.full(3, NULL_INT)
    rows["email"] = np.array([f"idle{i}@dbdojo-delivery.nl" for i in rows["driver_id"]], object)
    _append(drivers, rows)
    regions = t["regions"]
    new_id = regions["region_id"].max() + 1
    _append(regions, {"region_id": [new_id], "parent_region_id": [2], "name": ["Amsterdam Empty"],
                      "level": ["zone"], "code": ["NL-AMS-EMPTY"], "timezone": ["Europe/Amsterdam"],
                      "created_at": regions["created_at"][:1]})  # fmt: skip
    # a city (with one zone) that has no orders at all: a LEFT JOIN to orders keeps it
    city, zone = new_id + 1, new_id + 2
    _append(regions, {"region_id": [city, zone], "parent_region_id": [1, city],
                      "name": ["Zwolle", "Zwolle Centrum"], "level": ["city", "zone"],
                      "code": ["NL-ZWO", "NL-ZWO-CENTRUM"],
                      "timezone": ["Europe/Amsterdam"] * 2,
                      "created_at": np.repeat(regions["created_at"][:1], 2)})  # fmt: skip


def _unicode(data: Dataset, rng) -> None:
    t = data.tables
    for table in ("customers", "drivers", "employees"):
        rows = t[table]
        rows["first_name"] = rng.choice(np.array(UNICODE_FIRST, object), len(rows["first_name"]))
        rows["last_name"] = rng.choice(np.array(UNICODE_LAST, object), len(rows["last_name"]))
    products = t["products"]
    products["name"] = rng.choice(np.array(UNICODE_PRODUCTS, object), len(products["name"]))
    products["description"] = np.array(
        [
            None if d is None else f"{n} — {d} ✓"
            for n, d in zip(products["name"], products["description"], strict=True)
        ],
        object,
    )
    t["merchants"]["name"] = np.array(
        [f"Café Ñandú {i} 🍜" for i in t["merchants"]["merchant_id"]], object
    )
    comments = t["ratings"]["comment"]
    has = np.array([c is not None for c in comments], bool)
    comments[has] = rng.choice(np.array(UNICODE_REVIEWS, object), has.sum())


def _cycles(data: Dataset, rng) -> None:
    """Two zones that name each other as parent: a recursive walk up never reaches the root.
    Also the delivery jobs renumbered across the id windows M1 and M2 name (edge_ids)."""
    regions = data.tables["regions"]
    zones = np.flatnonzero(regions["level"] == "zone")[:2]
    a, b = regions["region_id"][zones]
    regions["parent_region_id"][zones[0]] = b
    regions["parent_region_id"][zones[1]] = a
    jobs_across(data)


# Physical row order: the later of two same-moment orders of a customer first in the table (an
# UPDATE writes a row's new version at the end), so that a query without a tiebreaker gets
# them in another order than one with it, instead of agreeing by the table's natural order.
LAYOUT = {
    "ties": "UPDATE orders SET placed_at = placed_at WHERE order_id IN "
    "(SELECT min(order_id) FROM orders GROUP BY customer_id, placed_at HAVING count(*) > 1); "
    # and each order's first line last, so that lines aggregated without their ORDER BY
    # (jsonb_agg, string_agg) come out of line_no order
    "UPDATE order_lines SET line_no = line_no WHERE line_no = 1",
}

AFTER_MONEY = {"ties": _tie_city_revenue}

MUTATIONS = {
    "nulls": _nulls,
    "ties": _ties,
    "duplicates": _duplicates,
    "empty": _empty,
    "unicode": _unicode,
    "cycles": _cycles,
}


def inputs_of(name: str, seed: int = DEFAULT_SEED) -> str:
    """A fingerprint of everything variant ``name`` is generated from: equal fingerprints,
    equal data, so a variant is rebuilt only when this changes."""
    import hashlib

    from dbdojo.dataset.generate import GENERATOR_VERSION

    base = with_days(EDGE_BASE, DST_DAYS) if name == "dst" else EDGE_BASE
    text = repr((name, seed, GENERATOR_VERSION, EDGE_VERSION, base))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
