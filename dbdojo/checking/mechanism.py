"""How an answer did its work, judged from the commands it sent (the Redis gate's log), for
exercises whose prompt names a mechanism: an atomic command, a script, WATCH, a capped XADD;
and from a MongoDB pipeline's stages (one line per stage, its name: ``$group``), for prompts
that say how to build it ("join after grouping").

Option ``commands`` of a ``redis`` exercise: ``{"uses": [rule...], "avoids": [rule...]}``, each
rule ``{"match": regex, "message": what the learner is told when it is broken}``. A ``uses``
rule needs one logged command matching it; an ``avoids`` rule needs none. Lines look like
``XADD r4.x:stream MAXLEN ~ 100 * n 1`` (the command in capitals, arguments as sent). A rule
with ``"over": "log"`` is matched against the whole log instead, one command per line
(multiline: ``^`` starts a command), for what only an order of commands shows ("trim after
each push": two pushes with no LTRIM between them).
"""

from __future__ import annotations

import re
from typing import Any


def check(commands: list[str], rules: dict[str, Any]) -> list[str]:
    """What the answer's commands break of ``rules`` (empty: nothing)."""
    problems = []
    for rule in rules.get("uses", []):
        if _first(commands, rule) is None:
            problems.append(rule["message"])
    for rule in rules.get("avoids", []):
        if (found := _first(commands, rule)) is not None:
            problems.append(f"{rule['message']} (your function sent `{found[:80]}`)")
    return problems


def _first(commands: list[str], rule: dict[str, Any]) -> str | None:
    """The first command (or, for a rule over the log, the commands) the rule matches."""
    if rule.get("over") == "log":
        found = re.search(rule["match"], "\n".join(commands), re.IGNORECASE | re.MULTILINE)
        return None if found is None else " ... ".join(found.group(0).strip().splitlines())
    return next((c for c in commands if re.search(rule["match"], c, re.IGNORECASE)), None)
