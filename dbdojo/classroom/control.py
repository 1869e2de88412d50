"""``dojo classroom up / down / status / reset``: the classroom's life cycle."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbdojo import procs, settings
from dbdojo.checking.engine import Checker, Expectation
from dbdojo.checking.model import Exercise
from dbdojo.checking.result import Rules
from dbdojo.classroom import dashboard, hub, layout, mode, provision, roster, storage
from dbdojo.classroom.roster import Learner
from dbdojo.connect import pg_connect, server_url
from dbdojo.errors import Invalid
from dbdojo.mongo import kitauth
from dbdojo.paths import labs_dir, project_root
from dbdojo.workspace import Workspace

SERVICE_MARKER = "dbdojo.classroom.service"
Say = Callable[[str], None]


class ClassroomError(Invalid):
    """The classroom cannot do what was asked; the message says why and what to do."""


def learners_for(roster_csv: Path | None, count: int | None) -> list[Learner]:
    """The saved roster (its secrets kept), plus the learners of ``roster_csv`` or numbered
    up to ``count`` that it does not have yet."""
    saved = roster.load(layout.roster_file())
    if roster_csv:
        wanted = roster.from_csv(roster_csv)
    elif count:
        wanted = roster.numbered(count)
    elif saved:
        return saved
    else:
        raise ClassroomError("say who comes: --roster roster.csv or --learners N")
    known = {x.name: x for x in saved}
    merged = [known.get(x.name, x) for x in wanted]
    return merged + [x for x in saved if x.name not in {m.name for m in merged}]


def lock_checkout() -> list[Path]:
    """What learners must not read on this machine: the labs (solutions), the kit's state
    (passwords) and the git objects (every solution ever committed). Mode o-rwx; the
    servers' user (``nobody``) needs none of them."""
    locked = []
    git = subprocess.run(
        ["git", "rev-parse", "--git-common-dir"], cwd=project_root(),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    paths = [labs_dir(), layout.classroom_dir(), project_root() / "work"]
    if git.returncode == 0:
        paths.append((project_root() / git.stdout.strip()).resolve() / "objects")
    for path in paths:
        if path.exists():
            path.chmod(path.stat().st_mode & 0o770)
            locked.append(path)
    return locked


class _ServiceHoldsExpectations(Checker):
    """The learner copies need no expected results: the classroom service checks with the
    references. Building them is then instant and runs nothing."""

    def expectation(self, ex: Exercise) -> Expectation:
        return Expectation(Rules(ex.id, 0), {})


def student_build() -> Path:
    """The learner versions of the labs (solutions removed), built when the labs change."""
    from dbdojo.checking import build

    out = layout.classroom_dir() / f"student-{build.build_key(labs_dir())}"
    if not out.is_dir():
        fresh = out.with_suffix(".new")
        build.build_student(fresh, checker=_ServiceHoldsExpectations(Workspace("main"), []))
        fresh.rename(out)
    return out


def start_service(
    host: str, port: int, hub_api: dict[str, str], spares: bool = False
) -> dict[str, Any]:
    """Start the classroom service (detached); ``hub_api``: where it asks who is connected;
    ``spares``: its resets keep a spare copy of each learner's workspace."""
    info = {"host": host, "port": port, "key": secrets.token_urlsafe(16), "hub": hub_api}
    layout.service_file().write_text(json.dumps(info))
    layout.service_file().chmod(0o600)
    log = layout.classroom_dir() / "service.log"
    env = {"DOJO_HOME": str(project_root()), settings.RESET_SPARES_ENV: "1" if spares else "0"}
    pid = procs.spawn([sys.executable, "-m", SERVICE_MARKER], log, None, env=env)
    info.update(pid=pid, started=procs.started_at(pid))
    layout.service_file().write_text(json.dumps(info))
    deadline = time.monotonic() + 60
    while not procs.listening(port) and time.monotonic() < deadline:
        if not procs.is_ours(pid, info["started"], SERVICE_MARKER):
            raise ClassroomError(f"the classroom service exited: {procs.tail(log)}")
        time.sleep(0.2)
    return info


def service_info() -> dict[str, Any] | None:
    path = layout.service_file()
    return json.loads(path.read_text()) if path.exists() else None


def stop_service() -> bool:
    info = service_info()
    return bool(info) and procs.stop(info.get("pid"), info.get("started"), SERVICE_MARKER)


def check_server_size(count: int) -> None:
    """PostgreSQL must admit the class (dbdojo.budget: 4 connections per learner)."""
    from dbdojo import budget

    with pg_connect(Workspace("main"), autocommit=True) as admin:
        limit = int(admin.execute("SHOW max_connections").fetchone()[0])
    if limit < budget.max_connections(count):
        raise ClassroomError(
            f"PostgreSQL admits {limit} connections, a class of {count} needs "
            f"{budget.max_connections(count)}: set {settings.CLASS_SIZE_ENV}={count} "
            "(environment or .env), then `dojo down && dojo up`"
        )


def up(
    learners: list[Learner],
    ip: str,
    port: int,
    say: Say = print,
    lock: bool = True,
    shared_user: bool = False,
    data_image: bool = True,
) -> dict[str, str]:
    """Everything for a workshop; returns the addresses (hub, dashboard, handout).
    ``shared_user``: learners run as this user even as root (:mod:`.mode`); ``data_image``:
    learners' PostgreSQL copies as clones in an XFS image where the disk cannot clone
    (:mod:`.storage`)."""
    check_server_size(len(learners))
    down(say=lambda _: None)
    mode.record(mode.choose(shared_user))
    if mode.shared():
        say(mode.warning(pwd.getpwuid(os.geteuid()).pw_name))
    layout.ensure_venv(say)
    if lock and not mode.shared():  # the same user reads them anyway
        for path in lock_checkout():
            say(f"learners cannot read {path}")
    roster.save(learners, layout.roster_file())
    if kitauth.require():
        say("MongoDB emulator: authorization on (a user per learner; the kit as dojo_admin)")
    elif not kitauth.enforced(server_url("mongo")):
        say(
            "warning: MongoDB does not enforce access control (a mongod started without "
            "--auth or --keyFile): every learner gets a user, but any learner can read and "
            "change every database. Give the classroom a MongoDB with access control "
            "(DOJO_MONGO_URL with an admin user), or use the kit's emulator."
        )
    svc_port = procs.free_port()
    service_url = f"http://127.0.0.1:{svc_port}"
    # a spare copy per learner for instant resets only where it is a clone: else half the disk
    spares = storage.clones(storage.prepare(len(learners), say, image=data_image))
    with settings.spares(spares):
        for learner in learners:
            say(f"workspace of {learner.name}")
            provision.reset_workspace(learner)
    build = student_build()
    for learner in learners:
        provision.write_home(learner, build, service_url)
    with pg_connect(Workspace("main"), autocommit=True) as admin:
        from dbdojo.classroom import isolation

        isolation.lock_server(admin)
    hashes = {x.name: roster.hash_password(x.password) for x in learners}
    layout.passwords_file().write_text(json.dumps(hashes))
    layout.passwords_file().chmod(0o600)
    bind_url = f"http://{ip}:{port}"
    api_token = secrets.token_urlsafe(24)
    hub_info = hub.write_config(learners, bind_url, service_url, api_token)
    info = start_service(
        "127.0.0.1", svc_port, {"api_url": hub_info["api_url"], "api_token": api_token}, spares
    )
    say("starting JupyterHub")
    hub.start(hub_info)
    public = "127.0.0.1" if ip in ("0.0.0.0", "") else ip
    roster.write_handout(learners, f"http://{public}:{port}/", layout.handout_file())
    return {
        "hub": f"http://{public}:{port}/",
        "dashboard": f"http://{public}:{port}{hub.SERVICE_PREFIX}/dashboard?key={info['key']}",
        "handout": str(layout.handout_file()),
    }


def down(remove: bool = False, say: Say = print) -> None:
    """Stop the hub (and learners' servers) and the service; ``remove``: also the learners'
    users, homes and workspaces, and the classroom's records."""
    if hub.stop():
        say("JupyterHub stopped (with every learner's server)")
    if stop_service():
        say("classroom service stopped")
    if remove:
        for learner in roster.load(layout.roster_file()):
            for line in provision.remove(learner):
                say(f"removed {line}")
        kitauth.release()  # the emulator without authentication again, as `dojo up` has it
        storage.release(say)  # the learners' databases are gone: their image goes too
        names = ("roster.json", "passwords.json", "handout.txt", "service.json", "hub.json", "mode")
        for name in names:
            (layout.classroom_dir() / name).unlink(missing_ok=True)


def status() -> list[dict[str, Any]]:
    """Per learner: connected (their server runs), last activity, exercises solved."""
    learners = roster.load(layout.roster_file())
    info = hub.load()
    users = {u["name"]: u for u in (hub.users(info) or [])} if info else {}
    rows = []
    for learner in learners:
        user = users.get(learner.user, {})
        solved = sum(1 for e in dashboard.progress_name_load(learner).values() if e.get("passed"))
        disk_bytes, shared = storage.learner_bytes(Workspace(learner.workspace).database)
        rows.append(
            {
                "learner": learner.name,
                "connected": bool(user.get("server")),
                "last_activity": user.get("last_activity") or "",
                "solved": solved,
                "postgres_bytes": disk_bytes,
                "shares_base": shared,
            }
        )
    return rows


def reset(name: str) -> None:
    """Reset the learner's workspace: through the running service (which waits for a check of
    theirs to end first), else here."""
    learners = {x.name: x for x in roster.load(layout.roster_file())}
    if name not in learners:
        raise ClassroomError(f"no learner {name!r} in this classroom")
    info = service_info()
    if info and procs.is_ours(info.get("pid"), info.get("started"), SERVICE_MARKER):
        import urllib.request

        request = urllib.request.Request(
            f"http://{info['host']}:{info['port']}/api/reset?key={info['key']}",
            data=json.dumps({"learner": name}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=600):
            return
    provision.reset_workspace(learners[name])
