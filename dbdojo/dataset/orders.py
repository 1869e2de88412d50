"""Orders (seasonal, skewed customers), their lines and payments."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dbdojo.dataset.pgbinary import NULL_INT
from dbdojo.dataset.sampling import (
    DAY,
    END_LOCAL,
    HOUR_WEIGHTS,
    START_LOCAL,
    WEEKDAY_WEIGHTS,
    choose_in_groups,
    local_to_utc,
    pick,
    rng_for,
)
from dbdojo.dataset.scales import Scale
from dbdojo.dataset.vocab import CATEGORIES, ORDER_NOTES

Table = dict[str, np.ndarray]
IN_PROGRESS = ["placed", "accepted", "preparing", "in_transit"]
LINES_MEAN = {  # extra lines beyond the first, by merchant category
    "restaurant": 3.2, "grocery": 7.0, "bakery": 2.8, "pharmacy": 2.2, "electronics": 0.6,
    "florist": 0.4,
}  # fmt: skip
FEES = np.array([0, 199, 249, 299, 399])
TIPS = np.array([0, 50, 100, 150, 200, 250, 300, 500])


def placed_times(rng: np.random.Generator, scale: Scale, n: int) -> np.ndarray:
    """Sorted Unix seconds: growth over the year, weekday and hour-of-day seasonality."""
    if scale.days:
        dates = pd.DatetimeIndex(pd.to_datetime(list(scale.days)))
    else:
        dates = pd.date_range(START_LOCAL, END_LOCAL, freq="D", inclusive="left")
    naive = dates.to_numpy().astype("datetime64[s]").astype(np.int64)
    days = dates
    weight = WEEKDAY_WEIGHTS[dates.day_of_week] * (1 + 0.8 * np.arange(len(days)) / len(days))
    day = rng.choice(len(days), size=n, p=weight / weight.sum())
    hours = np.ones(24) if scale.flat_hours else HOUR_WEIGHTS
    hour = rng.choice(24, size=n, p=hours / hours.sum())
    local = naive[day] + hour * 3600 + rng.integers(0, 3600, n)
    return np.sort(local_to_utc(local, rng))


def orders(
    seed: int,
    scale: Scale,
    customers: Table,
    home: dict,
    merchants: Table,
    merchant_aux: dict,
    products: Table,
    product_aux: dict,
    zones: dict,
) -> tuple[Table, Table, Table, dict]:
    rng = rng_for(seed, 7)
    n = scale.orders
    placed = placed_times(rng, scale, n)
    n_customers = len(customers["customer_id"])
    # Power law: a few heavy customers, many with one or two orders, ~10 % with none.
    activity = np.minimum(rng.pareto(1.2, n_customers) + 1, 200.0)
    activity[rng.random(n_customers) < 0.08] = 0
    customer = rng.choice(n_customers, size=n, p=activity / activity.sum())
    # A merchant in the customer's city, weighted by popularity.
    m_city = merchant_aux["city"]
    order_by_city = np.argsort(m_city, kind="stable")
    city_weight = np.bincount(
        m_city, weights=merchant_aux["popularity"], minlength=len(zones["lat"])
    )
    c_city = zones["city"][home["zone"][customer]]
    local = city_weight[c_city] > 0  # cities without a merchant order from anywhere
    merchant = np.empty(n, np.int64)
    merchant[local] = order_by_city[
        choose_in_groups(
            rng, m_city[order_by_city], merchant_aux["popularity"][order_by_city], c_city[local]
        )
    ]
    far = ~local
    pop = merchant_aux["popularity"]
    merchant[far] = rng.choice(len(pop), size=far.sum(), p=pop / pop.sum())

    status = np.where(rng.random(n) < 0.05, "cancelled", "delivered").astype(object)
    status[rng.random(n) < 0.02] = "refunded"
    age_min = (placed[-1] - placed) / 60
    recent = age_min < 75
    status[recent] = np.array(IN_PROGRESS, object)[
        np.minimum((age_min[recent] // 12).astype(int), 3)
    ]

    # Lines: products of the order's merchant, weighted by popularity, no product twice.
    cat = np.array(list(CATEGORIES), object)[merchant_aux["category"][merchant]]
    extra = rng.poisson(np.array([LINES_MEAN[c] for c in cat]))
    n_lines = 1 + np.minimum(extra, 11)
    line_order = np.repeat(np.arange(n), n_lines)
    product = choose_in_groups(
        rng, product_aux["merchant"], product_aux["popularity"], merchant[line_order]
    )
    _, first = np.unique(
        line_order * (len(product_aux["merchant"]) + 1) + product, return_index=True
    )
    keep = np.sort(first)
    line_order, product = line_order[keep], product[keep]
    starts = np.searchsorted(line_order, np.arange(n))
    line_no = np.arange(len(line_order)) - starts[line_order] + 1
    m = len(line_order)
    quantity = np.where(rng.random(m) < 0.65, 1, rng.choice([2, 2, 2, 3, 3, 4, 5, 6], m))
    price = products["price"][product]
    discount = rng.choice([100, 90, 80], m, p=[0.9, 0.06, 0.04])
    unit_price = np.where(discount == 100, price, np.round(price * discount / 100).astype(np.int64))
    subtotal = (
        np.bincount(line_order, weights=quantity * unit_price, minlength=n).round().astype(np.int64)
    )

    fee = FEES[rng.choice(len(FEES), n, p=[0.1, 0.25, 0.3, 0.25, 0.1])]
    tip = TIPS[rng.choice(len(TIPS), n, p=[0.05, 0.2, 0.3, 0.1, 0.15, 0.05, 0.1, 0.05])]
    tip = np.where(rng.random(n) < 0.45, NULL_INT, tip)
    total = subtotal + fee + np.where(tip == NULL_INT, 0, tip)
    notes = pick(rng, ORDER_NOTES, n)
    notes[rng.random(n) < 0.85] = None
    method = pick(rng, ["card", "wallet", "paypal", "cash"], n, [0.6, 0.15, 0.2, 0.05])
    zone = home["zone"][customer]
    order_ids = np.arange(1, n + 1)
    table: Table = {
        "order_id": order_ids,
        "customer_id": customers["customer_id"][customer],
        "merchant_id": merchants["merchant_id"][merchant],
        "region_id": zones["region_id"][zone],
        "status": status,
        "payment_method": method,
        "placed_at": placed,
        "subtotal": subtotal,
        "delivery_fee": fee,
        "tip": tip,
        "total": total,
        "delivery_lat": np.round(home["lat"][customer] + rng.normal(0, 0.0004, n), 6),
        "delivery_lon": np.round(home["lon"][customer] + rng.normal(0, 0.0006, n), 6),
        "notes": notes,
    }
    lines: Table = {
        "order_line_id": np.arange(1, m + 1),
        "order_id": order_ids[line_order],
        "line_no": line_no,
        "product_id": products["product_id"][product],
        "quantity": quantity,
        "unit_price": unit_price,
    }
    # Sign-up happens before the first order.
    first_order = np.full(n_customers, np.iinfo(np.int64).max)
    np.minimum.at(first_order, customer, placed)
    signup = customers["created_at"]
    customers["created_at"] = np.minimum(
        signup, first_order - rng.integers(600, 90 * DAY, n_customers)
    )
    payments = _payments(rng, table)
    aux = {"customer": customer, "merchant": merchant, "zone": zone}
    return table, lines, payments, aux


def _payments(rng: np.random.Generator, orders: Table) -> Table:
    """A captured (or failed) payment per order; cancelled and refunded orders get a refund."""
    n = len(orders["order_id"])
    status = orders["status"]
    failed = (status == "cancelled") & (rng.random(n) < 0.3)
    refund = ((status == "cancelled") & ~failed) | (status == "refunded")
    paid_at = orders["placed_at"] + rng.integers(2, 40, n)
    first = {
        "order_id": orders["order_id"],
        "method": orders["payment_method"],
        "amount": orders["total"],
        "status": np.where(failed, "failed", "captured").astype(object),
        "paid_at": paid_at,
    }
    r = np.flatnonzero(refund)
    second = {
        "order_id": orders["order_id"][r],
        "method": orders["payment_method"][r],
        "amount": -orders["total"][r],
        "status": np.array(["refunded"] * len(r), object),
        "paid_at": paid_at[r] + rng.integers(1_800, 3 * DAY, len(r)),
    }
    both = {k: np.concatenate([first[k], second[k]]) for k in first}
    order = np.lexsort((both["order_id"], both["paid_at"]))
    table = {k: v[order] for k, v in both.items()}
    return {"payment_id": np.arange(1, len(order) + 1), **table}
