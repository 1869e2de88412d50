"""Mutation kill rate of the labs' SQL checks: for every ``sql`` and ``sql-ddl`` exercise, the
standard mutants of its reference (dbdojo.checking.mutants: join type, boundaries, ranking
function, tiebreaker, direction, DISTINCT, count(*), COALESCE, frame, dropped condition,
LIMIT, min/max, UNION) are checked like answers, on the main and edge-case data.

A mutant the checker passes *survives*: no data row shows that mistake, or the mutant is
equivalent to the reference (then it is recorded, with why, in
``benchmarks/equivalent_mutants.yaml`` and left out of the rate). Target: every
non-equivalent mutant killed (rate 1.00).

Runs on the servers the kit is configured with (``dojo up``, ``dojo seed``), on a freshly
reset workspace ``bench_mutants``.

    .venv-test/bin/python benchmarks/bench_mutants.py [--lab p2] [--survivors]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from dbdojo.checking import discovery
from dbdojo.checking.engine import Checker
from dbdojo.checking.mutants import mutants, reprinted
from dbdojo.dataset import edge_workspaces, ensure_edge_variants, reset
from dbdojo.workspace import Workspace

EQUIVALENT = Path(__file__).with_name("equivalent_mutants.yaml")


def equivalents() -> dict[str, dict[str, str]]:
    """exercise id -> {mutated SQL: why it is equivalent}."""
    data = yaml.safe_load(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    return {ex: {e["sql"]: e["why"] for e in entries} for ex, entries in (data or {}).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", help="only this lab (p1, p2, ...)")
    parser.add_argument("--survivors", action="store_true", help="list every survivor")
    parser.add_argument("--save", type=Path, help="write the survivors here (YAML)")
    args = parser.parse_args()

    ensure_edge_variants()
    ws = Workspace("bench_mutants")
    reset(ws)
    checker = Checker(ws, list(edge_workspaces()))
    checker.cache_main = True
    known = equivalents()
    rows, survivors = {}, []
    started = time.perf_counter()
    for ex in discovery.exercises():
        if ex.kind not in ("sql", "sql-ddl") or (args.lab and ex.lab != args.lab):
            continue
        tally = rows.setdefault(ex.lab, {"exercises": 0, "mutants": 0, "killed": 0,
                                         "survived": 0, "equivalent": 0, "invalid": 0})  # fmt: skip
        tally["exercises"] += 1
        control = reprinted(ex.reference or "")
        if control is None or not checker.check(ex, control).passed:
            tally["invalid"] += 1  # sqlglot cannot reprint this reference faithfully
            continue
        for mutant in mutants(ex.reference or ""):
            tally["mutants"] += 1
            verdict = checker.check(ex, mutant.sql)
            if verdict.status == "failed":
                tally["killed"] += 1
            elif verdict.status == "error":
                tally["invalid"] += 1
            elif mutant.sql in known.get(ex.id, {}):
                tally["equivalent"] += 1
            else:
                tally["survived"] += 1
                survivors.append((ex.id, mutant.operator, mutant.sql))
    table = Table("lab", "exercises", "mutants", "killed", "survived", "equivalent",
                  "invalid", "kill rate", title="Mutants of the SQL references")  # fmt: skip
    for lab, t in rows.items():
        judged = t["killed"] + t["survived"]
        rate = f"{t['killed'] / judged:.2f}" if judged else "—"
        table.add_row(lab, *(str(t[k]) for k in list(t)), rate)
    console = Console()
    console.print(table)
    total_killed = sum(t["killed"] for t in rows.values())
    total_judged = total_killed + sum(t["survived"] for t in rows.values())
    rate = total_killed / total_judged if total_judged else 1.0
    console.print(f"kill rate {rate:.3f} (target 1.000), {time.perf_counter() - started:.0f} s")
    for ex_id, operator, sql in survivors if args.survivors else survivors[:10]:
        console.print(f"[yellow]survives[/] {ex_id} ({operator}): {sql}", soft_wrap=True)
    if args.save:
        found: dict[str, list] = {}
        for ex_id, operator, sql in survivors:
            found.setdefault(ex_id, []).append({"operator": operator, "sql": sql, "why": ""})
        args.save.write_text(yaml.safe_dump(found, sort_keys=False, width=100))


if __name__ == "__main__":
    main()
