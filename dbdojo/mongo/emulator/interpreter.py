"""The Python that runs the MongoDB emulator as the unprivileged server user.

As root, the kit runs its servers as ``nobody`` (:func:`dbdojo.procs.run_as`), and the emulator
is a Python program: ``nobody`` must be able to run this interpreter and import the kit and
mongoeco. A Python under a private directory (pyenv under ``/root``, a virtual environment in a
home directory) is out of its reach; then what is out of reach is mirrored into the data root,
as the PostgreSQL binaries are (:func:`dbdojo.services.postgres._reachable`): hard links where
the file system allows, so the copy costs next to no disk.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import dbdojo
from dbdojo import procs, state


def interpreter(user: procs.RunAs | None) -> tuple[str, dict[str, str]]:
    """The Python executable for ``user`` and the environment variables it needs."""
    if user is None:
        return sys.executable, {}
    roots = import_roots()
    python = Path(sys.executable)
    if procs.can_reach(python, user) and all(procs.can_reach(p, user, "r") for p, _ in roots):
        return sys.executable, {}
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    base = Path(sys.base_prefix)
    libdir = Path(sysconfig.get_config_var("LIBDIR") or base / "lib")
    home = reachable(base, user, f"python-{version}", ["bin", str(libdir.relative_to(base))])
    paths = [reachable(root, user, f"pylib-{root.name}", parts) for root, parts in roots]
    env = {
        "PYTHONPATH": os.pathsep.join(str(p) for p in paths),
        "PYTHONNOUSERSITE": "1",
        # an interpreter built with an absolute RUNPATH (pyenv's) looks for libpython there
        "LD_LIBRARY_PATH": str(home / "lib"),
    }
    return str(home / "bin" / f"python{version}"), env


def import_roots() -> list[tuple[Path, list[str]]]:
    """Directories to put on the emulator's ``sys.path``, each with what it must hold: where
    mongoeco (and what it needs) is installed, and the directory holding the kit's package
    (an editable install's checkout: only its ``dbdojo`` package)."""
    spec = importlib.util.find_spec("mongoeco")
    assert spec is not None and spec.origin, "mongoeco is not installed"
    site = Path(spec.origin).resolve().parents[1]
    package = Path(dbdojo.__file__).resolve().parent
    roots = [(site, ["."])]
    return roots if package.parent == site else [*roots, (package.parent, [package.name])]


def reachable(path: Path, user: procs.RunAs, label: str, parts: list[str]) -> Path:
    """``path`` if ``user`` can read it, else a mirror of its ``parts`` in the data root, made
    once per content (a changed installation gets a new mirror, and older ones go)."""
    if procs.can_reach(path, user, "r") and procs.can_reach(path, user, "x"):
        return path
    stamp = hashlib.sha1(f"{path}:{_newest(path, parts)}".encode()).hexdigest()[:10]
    root = state.data_root()
    mirror = root / f"{label}-{stamp}"
    for old in root.glob(f"{label}-*"):
        if old != mirror and not old.name.endswith(".partial"):
            shutil.rmtree(old, ignore_errors=True)
    return procs.mirror_tree(path, mirror, parts)


def _newest(path: Path, parts: list[str]) -> int:
    """The newest modification time of the files under ``parts`` of ``path``."""
    newest = 0
    for part in parts:
        for current, dirs, files in os.walk(path / part):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                newest = max(newest, os.lstat(os.path.join(current, name)).st_mtime_ns)
    return newest
