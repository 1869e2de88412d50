"""Backend 3: the databases in containers, from the top-level ``docker-compose.yml``.

Kept small on purpose: these machines have no Docker, so this path is not exercised by the
tests (only the compose file is validated, see tests/test_compose.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from urllib.parse import quote

from dbdojo import procs, state
from dbdojo.launch import wait_until
from dbdojo.paths import checkout_id, project_root
from dbdojo.records import ServerRecord
from dbdojo.settings import SERVICES


def compose_command() -> list[str] | None:
    """``docker compose`` (v2) or ``docker-compose`` (v1), whichever this machine has."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if path := shutil.which("docker-compose"):
        return [path]
    return None


def docker_available() -> tuple[bool, str]:
    """Whether a Docker engine answers here, and what was found."""
    if not shutil.which("docker"):
        return False, "no `docker` command on PATH"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return False, (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
    return True, "docker engine answers"


def _url(service: str, password: str, port: int) -> str:
    secret = quote(password, safe="")
    if service == "postgres":
        return f"postgresql://postgres:{secret}@127.0.0.1:{port}/postgres"
    if service == "mongo":
        return f"mongodb://root:{secret}@127.0.0.1:{port}/?authSource=admin&directConnection=true"
    if service == "mysql":
        return f"mysql://root:{secret}@127.0.0.1:{port}/?ssl=true"  # caching_sha2_password
    return f"redis://default:{secret}@127.0.0.1:{port}"


def _compose(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if command is None:
        raise procs.StartFailed(
            "`dojo up --docker` needs Docker with compose (`docker compose` or "
            "`docker-compose`); without Docker, plain `dojo up` runs embedded servers"
        )
    project = ["-f", str(project_root() / "docker-compose.yml"), "-p", f"dbdojo-{checkout_id()}"]
    return subprocess.run(
        [*command, *project, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        cwd=project_root(),
    )


def _environment(names: list[str]) -> tuple[dict[str, str], dict[str, int]]:
    env: dict[str, str] = {}
    ports: dict[str, int] = {}
    for name in SERVICES:  # compose interpolates every service's vars
        env[f"DOJO_{name.upper()}_PASSWORD"] = state.secret(f"docker-{name}")
        previous = state.get_record(name)
        if previous and previous.backend == "docker" and previous.port:
            ports[name] = previous.port  # a container keeps its port (its proxy holds it)
        else:
            ports[name] = procs.free_port()
        env[f"DOJO_DOCKER_{name.upper()}_PORT"] = str(ports[name])
    return env, ports


def up(names: list[str]):
    """``docker compose up -d --wait`` for ``names``; records their URLs (backend docker)."""
    from dbdojo.records import Outcome
    from dbdojo.services import load

    ok, why = docker_available()
    if not ok:
        raise procs.StartFailed(
            f"`dojo up --docker` needs a running Docker engine ({why}); without Docker, "
            "plain `dojo up` runs the embedded servers"
        )
    with state.locked():
        env, ports = _environment(names)
        # v1 (docker-compose) has no --wait: the probe loop below waits instead
        wait = ["--wait"] if compose_command() == ["docker", "compose"] else []
        result = _compose(["up", "-d", *wait, *names], env)
        if result.returncode != 0:
            detail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
            return [Outcome(n, "failed", detail=f"docker compose up: {detail}") for n in names]
        outcomes = []
        for name in names:
            url = _url(name, env[f"DOJO_{name.upper()}_PASSWORD"], ports[name])
            service = load(name)
            wait_until(lambda s=service, u=url: s.probe(u).healthy, 120, interval=1)
            health = service.probe(url)
            record = ServerRecord(name, "docker", url, health.version, port=ports[name])
            state.put_record(record)
            action = "started" if health.healthy else "failed"
            outcomes.append(Outcome(name, action, record, health.detail))
    return outcomes


def down(names: list[str]):
    """``docker compose stop`` for ``names`` (volumes, hence data, are kept)."""
    from dbdojo.records import Outcome

    env, _ = _environment(names)
    result = _compose(["stop", *names], env)
    action = "stopped" if result.returncode == 0 else "failed"
    return [Outcome(n, action, detail=result.stderr.strip()[-300:]) for n in names]
