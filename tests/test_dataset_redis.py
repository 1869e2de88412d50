"""The Redis snapshot: the keys the lessons use, exact restores, TTLs applied on restore."""

from __future__ import annotations

from dbdojo.connect import redis_client
from dbdojo.dataset import redis_data
from dbdojo.dataset.generate import generate
from dbdojo.dataset.workspaces import reset


def redis_state(client) -> dict[bytes, bytes]:
    """Every key and its DUMP (type and value, not TTL)."""
    return {key: client.dump(key) for key in sorted(client.scan_iter(count=1000))}


def test_workspace_holds_the_dataset_keys(scratch):
    client = redis_client(scratch)
    expected = redis_data.build(generate("tiny"))
    assert client.dbsize() == len(expected.keys)
    assert client.type("drivers:positions") == "zset"
    assert client.geosearch(
        "drivers:positions", longitude=4.9, latitude=52.37, radius=50, unit="km"
    )
    assert client.type("orders:events") == "stream"
    assert client.xlen("orders:events") > 0
    ttls = [client.ttl(k) for k in client.scan_iter("session:*")]
    assert ttls and all(0 < t <= 24 * 3600 for t in ttls)
    assert client.bitcount(sorted(client.scan_iter("active:customers:*"))[-1]) > 0


def test_reset_restores_exactly(scratch):
    client = redis_client(scratch, decode_responses=False)
    before = redis_state(client)
    client.delete("drivers:positions")
    client.zincrby("leaderboard:drivers:rating", 5, "driver:1")
    client.set("junk", "x")
    assert redis_state(client) != before
    reset(scratch, services=("redis",))
    assert redis_state(client) == before


def test_snapshot_records_the_seeded_data(seeded_tiny):
    from dbdojo.dataset import redis_store

    assert redis_store.snapshot_meta()["checksum"] == seeded_tiny["checksum"]
