"""Mutation kill rate of the labs' SQL and MongoDB checks: for every ``sql`` and ``sql-ddl``
exercise (X3's on MariaDB, parsed and printed in MySQL's dialect), the standard mutants of its
reference (dbdojo.checking.mutants: join type,
boundaries, ranking function, tiebreaker, direction, DISTINCT, count(*), COALESCE, frame,
dropped condition, LIMIT, min/max, UNION), and for every ``mongo-query``, ``mongo-pipeline`` and
MongoDB-writing ``python`` exercise those of dbdojo.checking.mongo_mutants ($gt/$gte, $in/$nin,
$rank/$denseRank/$documentNumber, sort direction, dropped sort key or condition, $sum: 1 for a
field, $first/$last, $unwind of empty arrays, update_one/update_many...) are checked like
answers, on the main and edge-case data.

A mutant equal to the exercise's starter is refused as "not answered"; it is judged on the data
all the same (as if the starter were empty), so that it counts as killed only if the data shows
the mistake.

A mutant the checker passes *survives*: no data row shows that mistake, or the mutant is
equivalent to the reference (then it is recorded, with why, in
``benchmarks/equivalent_mutants.yaml`` and left out of the rate). Target: every
non-equivalent mutant killed (rate 1.00).

Runs on the servers the kit is configured with (``dojo up``, ``dojo seed``), on a freshly
reset workspace ``bench_mutants``.

    .venv-test/bin/python benchmarks/bench_mutants.py [--lab p2] [--only sql|mongo] [--survivors]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from dbdojo.checking import discovery, mongo_mutants, mutants
from dbdojo.checking.engine import Checker, not_answered
from dbdojo.checking.model import Exercise
from dbdojo.checking.verdict import ERROR, FAILED, PASSED
from dbdojo.dataset import edge_workspaces, ensure_edge_variants, reset
from dbdojo.workspace import Workspace

EQUIVALENT = Path(__file__).with_name("equivalent_mutants.yaml")


def equivalents() -> dict[str, dict[str, str]]:
    """exercise id -> {mutated SQL: why it is equivalent}."""
    data = yaml.safe_load(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    return {ex: {e["sql"]: e["why"] for e in entries} for ex, entries in (data or {}).items()}


def _dialect(ex: Exercise) -> str:
    """sqlglot's dialect of the exercise's SQL: MySQL's for X3's MariaDB exercises."""
    return "mysql" if ex.options.get("database") == "mysql" else "postgres"


HARNESSES: dict[str, tuple[Callable[[Exercise], bool], Callable, Callable]] = {
    "sql": (
        lambda ex: ex.kind in ("sql", "sql-ddl"),
        lambda ex: mutants.mutants(ex.reference or "", _dialect(ex)),
        lambda ex: mutants.reprinted(ex.reference or "", _dialect(ex)),
    ),
    "mongo": (
        lambda ex: (
            ex.kind in ("mongo-query", "mongo-pipeline")
            or (ex.kind == "python" and "mongo_db(" in (ex.reference or ""))
        ),
        lambda ex: mongo_mutants.mutants(ex.reference or ""),
        lambda ex: mongo_mutants.reprinted(ex.reference or ""),
    ),
}
COUNTS = ("exercises", "mutants", "killed", "survived", "equivalent", "invalid")


def judge(checker: Checker, ex: Exercise, answer: str) -> str:
    """The verdict's status; a mutant equal to the starter is judged on the data all the same."""
    if not_answered(ex, answer):
        ex = dataclasses.replace(ex, starter="")
    return checker.check(ex, answer).status


def run(checker: Checker, harness: str, lab: str | None, known: dict) -> tuple[dict, list]:
    """Per lab, the counts; and the survivors (exercise id, operator, mutant)."""
    applies, make, control_of = HARNESSES[harness]
    rows: dict[str, dict[str, int]] = {}
    survivors: list[tuple[str, str, str]] = []
    for ex in discovery.exercises():
        if not applies(ex) or (lab and ex.lab != lab):
            continue
        tally = rows.setdefault(ex.lab, dict.fromkeys(COUNTS, 0))
        tally["exercises"] += 1
        control = control_of(ex)
        if control is None or judge(checker, ex, control) != PASSED:
            tally["invalid"] += 1  # the reference cannot be reprinted faithfully
            continue
        for mutant in make(ex):
            tally["mutants"] += 1
            status = judge(checker, ex, mutant.sql)
            if status == FAILED:
                tally["killed"] += 1
            elif status == ERROR:
                tally["invalid"] += 1
            elif mutant.sql in known.get(ex.id, {}):
                tally["equivalent"] += 1
            else:
                tally["survived"] += 1
                survivors.append((ex.id, mutant.operator, mutant.sql))
    return rows, survivors


def report(console: Console, harness: str, rows: dict) -> None:
    title = {"sql": "Mutants of the SQL references", "mongo": "Mutants of the MongoDB references"}
    table = Table("lab", *COUNTS, "kill rate", title=title[harness])
    for lab, t in rows.items():
        judged = t["killed"] + t["survived"]
        rate = f"{t['killed'] / judged:.2f}" if judged else "—"
        table.add_row(lab, *(str(t[k]) for k in COUNTS), rate)
    console.print(table)
    killed = sum(t["killed"] for t in rows.values())
    judged = killed + sum(t["survived"] for t in rows.values())
    rate = killed / judged if judged else 1.0
    console.print(f"{harness}: kill rate {rate:.3f} ({killed} of {judged}; target 1.000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", help="only this lab (p1, p2, ...)")
    parser.add_argument("--only", choices=sorted(HARNESSES), help="only this harness")
    parser.add_argument("--survivors", action="store_true", help="list every survivor")
    parser.add_argument("--save", type=Path, help="write the survivors here (YAML)")
    args = parser.parse_args()

    ensure_edge_variants()
    ws = Workspace("bench_mutants")
    reset(ws)
    checker = Checker(ws, list(edge_workspaces()))
    checker.cache_main = True
    known = equivalents()
    console = Console()
    survivors = []
    started = time.perf_counter()
    for harness in [args.only] if args.only else list(HARNESSES):
        rows, found = run(checker, harness, args.lab, known)
        report(console, harness, rows)
        survivors += found
    console.print(f"{time.perf_counter() - started:.0f} s")
    for ex_id, operator, sql in survivors if args.survivors else survivors[:10]:
        console.print(f"[yellow]survives[/] {ex_id} ({operator}): {sql}", soft_wrap=True)
    if args.save:
        found_by: dict[str, list] = {}
        for ex_id, operator, sql in survivors:
            found_by.setdefault(ex_id, []).append({"operator": operator, "sql": sql, "why": ""})
        args.save.write_text(yaml.safe_dump(found_by, sort_keys=False, width=100))


if __name__ == "__main__":
    main()
