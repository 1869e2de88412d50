"""``dojo up``/``down``/``status``/``logs``/``env`` over the registry of services.

Backend order per service: the user's own URL (nothing to start), else a server the kit runs
(embedded binary, else a system one), or ``--docker`` (docker compose).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from dbdojo import procs, services, settings, state
from dbdojo.connect import LABELS, mask
from dbdojo.errors import Invalid, NotFound
from dbdojo.failures import disk_full_advice
from dbdojo.launch import Service
from dbdojo.records import Health, Outcome, ServerRecord
from dbdojo.services import busy

LOCAL_BACKENDS = ("embedded", "system", "emulator")
ABSENT = "absent"  # an optional service with no server on this machine (services/mysql.py)


@dataclass
class Row:
    """One line of ``dojo status``: the truth, probed just now."""

    service: str
    backend: str
    version: str
    url: str
    healthy: bool
    pid: int | None
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def selected(only: Iterable[str] | None) -> list[str]:
    names = list(only or settings.SERVICES)
    unknown = [n for n in names if n not in settings.SERVICES]
    if unknown:
        choices = ", ".join(settings.SERVICES)
        raise Invalid(f"unknown service {unknown[0]!r}: choose from {choices}")
    return [n for n in settings.SERVICES if n in names]


def user_urls() -> dict[str, str]:
    """The user's own URLs (raises settings.BadURL), leaving out a URL that is just the kit's
    own server exported by ``eval "$(dojo env)"``: that one is still the kit's to manage."""
    recorded = state.records()
    return {
        name: url
        for name, url in settings.user_urls().items()
        if not (name in recorded and recorded[name].url == url)
    }


