"""The ``%%check ID`` cell magic: the cell body is the learner's answer."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, cell_magic, magics_class


@magics_class
class CheckMagics(Magics):
    """The labs' magics, registered on a shell by ``%load_ext dbdojo``."""

    @cell_magic
    def check(self, line: str, cell: str) -> None:
        """``%%check ID``: check the cell's answer to exercise ``ID`` and show the verdict."""
        from dbdojo.checking.api import check

        exercise_id = line.strip()
        if not exercise_id:
            print("usage: %%check <exercise id>, then your answer on the next lines")
            return
        check(exercise_id, cell)


def register(ipython: Any) -> None:
    """Register ``%%check`` on an IPython shell (called by ``%load_ext dbdojo``)."""
    ipython.register_magics(CheckMagics)
