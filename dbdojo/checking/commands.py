"""The work behind ``dojo exercises``, ``grade``, ``hint``, ``progress`` and ``build student``."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from rich.console import Console
from rich.table import Table

from dbdojo.checking import discovery, progress
from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise, ExerciseError, problems, split_check_cell
from dbdojo.checking.verdict import Verdict

ADHOC_KINDS = {"sql": "sql", "mongo": "mongo-query", "redis": "redis", "python": "python"}


def list_exercises(as_json: bool, solutions: bool) -> int:
    labs = discovery.labs()
    found = [ex for lab in labs for ex in lab.exercises]
    if solutions and any(ex.reference is None for ex in found):
        raise ExerciseError("--solutions needs the instructor source: these labs have none")
    if as_json:
        print(json.dumps([ex.summary(solutions) for ex in found], indent=1))
        return 0
    table = Table("id", "lab", "kind", "title", title=f"{len(found)} exercises")
    for ex in found:
        table.add_row(ex.id, ex.lab, ex.kind, ex.title)
    console = Console()
    console.print(table)
    issues = [p for lab in labs for ex in lab.exercises for p in problems(ex, lab.id)]
    for issue in issues:
        console.print(f"[yellow]problem:[/] {issue}")
    return 1 if issues else 0


def read_answer(path: Path, exercise_id: str | None) -> str:
    """An answer file: plain text, or a submitted notebook holding the ``%%check`` cell."""
    if not path.exists():
        raise ExerciseError(f"answer file {path} does not exist")
    if path.suffix != ".ipynb":
        return path.read_text()
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        parsed = split_check_cell(cell.source) if cell.cell_type == "code" else None
        if parsed and (exercise_id is None or parsed[0] == exercise_id):
            return parsed[1]
    raise ExerciseError(f"{path} has no `%%check {exercise_id or ''}` cell")


def adhoc_exercise(reference: str, kind: str, ordered: bool | None, collection: str | None):
    """An exercise made of a reference only: what ``dojo grade --reference`` compares with."""
    path = Path(reference)
    source = path.read_text() if path.is_file() else reference
    options: dict = {}
    if ordered is not None:
        options["ordered"] = ordered
    if collection:
        options["collection"] = collection
    return Exercise("adhoc.grade", "ad hoc", ADHOC_KINDS[kind], reference=source, options=options)


def grade(ex: Exercise, answers: list[Path], as_json: bool) -> int:
    """Grade each answer file with the engine; exit status 0 only when all pass."""
    checker = Checker()
    verdicts: list[tuple[Path, Verdict]] = []
    for path in answers:
        answer = read_answer(path, None if ex.id == "adhoc.grade" else ex.id)
        verdicts.append((path, checker.check(ex, answer)))
    if as_json:
        data = [{"answer": str(p), **v.to_dict()} for p, v in verdicts]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=1, default=str))
    else:
        for path, verdict in verdicts:
            prefix = f"{path}: " if len(verdicts) > 1 else ""
            print(prefix + verdict.text())
    return 0 if all(v.passed for _, v in verdicts) else 1


def show_progress() -> None:
    labs = discovery.labs() or discovery.labs(discovery.student_dir())
    done = progress.load()
    table = Table("lab", "title", "done", "last attempt", title=f"Progress of {progress.learner()}")
    for lab in labs:
        ids = [ex.id for ex in lab.exercises]
        passed = sum(1 for i in ids if done.get(i, {}).get("passed"))
        attempts = [done[i]["last_attempt"] for i in ids if done.get(i, {}).get("last_attempt")]
        last = max(attempts).replace("T", " ")[:16] if attempts else "—"
        style = "green" if ids and passed == len(ids) else ""
        table.add_row(lab.id, lab.title, f"{passed}/{len(ids)}", last, style=style)
    Console().print(table)


def build(out: Path | None) -> list[Path]:
    from dbdojo.checking.build import build_student

    console = Console()
    with console.status("building student labs") as status:
        written = build_student(out, progress=lambda name: status.update(f"building {name}"))
    for path in written:
        console.print(f"wrote {path}")
    return written
