"""Who is in the classroom: learners from a roster CSV or numbered, each with their secrets."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dbdojo.errors import Invalid

PREFIX = "dojo-"  # system users the classroom creates, never an existing account
_NAME = re.compile(r"^[a-z][a-z0-9]{0,20}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class RosterError(Invalid):
    """A roster that cannot be used; the message says which line and why."""


@dataclass(frozen=True)
class Learner:
    """One learner. ``name`` is their login; everything else is derived or generated."""

    name: str
    display: str
    password: str  # their hub login (on the handout)
    token: str  # what their kernel shows the classroom service (in their private ~/.env)
    redis_password: str
    pg_password: str
    mongo_password: str = field(default_factory=lambda: _secret())  # older rosters: made now

    @property
    def user(self) -> str:
        """Their system user."""
        return f"{PREFIX}{self.name}"

    @property
    def workspace(self) -> str:
        """Their workspace (PostgreSQL and MongoDB database ``dojo_<workspace>``)."""
        return f"cls_{self.name}"

    @property
    def pg_role(self) -> str:
        return f"dojo_cls_{self.name}"

    @property
    def redis_user(self) -> str:
        return f"cls_{self.name}"

    @property
    def mongo_user(self) -> str:
        """Their MongoDB user (on their own database, its ``authSource``)."""
        return f"cls_{self.name}"


def _secret() -> str:
    return secrets.token_urlsafe(12)


def new_learner(name: str, display: str = "") -> Learner:
    name = name.strip().lower()
    if not _NAME.match(name):
        raise RosterError(
            f"learner name {name!r}: use lowercase letters and digits, starting with a letter "
            "(at most 21 characters)"
        )
    return Learner(name, display.strip() or name, _secret(), _secret(), _secret(), _secret())


def numbered(count: int) -> list[Learner]:
    """``learner01`` ... ``learnerNN``."""
    if not 1 <= count <= 500:
        raise RosterError(f"--learners {count}: give between 1 and 500")
    width = max(2, len(str(count)))
    return [new_learner(f"learner{i:0{width}d}") for i in range(1, count + 1)]


def from_csv(path: Path) -> list[Learner]:
    """A CSV with a ``username`` column (and optionally ``name``, shown on the dashboard)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "username" not in rows[0]:
        raise RosterError(f"{path}: the first line must name the columns, one of them username")
    learners, seen = [], set()
    for number, row in enumerate(rows, start=2):
        try:
            learner = new_learner(row["username"] or "", row.get("name") or "")
        except RosterError as exc:
            raise RosterError(f"{path} line {number}: {exc}") from exc
        if learner.name in seen:
            raise RosterError(f"{path} line {number}: {learner.name!r} appears twice")
        seen.add(learner.name)
        learners.append(learner)
    return learners


def save(learners: list[Learner], path: Path) -> None:
    """The roster with its secrets (the classroom directory is the instructor's only)."""
    path.write_text(json.dumps([asdict(x) for x in learners], indent=1))
    path.chmod(0o600)


def load(path: Path) -> list[Learner]:
    return [Learner(**row) for row in json.loads(path.read_text())] if path.exists() else []


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$salt$digest`` (hex), what the hub's password file holds."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, _ = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    return secrets.compare_digest(hash_password(password, bytes.fromhex(salt)), stored)


def write_handout(learners: list[Learner], url: str, path: Path) -> None:
    """One slip per learner: where to go, their login and password."""
    lines = [f"dbdojo classroom: {url}", ""]
    for x in learners:
        lines += [
            "-" * 48,
            f"{x.display}",
            f"  open:      {url}",
            f"  username:  {x.name}",
            f"  password:  {x.password}",
        ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
