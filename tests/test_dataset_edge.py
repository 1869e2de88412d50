"""The edge_ties variant holds the rows that kill window-boundary mistakes (pure, no server)."""

from __future__ import annotations

import numpy as np

from dbdojo.dataset.edge import variant


def test_ties_has_delivered_orders_at_midnight_and_one_at_the_weeks_very_start():
    data = variant("ties")
    orders, lines = data.tables["orders"], data.tables["order_lines"]
    latest = orders["placed_at"].max()
    at_midnights = np.argsort(orders["placed_at"], kind="stable")[-2:]
    assert list(orders["status"][at_midnights]) == ["delivered", "delivered"]
    assert orders["placed_at"][at_midnights[0]] == latest - 86_400
    start = np.flatnonzero(orders["placed_at"] == latest - 7 * 86_400)
    assert len(start) == 1
    mine = lines["order_id"] == orders["order_id"][start[0]]
    assert mine.any() and (lines["quantity"][mine] == 5).all()


def test_ties_has_merchants_whose_latest_orders_share_a_moment():
    orders = variant("ties").tables["orders"]
    tied = 0
    for merchant in np.unique(orders["merchant_id"]):
        mine = np.sort(orders["placed_at"][orders["merchant_id"] == merchant])
        tied += len(mine) >= 2 and mine[-1] == mine[-2]
    assert tied >= 3


def test_cycles_has_delivery_jobs_across_the_m1_and_m2_id_windows():
    from dbdojo.dataset.edge_ids import FIRST
    from dbdojo.dataset.pgbinary import NULL_INT

    t = variant("cycles").tables
    jobs = t["delivery_jobs"]
    ids = jobs["delivery_job_id"]
    assert (ids < FIRST).sum() >= 10 and (ids >= FIRST + 10).any()  # both bounds have jobs
    assert len(np.unique(ids)) == len(ids)
    for table in ("delivery_status_events", "gps_pings"):
        refs = t[table]["delivery_job_id"]
        assert np.isin(refs[refs != NULL_INT], ids).all(), table
    # the job at FIRST counts for a driver among the five busiest from it on
    (driver,) = jobs["driver_id"][ids == FIRST]
    later = jobs["driver_id"][(ids >= FIRST) & (jobs["driver_id"] != NULL_INT)]
    _, counts = np.unique(later, return_counts=True)
    assert driver != NULL_INT and (counts >= (later == driver).sum()).sum() <= 5


def test_nulls_has_an_organic_frozen_product_outside_grocery():
    import json

    products = variant("nulls").tables["products"]
    found = [
        category
        for category, attributes in zip(products["category"], products["attributes"], strict=True)
        if {"organic": True, "storage": "frozen"}.items() <= json.loads(attributes).items()
    ]
    assert any(category != "grocery" for category in found)


def test_ties_has_the_customer_m1_names_with_their_two_latest_orders_tied():
    from dbdojo.dataset.edge_ids import CUSTOMER

    t = variant("ties").tables
    customers, orders = t["customers"], t["orders"]
    assert (np.diff(customers["customer_id"]) > 0).all() and CUSTOMER in customers["customer_id"]
    placed = np.sort(orders["placed_at"][orders["customer_id"] == CUSTOMER])
    assert len(placed) >= 4 and placed[-1] == placed[-2] > placed[-3]
    for table in ("wallets", "ratings"):
        assert np.isin(t[table]["customer_id"], customers["customer_id"]).all(), table


def test_ties_has_customer_2000_with_a_proton_address_and_tips_on_the_fee():
    from dbdojo.dataset.edge_ids import CUSTOMER, PROTON

    t = variant("ties").tables
    customers, orders = t["customers"], t["orders"]
    (email,) = customers["email"][customers["customer_id"] == PROTON]
    assert email.endswith("@proton.me") and (orders["customer_id"] == PROTON).any()
    mine = orders["customer_id"] == CUSTOMER
    tips, fees = orders["tip"][mine], orders["delivery_fee"][mine]
    assert (tips == fees).any() and (tips > fees).any()  # m2.expr: > and >= differ


def test_cycles_has_an_unassigned_job_without_events_at_the_x2_timeline_id():
    from dbdojo.dataset.edge_ids import LONE

    t = variant("cycles").tables
    jobs = t["delivery_jobs"]
    assert list(jobs["status"][jobs["delivery_job_id"] == LONE]) == ["unassigned"]
    assert not (t["delivery_status_events"]["delivery_job_id"] == LONE).any()
