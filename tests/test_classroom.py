"""Classroom mode end to end (issue 18): a classroom of three learners on servers of its own
(tiny dataset), two of them logged in through the hub in headless Chromium, each solving one
exercise in their own kernel, the dashboard showing it; then what isolates one learner from
another, with destructive answers side by side.

Both modes (dbdojo.classroom.mode): as root, the system-user mode and the shared-user mode
(forced); as another user, the shared-user mode only (no user can be created: the issue's
"separate processes with separate homes"). The database-isolation tests run in both; the
file-isolation asserts belong to the system-user mode. Needs configurable-http-proxy (npm)
and Debian's chromium; the learners' environment is installed once (minutes the first time).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis

from dbdojo import procs
from dbdojo.classroom import control, layout, mode, provision, roster, storage
from dbdojo.classroom.roster import Learner
from dbdojo.dataset import xfsimage
from dbdojo.workspace import Workspace
from tests.helpers import isolated_state

CHROMIUM = "/usr/bin/chromium"
EXERCISE = "intro.no-phone"
QUERY = (
    "SELECT city, count(*) AS without_phone FROM customers\nWHERE {} GROUP BY city ORDER BY city"
)
RIGHT, WRONG = QUERY.format("phone IS NULL"), QUERY.format("phone = NULL")  # the planted one
KERNEL_JS = (Path(__file__).parent / "classroom" / "learner_kernel.js").read_text()
MODES = [
    pytest.param(
        mode.SYSTEM,
        marks=pytest.mark.skipif(
            os.geteuid() != 0, reason="system users need root (the shared-user mode runs)"
        ),
    ),
    mode.SHARED,
]


@pytest.fixture(scope="module", params=MODES)
def room(request):
    """A classroom of ann, bob and cyd, brought up as an instructor does; removed after."""
    assert shutil.which("configurable-http-proxy"), "npm install -g configurable-http-proxy"
    from dbdojo.dataset import ensure_seeded
    from dbdojo.services import manager

    with isolated_state():
        manager.up(wait=True)
        try:
            ensure_seeded("tiny")
            learners = [roster.new_learner(n) for n in ("tstann", "tstbob", "tstcyd")]
            port = procs.free_port()
            shared, said = request.param == mode.SHARED, []
            where = control.up(learners, "127.0.0.1", port, say=said.append, shared_user=shared)
            assert mode.current() == request.param
            # the shared-user mode says what it does not protect
            assert any("files are NOT" in line for line in said) == shared, said
            # as root with xfsprogs, learners' PostgreSQL copies are clones in an XFS image
            cheap = xfsimage.unavailable() is None
            assert any("clones of" in line for line in said) == cheap, said
            yield {"learners": {x.name: x for x in learners}, "port": port, "mode": request.param,
                   **where}  # fmt: skip
        finally:
            control.down(remove=True, say=lambda _: None)
            manager.down()


def _kernel_user(learner: Learner, room: dict) -> str:
    """Whom a learner's kernel runs as: their system user, or the instructor."""
    if room["mode"] == mode.SYSTEM:
        return learner.user
    return pwd.getpwuid(os.geteuid()).pw_name


def _as_learner(learner: Learner, room: dict, *cmd: str) -> subprocess.CompletedProcess:
    """``cmd`` as the learner's kernel would run it (their system user, or the instructor)."""
    if room["mode"] == mode.SYSTEM:
        cmd = ("runuser", "-u", learner.user, "--", *cmd)
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def _pg(learner: Learner, database: str | None = None) -> psycopg.Connection:
    env = provision.learner_env(learner, "")
    url = env["DOJO_POSTGRES_URL"]
    if database:
        url = url.rsplit("/", 1)[0] + "/" + database
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _redis(learner: Learner) -> redis.Redis:
    return redis.Redis.from_url(provision.learner_env(learner, "")["DOJO_REDIS_URL"])


# -- through the hub, in a browser ----------------------------------------------------------


