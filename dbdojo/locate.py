"""Which checkout the kit works for and where its state directory is, with nothing but ``os``:
the ``dojo`` launcher (:mod:`dbdojo.entry`) asks before it imports anything else.
:mod:`dbdojo.paths` gives the same answers as :class:`~pathlib.Path` objects."""

from __future__ import annotations

import os

PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))


def project_root() -> str:
    """``DOJO_HOME`` if set; otherwise the nearest parent of the working directory that holds
    ``datasets/`` and a ``pyproject.toml`` naming dbdojo; otherwise the package's own checkout."""
    if home := os.environ.get("DOJO_HOME"):
        return os.path.realpath(os.path.expanduser(home))
    here = os.getcwd()
    while True:
        if is_checkout(here):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return os.path.dirname(PACKAGE_DIR)
        here = parent


def is_checkout(path: str) -> bool:
    pyproject = os.path.join(path, "pyproject.toml")
    if not (os.path.isdir(os.path.join(path, "datasets")) and os.path.isfile(pyproject)):
        return False
    try:
        with open(pyproject, encoding="utf-8", errors="replace") as fh:
            return 'name = "dbdojo"' in fh.read()
    except OSError:
        return False


def state_dir() -> str:
    """``DOJO_STATE_DIR`` if set, else the checkout's ``.dojo`` (not created here)."""
    return os.environ.get("DOJO_STATE_DIR") or os.path.join(project_root(), ".dojo")
