"""`docker-compose config` in Python: interpolate, validate against the Compose schema, and
normalize a compose file, so tests need neither Docker nor Debian's docker-compose.

Interpolation follows the Compose specification: ``$$`` is a literal ``$``; ``$VAR`` and
``${VAR}``; ``${VAR:-default}`` / ``${VAR-default}``; ``${VAR:?error}`` / ``${VAR?error}``
(fails when unset, or empty with ``:``); ``${VAR:+alt}`` / ``${VAR+alt}``. Validation uses the
specification's JSON schema (tests/fixtures/compose/, with its source). Normalizing turns
``environment`` lists into mappings and short volume and port syntax into the long form, with
relative bind-mount sources made absolute, as ``docker-compose config`` does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA = Path(__file__).parent / "fixtures" / "compose" / "compose_spec.json"
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<named>[_a-zA-Z][_a-zA-Z0-9]*)"
    r"|\{(?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<invalid>))"
)


class ComposeError(ValueError):
    """The compose file is invalid, or a required variable is missing; says which."""


def resolve(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The compose file at ``path`` as ``docker-compose config`` would print it, with ``env``
    as the environment."""
    document = yaml.safe_load(path.read_text())
    resolved = interpolate(document, env)
    validate(resolved)
    return normalize(resolved, path.parent.resolve())


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` with variables substituted in every string it holds (keys stay as they are)."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _substitute(match, env), value)
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    return value


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match.group("escaped"):
        return "$"
    if match.group("invalid") is not None:
        raise ComposeError(f"invalid interpolation format in {match.string!r}")
    name = match.group("named") or match.group("braced")
    op, arg = match.group("op"), match.group("arg") or ""
    value = env.get(name)
    present = value is not None and (value != "" or not (op or "").startswith(":"))
    if op in ("-", ":-"):
        return value if present else arg  # type: ignore[return-value]
    if op in ("?", ":?"):
        if not present:
            raise ComposeError(f"required variable {name} is missing a value: {arg}")
        return value  # type: ignore[return-value]
    if op in ("+", ":+"):
        return arg if present else ""
    return value or ""


@cache
def _validator() -> jsonschema.Draft201909Validator:
    schema = json.loads(SCHEMA.read_text())
    # its $schema (http://json-schema.org/draft/2019-09/schema#) is draft 2019-09's old URI
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def validate(document: Any) -> None:
    """Raise ComposeError naming every place where ``document`` breaks the Compose schema."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}" for e in errors]
        raise ComposeError("invalid compose file:\n" + "\n".join(lines))


def normalize(document: dict[str, Any], base: Path) -> dict[str, Any]:
    """The long form of each service's environment, volumes and ports."""
    named = set(document.get("volumes") or {})
    for service in (document.get("services") or {}).values():
        if isinstance(service.get("environment"), list):
            service["environment"] = dict(_pair(item) for item in service["environment"])
        service["volumes"] = [_volume(v, base, named) for v in service.get("volumes", [])]
        service["ports"] = [_port(p) for p in service.get("ports", [])]
    return document


def _pair(item: str) -> tuple[str, str | None]:
    key, sep, value = item.partition("=")
    return key, value if sep else None


def _volume(spec: Any, base: Path, named: set[str]) -> Any:
    if not isinstance(spec, str):
        return spec
    source, _, rest = spec.partition(":")
    target, _, mode = rest.partition(":")
    if not target:
        return {"type": "volume", "target": source}
    if source not in named:
        long = {"type": "bind", "source": os.path.normpath(base / source), "target": target}
    else:
        long = {"type": "volume", "source": source, "target": target}
    if "ro" in mode.split(","):
        long["read_only"] = True
    return long


def _port(spec: Any) -> Any:
    if not isinstance(spec, str):
        return spec
    mapping, _, protocol = spec.partition("/")
    fields = mapping.rsplit(":", 2)
    host_ip, published, target = ([""] * (3 - len(fields)) + fields)[-3:]
    return {
        "mode": "ingress",
        "host_ip": host_ip or None,
        "published": published or None,
        "target": int(target),
        "protocol": protocol or "tcp",
    }


def docker_compose(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The same as :func:`resolve`, by Debian's ``docker-compose config`` (where installed)."""
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is not installed"
    result = subprocess.run(
        [binary, "-f", str(path), "config"],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=path.parent,
        check=False,
    )
    if result.returncode != 0:
        raise ComposeError(result.stderr)
    return yaml.safe_load(result.stdout)
