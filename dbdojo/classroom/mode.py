"""Who learners' JupyterLabs run as: a system user each, or the instructor's own user.

- ``system-users`` (root, the default there): each learner is a system user ``dojo-<name>``
  with a private home in ``/home``; files are isolated by the operating system.
- ``shared-user`` (not root, or ``classroom up --shared-user``): no user can be created, so
  each learner's JupyterLab runs as the instructor's user, in its own process, with its own
  home under ``.dojo/classroom/homes/``. Databases are isolated as in the other mode; files
  are not: every learner's process can read and change what the instructor's user can.

``classroom up`` records the mode it chose; ``down``, ``reset`` and ``status`` follow it.
"""

from __future__ import annotations

import os
from pathlib import Path

from dbdojo.classroom import layout

SYSTEM = "system-users"
SHARED = "shared-user"
HOME_ROOT = Path("/home")


def _mode_file() -> Path:
    return layout.classroom_dir() / "mode"


def choose(shared_user: bool = False) -> str:
    """``shared-user`` when asked or when users cannot be created (not root)."""
    return SHARED if shared_user or os.geteuid() != 0 else SYSTEM


def record(mode: str) -> None:
    _mode_file().write_text(mode + "\n")


def current() -> str:
    """The recorded mode (what this machine allows if the classroom never came up)."""
    path = _mode_file()
    return path.read_text().strip() if path.exists() else choose()


def shared() -> bool:
    return current() == SHARED


def homes_root() -> Path:
    return layout.classroom_dir() / "homes" if shared() else HOME_ROOT


def warning(instructor: str) -> str:
    """What ``classroom up`` says when it starts in shared-user mode."""
    return (
        f"shared-user mode: every learner's JupyterLab runs as {instructor!r} in its own "
        f"process and home under {homes_root()}. Databases stay isolated per learner (their "
        "own role, Valkey user and MongoDB database); files are NOT: a learner's code can read "
        "and change other learners' homes, the instructor's labs (solutions) and the kit's "
        "state (the servers' admin passwords). Use it where every learner is trusted, or run "
        "`classroom up` as root for one system user per learner."
        + (" As root, that is root itself: for testing only." if os.geteuid() == 0 else "")
    )
