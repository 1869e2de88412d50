"""Per-learner progress: attempts, passes and hints shown, in the state directory."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbdojo import settings
from dbdojo.paths import state_dir


def learner() -> str:
    """``DOJO_LEARNER``, else the OS user."""
    return re.sub(r"[^A-Za-z0-9_.@-]+", "_", settings.learner()) or "learner"


def progress_file(name: str | None = None) -> Path:
    folder = state_dir() / "progress"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name or learner()}.json"


@contextmanager
def _locked(name: str | None = None) -> Iterator[dict[str, Any]]:
    path = progress_file(name)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {}
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)


def load(name: str | None = None) -> dict[str, dict[str, Any]]:
    """Exercise id -> {attempts, passed, last_attempt, last_status, passed_at, hints_shown}."""
    path = progress_file(name)
    return json.loads(path.read_text()) if path.exists() else {}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def record_attempt(
    exercise_id: str, status: str, name: str | None = None, kind: str | None = None
) -> None:
    """Count an attempt; "not answered yet" is not an attempt. ``kind``: the feedback's
    category for an answer that did not pass (:mod:`dbdojo.checking.feedback_kinds`)."""
    with _locked(name) as data:
        entry = data.setdefault(exercise_id, {"attempts": 0, "passed": False})
        entry["attempts"] += 1
        entry["last_attempt"] = _now()
        entry["last_status"] = status
        if kind and status != "passed":
            kinds = entry.setdefault("kinds", {})
            kinds[kind] = kinds.get(kind, 0) + 1
        if status == "passed" and not entry["passed"]:
            entry["passed"] = True
            entry["passed_at"] = entry["last_attempt"]


def next_hint(exercise_id: str, available: int, name: str | None = None) -> int:
    """Reveal one more hint: return how many hints are shown now (at most ``available``)."""
    with _locked(name) as data:
        entry = data.setdefault(exercise_id, {"attempts": 0, "passed": False})
        entry["hints_shown"] = min(available, entry.get("hints_shown", 0) + 1)
        return entry["hints_shown"]
