"""The ``%%check ID`` cell magic: the cell body is the learner's answer."""

from __future__ import annotations

from typing import Any


def check_cell(line: str, cell: str) -> None:
    from dbdojo.checking.api import check

    exercise_id = line.strip()
    if not exercise_id:
        print("usage: %%check <exercise id>, then your answer on the next lines")
        return
    check(exercise_id, cell)


def register(ipython: Any) -> None:
    """Register ``%%check`` on an IPython shell (called by ``%load_ext dbdojo``)."""
    ipython.register_magic_function(check_cell, magic_kind="cell", magic_name="check")
