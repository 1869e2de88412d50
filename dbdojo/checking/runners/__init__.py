"""Runners execute an answer (or a reference) on one workspace and return its result."""

from __future__ import annotations


class AnswerError(Exception):
    """The answer could not run; ``str()`` is the database's (or Python's) message."""

    def __init__(self, message: str, hint: str = "", timeout: bool = False) -> None:
        super().__init__(message)
        self.hint = hint
        self.timeout = timeout
