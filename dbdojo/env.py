"""The process environment and a checkout's ``.env`` file: where every ``DOJO_*`` value is read.

It sits below :mod:`dbdojo.paths` and :mod:`dbdojo.settings`: ``paths`` reads ``DOJO_STATE_DIR``
here (``DOJO_HOME``, which says where the checkout and so its ``.env`` are, is read by
:mod:`dbdojo.locate` with ``os`` alone), and ``settings`` gives every other ``DOJO_*`` variable
a typed accessor built on :func:`value`.
"""

from __future__ import annotations

import os
from pathlib import Path


def value(name: str, dotenv: Path | None = None) -> str | None:
    """``name`` from the environment; when that is unset or empty and ``dotenv`` is given,
    from that ``.env`` file (``None`` where neither has it)."""
    found = os.environ.get(name)
    if dotenv is None or found:
        return found
    if not dotenv.is_file():
        return None
    from dotenv import dotenv_values  # only when there is a file to read (a fast `dojo grade`)

    return dotenv_values(dotenv).get(name)
