"""The M3 lab's day (Saturday 30 August 2025, Amsterdam time) and the M2 lab's last evening
(from 31 August 2025, 21:00 UTC) in an edge-case variant.

The M3 pipelines filter on that local day; without orders in it an edge workspace cannot tell
``$gt`` from ``$gte``, ``$rank`` from ``$denseRank`` or ``$documentNumber``, or a missing
tiebreaker. :func:`lab_day` moves a few delivered orders (the latest of each merchant, with
their payments, delivery job, events, pings and rating) into that day and gives them
subtotals that tie: restaurants 1 and 7 earn the same and restaurant 8 less (ranks 1, 1, 3);
grocery and bakery earn the same and pharmacy and electronics less; two cities get two orders
each and three cities one. One order sits exactly at the day's first instant (inside) and one
exactly at the next midnight (outside), both by customers from Eindhoven. A cancelled and a
refunded order (one each) join the day, and the day's payment methods are set so that counts
tie below the most common one (card 4, wallet 2, paypal 2, cash 1; delivered 7, cancelled 1,
refunded 1): a count per status or method sorted without its tiebreaker shows.

:func:`evening` fills the M2 lab's window (orders from :data:`EVENING` on) with orders whose
lines sit on its filters' bounds: one exactly at its start, a line at exactly 10 and one at
exactly 5 euros, a cancelled order, two equal totals and six matches for a top five.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from dbdojo.dataset.generate import Dataset
from dbdojo.dataset.pgbinary import NULL_INT

DAY_START = int(dt.datetime(2025, 8, 30, tzinfo=ZoneInfo("Europe/Amsterdam")).timestamp())
DAY_END = DAY_START + 86_400  # no daylight-saving change that day
FEE = 249
# role: (merchant, city the order is delivered in, subtotal in cents, seconds after DAY_START)
ROLES = {
    "restaurant 1": (1, "Amsterdam", 6_000, 9 * 3_600),
    "restaurant 7": (7, "Amsterdam", 6_000, 12 * 3_600),
    "restaurant 8": (8, "Rotterdam", 3_000, 13 * 3_600),  # an order of merchant 6, moved to 8
    "grocery": (2, "Rotterdam", 4_000, 15 * 3_600),
    "bakery": (3, "Den Haag", 4_000, 18 * 3_600),
    "pharmacy": (4, "Utrecht", 2_000, 20 * 3_600),
    "first instant": (5, "Eindhoven", 2_500, 0),  # exactly at the day's start: inside
    "next midnight": (5, "Eindhoven", 2_500, 86_400),  # exactly at its end: outside
    "cancelled": (4, "Den Haag", 2_000, 16 * 3_600),  # not delivered: counted by status only
    "refunded": (5, "Utrecht", 2_000, 17 * 3_600),
}
STATUS = {"cancelled": "cancelled", "refunded": "refunded"}  # the other roles: delivered
# the tied methods met in _id order as wallet before paypal (refunded is the day's lowest id):
# $group hands them on in that order, so a sort without the _id tiebreaker keeps it
PAYMENT = {"restaurant 1": "card", "restaurant 7": "card", "bakery": "card",
           "first instant": "card", "next midnight": "card", "grocery": "wallet",
           "cancelled": "paypal", "pharmacy": "paypal", "refunded": "wallet",
           "restaurant 8": "cash"}  # fmt: skip
EINDHOVEN_ROLES = ("first instant", "next midnight")
EVENING = int(dt.datetime(2025, 8, 31, 21, tzinfo=dt.UTC).timestamp())
# the evening's orders: (minutes after EVENING, status, lines as (quantity, unit price in cents)),
# all before 22:00 UTC, midnight in Amsterdam: the data ends with August, local time (P7 lays
# its partitions out month by month up to there)
EVENING_ORDERS = (
    (0, "delivered", ((3, 400), (2, 1_200), (1, 2_000))),  # at the start: >= vs >
    (5, "delivered", ((2, 1_000),)),  # a unit price of exactly 10 (m2.elemmatch: >= 10)
    (10, "delivered", ((2, 500), (1, 5_000))),  # exactly 5 (m2.bulk-cheap-lines: < 5), dear
    (15, "cancelled", ((2, 300), (1, 6_000))),  # cheap lines, dear, but cancelled
    (20, "delivered", ((2, 450), (1, 3_000))),  # two equal totals: the _id tiebreaker
    (25, "delivered", ((2, 450), (1, 3_000))),
    (30, "delivered", ((2, 200),)),  # six matches for a top five
    (35, "delivered", ((2, 300),)),
    (40, "delivered", ((2, 350),)),
)
# tables whose ids follow their times (the Redis stream's ids come from the events' times)
TIMED = (
    ("payments", "paid_at", "payment_id"),
    ("delivery_status_events", "occurred_at", "delivery_status_event_id"),
    ("gps_pings", "recorded_at", "gps_ping_id"),
)


def lab_day(data: Dataset) -> None:
    """Move one order per role into the lab's day (see the module's docstring); the orders
    already in that day leave it (an hour before its start). Money is recomputed afterwards
    by the caller (subtotals from the lines)."""
    t = data.tables
    orders = t["orders"]
    placed = orders["placed_at"]
    inside = np.flatnonzero((placed >= DAY_START) & (placed <= DAY_END))
    _shift(t, inside, DAY_START - 3_600 - placed[inside])
    taken: set[int] = set()
    for role, (merchant, city, subtotal, offset) in ROLES.items():
        i = _pick(t, role, merchant, city, taken)
        taken.add(i)
        if merchant == 8:
            _reassign(t, i, merchant)
        _place(t, i, city, subtotal)
        _pay_with(t, i, PAYMENT[role])
        _shift(t, np.array([i]), np.array([DAY_START + offset - placed[i]]))
    evening(t, taken)
    for table, time, key in TIMED:
        _in_time_order(t[table], time, key)


def evening(t: dict, taken: set[int]) -> None:
    """Orders not ``taken`` (the latest with the right status and number of lines) moved to
    the M2 lab's evening as :data:`EVENING_ORDERS` says: no tip, the usual fee, those lines."""
    orders, lines = t["orders"], t["order_lines"]
    count = np.bincount(np.searchsorted(orders["order_id"], lines["order_id"]),
                        minlength=len(orders["order_id"]))  # fmt: skip
    before = orders["placed_at"] < DAY_START - 3_600  # not in the lab's day, nor moved out of it
    for minutes, status, spec in EVENING_ORDERS:
        ok = before & (orders["status"] == status) & (count == len(spec))
        i = next(int(i) for i in np.flatnonzero(ok)[::-1] if int(i) not in taken)
        taken.add(i)
        mine = np.flatnonzero(lines["order_id"] == orders["order_id"][i])
        lines["quantity"][mine] = [quantity for quantity, _ in spec]
        lines["unit_price"][mine] = [price for _, price in spec]
        orders["tip"][i] = NULL_INT
        orders["delivery_fee"][i] = FEE
        delta = EVENING + 60 * minutes - int(orders["placed_at"][i])
        _shift(t, np.array([i]), np.array([delta]))


