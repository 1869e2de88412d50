"""How an answer did its work, judged from the commands it sent (the Redis gate's log), for
exercises whose prompt names a mechanism: an atomic command, a script, WATCH, a capped XADD.

Option ``commands`` of a ``redis`` exercise: ``{"uses": [rule...], "avoids": [rule...]}``, each
rule ``{"match": regex, "message": what the learner is told when it is broken}``. A ``uses``
rule needs one logged command matching it; an ``avoids`` rule needs none. Lines look like
``XADD r4.x:stream MAXLEN ~ 100 * n 1`` (the command in capitals, arguments as sent).
"""

from __future__ import annotations

import re
from typing import Any


def check(commands: list[str], rules: dict[str, Any]) -> list[str]:
    """What the answer's commands break of ``rules`` (empty: nothing)."""
    problems = []
    for rule in rules.get("uses", []):
        if not any(re.search(rule["match"], line, re.IGNORECASE) for line in commands):
            problems.append(rule["message"])
    for rule in rules.get("avoids", []):
        found = next((c for c in commands if re.search(rule["match"], c, re.IGNORECASE)), None)
        if found is not None:
            problems.append(f"{rule['message']} (your function sent `{found[:80]}`)")
    return problems
