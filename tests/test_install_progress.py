"""``make lab`` shows progress where there is no terminal: pip (dbdojo/install_progress.py,
run with a real pip) and the seed (a heartbeat line every few seconds)."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from dbdojo.dataset.heartbeat import heartbeat

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "dbdojo" / "install_progress.py"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def _install(*pip_args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "--every", "0.2", "--", *PIP, "install", *pip_args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_pip_reports_lines_while_it_runs_and_a_summary():
    done = _install("--progress-bar", "off", "-r", "requirements-core.txt")
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert any(line.startswith("installing the kit:") for line in lines), done.stdout
    assert "already there" in done.stdout  # it read pip's output as it came
    assert lines[-1].startswith("installed the kit in")


def test_a_failing_pip_shows_its_own_last_lines():
    failed = _install("--no-index", "dbdojo-no-such-package-zz")
    assert failed.returncode != 0
    assert "No matching distribution" in failed.stdout or "ERROR" in failed.stdout
    assert failed.stdout.splitlines()[-1].startswith("installation failed after")


def test_the_seed_prints_a_line_every_few_seconds_without_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with Progress(console=console, disable=True) as bar, heartbeat(bar, console, interval=0.1):
        task = bar.add_task("PostgreSQL: COPY orders", total=1000)
        bar.update(task, advance=250)
        time.sleep(0.35)
        beside = bar.add_task("MongoDB snapshot", total=None)  # the seed's thread
        time.sleep(0.25)
        bar.update(beside, total=1, completed=1)
        time.sleep(0.25)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert any(
        line.startswith("seeding: PostgreSQL: COPY orders 250/1,000 (25%) | MongoDB snapshot")
        for line in lines
    ), lines
    assert lines[-1].startswith("seeding: PostgreSQL: COPY orders 250/1,000 (25%) (")


def test_on_a_terminal_the_bar_draws_itself():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True)
    with Progress(console=console, disable=True) as bar, heartbeat(bar, console, interval=0.05):
        time.sleep(0.2)
    assert "seeding:" not in out.getvalue()
