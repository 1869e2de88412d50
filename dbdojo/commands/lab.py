"""``dojo lab``: the databases up, the dataset (and its edge-case variants) loaded if needed,
the learner's copies of the labs in ``work/`` (no solutions; :mod:`dbdojo.notebook.learner`),
then JupyterLab on the welcome notebook, its kernels started with the kit's ``IPYTHONDIR``
(:mod:`dbdojo.notebook.startup`)."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

from rich.console import Console

from dbdojo import procs
from dbdojo.commands import report
from dbdojo.errors import NotFound
from dbdojo.notebook import startup
from dbdojo.paths import project_root

console = Console(highlight=False)
WELCOME = "notebooks/00-welcome.ipynb"


def _bin_dir() -> str:
    """The environment the kit runs from (``.venv/bin`` after ``make lab``, not activated)."""
    return str(Path(sys.executable).parent)


def _jupyter() -> str:
    jupyter = shutil.which("jupyter-lab", path=os.pathsep.join([_bin_dir(), os.defpath]))
    jupyter = jupyter or shutil.which("jupyter-lab")
    if jupyter is None:
        raise NotFound(
            "JupyterLab is not installed in this environment: `pip install -e '.[lab]'` "
            "(or open notebooks/ in any Jupyter you have after `dojo up`)"
        )
    return jupyter


def _seed() -> None:
    from dbdojo.dataset import ensure_seeded

    ensure_seeded()


def prepare_workspace() -> Path:
    """The learner's ``work/``: copies of the student build made or updated (cached build)."""
    from dbdojo.checking.build import cached_student_build
    from dbdojo.notebook import learner

    build = cached_student_build(say=console.print)
    for line in learner.sync(build).lines():
        console.print(line)
    return learner.work_dir()


def command(port: int, open_browser: bool) -> list[str]:
    """The JupyterLab command line (``--allow-root`` when run as root). It holds no token:
    any local user can read a command line (``ps``), so the token goes in the environment
    (:func:`launch`), which only its owner can read."""
    cmd = [
        _jupyter(),
        # the checkout is the root, so the labs are reachable too; open on the welcome notebook
        f"--ServerApp.root_dir={project_root()}",
        f"--LabApp.default_url=/lab/tree/{WELCOME}",
        "--ip=127.0.0.1",
        f"--port={port}",
    ]
    if not open_browser:
        cmd.append("--no-browser")
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def run(port: int, open_browser: bool) -> None:
    """Start everything, then hand this process over to JupyterLab."""
    _jupyter()  # before starting servers: say what is missing first
    outcomes = report.run_up(None, docker=False, wait=True)
    if not report.show_outcomes(outcomes, "up"):
        raise procs.StartFailed("a database did not start (see above); `dojo doctor` may say why")
    _seed()
    report.start_check_server(outcomes)
    work = prepare_workspace()
    console.print(f"Your labs: {work.relative_to(project_root())}/ (your answers stay yours)")
    token = secrets.token_urlsafe(24)
    port = port if procs.port_free(port) else procs.free_port()
    cmd = command(port, open_browser)
    if os.geteuid() == 0:
        console.print(
            "[yellow]Running as root: JupyterLab refuses that unless told, so the kit passes "
            "--allow-root.[/]"
        )
    console.print(f"JupyterLab: http://127.0.0.1:{port}/lab?token={token}")
    os.environ["DOJO_HOME"] = str(project_root())  # kernels find this checkout's servers
    os.environ["IPYTHONDIR"] = str(startup.ipython_dir())  # the kit loads after a restart
    # kernels and terminals use this environment's python and dojo, activated or not
    os.environ["PATH"] = os.pathsep.join([_bin_dir(), os.environ.get("PATH", os.defpath)])
    launch(cmd, token)


def launch(cmd: list[str], token: str) -> None:
    """Become JupyterLab (``cmd``), its token in ``JUPYTER_TOKEN``: Jupyter Server reads it
    from there, and a process's environment (``/proc/PID/environ``) is readable by its owner
    only, unlike its command line."""
    os.environ["JUPYTER_TOKEN"] = token
    os.execv(cmd[0], cmd)
