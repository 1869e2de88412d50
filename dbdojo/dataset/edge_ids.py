"""The ids that the M1 and M2 labs name, in the edge variants.

The main data has tens of thousands of customers and hundreds of thousands of delivery jobs;
an edge variant has a few dozen and a few hundred, numbered from 1, so a filter such as
``_id >= 329000`` or ``customer_id: 37008`` match nothing there and cannot tell ``$gte`` from
``$gt`` or a missing tiebreaker. :func:`jobs_across` renumbers a variant's jobs (keeping their
order) so that they straddle :data:`FIRST` and :data:`FIRST` + 10, the job at :data:`FIRST`
held by a driver who is among the five busiest from it on (m1.child-references-parent counts
jobs per driver from there; m2.slice reads the ten jobs from there), and an unassigned job
without events at :data:`LONE` (x2.timeline). :func:`customer_named`
gives a customer with several orders the id :data:`CUSTOMER`, their two latest orders at the
same moment (m1.subset-profile: newest first, the larger ``_id`` first on equal times), and
another the id :data:`PROTON` with a proton.me address (m2.regex: ids below 2000), and the
lowest-numbered one an address that holds "proton.me" before its ``@`` (a pattern without
``@`` and ``$`` matches it).
"""

from __future__ import annotations

import numpy as np

from dbdojo.dataset.generate import Dataset
from dbdojo.dataset.pgbinary import NULL_INT

FIRST = 329_000
BELOW = 10  # jobs kept below FIRST: an inclusive bound written as exclusive shows
LONE = 329_805  # x2.timeline reads this job's status events
CUSTOMER = 37_008
PROTON = 2_000  # m2.regex reads the customers below it


def jobs_across(data: Dataset) -> None:
    """Add the same offset to every delivery job id (jobs, status events, GPS pings)."""
    t = data.tables
    jobs = t["delivery_jobs"]
    at = _first_at(jobs["driver_id"])
    offset = FIRST - int(jobs["delivery_job_id"][at])
    jobs["delivery_job_id"] = jobs["delivery_job_id"] + offset
    for table in ("delivery_status_events", "gps_pings"):
        ids = t[table]["delivery_job_id"]
        t[table]["delivery_job_id"] = np.where(ids == NULL_INT, NULL_INT, ids + offset)
    _lone_job(t)


def _lone_job(t: dict) -> None:
    """The first unassigned job renumbered :data:`LONE`, without status events (nobody took
    it yet): its timeline is empty, so an ``$unwind`` that keeps empty arrays shows."""
    jobs, events = t["delivery_jobs"], t["delivery_status_events"]
    i = int(np.flatnonzero(jobs["status"] == "unassigned")[0])
    old = jobs["delivery_job_id"][i]
    jobs["delivery_job_id"][i] = LONE
    pings = t["gps_pings"]["delivery_job_id"]
    pings[pings == old] = LONE
    keep = events["delivery_job_id"] != old
    for column in events:
        events[column] = events[column][keep]


def _first_at(drivers: np.ndarray) -> int:
    """The first row from :data:`BELOW` on whose driver is surely among the five busiest of
    the rows from it on (at most four others with as many jobs)."""
    for at in range(BELOW, len(drivers)):
        driver = drivers[at]
        if driver == NULL_INT:
            continue
        assigned = drivers[at:][drivers[at:] != NULL_INT]
        _, counts = np.unique(assigned, return_counts=True)
        mine = int((assigned == driver).sum())
        if int((counts >= mine).sum()) - 1 <= 4:
            return at
    raise ValueError("no delivery job can sit at the window's start")


def customer_named(data: Dataset, orders_at_least: int = 4) -> None:
    """The highest-numbered customer with ``orders_at_least`` orders, none of them among the
    data's last day or at its last week's start (other edge cases sit there), renumbered
    :data:`CUSTOMER`: their latest order moved back to the moment of the one before it, their
    first order tipped exactly the delivery fee and their second more (m2.expr: tip > fee).
    The next customer with an order down becomes :data:`PROTON` with a proton.me address
    (m2.regex: ids below 2000). The customers table stays sorted by id."""
    t = data.tables
    orders, customers = t["orders"], t["customers"]
    placed, latest = orders["placed_at"], orders["placed_at"].max()
    counts = np.bincount(orders["customer_id"])
    taken = orders["customer_id"][(placed >= latest - 86_400) | (placed == latest - 7 * 86_400)]
    busy = counts >= orders_at_least
    busy[taken] = False
    old = int(np.flatnonzero(busy).max())
    _renumber(t, old, CUSTOMER)
    mine = np.flatnonzero(orders["customer_id"] == CUSTOMER)
    mine = mine[np.argsort(placed[mine], kind="stable")]
    placed[mine[-1]] = placed[mine[-2]]
    fee = orders["delivery_fee"][mine[0]]
    orders["tip"][mine[:2]] = [fee, orders["delivery_fee"][mine[1]] + 50]
    other = int(np.flatnonzero(counts[:old] > 0).max())
    _renumber(t, other, PROTON)
    at = customers["customer_id"] == PROTON
    customers["email"][at] = f"edge.{PROTON}@proton.me"
    first = int(np.argmin(customers["customer_id"]))  # proton.me, but not as the domain:
    customers["email"][first] = "proton.me.fan@gmail.com"  # an unanchored pattern matches it
    order = np.argsort(customers["customer_id"], kind="stable")
    for column in customers:
        customers[column] = customers[column][order]


def _renumber(t: dict, old: int, new: int) -> None:
    for table in ("customers", "wallets", "orders", "ratings"):
        ids = t[table]["customer_id"]
        ids[ids == old] = new
