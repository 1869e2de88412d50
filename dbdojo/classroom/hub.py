"""JupyterHub for the classroom: its configuration, start, stop and who is connected.

The hub runs as root from the learners' environment (it setuids each learner's JupyterLab to
their system user, as The Littlest JupyterHub does), with configurable-http-proxy from npm in
front; in shared-user mode (:mod:`dbdojo.classroom.mode`) it runs as the instructor and starts
each JupyterLab as the instructor too, in its own process and home. Its files (database,
cookie secret, log) stay in ``.dojo/classroom/hub/``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from dbdojo import procs
from dbdojo.classroom import layout, mode, provision
from dbdojo.classroom.roster import Learner
from dbdojo.errors import NotFound

SERVICE_NAME = "dojo-classroom"
SERVICE_PREFIX = f"/services/{SERVICE_NAME}"
MARKER = "jupyterhub_config.py"  # in the hub's command line
CONFIG = """\
# Written by `dojo classroom up` (dbdojo.classroom.hub): regenerated on every start.
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = {bind_url!r}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{hub_dir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{hub_dir}/cookie_secret"
c.JupyterHub.pid_file = "{hub_dir}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "dbdojo.classroom.hubauth.DojoAuthenticator"
c.DojoAuthenticator.password_file = {password_file!r}
c.Authenticator.allowed_users = {allowed!r}
c.JupyterHub.spawner_class = {spawner!r}
c.DojoSpawner.learner_env = {learner_env!r}
c.SimpleLocalProcessSpawner.home_dir_template = {home_template!r}
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {singleuser_args!r}
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab/tree/work"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.mem_limit = None
c.JupyterHub.services = [
    {{"name": {service!r}, "api_token": {api_token!r}, "url": {service_url!r}}},
]
c.JupyterHub.load_roles = [
    {{"name": "dojo-classroom-status",
     "scopes": ["list:users", "read:users", "read:servers", "servers"],
     "services": [{service!r}]}},
]
"""


def hub_file() -> Path:
    return layout.classroom_dir() / "hub.json"


def proxy_command() -> str:
    found = shutil.which("configurable-http-proxy")
    if found is None:
        raise NotFound(
            "configurable-http-proxy is not installed: `npm install -g configurable-http-proxy`"
        )
    return found


def _spawner() -> dict[str, Any]:
    """The spawner of the classroom's mode; JupyterLab refuses root without ``--allow-root``
    (a root instructor who forced shared-user mode)."""
    shared = mode.shared()
    return {
        "spawner": "dbdojo.classroom.hubauth." + ("DojoSharedSpawner" if shared else "DojoSpawner"),
        "home_template": str(mode.homes_root() / "{username}"),
        "singleuser_args": ["--allow-root"] if shared and os.geteuid() == 0 else [],
    }


def write_config(
    learners: list[Learner], bind_url: str, service_url: str, api_token: str
) -> dict[str, Any]:
    hub_dir = layout.hub_dir()
    info = {
        "bind_url": bind_url,
        "hub_port": procs.free_port(),
        "proxy_api_port": procs.free_port(),
        "api_token": api_token,
    }
    text = CONFIG.format(
        **info,
        chp=proxy_command(),
        hub_dir=hub_dir,
        password_file=str(layout.passwords_file()),
        allowed={x.user for x in learners},
        learner_env={x.user: provision.spawn_env(x) for x in learners},
        singleuser=layout.venv_bin("jupyterhub-singleuser"),
        **_spawner(),
        service=SERVICE_NAME,
        service_url=service_url,
    )
    (hub_dir / "jupyterhub_config.py").write_text(text)
    info["api_url"] = f"http://127.0.0.1:{info['hub_port']}/hub/api"
    return info


def start(info: dict[str, Any], timeout: float = 180) -> dict[str, Any]:
    """Start the hub (detached) and wait until its API answers."""
    hub_dir = layout.hub_dir()
    env = {"PATH": os.pathsep.join([str(layout.venv_dir() / "bin"), os.environ["PATH"]])}
    cmd = [layout.venv_bin("jupyterhub"), "-f", str(hub_dir / "jupyterhub_config.py")]
    pid = procs.spawn(cmd, hub_dir / "jupyterhub.log", None, cwd=hub_dir, env=env)
    info.update(pid=pid, started=procs.started_at(pid))
    hub_file().write_text(json.dumps(info))
    hub_file().chmod(0o600)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.is_ours(pid, info["started"], MARKER):
            raise RuntimeError(f"the hub exited: {procs.tail(hub_dir / 'jupyterhub.log')}")
        if users(info) is not None:
            return info
        time.sleep(0.5)
    raise TimeoutError(f"the hub did not answer in {timeout:.0f} s; see {hub_dir}")


def load() -> dict[str, Any] | None:
    return json.loads(hub_file().read_text()) if hub_file().exists() else None


def users(info: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The hub's users (None if the hub does not answer)."""
    request = urllib.request.Request(
        info["api_url"] + "/users", headers={"Authorization": f"token {info['api_token']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def stop(timeout: float = 60) -> bool:
    """Stop the hub; it stops the proxy and every learner's server first. True if it ran."""
    info = load()
    if info is None:
        return False
    return procs.stop(info["pid"], info.get("started"), MARKER, timeout=timeout)
