"""docker-compose.yml: valid for the Compose specification, and seeded like the embedded path.

Every check runs on the file as the Compose specification's JSON schema and interpolation rules
resolve it (tests/compose_config.py: pip-installable, no Docker), and again with Debian's
``docker-compose config`` on machines that have it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from compose_config import ComposeError, docker_compose, resolve

from dbdojo.paths import datasets_dir, project_root

COMPOSE = project_root() / "docker-compose.yml"
PASSWORDS = {
    "DOJO_POSTGRES_PASSWORD": "pg-secret",
    "DOJO_MONGO_PASSWORD": "mongo-secret",
    "DOJO_REDIS_PASSWORD": "redis-secret",
    "DOJO_MYSQL_PASSWORD": "mysql-secret",
}
Resolver = Callable[[Path, Mapping[str, str]], dict[str, Any]]
RESOLVERS: dict[str, Resolver] = {"compose-spec schema": resolve}
if shutil.which("docker-compose"):
    RESOLVERS["docker-compose config"] = docker_compose


@pytest.fixture(scope="module", params=list(RESOLVERS))
def resolver(request) -> Resolver:
    return RESOLVERS[request.param]


def compose_config(resolver: Resolver, env: dict[str, str]) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOJO_")}
    return resolver(COMPOSE, {**clean, **env})


@pytest.fixture(scope="module")
def resolved(resolver) -> dict:
    return compose_config(resolver, PASSWORDS)


def test_compose_file_is_valid(resolved):
    default = {n for n, s in resolved["services"].items() if not s.get("profiles")}
    assert default == {"postgres", "mongo", "redis", "mysql"}


def test_passwords_have_no_default(resolver):
    with pytest.raises(ComposeError, match="DOJO_POSTGRES_PASSWORD"):
        compose_config(resolver, {})


def test_the_schema_rejects_what_compose_rejects(tmp_path):
    """The schema check can fail: an unknown key, a wrong type, a bad interpolation."""
    broken = {
        "services:\n  db:\n    image: x\n    colour: red\n": "colour",
        "services:\n  db:\n    image: x\n    ports: 5432\n": "ports",
        "services:\n  db:\n    image: ${BAD\n": "interpolation",
    }
    for text, complaint in broken.items():
        path = tmp_path / "compose.yml"
        path.write_text(text)
        with pytest.raises(ComposeError, match=complaint):
            resolve(path, {})
    path.write_text("services:\n  db:\n    image: ${IMG:-postgres}:$${TAG}\n")
    assert resolve(path, {})["services"]["db"]["image"] == "postgres:${TAG}"
    assert resolve(path, {"IMG": "pg"})["services"]["db"]["image"] == "pg:${TAG}"


def test_passwords_come_from_the_environment(resolved):
    services = resolved["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-secret"
    assert services["mongo"]["environment"]["MONGO_INITDB_ROOT_PASSWORD"] == "mongo-secret"
    assert "redis-secret" in services["redis"]["command"]


def test_bound_to_localhost_with_health_checks(resolved):
    for name, service in resolved["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for port in service["ports"]:
            host_ip = port["host_ip"] if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} is published beyond localhost: {port}"


def test_versions_and_mongo_replica_set(resolved):
    services = resolved["services"]
    assert services["postgres"]["image"].endswith("pg18")
    assert services["mongo"]["image"] == "mongo:8"
    entrypoint = " ".join(services["mongo"]["entrypoint"])
    assert "--replSet rs0" in entrypoint
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])
    assert "--databases" in services["redis"]["command"]


def embedded_schema_scripts() -> list[str]:
    """The schema files the embedded path's loader runs (dbdojo.dataset.pg), in its order."""
    try:
        from dbdojo.dataset.pg import AFTER_LOAD, BEFORE_LOAD, VECTOR_FILE
    except ImportError as exc:
        pytest.fail(f"the dataset loader's list of schema files is missing: {exc}")
    return [*BEFORE_LOAD, VECTOR_FILE, *AFTER_LOAD]


def test_postgres_runs_the_same_schema_scripts_as_the_embedded_path(resolved):
    mounted = {}
    for volume in resolved["services"]["postgres"]["volumes"]:
        if isinstance(volume, dict):
            source, target = volume["source"], volume["target"]
        else:
            source, target = volume.split(":")[:2]
        if target.startswith("/docker-entrypoint-initdb.d/"):
            mounted[target.rsplit("/", 1)[1]] = source
    scripts = embedded_schema_scripts()
    on_disk = sorted(p.name for p in (datasets_dir() / "postgres").glob("*.sql"))
    assert sorted(scripts) == on_disk, "the loader and datasets/postgres/ disagree"
    # the image runs initdb.d scripts in name order: that must be the loader's order
    assert sorted(mounted) == scripts, "compose must name the loader's schema files, in order"
    for name, source in mounted.items():
        assert os.path.samefile(source, datasets_dir() / "postgres" / name)


def test_replication_profile(resolved):
    """`--profile replication`: a PostgreSQL replica cloned with pg_basebackup -R, a Redis
    replica of the master, and a three-member MongoDB replica set; nothing starts by default."""
    services = resolved["services"]
    profiled = {n for n, s in services.items() if "replication" in s.get("profiles", [])}
    assert profiled == {"postgres-replica", "redis-replica", "mongo-rs1", "mongo-rs2", "mongo-rs3"}

    pg = services["postgres-replica"]
    script = " ".join(pg["entrypoint"])
    assert "pg_basebackup -h postgres" in script and "-R -X stream" in script
    assert "host replication" in script, "the primary must admit replication connections"
    assert pg["environment"]["PGPASSWORD"] == "pg-secret"
    assert "postgres" in pg["depends_on"]

    redis = services["redis-replica"]["command"]
    assert redis[redis.index("--replicaof") + 1 : redis.index("--replicaof") + 3] == [
        "redis",
        "6379",
    ]
    assert redis[redis.index("--masterauth") + 1] == "redis-secret"
    assert redis[redis.index("--repl-diskless-sync-delay") + 1] == "0"

    members = [services[f"mongo-rs{i}"] for i in (1, 2, 3)]
    initiate = " ".join(members[0]["healthcheck"]["test"])
    for i, member in enumerate(members, 1):
        port = member["environment"]["MEMBER_PORT"]
        assert f"mongo-rs{i}:{port}" in initiate, "rs.initiate must name every member"
        assert "--replSet dojo-rs" in " ".join(member["entrypoint"])
        published = member["ports"][0]
        if isinstance(published, dict):
            target = str(published["target"])
        else:
            target = published.split(":")[-1].split("/")[0]
        assert target == port, "a member listens on the same port inside and outside"
    assert len({m["environment"]["MEMBER_PORT"] for m in members}) == 3