def up(
    only: Iterable[str] | None = None,
    *,
    docker: bool = False,
    wait: bool = False,
    on_service: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Start (or adopt) the servers of the chosen services, in parallel, and record them.

    A server counts as started once it listens; ``wait`` also waits until each serves requests
    (the MongoDB emulator listens at once and serves after loading its engine, 1-7 s)."""
    names = selected(only)
    state.repair()  # a damaged state file is rebuilt from the servers' data
    own = user_urls()
    if docker:
        from dbdojo.services import docker as compose

        return compose.up([n for n in names if n not in own]) + [_user(n, own) for n in own]
    available, missing = services.registry()

    def one(name: str) -> Outcome:
        if name in own:
            return _user(name, own)
        if name in missing:
            return Outcome(name, "unavailable", detail=missing[name])
        if why := available[name].unavailable():  # an optional server this machine lacks
            return Outcome(name, "not installed", detail=why)
        if on_service:
            on_service(name)
        return start_service(available[name], name, wait)

    with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
        return list(pool.map(one, names))


def _user(name: str, own: dict[str, str]) -> Outcome:
    return Outcome(name, "user URL", detail=f"using your {settings.ENV_VARS[name]}, not starting")


def start_service(service: Service, name: str, wait: bool) -> Outcome:
    """Start (or adopt) one service under its own lock and record it; used by replicas too."""
    began = time.time()
    with state.service_locked(name):
        previous = state.get_record(name)
        if previous and previous.backend not in LOCAL_BACKENDS:
            previous = None  # a docker record: the local server starts from its own data
        was_running = bool(previous and previous.pid and process_alive(previous))
        try:
            record = service.start(previous)
        except (procs.StartFailed, OSError, state.CredentialsLost) as exc:
            full = disk_full_advice(state.known_data_root())
            return Outcome(name, "failed", detail=f"{full}\n{exc}" if full else str(exc))
        state.put_record(record)
    adopted = was_running and previous is not None and record.pid == previous.pid
    # a server found running without a (valid) record: adopted, not started
    adopted = adopted or bool(record.pid and (record.extra.get("started") or began) < began - 1)
    action = "running" if adopted else "started"
    moved = previous and previous.port and record.port != previous.port
    detail = f"port {previous.port} was taken, now on {record.port}" if moved else ""
    if wait and not service.wait_ready(record):
        log = f": see `dojo logs {name}`" if record.log_file else ""
        return Outcome(name, "failed", record, f"started but does not serve requests{log}")
    return Outcome(name, action, record, detail)


def process_alive(record: ServerRecord) -> bool:
    return procs.is_ours(record.pid, record.extra.get("started"), marker="")


def down(only: Iterable[str] | None = None) -> list[Outcome]:
    """Stop exactly the servers the kit started: those recorded, and those found running on the
    kit's data without a record (a lost state file, a damaged pid file). Records are kept for
    the next up; a full disk that keeps them from being saved stops nothing from stopping."""
    names = selected(only)
    available, _ = services.registry()
    outcomes: list[Outcome] = []
    state.repair()
    try:
        with state.locked():
            _down(names, available, outcomes)
    except OSError as exc:
        if not outcomes:
            raise
        for outcome in outcomes:
            outcome.detail = f"(not recorded: {exc.strerror})"
    return outcomes


def _down(names: list[str], available: dict[str, Service], outcomes: list[Outcome]) -> None:
    records = state.records()
    docker_names = [n for n in names if n in records and records[n].backend == "docker"]
    if docker_names:
        from dbdojo.services import docker as compose

        outcomes += compose.down(docker_names)
    local = [n for n in names if n not in docker_names and n in available]
    # found here, in the thread holding the state lock (finding reads the state)
    found = {name: available[name].find_running(records.get(name)) for name in local}

    def one(name: str) -> Outcome:
        record, running, service = records.get(name), found[name], available[name]
        tracked = bool(record and record.pid)
        if record and record.pid:
            service.stop(record)
        if running and not (record and running.pid == record.pid):
            service.stop(running)  # running on the kit's data without a record
            record = record or running
        return Outcome(name, "stopped" if tracked or running else "not running", record)

    with ThreadPoolExecutor(max_workers=len(local) or 1) as pool:
        stopped = list(pool.map(one, local))
    outcomes += stopped
    outcomes += [Outcome(n, "not running", records.get(n)) for n in names if n not in available]
    for outcome in stopped:
        if outcome.action == "stopped" and outcome.record and outcome.record.url:
            outcome.record.pid = None
            state.put_record(outcome.record)


def any_running() -> bool:
    """Whether any of the kit's own servers of this state directory still runs."""
    return any(r.pid and process_alive(r) for r in state.records().values())


def status(only: Iterable[str] | None = None) -> list[Row]:
    """Every service as it is now: each recorded or user URL is probed for real."""
    names = selected(only)
    own = user_urls()
    records = state.records()
    available, missing = services.registry()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return list(pool.map(lambda n: _row(n, own, records, available, missing), names))


def _row(name, own, records, available, missing) -> Row:
    if name in missing:
        return Row(name, "-", "", "", False, None, missing[name])
    service = available[name]
    if name in own:
        health = service.probe(own[name])
        return Row(name, "url", health.version, mask(own[name]), health.healthy, None, _why(health))
    record = records.get(name)
    if record is None and (why := service.unavailable()):
        return Row(name, ABSENT, "", "", False, None, why)
    if record is None:
        return Row(name, "-", "", "", False, None, "not started: run `dojo up`")
    if record.backend in LOCAL_BACKENDS and not record.pid:
        return Row(name, record.backend, record.version, mask(record.url), False, None, "stopped")
    health = service.probe(record.url)
    detail = _why(health)
    if record.pid and not process_alive(record):
        detail = f"process {record.pid} is gone: run `dojo up`"
    elif not health.healthy and busy.holds_its_port(record):
        detail = busy.explain(name, record)
    healthy = health.healthy and not (record.pid and not process_alive(record))
    version = health.version or record.version
    return Row(name, record.backend, version, mask(record.url), healthy, record.pid, detail)


def _why(health: Health) -> str:
    return health.detail if health.healthy else health.detail or "does not answer"


def env_lines() -> list[str]:
    """``export DOJO_*_URL=...`` lines for the servers in use (the user's or the kit's)."""
    from dbdojo.connect import recorded_urls

    urls = {**recorded_urls(), **settings.user_urls()}
    return [
        f"export {settings.ENV_VARS[name]}={shlex.quote(urls[name])}"
        for name in settings.SERVICES
        if name in urls
    ]


def log_file(service: str) -> str:
    """The log file of a service the kit started (raises LookupError saying what to do)."""
    selected([service])
    record = state.get_record(service)
    if record is None or not record.log_file:
        raise NotFound(
            f"{LABELS[service]} has no log: the kit has not started it "
            "(a server at your own URL or in docker keeps its own logs). Run `dojo up`."
        )
    return record.log_file
