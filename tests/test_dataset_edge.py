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
