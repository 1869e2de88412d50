"""Where the kit keeps things: the checkout, its state directory, course content."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from dbdojo import env, locate

PACKAGE_DIR = Path(locate.PACKAGE_DIR)


@cache
def project_root() -> Path:
    """The checkout the kit works for (see :func:`dbdojo.locate.project_root`)."""
    return Path(locate.project_root())


def state_dir() -> Path:
    """One git-ignored state directory per checkout (ports, passwords, pids, data, logs)."""
    path = Path(env.value("DOJO_STATE_DIR") or project_root() / ".dojo")
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkout_id() -> str:
    """A short stable id for this checkout, so two checkouts on one machine never collide."""
    return hashlib.sha1(str(project_root()).encode()).hexdigest()[:8]


def datasets_dir() -> Path:
    return project_root() / "datasets"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def labs_dir() -> Path:
    return project_root() / "labs"
