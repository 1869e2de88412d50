"""What a test session leaves running: nothing it started, and a word about the rest.

- A temporary state directory (``isolated_state``) is emptied of its servers before it is
  removed (:func:`stop_servers_under`): a Valkey whose directory is gone cannot write its final
  snapshot and ignores SIGTERM, so it must be stopped first, and a test that forgot to stop a
  server must not leave it behind.
- At the end of the session (the controller, not the xdist workers) the checkout's own servers
  (``.dojo``: what notebooks run on) that the session started are stopped, replicas included;
  those that ran before the session are left running, and the summary says so, with their
  data's size on disk.
- At its start the session removes the temporary state directories of this user's sessions
  that were killed before they could clean up (their owner process is gone): a killed
  ``make test`` leaves gigabytes in /var/tmp, which a later run on a small disk needs. Its
  header says how much disk is free and how much a full run takes at its peak.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import psutil
import pytest

STOP_TIMEOUT = 10.0
TEMP_PARENT = Path("/var/tmp")
TEMP_PREFIX = "dojo-test-"
OWNER_FILE = ".owner"  # "<pid> <start time>" of the process that made the directory
ORPHAN_AGE = 600.0  # seconds before a directory without an owner file may be an orphan


def temporary_state_dir() -> Path:
    """A new temporary state directory under /var/tmp, marked with its owner process."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=TEMP_PARENT))
    me = psutil.Process()
    (root / OWNER_FILE).write_text(f"{me.pid} {me.create_time()}")
    return root


def _orphaned(root: Path) -> bool:
    """Whether ``root``'s owner process is gone (no owner file: no process works in it)."""
    try:
        pid, started = (root / OWNER_FILE).read_text().split()
        return psutil.Process(int(pid)).create_time() != float(started)
    except FileNotFoundError:  # an older kit's, or one made this instant: give it time
        if time.time() - root.stat().st_mtime < ORPHAN_AGE:
            return False
        return not any(_rooted_in(proc, str(root)) for proc in psutil.process_iter())
    except (ValueError, psutil.Error):
        return True


def sweep_orphaned_state_dirs() -> tuple[int, int]:
    """Stop the servers of, and remove, this user's orphaned temporary state directories;
    (how many, bytes freed)."""
    count = freed = 0
    for root in TEMP_PARENT.glob(TEMP_PREFIX + "*"):
        with contextlib.suppress(OSError):
            if root.stat().st_uid != os.geteuid() or not _orphaned(root):
                continue
            stop_servers_under(root)
            freed += _size(root)
            shutil.rmtree(root, ignore_errors=True)
            count += 1
    return count, freed


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


_swept: list[str] = []

#: The disk a full run takes at its peak from a fresh checkout (`df` sampled every 10 s through
#: `make test`): each worker's own servers, the checkout's with X1's replica, and as root the
#: classroom and copy-on-write images. As root 22.4 GB (30.8 GB when tests and notebooks made
#: spare copies); as another user 13.2 GB.
PEAK_DISK_GB = 23


def pytest_report_header(config: pytest.Config) -> str | None:
    if hasattr(config, "workerinput"):
        return None
    from dbdojo import state
    from dbdojo.failures import disk_free

    places = {TEMP_PARENT, state.known_data_root()}
    free = min(disk_free(p) for p in places if p.exists()) / 1e9
    line = (
        f"dbdojo: {free:.0f} GB free; a full run from a fresh checkout takes up to "
        f"{PEAK_DISK_GB} GB at its peak (in {TEMP_PARENT} and the checkout's state directory)"
    )
    return line + (" - the disk may run full" if free < PEAK_DISK_GB else "")


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    _before.update(_running())
    count, freed = sweep_orphaned_state_dirs()
    if count:
        _swept.append(
            f"removed {count} temporary state directories of killed test sessions "
            f"({freed / 1e9:.1f} GB in {TEMP_PARENT})"
        )


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
    lines = list(_swept)
    if started:
        lines.append(f"stopped {', '.join(sorted(started))} (started by this session)")
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