def _pick(t: dict, role: str, merchant: int, city: str, taken: set[int]) -> int:
    """The latest order with the role's status (delivered unless :data:`STATUS` says otherwise)
    for the role (of merchant 6 for restaurant 8, which has none), preferring one already
    delivered in ``city``; by an Eindhoven customer for the two boundary roles."""
    orders, customers = t["orders"], t["customers"]
    owner = 6 if merchant == 8 else merchant
    ok = (orders["merchant_id"] == owner) & (orders["status"] == STATUS.get(role, "delivered"))
    if role in EINDHOVEN_ROLES:
        ok &= customers["city"][orders["customer_id"] - 1] == "Eindhoven"
    candidates = [int(i) for i in np.flatnonzero(ok)[::-1] if int(i) not in taken]
    here = set(_zones_of(t, city))
    candidates.sort(key=lambda i: int(orders["region_id"][i]) not in here)  # stable: latest first
    return candidates[0]


def _zones_of(t: dict, city: str) -> list[int]:
    regions = t["regions"]
    (city_id,) = regions["region_id"][(regions["level"] == "city") & (regions["name"] == city)]
    zones = (regions["level"] == "zone") & (regions["parent_region_id"] == city_id)
    return sorted(int(z) for z in regions["region_id"][zones])


def _reassign(t: dict, i: int, merchant: int) -> None:
    """Order ``i`` sold by ``merchant`` instead: its lines become that merchant's first
    product, its rating names the merchant."""
    orders, lines, products = t["orders"], t["order_lines"], t["products"]
    order_id = orders["order_id"][i]
    orders["merchant_id"][i] = merchant
    product = products["product_id"][products["merchant_id"] == merchant][0]
    lines["product_id"][lines["order_id"] == order_id] = product
    ratings = t["ratings"]
    ratings["merchant_id"][ratings["order_id"] == order_id] = merchant


