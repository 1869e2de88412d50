"""The work behind ``dojo exercises``, ``grade``, ``hint``, ``progress`` and ``build student``."""

from __future__ import annotations

import json
from pathlib import Path

from dbdojo.checking import discovery
from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise, ExerciseError, problems, split_check_cell
from dbdojo.checking.verdict import ERROR, Verdict

ADHOC_KINDS = {"sql": "sql", "mongo": "mongo-query", "redis": "redis", "python": "python"}


def list_exercises(as_json: bool, solutions: bool) -> int:
    from rich.console import Console
    from rich.table import Table

    labs = discovery.labs()
    found = [ex for lab in labs for ex in lab.exercises]
    if solutions and any(ex.reference is None for ex in found):
        raise ExerciseError("--solutions needs the instructor source: these labs have none")
    if as_json:
        print(json.dumps([ex.summary(solutions) for ex in found], indent=1))
        return 0
    table = Table("id", "lab", "kind", "difficulty", "title", title=f"{len(found)} exercises")
    for ex in found:
        table.add_row(ex.id, ex.lab, ex.kind, ex.difficulty or "?", ex.title)
    console = Console()
    console.print(table)
    issues = [p for lab in labs for ex in lab.exercises for p in problems(ex, lab.id)]
    for issue in issues:
        console.print(f"[yellow]problem:[/] {issue}")
    return 1 if issues else 0


MAX_TEXT_BYTES = 1024 * 1024  # an answer: a query, a pipeline, a function
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024  # a submitted notebook, outputs and plots included


class AnswerFileError(ExerciseError):
    """An answer file that cannot be read as an answer (the message says why)."""


def read_answer(path: Path, exercise_id: str | None) -> str:
    """An answer file: UTF-8 text, or a submitted notebook holding the ``%%check`` cell; read
    within a size limit, whatever the file is."""
    notebook = path.suffix == ".ipynb"
    text = _read_text(path, MAX_NOTEBOOK_BYTES if notebook else MAX_TEXT_BYTES)
    if not notebook:
        return text
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
        cells = [c for c in nb.cells if c.get("cell_type") == "code"]
        sources = [c.source if isinstance(c.source, str) else "".join(c.source) for c in cells]
    except Exception as exc:  # nbformat raises several kinds for malformed notebooks
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise AnswerFileError(f"{path} is not a valid notebook: {reason}") from exc
    for source in sources:
        parsed = split_check_cell(source)
        if parsed and (exercise_id is None or parsed[0] == exercise_id):
            if len(parsed[1].encode()) > MAX_TEXT_BYTES:
                raise AnswerFileError(f"{path}: the answer cell is larger than 1 MB")
            return parsed[1]
    raise AnswerFileError(f"{path} has no `%%check {exercise_id or ''}` cell")


def _read_text(path: Path, limit: int) -> str:
    try:
        if not path.exists():
            raise AnswerFileError(f"answer file {path} does not exist")
        if not path.is_file():
            raise AnswerFileError(f"answer file {path} is not a regular file")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise AnswerFileError(f"cannot read answer file {path}: {exc.strerror}") from exc
    if len(data) > limit:
        raise AnswerFileError(f"answer file {path} is larger than {limit // 1024 // 1024} MB")
    if b"\x00" in data:
        raise AnswerFileError(f"answer file {path} is binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AnswerFileError(
            f"answer file {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from exc


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
    """Grade each answer file with the engine. Exit status: 0 all passed, 1 some failed,
    2 some could not be graded (unreadable file, the kit's own trouble)."""
    checker = Checker()
    verdicts: list[tuple[Path, Verdict]] = []
    for path in answers:
        try:
            answer = read_answer(path, None if ex.id == "adhoc.grade" else ex.id)
        except AnswerFileError as exc:
            verdicts.append((path, Verdict(ex.id, ERROR, str(exc), graded=False)))
            continue
        verdicts.append((path, checker.check(ex, answer)))
    if as_json:
        data = [{"answer": str(p), **v.to_dict()} for p, v in verdicts]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=1, default=str))
    else:
        for path, verdict in verdicts:
            prefix = f"{path}: " if len(verdicts) > 1 else ""
            print(prefix + verdict.text())
    if not all(v.graded for _, v in verdicts):
        return 2
    return 0 if all(v.passed for _, v in verdicts) else 1


def show_progress(lab: str | None = None) -> None:
    """Per lab (or, for one lab, per exercise): done, attempted, hints used; then the next
    exercise to do."""
    from rich.console import Console
    from rich.table import Table

    from dbdojo.checking.progress_report import report

    found = report(lab)
    console = Console()
    if lab is None:
        table = Table("lab", "done", "attempted", "hints used", "last attempt")
        table.title = f"Progress of {found.learner}"
        for lab_id in dict.fromkeys(r.lab for r in found.rows):
            rows = [r for r in found.rows if r.lab == lab_id]
            done = sum(r.passed for r in rows)
            tried = sum(r.state == "attempted" for r in rows)
            hints = f"{sum(r.hints_used for r in rows)}/{sum(r.hints_total for r in rows)}"
            last = max((r.last for r in rows), default="") or "—"
            style = "green" if done == len(rows) else ""
            table.add_row(lab_id, f"{done}/{len(rows)}", str(tried), hints, last, style=style)
    else:
        table = Table(title=f"Progress of {found.learner}, lab {lab}")
        for header in ("exercise", "difficulty", "state", "attempts", "hints used", "last (UTC)"):
            table.add_column(header, no_wrap=True)
        for r in found.rows:
            style = {"done": "green", "attempted": "yellow"}.get(r.state, "")
            hints = f"{r.hints_used}/{r.hints_total}" if r.hints_total else "—"
            attempts = str(r.attempts or "")
            last = r.last[5:] or "—"
            table.add_row(r.id, r.difficulty, r.state, attempts, hints, last, style=style)
    console.print(table)
    console.print(found.summary())


def build(out: Path | None) -> list[Path]:
    import time

    from rich.console import Console

    from dbdojo.checking.build import COST, build_student

    console = Console()
    console.print(f"The student build {COST}.")
    started = time.perf_counter()
    with console.status("building student labs") as status:
        written = build_student(out, progress=lambda name: status.update(f"building {name}"))
    for path in written:
        console.print(f"wrote {path}")
    console.print(f"built in {time.perf_counter() - started:.0f} s; temporary workspace dropped")
    return written
