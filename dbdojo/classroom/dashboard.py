"""The instructor's figures: per learner and exercise, per exercise, who is stuck, over time.

Everything comes from the progress files the classroom service writes (one per learner, as
:mod:`dbdojo.checking.progress` does for a learner at home), plus who the hub says is connected.
No learner's answer is kept or shown: only statuses, counts and feedback kinds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any

from dbdojo.checking import progress
from dbdojo.classroom.roster import Learner

NOT_STARTED, ATTEMPTED, SOLVED = "not started", "attempted", "solved"
STUCK_ATTEMPTS = 4  # attempts on one exercise without solving it
TOP_KINDS = 3


def progress_name(learner: Learner) -> str:
    """The learner's progress file name (apart from the instructor's own)."""
    return f"cls_{learner.name}"


def progress_name_load(learner: Learner) -> dict[str, dict[str, Any]]:
    return progress.load(progress_name(learner))


def cell(entry: dict[str, Any] | None) -> dict[str, Any]:
    entry = entry or {}
    state = SOLVED if entry.get("passed") else ATTEMPTED if entry.get("attempts") else NOT_STARTED
    return {
        "state": state,
        "attempts": entry.get("attempts", 0),
        "hints": entry.get("hints_shown", 0),
    }


def snapshot(
    learners: list[Learner], exercises: list[str], connected: dict[str, bool] | None = None
) -> dict[str, Any]:
    """The dashboard's data: ``learners`` (cells per exercise), ``exercises`` (solved count,
    commonest kinds of wrong answer), ``stuck``."""
    connected = connected or {}
    rows, stuck = [], []
    kinds: dict[str, Counter[str]] = {ex: Counter() for ex in exercises}
    solved: Counter[str] = Counter()
    attempted: Counter[str] = Counter()
    for learner in learners:
        data = progress_name_load(learner)
        cells = {ex: cell(data.get(ex)) for ex in exercises}
        for ex, c in cells.items():
            entry = data.get(ex, {})
            kinds[ex].update(entry.get("kinds", {}))
            solved[ex] += c["state"] == SOLVED
            attempted[ex] += c["state"] != NOT_STARTED
            if c["state"] == ATTEMPTED and c["attempts"] >= STUCK_ATTEMPTS:
                stuck.append(
                    {"learner": learner.name, "exercise": ex, "attempts": c["attempts"],
                     "hints": c["hints"], "last_attempt": entry.get("last_attempt")}
                )  # fmt: skip
        rows.append(
            {
                "name": learner.name,
                "display": learner.display,
                "connected": connected.get(learner.name, False),
                "solved": sum(c["state"] == SOLVED for c in cells.values()),
                "cells": cells,
            }
        )
    per_exercise = [
        {
            "id": ex,
            "solved": solved[ex],
            "attempted": attempted[ex],
            "wrong_kinds": kinds[ex].most_common(TOP_KINDS),
        }
        for ex in exercises
    ]
    return {"learners": rows, "exercises": per_exercise, "stuck": stuck}


def gradebook_csv(snap: dict[str, Any]) -> str:
    """One row per learner: solved count, then 1 (solved) / 0 per exercise, then attempts."""
    ids = [ex["id"] for ex in snap["exercises"]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["learner", "name", "solved", *ids, *(f"{i} attempts" for i in ids)])
    for row in snap["learners"]:
        cells = row["cells"]
        writer.writerow(
            [row["name"], row["display"], row["solved"],
             *(int(cells[i]["state"] == SOLVED) for i in ids),
             *(cells[i]["attempts"] for i in ids)]
        )  # fmt: skip
    return out.getvalue()


def timeline(learners: list[Learner]) -> list[tuple[dt.datetime, int]]:
    """(time, exercises solved by the class so far), one point per solve."""
    times = sorted(
        dt.datetime.fromisoformat(entry["passed_at"])
        for learner in learners
        for entry in progress_name_load(learner).values()
        if entry.get("passed_at")
    )
    return [(t, i) for i, t in enumerate(times, start=1)]


def plot_png(learners: list[Learner]) -> bytes:
    """The class's solved exercises over time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    points = timeline(learners)
    fig = Figure(figsize=(7, 3), dpi=100)
    ax = fig.subplots()
    if points:
        times, counts = zip(*points, strict=True)
        ax.step(times, counts, where="post")
        ax.plot(times[-1:], counts[-1:], "o")
        fig.autofmt_xdate()
    else:
        ax.text(0.5, 0.5, "no exercise solved yet", ha="center", va="center")
    ax.set_title(f"Exercises solved by the class ({len(learners)} learners)")
    ax.set_ylabel("solved (cumulative)")
    ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
