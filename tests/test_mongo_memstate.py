"""Database images saved by an older layout of the package still load (issue 17 moved the
module whose function every image names): a seeded checkout keeps its snapshots across it."""

from __future__ import annotations

import sys

from dbdojo.mongo.emulator import memstate
from dbdojo.mongo.snapshots.inprocess import build_image


def test_an_image_written_before_the_move_loads():
    image = build_image(lambda db: db.items.insert_many([{"_id": 1, "n": 1}]))
    old = memstate.MOVED_FROM[0]
    sys.modules[old] = memstate
    memstate._rebuild.__module__ = old
    try:
        data = memstate.dumps(image)
    finally:
        memstate._rebuild.__module__ = memstate.__name__
        del sys.modules[old]
    assert old.encode() in data
    loaded = memstate.loads(data)
    assert loaded["_collections"] == {"items"}
    assert len(loaded["_storage"]["items"]) == 1


def test_an_image_of_another_format_is_refused():
    import pickle

    import pytest

    with pytest.raises(ValueError, match="rebuild it"):
        memstate.loads(pickle.dumps(("dbdojo-mongo-image/0", {})))
