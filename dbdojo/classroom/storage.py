"""Where learners' PostgreSQL copies live: clones of one class base, sharing its blocks.

A learner's copy of the default dataset is ~0.8 GB when copied, a few MB when cloned on a
copy-on-write file system (PostgreSQL 18's ``file_copy_method = clone``). ``classroom up``:

- the data directory clones already (XFS with reflink, btrfs): learners' copies are clones
  of the template; nothing more to do;
- else, as root with ``mkfs.xfs``: a sparse XFS image under the kit's state directory,
  loop-mounted (:mod:`dbdojo.dataset.xfsimage`), holds the tablespace ``dojo_class``; ONE
  full copy of the template goes there (``dojo_template_class``, the class base, no
  connections allowed) and every learner's workspace is cloned from it, on each reset too,
  with a spare clone for instant resets (it costs next to nothing there);
- else full copies, said in one line with what they cost and how to get the cheap path.

Isolation: the tablespace is the learners' databases' default tablespace, which PostgreSQL
lets a database's users fill without a privilege on it; nobody is granted CREATE on it or on
``pg_default``, so a learner can neither move their database nor put objects elsewhere. A
learner filling the image fills it for the class (as filling the disk would, before).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dbdojo import procs
from dbdojo.dataset import disk, pg, pgfiles, xfsimage
from dbdojo.paths import state_dir

TABLESPACE = "dojo_class"
BASE = "dojo_template_class"
PRIVATE_PER_LEARNER = 100 * 10**6  # room for what each learner writes
_LOCK = "dbdojo.classroom.base"
Say = Callable[[str], None]


def image_file() -> Path:
    return state_dir() / "class-pg.xfs"


def mount_dir() -> Path:
    return state_dir() / "class-pg"


def image_bytes(template_bytes: int, learners: int) -> int:
    """The image's size: the base twice (a refresh after a new seed) and room per learner."""
    return 2 * template_bytes + PRIVATE_PER_LEARNER * learners


def prepare(learners: int, say: Say = print, image: bool = True) -> str:
    """Make learners' copies cheap where this machine allows; returns the database to clone
    their workspaces from (the template, or the class base in the image)."""
    template = pg.template_name()
    with pg.admin() as conn:
        if not pg.exists(conn, template):  # not seeded: the first reset says so
            return template
        if pgfiles.clones(conn, template):
            say("PostgreSQL's data directory clones files: learners' copies share the seeded data")
            return template
        size = disk.template_bytes()
    full = f"each learner's PostgreSQL copy is a full {disk.human(size)}"
    problem = "--no-data-image" if not image else xfsimage.unavailable()
    if problem is None:
        try:
            xfsimage.mount(image_file(), mount_dir(), image_bytes(size, learners))
            _tablespace(mount_dir() / "pg")
            refresh()
        except xfsimage.Refused as exc:
            problem = str(exc)
    if problem is not None:
        say(
            f"{full} ({problem}); for a few MB each, put the kit's state directory on XFS or "
            "btrfs, or run `classroom up` as root with xfsprogs installed"
        )
        return template
    say(f"learners' PostgreSQL copies: clones of {BASE} in {image_file()} (XFS, copy-on-write)")
    return BASE


def _tablespace(location: Path) -> None:
    """The tablespace in ``location`` (made, owned by the servers' user), if missing."""
    from psycopg import sql

    location.mkdir(mode=0o700, exist_ok=True)
    user = procs.run_as()
    if user is not None:
        import os

        os.chown(location, user.uid, user.gid)
    with pg.admin() as conn:
        if conn.execute("SELECT 1 FROM pg_tablespace WHERE spcname = %s", (TABLESPACE,)).fetchone():
            return
        conn.execute(
            sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(
                sql.Identifier(TABLESPACE), sql.Literal(str(location))
            )
        )


def remount() -> bool:
    """Mount the class's image again if it exists and is not mounted (after a reboot, before
    PostgreSQL starts: its tablespace lives there); True if it is mounted now. A refusal is
    left to ``classroom up`` to report."""
    if xfsimage.mounted(mount_dir()):
        return True
    if not image_file().exists():
        return False
    try:
        xfsimage.mount(image_file(), mount_dir(), 0)
    except xfsimage.Refused:
        return False
    return True


def refresh() -> None:
    """The class base: a full copy of the template in the tablespace, made again when the
    template has changed (a new seed); learners' copies made before keep their blocks."""
    from psycopg import sql

    template = pg.template_name()
    with pg.admin() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (_LOCK,))
        try:
            if pg.exists(conn, BASE) and pg.label(conn, BASE) == pg.label(conn, template):
                return
            building = f"{BASE}_new"
            pg.drop(conn, building)
            pg.create_copy(conn, template, building, "FILE_COPY", tablespace=TABLESPACE)
            conn.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(
                    sql.Identifier(building)
                )
            )
            pg.swap_in(conn, building, BASE)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_LOCK,))


def source() -> str:
    """What a learner's reset clones: the class base if the classroom has one (made fresh
    after a new seed), else the template."""
    template = pg.template_name()
    if not xfsimage.mounted(mount_dir()):
        return template
    with pg.admin() as conn:
        if not pg.exists(conn, BASE):
            return template
        fresh = pg.label(conn, BASE) == pg.label(conn, template)
    if not fresh:
        refresh()
    return BASE


def release(say: Say = print) -> None:
    """Drop the class base and the tablespace, unmount and delete the image (after the
    learners' databases are dropped); says what stays if something still uses it."""
    from psycopg import errors, sql

    if not image_file().exists() and not xfsimage.mounted(mount_dir()):
        return
    with pg.admin() as conn:
        for name in (BASE, f"{BASE}_new", f"{BASE}_old"):
            pg.drop(conn, name)
        try:
            conn.execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(TABLESPACE)))
        except errors.ObjectNotInPrerequisiteState as exc:
            say(f"kept {image_file()}: tablespace {TABLESPACE} still holds databases ({exc})")
            return
    xfsimage.unmount(image_file(), mount_dir())
    say(f"removed the learners' PostgreSQL image {image_file()}")


def clones(source: str) -> bool:
    """Whether copies of ``source`` are clones (share its blocks)."""
    with pg.admin() as conn:
        return pgfiles.clones(conn, source)


def learner_bytes(database: str) -> tuple[int, bool]:
    """What a learner's database takes on disk, and whether the rest is shared."""
    with pg.admin() as conn:
        if not pg.exists(conn, database):
            return 0, False
        return pgfiles.on_disk(conn, database)
