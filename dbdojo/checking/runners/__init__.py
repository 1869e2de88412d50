"""Runners execute an answer (or a reference) on one workspace and return its result."""

from __future__ import annotations

from dbdojo.errors import DojoError


class AnswerError(Exception):
    """The answer could not run; ``str()`` is the database's (or Python's) message."""

    def __init__(self, message: str, hint: str = "", timeout: bool = False) -> None:
        super().__init__(message)
        self.hint = hint
        self.timeout = timeout


class CannotCheck(DojoError, RuntimeError):
    """The checker cannot judge any answer right now (not the answer's fault): the message says
    why and what to do."""


class SandboxError(RuntimeError):
    """The answer's process could not run or said nothing usable (message for the learner)."""
