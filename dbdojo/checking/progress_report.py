"""A learner's progress, per exercise or per lab, with the next exercise to do:
``dojo progress [LAB]`` in a terminal, ``dojo.progress([lab])`` in a notebook (a table)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from dbdojo.checking import discovery
from dbdojo.checking import progress as store
from dbdojo.checking.model import BADGES, ExerciseError


@dataclass
class Row:
    """One exercise and what the learner did with it."""

    lab: str
    file: str
    id: str
    title: str
    difficulty: str
    passed: bool
    attempts: int
    hints_used: int
    hints_total: int
    last: str  # "YYYY-MM-DD HH:MM" (UTC) or ""

    @property
    def state(self) -> str:
        return "done" if self.passed else "attempted" if self.attempts else "not started"


@dataclass
class Report:
    """Every exercise of the labs asked for, in course order."""

    learner: str
    rows: list[Row] = field(default_factory=list)
    lab: str | None = None

    @property
    def next(self) -> Row | None:
        """The first exercise not done yet, in course order."""
        return next((r for r in self.rows if not r.passed), None)

    def done(self) -> int:
        return sum(r.passed for r in self.rows)

    def summary(self) -> str:
        nxt = self.next
        head = f"{self.done()}/{len(self.rows)} exercises done"
        if nxt is None:
            return f"{head}: all done."
        return f"{head}. Next: {nxt.id} ({nxt.title}) in work/{nxt.file}"

    def text(self) -> str:
        lines = [f"Progress of {self.learner}" + (f", lab {self.lab}" if self.lab else "")]
        for r in self.rows:
            mark = {"done": "✔", "attempted": "…", "not started": " "}[r.state]
            hints = f"hints {r.hints_used}/{r.hints_total}" if r.hints_total else ""
            tries = f"{r.attempts} attempt(s)" if r.attempts else ""
            line = f" {mark} {r.id:<28} {r.difficulty:<6} {r.state:<12} {tries:<13} {hints}"
            lines.append(line.rstrip())
        lines.append(self.summary())
        return "\n".join(lines)

    __repr__ = text

    def _repr_html_(self) -> str:
        headers = ("", "exercise", "difficulty", "", "attempts", "hints", "last")
        head = "".join(f"<th>{h}</th>" for h in headers)
        body = []
        for r in self.rows:
            mark = {"done": "✔", "attempted": "…", "not started": ""}[r.state]
            color = {"done": "#1a7f37", "attempted": "#9a6700", "not started": "#6e7781"}[r.state]
            hints = f"{r.hints_used}/{r.hints_total}" if r.hints_total else "—"
            cells = [
                f'<td style="color:{color}">{mark}</td>',
                f"<td><code>{html.escape(r.id)}</code> {html.escape(r.title)}</td>",
                f"<td>{BADGES.get(r.difficulty, html.escape(r.difficulty))}</td>",
                f'<td style="color:{color}">{r.state}</td>',
                f"<td>{r.attempts or ''}</td>",
                f"<td>{hints}</td>",
                f"<td>{r.last}</td>",
            ]
            body.append("<tr>" + "".join(cells) + "</tr>")
        title = html.escape(self.text().splitlines()[0])
        return (
            f"<div><b>{title}</b><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table><p>{html.escape(self.summary())}</p></div>"
        )


def progress(lab: str | None = None) -> Report:
    """``dojo.progress([lab])`` in a notebook: a table of your exercises and the next one."""
    return report(lab)


def report(lab: str | None = None, name: str | None = None) -> Report:
    """The progress of learner ``name`` (default: this one), for one lab or all of them."""
    labs = discovery.labs() or discovery.labs(discovery.student_dir())
    if lab is not None:
        labs = [found for found in labs if found.id == lab]
        if not labs:
            known = ", ".join(found.id for found in discovery.labs())
            raise ExerciseError(f"no lab {lab!r}: the labs are {known}")
    done = store.load(name)
    rows = []
    for found in labs:
        for ex in found.exercises:
            entry = done.get(ex.id, {})
            last = entry.get("last_attempt", "").replace("T", " ")[:16]
            rows.append(
                Row(
                    found.id,
                    found.path.name,
                    ex.id,
                    ex.title,
                    ex.difficulty,
                    bool(entry.get("passed")),
                    int(entry.get("attempts", 0)),
                    int(entry.get("hints_shown", 0)),
                    len(ex.hints),
                    last,
                )
            )
    return Report(name or store.learner(), rows, lab)
