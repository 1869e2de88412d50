"""How the server commands show their results: rich tables and one line per service."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dbdojo.connect import LABELS
from dbdojo.errors import NotFound
from dbdojo.records import Outcome
from dbdojo.services import manager

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

_STYLE = {
    "started": "green",
    "running": "green",
    "user URL": "cyan",
    "stopped": "yellow",
    "not running": "dim",
    "not installed": "yellow",
    "unavailable": "red",
    "failed": "red",
}


def run_up(only: Iterable[str] | None, *, docker: bool, wait: bool = False) -> list[Outcome]:
    """``manager.up`` with a spinner naming the servers being started (in parallel)."""
    starting: list[str] = []
    with err_console.status("Starting the databases…") as spinner:

        def announce(name: str) -> None:
            starting.append(LABELS[name])
            spinner.update(f"Starting {', '.join(starting)}…")

        return manager.up(only, docker=docker, wait=wait, on_service=announce)


def start_check_server(outcomes: list[Outcome]) -> None:
    """After ``up``: the check server that makes ``dojo grade`` quick
    (:mod:`dbdojo.commands.grade_server`), if any server came up."""
    from dbdojo.commands import grade_control

    if any(o.ok for o in outcomes) and (pid := grade_control.start()):
        console.print(f"[dim]check server: pid {pid}; `dojo grade` answers from it.[/]")


def stop_check_server() -> None:
    from dbdojo.commands import grade_control

    if grade_control.stop():
        console.print(f"[yellow]{'stopped':>11}[/] the check server")


def show_outcomes(outcomes: list[Outcome], verb: str) -> bool:
    """One line per service; returns False if any failed."""
    for outcome in outcomes:
        style = _STYLE.get(outcome.action, "")
        where = ""
        if outcome.record and verb == "up":
            rec = outcome.record
            where = f" on 127.0.0.1:{rec.port} ({rec.version}, {rec.backend})"
        detail = f" ({escape(outcome.detail)})" if outcome.detail else ""
        line = f"[{style}]{outcome.action:>11}[/] {LABELS[outcome.service]}{where}{detail}"
        (console if outcome.ok else err_console).print(line)
    if verb == "up" and any(o.ok for o in outcomes):
        console.print("[dim]URLs: `dojo status`; logs: `dojo logs SERVICE`.[/]")
    return all(o.ok for o in outcomes)


def show_status(rows: list[manager.Row], as_json: bool) -> None:
    if as_json:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
        return
    table = Table("service", "backend", "version", "URL", "healthy", "pid", "note")
    for row in rows:
        healthy = "[green]yes[/]" if row.healthy else "[red]no[/]"
        table.add_row(
            LABELS[row.service],
            row.backend,
            row.version,
            escape(row.url),
            healthy,
            str(row.pid or ""),
            escape(row.detail),
        )
    console.print(table)
    from dbdojo.commands import grade_control

    pid = grade_control.running()
    said = f"pid {pid}, `dojo grade` answers from it" if pid else "not running (`dojo up`)"
    console.print(f"[dim]check server: {said}[/]")


def show_checks(checks) -> bool:
    """The doctor's findings, with a fix for each problem; returns False if any failed."""
    marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
    table = Table("", "check", "finding", "fix")
    for check in checks:
        table.add_row(
            marks[check.level], check.title, escape(check.detail), escape(check.fix or "")
        )
    console.print(table)
    return all(check.level != "fail" for check in checks)


def show_log(path: str, lines: int, follow: bool) -> None:
    from dbdojo.procs import tail

    log = Path(path)
    if not log.exists():
        raise NotFound(f"the log {log} does not exist yet: run `dojo up`")
    print(tail(log, lines))
    if not follow:
        return
    with open(log, errors="replace") as fh:
        fh.seek(0, 2)
        try:
            while True:
                line = fh.readline()
                if line:
                    print(line, end="", flush=True)
                else:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            pass
