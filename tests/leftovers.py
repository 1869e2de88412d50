"""What a test session leaves running: nothing it started, and a word about the rest.

- A temporary state directory (``isolated_state``) is emptied of its servers before it is
  removed (:func:`stop_servers_under`): a Valkey whose directory is gone cannot write its final
  snapshot and ignores SIGTERM, so it must be stopped first, and a test that forgot to stop a
  server must not leave it behind.
- At the end of the session (the controller, not the xdist workers) the checkout's own servers
  (``.dojo``: what notebooks run on) that the session started are stopped, replicas included;
  those that ran before the session are left running, and the summary says so, with their
  data's size on disk.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psutil
import pytest

STOP_TIMEOUT = 10.0


def _rooted_in(proc: psutil.Process, root: str) -> bool:
    with contextlib.suppress(psutil.Error):
        if proc.cwd().startswith(root):
            return True
        return any(root in part for part in proc.cmdline())
    return False


def stop_servers_under(root: Path) -> list[str]:
    """Stop every process working in or started on ``root`` (not this one); return them."""
    from dbdojo.services import manager

    previous = os.environ.get("DOJO_STATE_DIR")
    os.environ["DOJO_STATE_DIR"] = str(root)  # root's servers, whoever owns the environment now
    try:
        with contextlib.suppress(Exception):  # a damaged or half-made state: the sweep below
            manager.down()
    finally:
        if previous is None:
            os.environ.pop("DOJO_STATE_DIR", None)
        else:
            os.environ["DOJO_STATE_DIR"] = previous
    prefix = str(root)
    stopped = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid() or not _rooted_in(proc, prefix):
            continue
        with contextlib.suppress(psutil.Error):
            stopped.append(f"{proc.name()} {proc.pid}")
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except psutil.TimeoutExpired:
                proc.kill()
    return stopped


CHECK_SERVER = "check server"


def _running() -> dict[str, int]:
    """The checkout's servers (primaries, replicas, the check server) running now: name -> pid."""
    from dbdojo import state
    from dbdojo.commands import grade_control
    from dbdojo.services.manager import process_alive

    try:
        records = state.records()
    except Exception:  # no state yet, or damaged: nothing the kit can tell is running
        return {}
    found = {n: r.pid for n, r in records.items() if r.pid and process_alive(r)}
    if pid := grade_control.running():
        found[CHECK_SERVER] = pid
    return found


def _size(path: Path) -> int:
    total = 0
    for base, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(base, name)).st_size
    return total


_before: dict[str, int] = {}


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        _before.update(_running())


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    from dbdojo import state
    from dbdojo.commands import grade_control
    from dbdojo.services import manager, replicas

    now = _running()
    started = {n: pid for n, pid in now.items() if _before.get(n) != pid}
    primaries = [n for n in started if n in manager.selected(None)]
    with contextlib.suppress(Exception):
        if CHECK_SERVER in started:
            grade_control.stop()
        for name in started:
            if name in replicas.PRIMARY_OF:  # the X1 notebook's replicas
                replicas.stop(name)
        if primaries:
            manager.down(primaries)
    kept = {n: pid for n, pid in now.items() if n not in started}
    lines = [f"stopped {', '.join(sorted(started))} (started by this session)"] if started else []
    if kept:
        names = ", ".join(f"{n} (pid {pid})" for n, pid in sorted(kept.items()))
        lines.append(f"left running, as before the session: {names}; `dojo down` stops them")
    with contextlib.suppress(Exception):
        root = state.data_root()
        sizes = {p.name: _size(p) for p in root.iterdir() if p.is_dir()}
        listed = ", ".join(f"{n} {b / 1e9:.1f} GB" for n, b in sorted(sizes.items()) if b > 1e8)
        if listed:
            lines.append(f"kept in {root}: {listed} (the seeded data the next run reuses)")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(f"dbdojo servers: {line}")
        else:
            print(f"dbdojo servers: {line}")
