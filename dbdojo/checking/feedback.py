"""Showing feedback: HTML in a notebook, rich text in a terminal."""

from __future__ import annotations

import html

from dbdojo.checking.model import Exercise
from dbdojo.checking.verdict import ERROR, FAILED, NOT_ANSWERED, PASSED, Verdict

COLORS = {PASSED: "#1a7f37", FAILED: "#cf222e", ERROR: "#cf222e", NOT_ANSWERED: "#6e7781"}
TITLES = {PASSED: "Correct", FAILED: "Not yet", ERROR: "Error", NOT_ANSWERED: "Not answered yet"}


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _message(verdict: Verdict) -> str:
    """The verdict's message, without repeating the badge ("Not answered yet … not answered
    yet: write your answer")."""
    title = TITLES[verdict.status].lower()
    if verdict.status == NOT_ANSWERED and verdict.message.lower().startswith(title):
        return verdict.message[len(title) :].lstrip(" :") or verdict.message
    return verdict.message


def to_html(verdict: Verdict) -> str:
    color = COLORS[verdict.status]
    parts = [
        f'<div style="border-left:4px solid {color};padding:2px 10px;margin:4px 0">'
        f'<b style="color:{color}">{TITLES[verdict.status]}</b> '
        f"<code>{html.escape(verdict.exercise)}</code>: {html.escape(_message(verdict))}"
    ]
    items = [html.escape(d) for d in verdict.details]
    if verdict.examples:
        rows = "".join(f"<li><code>{html.escape(e)}</code></li>" for e in verdict.examples)
        items.append(f"yours, not expected:<ul>{rows}</ul>")
    items += [f"<i>note:</i> {html.escape(n)}" for n in verdict.notes]
    if verdict.hint:
        items.append(f"<i>hint:</i> {html.escape(verdict.hint)}")
    if items:
        parts.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
    return "".join(parts) + "</div>"


def show(verdict: Verdict) -> None:
    """Display ``verdict``: HTML (with a text fallback) in a notebook, else plain text."""
    if _in_notebook():
        from IPython.display import display

        display({"text/html": to_html(verdict), "text/plain": verdict.text()}, raw=True)
    else:
        print(verdict.text())


def hints_text(ex: Exercise, shown: list[str]) -> str:
    if not ex.hints:
        return f"{ex.id}: this exercise has no hints"
    lines = [f"Hints for {ex.id} ({len(shown)} of {len(ex.hints)}):"]
    lines += [f"  {i}. {h}" for i, h in enumerate(shown, 1)]
    if len(shown) == len(ex.hints):
        lines.append("  (that was the last hint)")
    return "\n".join(lines)


def show_hints(ex: Exercise, shown: list[str]) -> None:
    print(hints_text(ex, shown))
