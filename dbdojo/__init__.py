"""dbdojo: a hands-on database course kit.

In a notebook, ``%load_ext dbdojo`` connects everything (see :mod:`dbdojo.notebook`), and
``import dbdojo as dojo`` gives a small API, loaded only when first used so that
``import dbdojo`` stays light:

- ``dojo.reset()``: restore the current workspace to the seeded data;
- ``dojo.use_workspace(name, fresh=True)``: switch the notebook to another workspace;
- ``dojo.check(id, answer)`` and ``dojo.hint(id)``: the labs' checker;
- ``dojo.progress([lab])``: your progress per exercise, as a table, with the next one to do;
- ``dojo.expect_error(...)``: a block that must fail with a database error;
- ``dojo.explain(sql)``: a query's plan drawn as a tree (also ``%explain`` / ``%%explain``);
- ``dojo.replicas()``: clients on the replicas of ``dojo up --replicas`` (lesson X1);
- ``dojo.require_mysql()``, ``dojo.mysql()``: the MariaDB/MySQL server (lesson X3).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "reset": "dbdojo.notebook.api",
    "use_workspace": "dbdojo.notebook.api",
    "expect_error": "dbdojo.notebook.errors",
    "check": "dbdojo.checking",
    "hint": "dbdojo.checking",
    "progress": "dbdojo.checking.progress_report",
    "replicas": "dbdojo.notebook.replicas",
    "explain": "dbdojo.notebook.explain",
    "mysql": "dbdojo.notebook.mysql",
    "require_mysql": "dbdojo.notebook.mysql",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dbdojo' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext dbdojo``: connect %sql, ``pg``, ``db`` and ``r`` to the current workspace."""
    from dbdojo.notebook.extension import load_ipython_extension as load

    load(ipython)
