"""The kind of a wrong answer, from the checker's feedback: what an instructor's dashboard may
show about a class's mistakes without showing anyone's answer."""

from __future__ import annotations

import re

from dbdojo.checking.verdict import ERROR, FAILED, Verdict

# (kind, pattern on the feedback's first line), first match wins
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("wrong columns or fields", r"wrong columns|wrong fields"),
        ("no rows or documents", r"matched no documents|returned (no|0) (rows|documents)\b"),
        ("rows missing and extra", r"missing.*should not be there"),
        ("rows missing", r"\bmissing\b"),
        ("extra rows", r"should not be there"),
        ("wrong order", r"wrong order"),
        ("wrong values", r"differences are in|return value"),
        ("too slow", r"time limit|timed out|took too long"),
    )
)


def feedback_kind(verdict: Verdict) -> str | None:
    """A short category for a verdict that did not pass (None for passed / not answered)."""
    if verdict.status == ERROR:
        return "could not be checked" if not verdict.graded else "the answer raised an error"
    if verdict.status != FAILED:
        return None
    if verdict.target != "main":
        return "wrong on edge cases"
    message = verdict.message.lower()
    for kind, pattern in KINDS:
        if pattern.search(message):
            return kind
    return "other mistake"
