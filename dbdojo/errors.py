"""The kit's one base error: a failure it expects and can explain in a sentence.

``dojo`` prints a :class:`DojoError`'s message (and exits 1); any other exception is a bug and
keeps its traceback. Every error the kit raises on purpose derives from it, and also from the
builtin it has always been (``RuntimeError``, ``ValueError``, ``LookupError``), so existing
``except`` clauses keep working.
"""

from __future__ import annotations


class DojoError(Exception):
    """A failure the kit expects (a server down, a bad URL, data not seeded yet, ...); its
    message says what happened and what to do."""


class NotFound(DojoError, LookupError):
    """Something a command needs does not exist (yet): a log, JupyterLab, a snapshot."""


class Invalid(DojoError, ValueError):
    """A name or value given to the kit cannot be right; the message says what fits."""
