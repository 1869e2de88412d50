"""The exercise model: what an answer cell's ``metadata.dojo`` describes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbdojo.errors import DojoError

KINDS = ("sql", "sql-ddl", "sql-plan", "sql-concurrent", "mongo-query", "mongo-pipeline", "redis",
         "python")  # fmt: skip
SQL_KINDS = ("sql", "sql-ddl", "sql-plan")
MONGO_KINDS = ("mongo-query", "mongo-pipeline")
TWO_WRONG = ("sql", "sql-concurrent")  # kinds that need at least two planted wrong answers
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[a-z0-9_]*)\.[a-z0-9][a-z0-9-]*$")
CHECK_LINE = re.compile(r"^%%check[ \t]+(\S+)[ \t]*$")
REQUIRED_OPTIONS = {"sql-ddl": ("probe",), "sql-plan": ("query", "plan"), "mongo-pipeline": ()}
DEFAULT_TIMEOUT = 5.0
DIFFICULTIES = ("easy", "medium", "hard")
BADGES = {"easy": "🟢 easy", "medium": "🟠 medium", "hard": "🔴 hard"}
"""How the prompt's heading shows an exercise's difficulty (kept in the student build)."""


class ExerciseError(DojoError, ValueError):
    """An exercise that cannot be found or whose metadata is malformed."""


@dataclass
class Exercise:
    id: str
    title: str
    kind: str
    starter: str = ""
    hints: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None  # instructor source only
    wrong: list[str] = field(default_factory=list)  # instructor source only
    expected: dict[str, Any] | None = None  # student build only: digests
    prompt: str = ""
    notebook: Path | None = None
    cell: int | None = None
    difficulty: str = ""  # easy, medium, hard (labs/README.md: difficulty)

    @property
    def lab(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def timeout(self) -> float:
        return float(self.options.get("timeout") or DEFAULT_TIMEOUT)

    def where(self) -> str:
        return f"{self.notebook.name if self.notebook else '?'} cell {self.cell}"

    def summary(self, solutions: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "lab": self.lab,
            "kind": self.kind,
            "difficulty": self.difficulty,
            "title": self.title,
            "notebook": str(self.notebook) if self.notebook else None,
            "hints": len(self.hints),
        }
        if solutions:
            data["reference"] = self.reference
            data["wrong"] = self.wrong
            data["options"] = self.options
        return data


def split_check_cell(source: str) -> tuple[str, str] | None:
    """``(id, body)`` of a ``%%check ID`` cell, or None for any other cell."""
    first, _, body = source.partition("\n")
    match = CHECK_LINE.match(first.strip())
    return (match.group(1), body) if match else None


def from_metadata(meta: dict[str, Any], body: str | None, **where: Any) -> Exercise:
    """Build an Exercise from an answer cell's ``metadata.dojo`` and its ``%%check`` body."""
    student = "expected" in meta
    return Exercise(
        id=meta["exercise"],
        title=meta.get("title", ""),
        kind=meta.get("kind", ""),
        difficulty=meta.get("difficulty", ""),
        starter=meta.get("starter", ""),
        hints=list(meta.get("hints", [])),
        options=dict(meta.get("options", {})),
        reference=None if student else body,
        wrong=list(meta.get("wrong", [])),
        expected=meta.get("expected"),
        **where,
    )


def heading_index(lines: list[str]) -> int:
    """Where a prompt shows its difficulty: its last Markdown heading (the exercise's own, below
    any section heading the cell opens with), else its first line."""
    return max((i for i, line in enumerate(lines) if line.startswith("#")), default=0)


def heading(prompt: str) -> str:
    lines = prompt.split("\n")
    return lines[heading_index(lines)]


def problems(ex: Exercise, lab: str | None = None) -> list[str]:
    """What is wrong with an exercise's metadata (empty when it is fine)."""
    found = []
    if not ID_PATTERN.match(ex.id):
        found.append(f"id {ex.id!r} must look like '<lab>.<slug>' (lowercase, digits, '-')")
    if lab and ex.lab != lab:
        found.append(f"id {ex.id!r} must start with the notebook's lab id '{lab}.'")
    if ex.kind not in KINDS:
        found.append(f"kind {ex.kind!r} is not one of {', '.join(KINDS)}")
    if not ex.title:
        found.append("no title")
    if ex.difficulty not in DIFFICULTIES:
        found.append(f"difficulty {ex.difficulty!r} is not one of {', '.join(DIFFICULTIES)}")
    elif ex.prompt and not re.search(rf"\b{ex.difficulty}\b", heading(ex.prompt), re.I):
        found.append(
            f"the prompt's heading does not show its difficulty ({BADGES[ex.difficulty]!r}, "
            "as dbdojo.checking.authoring.badged() writes it)"
        )
    if not ex.hints:
        found.append("no hints (give at least one)")
    for option in REQUIRED_OPTIONS.get(ex.kind, ()):
        if option not in ex.options:
            found.append(f"kind {ex.kind} needs options.{option}")
    if ex.options.get("database", "postgres") != "postgres" and (
        ex.kind not in ("sql", "sql-ddl", "sql-concurrent") or ex.options["database"] != "mysql"
    ):
        found.append(
            "options.database is 'postgres' (the default) or, for kinds sql, sql-ddl and "
            "sql-concurrent, 'mysql'"
        )
    if "answer_plan" in ex.options and (
        ex.kind != "sql"
        or ex.options.get("database", "postgres") != "postgres"
        or not isinstance(ex.options["answer_plan"], dict)
        or "max_buffers" in ex.options["answer_plan"]
    ):
        found.append(
            "options.answer_plan is for PostgreSQL exercises of kind sql: {uses, avoids} of the "
            "answer's own plan (no max_buffers: the plan is not run)"
        )
    if ex.kind in ("mongo-pipeline",) and "collection" not in ex.options:
        found.append("kind mongo-pipeline needs options.collection")
    if ex.kind == "sql-concurrent":
        from dbdojo.checking.runners import pg_concurrent

        found += pg_concurrent.problems(ex.options)
    if ex.kind == "redis":
        from dbdojo.checking import redis_concurrency

        found += redis_concurrency.problems(ex.options)
    elif "concurrent" in ex.options:
        found.append("options.concurrent is for redis exercises (sql-concurrent is a kind)")
    if ex.reference is not None and ex.kind in TWO_WRONG and len(ex.wrong) < 2:
        found.append(f"a {ex.kind} exercise needs at least two planted wrong answers in 'wrong'")
    if ex.reference is not None and not ex.reference.strip():
        found.append("the %%check cell has no reference solution in its body")
    return [f"{ex.id} ({ex.where()}): {p}" for p in found]
