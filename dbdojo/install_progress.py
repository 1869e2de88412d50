"""Run pip (or any installer) and show that it is alive: ``make lab`` calls it before the kit
is installed, so it uses the standard library only.

    python dbdojo/install_progress.py -- .venv/bin/pip install -r requirements.txt -e .

On a terminal one status line is redrawn in place (elapsed time, packages collected, what pip
does now); elsewhere a line is printed every ``--every`` seconds. pip's full output is shown
only when it fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TextIO

WORDS = ("Collecting", "Downloading", "Using cached", "Requirement already satisfied")


@dataclass
class State:
    """What pip has said so far."""

    started: float = field(default_factory=time.monotonic)
    collected: int = 0
    satisfied: int = 0
    now: str = "starting pip"
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=60))

    def read(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        self.tail.append(line)
        if line.startswith("Collecting"):
            self.collected += 1
        elif line.startswith("Requirement already satisfied"):
            self.satisfied += 1
        if line.startswith(WORDS) or line.startswith(("Installing", "Building", "Successfully")):
            self.now = line[:70]

    def status(self) -> str:
        elapsed = time.monotonic() - self.started
        counts = f"{self.collected} collected" + (
            f", {self.satisfied} already there" if self.satisfied else ""
        )
        return f"installing the kit: {elapsed:4.0f} s, {counts}: {self.now}"


def run(command: list[str], out: TextIO, every: float, tty: bool) -> int:
    """Run ``command``, reporting on ``out``; returns its exit status."""
    state = State()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    stop = threading.Event()
    width = 0

    def show() -> None:
        nonlocal width
        text = state.status()
        if tty:
            out.write("\r" + text.ljust(width)[:120])
            width = min(len(text), 120)
        else:
            out.write(text + "\n")
        out.flush()

    def ticker() -> None:
        while not stop.wait(every if not tty else 0.5):
            show()

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        state.read(line)
    code = proc.wait()
    stop.set()
    thread.join()
    if tty:
        out.write("\r" + " " * width + "\r")
    elapsed = time.monotonic() - state.started
    if code:
        out.write("\n".join(state.tail) + "\n")
        out.write(f"installation failed after {elapsed:.0f} s (pip's last lines above)\n")
    else:
        out.write(f"installed the kit in {elapsed:.0f} s ({state.collected} packages collected)\n")
    out.flush()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=5.0, help="seconds between lines")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    return run(command, sys.stdout, args.every, sys.stdout.isatty())


if __name__ == "__main__":
    sys.exit(main())
