"""Where the kit's MongoDB emulator is not MongoDB: so that a verdict never blames the learner
for it. An answer the emulator refuses, or one that uses a feature the emulator evaluates
differently from MongoDB 8, is told so (notebooks/MONGODB-EMULATOR.md has the list)."""

from __future__ import annotations

import re

from dbdojo.mongo.gaps import LIMITS_DOC

_REFUSALS = re.compile(
    r"Unsupported (query operator|aggregation stage|expression)|Unrecognized expression"
    r"|cannot convert the value|not (yet )?(supported|implemented)|\bsupports only\b",
    re.IGNORECASE,
)
# feature in an answer's text -> what the emulator does with it
_DIFFERENT = {
    r"""exclusive(Minimum|Maximum)""": "$jsonSchema exclusiveMinimum/exclusiveMaximum are ignored",
    r"""\$(trunc|round)['"]?\s*:\s*['"]\$""": "one-argument $trunc/$round differ",
    r"""\$bucket['"]?\s*:""": "$bucket emits an empty default bucket",
}


def on_emulator() -> bool:
    """Whether MongoDB here is the kit's emulator (not a real mongod or the user's server)."""
    from dbdojo import state
    from dbdojo.connect import ServiceDown, server_url

    record = state.get_record("mongo")
    try:
        return bool(record and record.backend == "emulator" and server_url("mongo") == record.url)
    except ServiceDown:
        return False


def refusal(message: str) -> str | None:
    """The learner's message when the emulator refused something MongoDB 8 accepts."""
    if not _REFUSALS.search(message) or not on_emulator():
        return None
    return (
        f"the MongoDB emulator the kit runs does not support part of this answer ({message}); "
        f"your answer may be right on a real MongoDB 8. See {LIMITS_DOC}, or point DOJO_MONGO_URL "
        "at a real MongoDB to check it there"
    )


def notes(answer: str) -> list[str]:
    """Notes for a failed answer that uses something the emulator gets wrong."""
    found = [what for pattern, what in _DIFFERENT.items() if re.search(pattern, answer)]
    if not found or not on_emulator():
        return []
    return [
        f"the MongoDB emulator differs from MongoDB 8 here ({'; '.join(found)}): "
        f"if you believe your answer is right, see {LIMITS_DOC}"
    ]
