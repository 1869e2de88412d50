"""What notebooks call: ``dojo.check(id, answer)`` and ``dojo.hint(id)``."""

from __future__ import annotations

from dbdojo import settings
from dbdojo.checking import discovery, progress, remote
from dbdojo.checking.engine import Checker
from dbdojo.checking.feedback_kinds import feedback_kind
from dbdojo.checking.verdict import NOT_ANSWERED, CheckFailed, Verdict


def check(exercise_id: str, answer: str, *, show: bool = True) -> Verdict:
    """Check ``answer`` against exercise ``exercise_id``, record the attempt, show feedback.

    With ``DOJO_STRICT=1`` a check that does not pass raises CheckFailed (not answered yet never
    raises)."""
    from dbdojo.checking import connections, feedback

    if settings.classroom_kernel():  # a classroom kernel: the classroom service checks and records
        verdict = remote.check(exercise_id, answer)
    else:
        ex = discovery.find(exercise_id)
        with connections.bounded():  # a kernel keeps no checker connection between checks
            verdict = Checker().check(ex, answer)
        if verdict.status != NOT_ANSWERED:
            progress.record_attempt(ex.id, verdict.status, kind=feedback_kind(verdict))
    if show:
        feedback.show(verdict)
    if settings.strict() and verdict.status not in ("passed", NOT_ANSWERED):
        raise CheckFailed(verdict)
    return verdict


def hint(exercise_id: str, *, show: bool = True) -> list[str] | None:
    """Reveal one more hint of ``exercise_id``. Shows the hints so far (and returns None, so a
    notebook shows them once), or with ``show=False`` returns them."""
    from dbdojo.checking import feedback

    ex = discovery.find(exercise_id)
    if settings.classroom_kernel():
        shown = remote.hint(exercise_id)
    elif not ex.hints:
        shown = []
    else:
        shown = ex.hints[: progress.next_hint(ex.id, len(ex.hints))]
    if show:
        feedback.show_hints(ex, shown)
        return None
    return shown