def _place(t: dict, i: int, city: str, subtotal: int) -> None:
    """Order ``i`` delivered in ``city`` (its own zone if there already), no tip, the usual fee,
    and lines of one item each adding up to ``subtotal``."""
    orders, lines = t["orders"], t["order_lines"]
    zones = _zones_of(t, city)
    if int(orders["region_id"][i]) not in zones:
        orders["region_id"][i] = zones[0]
    orders["tip"][i] = NULL_INT
    orders["delivery_fee"][i] = FEE
    mine = np.flatnonzero(lines["order_id"] == orders["order_id"][i])
    lines["quantity"][mine] = 1
    lines["unit_price"][mine] = subtotal // len(mine)
    lines["unit_price"][mine[0]] += subtotal - subtotal // len(mine) * len(mine)


def _pay_with(t: dict, i: int, method: str) -> None:
    """Order ``i`` and its payments paid with ``method``."""
    orders, payments = t["orders"], t["payments"]
    orders["payment_method"][i] = method
    payments["method"][payments["order_id"] == orders["order_id"][i]] = method


def _shift(t: dict, rows: np.ndarray, delta: np.ndarray) -> None:
    """Orders ``rows`` and everything timed after them (payments, the delivery job, its events
    and pings, the rating) moved by ``delta`` seconds."""
    for i, d in zip(rows.tolist(), np.asarray(delta).tolist(), strict=True):
        order_id = t["orders"]["order_id"][i]
        t["orders"]["placed_at"][i] += d
        _move(t["payments"], "paid_at", t["payments"]["order_id"] == order_id, d)
        _move(t["ratings"], "created_at", t["ratings"]["order_id"] == order_id, d)
        jobs = t["delivery_jobs"]
        mine = jobs["order_id"] == order_id
        for column in ("created_at", "assigned_at", "picked_up_at", "delivered_at"):
            _move(jobs, column, mine, d)
        job_ids = jobs["delivery_job_id"][mine]
        events, pings = t["delivery_status_events"], t["gps_pings"]
        _move(events, "occurred_at", np.isin(events["delivery_job_id"], job_ids), d)
        _move(pings, "recorded_at", np.isin(pings["delivery_job_id"], job_ids), d)


def _in_time_order(table: dict, time: str, key: str) -> None:
    """Rows sorted by time (then id), the same ids given out again in that order."""
    order = np.lexsort((table[key], table[time]))
    ids = np.sort(table[key])
    for column in table:
        table[column] = table[column][order]
    table[key] = ids


def _move(table: dict, column: str, rows: np.ndarray, delta: int) -> None:
    values = table[column]
    rows = rows & (values != NULL_INT)
    values[rows] += delta
