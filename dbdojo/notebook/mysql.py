"""MariaDB/MySQL in a notebook (lesson X3): ``dojo.require_mysql()`` and ``dojo.mysql()``.

``require_mysql()`` goes first in the X3 notebook and lab: without a server (none installed,
none running, not seeded) it stops the notebook there with one message saying how to get one,
instead of every later cell failing on its own.
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd


class MySQLUnavailable(RuntimeError):
    """No MariaDB/MySQL server to work with; the message says how to get one."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"MariaDB/MySQL is not available: {self}"]


def require_mysql() -> str:
    """The server's version (``MariaDB 10.11.18``) if it answers and holds the dataset; else
    raise :class:`MySQLUnavailable` saying what to do. The first time in a workspace, its
    MariaDB database is made from the seeded template (a minute)."""
    from dbdojo.connect import NotSeeded, ServiceDown
    from dbdojo.dataset import mysql_data
    from dbdojo.mysql_client import available
    from dbdojo.workspace import current

    if why := available():
        raise MySQLUnavailable(f"{why}. Then run `dojo up` and `dojo seed`, and this notebook.")
    if mysql_data.template_checksum() is None:
        raise MySQLUnavailable("MariaDB holds no seeded data yet: run `dojo seed`")
    if not mysql_data.has_copy(current()):
        print(
            f"Copying the seeded tables into MariaDB for workspace {current().name}…",
            file=sys.stderr,
        )
        mysql_data.reset(current())
    try:
        with mysql() as my:
            version = my.value("SELECT VERSION()")
            my.value("SELECT COUNT(*) FROM dataset_info")
    except (NotSeeded, ServiceDown) as exc:
        raise MySQLUnavailable(str(exc)) from exc
    except Exception as exc:  # no dataset_info: loaded before a seed finished
        raise MySQLUnavailable(f"the dataset is not loaded ({exc}): run `dojo seed`") from exc
    kind = "MariaDB" if "MariaDB" in version else "MySQL"
    return f"{kind} {version.split('-')[0]}"


class MySQL:
    """A connection to the workspace's MariaDB database with notebook conveniences."""

    def __init__(self, **kwargs: Any) -> None:
        from dbdojo.mysql_client import mysql_connect

        self.conn = mysql_connect(**kwargs)

    def run(self, sql: str, params: Any = None) -> int:
        """Run one statement; returns the affected row count."""
        with self.conn.cursor() as cur:
            return cur.execute(sql, params)

    def df(self, sql: str, params: Any = None) -> pd.DataFrame:
        """A query's rows as a DataFrame."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            columns = [d[0] for d in cur.description or ()]
            return pd.DataFrame(list(cur.fetchall()), columns=columns)

    def value(self, sql: str, params: Any = None) -> Any:
        """The first column of the first row (None when there is no row)."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return row[0] if row else None

    def reset(self) -> None:
        """Put the workspace's MariaDB database back to the seeded data (about a minute)."""
        from dbdojo.dataset import mysql_data
        from dbdojo.workspace import current

        took = mysql_data.reset(current())
        self.conn.select_db(current().database)  # its database was dropped and made again
        print(f"MariaDB is back to the seeded data ({took or 0:.0f} s).")

    def warnings(self) -> pd.DataFrame:
        """``SHOW WARNINGS`` of the last statement (implicit conversions, truncations)."""
        return self.df("SHOW WARNINGS")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> MySQL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mysql(**kwargs: Any) -> MySQL:
    """The current workspace's MariaDB database (autocommit; ``autocommit=False`` for
    transactions): ``my.df(sql)``, ``my.run(sql)``, ``my.value(sql)``."""
    return MySQL(**kwargs)
