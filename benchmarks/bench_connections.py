"""PostgreSQL connections a learner's kernel holds, and what a full server tells a learner.

1. A kernel-like IPython shell runs ``%load_ext dbdojo``, one ``%sql`` query and one SQL
   ``%%check`` (main data plus every edge-case workspace); the PostgreSQL backends this process
   holds are counted after each step and at the peak of the check (sampled from another thread).
2. The server's slots are filled (``max_connections`` minus the superuser reserve), and the
   message a learner's connection then gets is printed: it must quote the server's refusal.

Uses the servers of this checkout (``dojo up`` and ``dojo seed`` first).

    .venv-test/bin/python benchmarks/bench_connections.py
"""

from __future__ import annotations

import threading
import time

from dbdojo import budget, pgroles, settings
from dbdojo.connect import ServiceDown, pg_connect
from dbdojo.dataset import pg
from dbdojo.workspace import Workspace

EXERCISE = "intro.no-phone"
ANSWER = (
    "SELECT city, count(*) AS without_phone FROM customers WHERE phone IS NULL "
    "GROUP BY 1 ORDER BY 1"
)
TARGET_IDLE = 2


def kernel_connections() -> dict[str, int]:
    from IPython.testing import globalipapp

    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    counts = {"before": budget.backends_of()}
    shell.run_line_magic("load_ext", "dbdojo")
    shell.run_line_magic("sql", "SELECT 1")
    counts["pg + %sql"] = budget.backends_of()
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], budget.backends_of())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    shell.run_cell_magic("check", EXERCISE, ANSWER)
    done.set()
    sampler.join()
    counts["during the check (peak sampled)"] = peak[0]
    counts["after one %%check (idle)"] = budget.backends_of()
    return counts


def refusal_message() -> str:
    """Connect as a learner would until the server refuses; the message the kit then gives."""
    with pg.admin() as conn:
        limit = int(conn.execute("SHOW max_connections").fetchone()[0])
    ws = Workspace("main")
    url = pgroles.url(ws, pgroles.LEARNER)
    fillers = []
    try:
        for _ in range(limit + 1):
            fillers.append(pg_connect(ws, conninfo=url))
        return "(no refusal: the server took more than max_connections)"
    except ServiceDown as exc:
        return f"after {len(fillers)} learner connections: {exc}"
    finally:
        for conn in fillers:
            conn.close()


def main() -> None:
    counts = kernel_connections()
    for step, n in counts.items():
        print(f"{step:34} {n:3d} connections")
    idle = counts["after one %%check (idle)"]
    verdict = "OK" if idle <= TARGET_IDLE else "OVER"
    print(f"idle per learner: {idle} (target <= {TARGET_IDLE}): {verdict}")
    size = settings.class_size()
    print(
        f"budget: class of {size} -> max_connections {budget.max_connections(size)} "
        f"({budget.IDLE_PER_LEARNER} idle + {budget.CHECKING_PER_LEARNER} while checking per "
        f"learner + {budget.RESERVED}); a class of 30 -> {budget.max_connections(30)}"
    )
    message = refusal_message()
    print("a learner on a full server reads:\n  " + message)
    words = ("too many clients already", "remaining connection slots are reserved")
    print("quotes the server word for word:", any(w in message for w in words))


if __name__ == "__main__":
    main()
