"""What the hub imports (from the learners' environment, where JupyterHub is installed):
the login check against the classroom's password hashes, and the spawners that start a
learner's JupyterLab with their environment: as their system user, or (shared-user mode) as
the hub's own user in a home of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner
from traitlets import Dict, Unicode

from dbdojo.classroom.roster import PREFIX, verify_password


class DojoAuthenticator(Authenticator):
    """A learner logs in with their name and the password on their handout slip; the hub user
    is their system user (``dojo-<name>``)."""

    password_file = Unicode(help="JSON: learner name -> scrypt hash").tag(config=True)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        name = (data.get("username") or "").strip().lower()
        stored = json.loads(Path(self.password_file).read_text()).get(name)
        if stored and verify_password(data.get("password") or "", stored):
            return f"{PREFIX}{name}"
        self.log.warning("failed login for %r", name)
        return None


class DojoSpawner(LocalProcessSpawner):
    """LocalProcessSpawner (setuid to the hub user's system user) plus the learner's
    classroom environment (``DOJO_HOME``, ``DOJO_WORKSPACE``...; no secret)."""

    learner_env = Dict(help="hub user -> extra environment").tag(config=True)

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        env.update(self.learner_env.get(self.user.name, {}))
        return env


class DojoSharedSpawner(DojoSpawner, SimpleLocalProcessSpawner):
    """Shared-user mode: JupyterHub's SimpleLocalProcessSpawner (no setuid; ``HOME`` and the
    working directory are ``home_dir_template`` for the hub user) plus the learner's
    environment. Separate processes and homes, no file isolation."""
