"""The ``dojo`` console script: ``dojo grade`` goes to this checkout's check server when one
runs (:mod:`dbdojo.commands.grade_server`); every other command, and ``grade`` when no server
answers, to the click CLI (:mod:`dbdojo.cli`). Nothing heavy is imported before that choice."""

from __future__ import annotations

import sys

SERVED = ("grade",)
# In a path, these name this process's own streams or state (``--answer /dev/stdin``): the
# server would open its own instead.
OWN = ("/dev/", "/proc/")


def served(argv: list[str]) -> bool:
    """Whether the check server may run ``dojo <argv>`` in this process's place."""
    own = any(part in arg for arg in argv for part in OWN)
    return bool(argv) and argv[0] in SERVED and not own and not {"-h", "--help"} & set(argv)


def main() -> None:
    argv = sys.argv[1:]
    if served(argv):
        from dbdojo import locate
        from dbdojo.commands import grade_client

        code = grade_client.ask(argv, locate.state_dir())
        if code is not None:
            raise SystemExit(code)
    from dbdojo.cli import main as cli

    cli()
