"""``%load_ext dbdojo``: everything a notebook needs, connected to the current workspace.

Injects ``pg`` (psycopg, autocommit), ``db`` (pymongo Database), ``r`` (redis-py, str
responses) and ``dojo`` (the package), points ``%sql`` at the workspace's PostgreSQL, registers
``%%expect_error``, ``%explain`` and the labs' ``%%check``, and prints a one-line banner
(:mod:`.session` holds the clients). Before each
cell, a PostgreSQL connection the server closed (``dojo reset`` in a terminal) is replaced
(:mod:`.heal`).
"""

from __future__ import annotations

from typing import Any

from dbdojo.notebook import explain, heal, session
from dbdojo.settings import strict


def load_ipython_extension(ip: Any) -> None:
    import dbdojo
    from dbdojo.checking.magics import register as register_check
    from dbdojo.notebook.errors import expect_error_magic, install_learner_handler

    session.end()
    if not strict():
        install_learner_handler(ip)
    ip.register_magic_function(
        lambda line, cell: expect_error_magic(ip, line, cell),
        magic_kind="cell",
        magic_name="expect_error",
    )
    register_check(ip)
    explain.register(ip)
    ip.push({"dojo": dbdojo})
    heal.install(ip, session.start(ip))


def unload_ipython_extension(ip: Any) -> None:
    session.end()
