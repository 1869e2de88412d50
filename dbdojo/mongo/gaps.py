"""What the MongoDB emulator (mongoeco 4.11) does not do like MongoDB, for notebooks and labs.

Measured with ``python -m dbdojo.mongo.probe``; explained, with MongoDB's documented
behaviour, in ``notebooks/MONGODB-EMULATOR.md``. A cell that needs one of these calls
:func:`requires_real_mongodb` first, which stops it with a friendly message on the emulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbdojo.errors import DojoError

if TYPE_CHECKING:
    import pymongo

LIMITS_DOC = "notebooks/MONGODB-EMULATOR.md"

EMULATOR_GAPS: dict[str, str] = {
    "change_streams": "watch() / $changeStream is not supported",
    "$centerSphere": "$geoWithin supports only $geometry Polygon and legacy $box, not "
    "$centerSphere",
    "distinct_missing": "distinct() includes None for documents that lack the field",
    "$bucket_default": "$bucket emits an empty default bucket when no document falls in it",
    "one_arg_round": "one-argument $round / $trunc (the expression only, no place) is "
    "rejected: write [expr, 0]",
    "collMod": "the collMod command is not supported (change a validator by recreating the "
    "collection)",
}


class RequiresRealMongoDB(DojoError, RuntimeError):
    """A cell needs a MongoDB feature the emulator lacks; the message says what to do."""


def is_emulator(client: pymongo.MongoClient) -> bool:
    return client.admin.command("buildInfo").get("gitVersion") == "mongoeco"


def requires_real_mongodb(feature: str, client: pymongo.MongoClient | None = None) -> None:
    """Raise RequiresRealMongoDB if ``client`` (default: the kit's) is the emulator and
    ``feature`` (a key of EMULATOR_GAPS) is one it lacks; do nothing on a real MongoDB."""
    if feature not in EMULATOR_GAPS:
        raise KeyError(f"unknown emulator gap {feature!r}: one of {', '.join(EMULATOR_GAPS)}")
    if client is None:
        from dbdojo.connect import mongo_client

        client = mongo_client()
    if is_emulator(client):
        raise RequiresRealMongoDB(
            f"This cell needs a real MongoDB: on the emulator, {EMULATOR_GAPS[feature]}. "
            f"The text explains the real result; to run it, point DOJO_MONGO_URL at a MongoDB "
            f"7/8 (Docker: `dojo up --docker`, or Atlas). See {LIMITS_DOC}."
        )
