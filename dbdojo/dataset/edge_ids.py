"""Delivery job ids moved up to the id windows that the M1 and M2 labs name.

The main data has hundreds of thousands of delivery jobs; an edge variant has a few hundred,
numbered from 1, so a filter such as ``_id >= 329000`` matches nothing there and cannot tell
``$gte`` from ``$gt``. :func:`jobs_across` renumbers a variant's jobs (keeping their order)
so that they straddle :data:`FIRST` and :data:`FIRST` + 10, the job at :data:`FIRST` held by
a driver who is among the five busiest from it on (m1.child-references-parent counts jobs per
driver from there; m2.slice reads the ten jobs from there).
"""

from __future__ import annotations

import numpy as np

from dbdojo.dataset.generate import Dataset
from dbdojo.dataset.pgbinary import NULL_INT

FIRST = 329_000
BELOW = 10  # jobs kept below FIRST: an inclusive bound written as exclusive shows


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
