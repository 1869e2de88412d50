"""A learner's system user, home and workspace, made, reset or removed.

The home (mode 0700, owned by the learner; in shared-user mode, a directory of the
instructor's, see :mod:`dbdojo.classroom.mode`) holds ``work/`` (their lab copies from the student
build: no solutions), ``notebooks/`` and ``datasets/`` (the course's), and ``.env`` (mode
0600): their own database URLs and the token their kernel shows the classroom service. The
kernel finds them there because the hub starts it with ``DOJO_HOME`` set to the home.
"""

from __future__ import annotations

import json
import pwd
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from dbdojo import settings
from dbdojo.classroom import isolation, layout, mode
from dbdojo.classroom.roster import Learner
from dbdojo.connect import mongo_client, pg_connect, redis_client, server_url
from dbdojo.notebook import learner as learner_copies
from dbdojo.notebook import startup
from dbdojo.paths import datasets_dir, notebooks_dir
from dbdojo.workspace import Workspace


def home(learner: Learner) -> Path:
    return mode.homes_root() / learner.user


def system_user(learner: Learner) -> pwd.struct_passwd:
    """The learner's system user (created with a private home if missing)."""
    try:
        return pwd.getpwnam(learner.user)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--home-dir", str(home(learner)), "--shell",
             "/bin/bash", "--user-group", "--comment", f"dbdojo learner {learner.name}",
             learner.user],
            check=True, capture_output=True,
        )  # fmt: skip
        return pwd.getpwnam(learner.user)


def _with_credentials(url: str, user: str, password: str, path: str = "") -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, path or parts.path, parts.query, parts.fragment))


def mongo_url(learner: Learner) -> str:
    """The learner's MongoDB URL: their user, their database (its ``authSource`` too)."""
    database = Workspace(learner.workspace).database
    parts = urlsplit(server_url("mongo"))
    query = "&".join(
        [*(q for q in parts.query.split("&") if q and not q.startswith("authSource=")),
         f"authSource={database}", "authMechanism=SCRAM-SHA-256"]
    )  # fmt: skip
    url = urlunsplit((parts.scheme, parts.netloc, f"/{database}", query, ""))
    return _with_credentials(url, learner.mongo_user, learner.mongo_password)


def learner_env(learner: Learner, check_url: str) -> dict[str, str]:
    """What the learner's kernel may know: their own credentials, nothing of the kit's."""
    ws = Workspace(learner.workspace)
    return {
        "DOJO_POSTGRES_URL": _with_credentials(
            server_url("postgres"), learner.pg_role, learner.pg_password, f"/{ws.database}"
        ),
        "DOJO_REDIS_URL": _with_credentials(
            server_url("redis"), learner.redis_user, learner.redis_password, f"/{ws.redis_db}"
        ),
        "DOJO_MONGO_URL": mongo_url(learner),
        "DOJO_CHECK_URL": check_url,
        "DOJO_CHECK_TOKEN": learner.token,
    }


def spawn_env(learner: Learner) -> dict[str, str]:
    """The environment the hub starts the learner's JupyterLab with (no secret in it)."""
    base = home(learner)
    return {
        "DOJO_HOME": str(base),
        "DOJO_WORKSPACE": learner.workspace,
        settings.CLASSROOM_ENV: "1",
        "IPYTHONDIR": str(base / ".dojo" / "ipython"),
        "LD_LIBRARY_PATH": str(layout.learner_python()[1]),
    }


def write_home(learner: Learner, build: Path, check_url: str) -> None:
    """Fill the learner's home (their lab copies are never overwritten once started)."""
    base = home(learner)
    user = None if mode.shared() else system_user(learner)
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    base.chmod(0o700)
    for source, name in ((notebooks_dir(), "notebooks"), (datasets_dir(), "datasets")):
        shutil.copytree(source, base / name, dirs_exist_ok=True)
    learner_copies.sync(build, base / "work")
    state = base / ".dojo"
    state.mkdir(exist_ok=True)
    ws = Workspace(learner.workspace)
    # the kernel's own registry: its workspace -> its Redis database (the instructor's number)
    (state / "workspaces.json").write_text(json.dumps({ws.name: ws.redis_db}))
    startup_dir = state / "ipython" / "profile_default" / "startup"
    startup_dir.mkdir(parents=True, exist_ok=True)
    (startup_dir / startup.STARTUP_FILE).write_text(startup.STARTUP_SOURCE)
    env = base / ".env"
    env.write_text("".join(f"{k}={v}\n" for k, v in learner_env(learner, check_url).items()))
    env.chmod(0o600)
    if user is not None:
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(base)], check=True)


def reset_workspace(learner: Learner) -> None:
    """The learner's databases back to the seeded data, and locked to them again."""
    from dbdojo.classroom import storage
    from dbdojo.dataset.workspaces import reset

    ws = reset(Workspace(learner.workspace), source=storage.source())
    grant_workspace(learner, ws)


def grant_workspace(learner: Learner, ws: Workspace | None = None) -> None:
    ws = ws or Workspace(learner.workspace)
    with pg_connect(Workspace("main"), autocommit=True) as admin:
        isolation.pg_role(admin, learner)
    with pg_connect(ws, autocommit=True) as admin:
        isolation.lock_database(admin, learner)
    isolation.redis_user(redis_client(Workspace("main")), learner, ws.redis_db)
    with mongo_client() as admin:
        isolation.mongo_user(admin, learner)


def remove(learner: Learner) -> list[str]:
    """The learner's workspace, database role, Valkey user, system user (if any) and home. The hub
    has stopped their server first (its own processes are gone with it)."""
    from psycopg import sql

    from dbdojo.dataset.disk import drop

    done = drop(Workspace(learner.workspace))
    with pg_connect(Workspace("main"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(learner.pg_role)))
    isolation.drop_redis_user(redis_client(Workspace("main")), learner)
    with mongo_client() as admin:
        isolation.drop_mongo_user(admin, learner)
    if mode.shared():
        shutil.rmtree(home(learner), ignore_errors=True)
        return [*done, f"home {home(learner)}"]
    out = subprocess.run(["userdel", "--remove", learner.user], check=False, capture_output=True)
    if out.returncode == 0:
        done.append(f"system user {learner.user} and its home")
    return done