def test_two_learners_log_in_solve_and_the_dashboard_shows_it(room):
    from playwright.sync_api import sync_playwright

    ann, bob = room["learners"]["tstann"], room["learners"]["tstbob"]
    hub = room["hub"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            outputs = {}
            for learner in (ann, bob):
                page = browser.new_context().new_page()
                page.goto(hub + "hub/login")
                page.fill("#username_input", learner.name)
                page.fill("#password_input", learner.password)
                page.click("#login_submit")
                page.wait_for_url(f"**/user/{learner.user}/lab**", timeout=180_000)
                base = f"/user/{learner.user}/"
                code = (
                    "%load_ext dbdojo\n"
                    f"get_ipython().run_cell_magic('check', {EXERCISE!r}, {WRONG!r})\n"
                    f"get_ipython().run_cell_magic('check', {EXERCISE!r}, {RIGHT!r})\n"
                    "import os, pwd; print('user:', pwd.getpwuid(os.getuid()).pw_name)\n"
                    "print('home:', os.environ['HOME'], os.getcwd())\n"
                    "print('pid:', os.getpid())\n"
                    "print('db:', pg.execute('select current_database()').fetchone()[0])"
                )
                outputs[learner.name] = page.evaluate(KERNEL_JS, {"base": base, "code": code})
            pids = {o.split("pid: ")[1].split()[0] for o in outputs.values() if "pid: " in o}
            assert len(pids) == 2, outputs  # a kernel process each
            for learner in (ann, bob):
                out = outputs[learner.name]
                assert f"user: {_kernel_user(learner, room)}\n" in out, out
                home = provision.home(learner)
                assert f"home: {home} {home}\n" in out, out  # a home (and process) each
                assert f"db: {Workspace(learner.workspace).database}" in out, out
                assert "rows missing" in out and "correct" in out, out
            page = browser.new_context().new_page()
            page.goto(room["dashboard"])
            for learner in (ann, bob):
                page.wait_for_selector(
                    f'tr[data-learner="{learner.name}"] td[data-exercise="{EXERCISE}"]'
                    '[data-state="solved"]',
                    timeout=30_000,
                )
            cyd_cell = page.locator(
                f'tr[data-learner="tstcyd"] td[data-exercise="{EXERCISE}"]'
            ).get_attribute("data-state")
            assert cyd_cell == "not started"
            assert "no rows or documents (2)" in page.locator("#per").inner_text()  # both: = NULL
        finally:
            browser.close()
    rows = {r["learner"]: r for r in control.status()}
    assert rows["tstann"]["connected"] and rows["tstbob"]["connected"]
    assert not rows["tstcyd"]["connected"]
    assert rows["tstann"]["solved"] == 1 and rows["tstcyd"]["solved"] == 0
    template = storage.learner_bytes("dojo_template")[0]
    for row in rows.values():  # a clone's own bytes where copies are clones, else the copy's
        assert (row["postgres_bytes"] < template / 5) == row["shares_base"], row


def test_a_wrong_password_does_not_log_in(room):
    import urllib.parse
    import urllib.request

    ann = room["learners"]["tstann"]
    jar = urllib.request.HTTPCookieProcessor()
    opener = urllib.request.build_opener(jar)
    page = opener.open(room["hub"] + "hub/login").read().decode()
    xsrf = page.split('name="_xsrf" value="')[1].split('"')[0]
    for password in (ann.password + "x", room["learners"]["tstbob"].password, ""):
        data = urllib.parse.urlencode(
            {"_xsrf": xsrf, "username": ann.name, "password": password}
        ).encode()
        try:
            body = opener.open(room["hub"] + "hub/login", data=data).read().decode()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode()
        assert "Invalid username or password" in body


# -- isolation, two learners side by side ---------------------------------------------------


def test_postgres_roles_are_confined_to_their_own_database(room):
    ann, bob = room["learners"]["tstann"], room["learners"]["tstbob"]
    with _pg(ann) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        assert row.fetchone() == (False, False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT pg_read_file('/etc/passwd')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("COPY (SELECT 1) TO PROGRAM 'id'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE DATABASE mine")
    for database in (Workspace(bob.workspace).database, "dojo", "postgres"):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            _pg(ann, database)


def test_drop_schema_by_one_learner_leaves_the_other_intact(room):
    ann, bob = room["learners"]["tstann"], room["learners"]["tstbob"]
    with _pg(bob) as conn:
        before = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    with _pg(ann) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        assert conn.execute("SELECT to_regclass('public.orders')").fetchone()[0] is None
    with _pg(bob) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == before > 0


def test_flushall_and_other_databases_are_refused_in_redis(room):
    ann, bob = room["learners"]["tstann"], room["learners"]["tstbob"]
    bob_keys = _redis(bob).dbsize()
    assert bob_keys > 0
    r = _redis(ann)
    with pytest.raises(redis.exceptions.ResponseError):
        r.flushall()
    bob_db = Workspace(bob.workspace).redis_db
    for command in (("SELECT", bob_db), ("SWAPDB", Workspace(ann.workspace).redis_db, bob_db)):
        with pytest.raises(redis.exceptions.ResponseError):
            r.execute_command(*command)
    r.set("mine", 1)
    with pytest.raises(redis.exceptions.ResponseError):
        r.execute_command("MOVE", "mine", bob_db)
    with pytest.raises(redis.exceptions.ResponseError):
        r.eval(f"redis.call('SELECT', {bob_db}); return redis.call('FLUSHDB')", 0)
    r.flushdb()  # their own database: allowed
    assert r.dbsize() == 0
    assert _redis(bob).dbsize() == bob_keys


def test_drop_database_in_mongo_leaves_the_other_intact(room):
    """The learner's MongoDB user (their ``~/.env`` URL) drops their own database; another's
    they cannot drop, read or list (code 13 Unauthorized: the classroom turns the emulator's
    authorization on)."""
    import pymongo
    import pymongo.errors

    from dbdojo.connect import mongo_client

    ann, bob = room["learners"]["tstann"], room["learners"]["tstbob"]
    url = provision.learner_env(ann, "")["DOJO_MONGO_URL"]
    theirs = Workspace(bob.workspace).database
    with mongo_client() as admin:
        before = admin[theirs]["orders"].estimated_document_count()
    with pymongo.MongoClient(url, serverSelectionTimeoutMS=5000) as client:
        for reach in (
            lambda: client.drop_database(theirs),
            lambda: client[theirs]["orders"].find_one(),
            lambda: client[theirs]["orders"].delete_many({}),
        ):
            with pytest.raises(pymongo.errors.OperationFailure) as refused:
                reach()
            assert refused.value.code == 13
        assert client.list_database_names() == [Workspace(ann.workspace).database]
        client.drop_database(Workspace(ann.workspace).database)
    server = urlsplit(url)
    anonymous_url = f"mongodb://{server.hostname}:{server.port}/?directConnection=true"
    with pymongo.MongoClient(anonymous_url, serverSelectionTimeoutMS=5000) as anonymous:
        with pytest.raises(pymongo.errors.OperationFailure) as refused:
            anonymous[theirs]["orders"].find_one()
        assert refused.value.code == 13
    with mongo_client() as admin:
        assert admin[theirs]["orders"].estimated_document_count() == before > 0


def test_what_a_learner_can_read_of_the_others_and_the_solutions(room):
    """System users: nothing of another learner's, the solutions or the kit's state. Shared
    user: all of it (the same user, no file isolation: the README says so), but each learner
    still has a home of their own with their own credentials and solution-free labs."""
    from dbdojo.paths import labs_dir, state_dir

    ann, bob = room["learners"]["tstann"], room["learners"]["tstbob"]
    theirs = provision.home(bob)
    assert theirs != provision.home(ann)
    secrets_of_others = [
        theirs / ".env",
        theirs / "work" / "00-how-labs-work.ipynb",
        labs_dir() / "00-how-labs-work.ipynb",  # the instructor's labs: solutions inside
        state_dir() / "state.json",  # the kit's passwords
        layout.roster_file(),
    ]
    for path in secrets_of_others:
        assert path.exists(), path
        result = _as_learner(ann, room, "cat", str(path))
        if room["mode"] == mode.SYSTEM:
            assert result.returncode != 0 and "Permission denied" in result.stderr, path
        else:
            assert result.returncode == 0, (path, result.stderr)
    mine = _as_learner(ann, room, "cat", str(provision.home(ann) / ".env"))
    assert mine.returncode == 0 and ann.pg_password in mine.stdout
    assert bob.pg_password not in mine.stdout
    listing = _as_learner(ann, room, "ls", str(provision.home(ann) / "work"))
    assert "00-how-labs-work.ipynb" in listing.stdout
    copy = json.loads((provision.home(ann) / "work" / "00-how-labs-work.ipynb").read_text())
    sources = "".join("".join(c["source"]) for c in copy["cells"])
    assert "phone IS NULL" not in sources  # no reference solution in a learner's copy


def test_resetting_one_learner_touches_nobody_else(room):
    ann, bob = room["learners"]["tstann"], room["learners"]["tstbob"]
    with _pg(bob) as conn:
        conn.execute("CREATE TABLE bobs_notes (x int)")
    control.reset(ann.name)
    with _pg(ann) as conn:  # back to the seeded data, and still theirs alone
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] > 0
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        _pg(bob, Workspace(ann.workspace).database)
    with _pg(bob) as conn:
        assert conn.execute("SELECT to_regclass('bobs_notes')").fetchone()[0] is not None
