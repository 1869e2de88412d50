"""Auto-checked exercises: discovery from lab notebooks, runners per kind, fair comparison,
feedback, hints, progress and the student build. See labs/README.md for authoring.

Notebook API (``dojo.check``, ``dojo.hint``) and the ``%%check`` magic
(:func:`dbdojo.checking.magics.register`) live in submodules imported on use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbdojo.checking.verdict import Verdict


def check(exercise_id: str, answer: str) -> Verdict:
    """Check ``answer`` for exercise ``exercise_id`` and show the feedback."""
    from dbdojo.checking.api import check as _check

    return _check(exercise_id, answer)


def hint(exercise_id: str) -> list[str]:
    """Show one more hint for ``exercise_id``."""
    from dbdojo.checking.api import hint as _hint

    return _hint(exercise_id)
