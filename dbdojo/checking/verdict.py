"""The outcome of checking one answer: what the learner is told."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASSED, FAILED, ERROR, NOT_ANSWERED = "passed", "failed", "error", "not-answered"


@dataclass
class Verdict:
    exercise: str
    status: str
    message: str
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # some of the learner's own extra rows
    hint: str = ""
    target: str = "main"
    graded: bool = True  # False: the kit could not check the answer (not the answer's fault)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}

    def text(self) -> str:
        """Plain-text feedback (the CLI, logs, exceptions)."""
        icon = {PASSED: "✔", FAILED: "✘", ERROR: "✘", NOT_ANSWERED: "…"}[self.status]
        lines = [f"{icon} {self.exercise}: {self.message}"]
        lines += [f"  - {d}" for d in self.details]
        if self.examples:
            lines.append("  yours, not expected:")
            lines += [f"      {e}" for e in self.examples]
        lines += [f"  note: {n}" for n in self.notes]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class CheckFailed(AssertionError):
    """Raised in strict mode (``DOJO_STRICT=1``) when a check does not pass."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.text())
        self.verdict = verdict
