"""The kernel side of classroom mode (:mod:`dbdojo.classroom`): ``%%check`` and ``dojo.hint``
go to the classroom service.

A learner's kernel holds their own database credentials and a token (``~/.env``), never the
kit's: the service checks their answer on their workspace as the instructor's kit does, and
records the attempt where the learner cannot change it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from dbdojo import settings
from dbdojo.errors import DojoError

TIMEOUT = 180  # seconds: a check waits its turn behind the class's other checks


class ServiceUnreachable(DojoError, RuntimeError):
    """The classroom service did not answer; the message says what to tell the instructor."""


def _required(value: str | None, name: str) -> str:
    if not value:
        raise ServiceUnreachable(f"{name} is not set: ask your instructor")
    return value


def call(path: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST ``payload`` to the service as this learner; the decoded answer."""
    url = _required(settings.check_url(), settings.CHECK_URL_ENV)
    token = _required(settings.check_token(), settings.CHECK_TOKEN_ENV)
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=json.dumps(payload).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise ServiceUnreachable(f"the classroom service refused ({exc.code}): {detail}") from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ServiceUnreachable(
            f"the classroom service does not answer ({exc}): tell your instructor"
        ) from exc


def check(exercise_id: str, answer: str):
    from dbdojo.checking.verdict import Verdict

    data = call("/api/check", {"exercise": exercise_id, "answer": answer})
    data.pop("passed", None)
    return Verdict(**data)


def hint(exercise_id: str) -> list[str]:
    return list(call("/api/hint", {"exercise": exercise_id})["hints"])
