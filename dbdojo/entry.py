"""The ``dojo`` console script: ``dojo grade`` goes to this checkout's check server when one
runs (:mod:`dbdojo.commands.grade_server`); every other command, and ``grade`` when no server
answers, to the click CLI (:mod:`dbdojo.cli`). Nothing heavy is imported before that choice."""

from __future__ import annotations

import sys

SERVED = ("grade",)


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] and argv[0] in SERVED and not {"-h", "--help"} & set(argv):
        from dbdojo import locate
        from dbdojo.commands import grade_client

        code = grade_client.ask(argv, locate.state_dir())
        if code is not None:
            raise SystemExit(code)
    from dbdojo.cli import main as cli

    cli()
