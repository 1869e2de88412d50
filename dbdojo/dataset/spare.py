"""Background job of a reset: drop the replaced copy, prepare the next spare copy.

    python -m dbdojo.dataset.spare TEMPLATE TARGET

The spare is built under a temporary name and renamed only when complete, so a reset never
swaps in a half-made copy; concurrent jobs for one target are serialized by an advisory lock.
"""

from __future__ import annotations

import sys

from dbdojo.dataset import pg


def prepare(template: str, target: str) -> None:
    spare = pg.spare_name(target)
    with pg.admin() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"dbdojo.spare.{target}",))
        pg.drop(conn, f"{target}_old")
        if not pg.exists(conn, target) or not pg.exists(conn, template):
            return
        if pg.spare_ready(conn, template, target):  # an earlier job made it while we waited;
            return  # replacing it would pull it from under a reset that is about to use it
        building = f"{spare}_new"
        pg.drop(conn, building)
        pg.create_copy(conn, template, building, "FILE_COPY")
        pg.drop(conn, spare)
        pg.swap_in(conn, building, spare)


if __name__ == "__main__":
    prepare(sys.argv[1], sys.argv[2])
