"""Where the kit keeps things: the checkout, its state directory, course content."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from dbdojo import env

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def project_root() -> Path:
    """The checkout the kit works for.

    ``DOJO_HOME`` wins; otherwise the nearest parent of the working directory that holds
    ``datasets/`` and a ``pyproject.toml`` naming dbdojo; otherwise the package's own checkout.
    """
    if home := env.value("DOJO_HOME"):
        return Path(home).expanduser().resolve()
    for candidate in (Path.cwd(), *Path.cwd().parents):
        if _is_checkout(candidate):
            return candidate
    return PACKAGE_DIR.parent


def _is_checkout(path: Path) -> bool:
    pyproject = path / "pyproject.toml"
    return (
        (path / "datasets").is_dir()
        and pyproject.is_file()
        and ('name = "dbdojo"' in pyproject.read_text(errors="replace"))
    )


def state_dir() -> Path:
    """One git-ignored state directory per checkout (ports, passwords, pids, data, logs)."""
    found = env.value("DOJO_STATE_DIR")
    path = project_root() / ".dojo" if found is None else Path(found)
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
