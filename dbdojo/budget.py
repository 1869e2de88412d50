"""The connection budget of a class sharing one PostgreSQL server.

A learner's kernel holds two idle connections (``pg`` and the one behind ``%sql``); while a
check runs, the checker adds two more (the kit's own and the answer role's, one workspace at a
time, closed when the check ends). The kit, the instructor, background spare jobs and replicas
need a few more, as does the check server of ``dojo up`` (:mod:`dbdojo.commands.grade_server`:
one per workspace a ``dojo grade`` checks on, nine for an SQL exercise, closed after a minute
without grades). ``dojo up`` sets PostgreSQL's ``max_connections`` from the expected class size
(``DOJO_CLASS_SIZE`` in the environment or ``.env``) and ``dojo status`` shows it.
"""

from __future__ import annotations

from dbdojo import settings

IDLE_PER_LEARNER = 2  # pg and %sql
CHECKING_PER_LEARNER = 2  # the checker's admin and answer-role connections, during a check
RESERVED = 20  # the instructor, dojo commands, spare jobs, replicas, superuser slots
FLOOR = 100  # PostgreSQL's own default: never below it


def max_connections(size: int | None = None) -> int:
    """``max_connections`` for a class of ``size`` learners (default: the expected class,
    :func:`dbdojo.settings.class_size`)."""
    size = settings.class_size() if size is None else size
    return max(FLOOR, size * (IDLE_PER_LEARNER + CHECKING_PER_LEARNER) + RESERVED)


def describe(in_use: int, limit: int) -> str:
    """One line for ``dojo status``: connections in use, the limit, and the class it fits."""
    size = settings.class_size()
    line = f"{in_use}/{limit} connections, sized for a class of {size}"
    wanted = max_connections(size)
    if wanted != limit:
        var = settings.CLASS_SIZE_ENV
        line += f"; {var}={size} needs {wanted}: `dojo down && dojo up` applies it"
    return line


def backends_of(pid: int | None = None) -> int:
    """PostgreSQL backends whose client socket belongs to process ``pid`` (default: this one),
    the admin connection asking excluded: what a kernel costs the server."""
    import psutil

    from dbdojo.connect import pg_server

    ports = {
        c.laddr.port
        for c in psutil.Process(pid).net_connections("tcp")
        if c.raddr and c.status == psutil.CONN_ESTABLISHED
    }
    with pg_server() as conn:
        rows = conn.execute(
            "SELECT client_port FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(1 for (port,) in rows if port in ports)
