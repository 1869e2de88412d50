"""Where the classroom keeps things.

- ``.dojo/classroom/`` (mode 0700, the instructor's): the roster with its secrets, the hub's
  password hashes, its database and cookie secret, the handout, the service's address.
- ``/srv/dbdojo-classroom/<checkout id>/venv``: the environment learners' JupyterLab runs from
  (readable by all; the kit is installed in it as a package, without the labs' sources); for
  an instructor who is not root, ``~/.local/share/dbdojo-classroom/<checkout id>/venv``.
- each learner's home: see :mod:`dbdojo.classroom.mode`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from dbdojo import procs
from dbdojo.paths import checkout_id, project_root, state_dir

SHARED_ROOT = Path("/srv/dbdojo-classroom")
REQUIREMENTS = "requirements-classroom.txt"


def classroom_dir() -> Path:
    path = state_dir() / "classroom"
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    return path


def roster_file() -> Path:
    return classroom_dir() / "roster.json"


def passwords_file() -> Path:
    return classroom_dir() / "passwords.json"


def handout_file() -> Path:
    return classroom_dir() / "handout.txt"


def service_file() -> Path:
    return classroom_dir() / "service.json"


def hub_dir() -> Path:
    path = classroom_dir() / "hub"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def shared_root() -> Path:
    """``/srv/dbdojo-classroom`` as root, else in the instructor's data directory."""
    if os.geteuid() == 0:
        return SHARED_ROOT
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "dbdojo-classroom"


def shared_dir() -> Path:
    return shared_root() / checkout_id()


def venv_dir() -> Path:
    return shared_dir() / "venv"


def venv_bin(name: str) -> str:
    return str(venv_dir() / "bin" / name)


def _requirements_key() -> str:
    root = project_root()
    text = "".join(
        (root / name).read_text()
        for name in (REQUIREMENTS, "requirements.txt", "requirements-core.txt")
    )
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _world_reachable(path: Path) -> bool:
    """Whether any user can reach ``path`` (every directory above it enterable by others)."""
    return all(p.stat().st_mode & 0o001 for p in path.resolve().parents)


def learner_python() -> tuple[Path, Path]:
    """A Python 3.13 every learner can run (this one, or where it is private, pyenv's under
    /root say, a hard-linked mirror of it in the shared directory) and its library folder
    (pyenv's interpreter finds libpython by an absolute path: ``LD_LIBRARY_PATH``)."""
    base = Path(sys.base_prefix)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    libdir = Path(sysconfig.get_config_var("LIBDIR") or base / "lib")
    if not os.access(libdir, os.X_OK):  # a moved Python (its build-time LIBDIR unreachable)
        libdir = base / "lib"
    if not _world_reachable(base / "bin"):
        base = procs.mirror_tree(
            base, shared_dir() / f"python-{version}", ["bin", str(libdir.relative_to(base))]
        )
        libdir = base / libdir.relative_to(sys.base_prefix)
    return base / "bin" / f"python{version}", libdir


def ensure_venv(say=print) -> Path:
    """The shared environment, made (minutes, once) or refreshed (the kit itself, seconds)."""
    venv = venv_dir()
    marker = venv / f".installed-{_requirements_key()}"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    shared_dir().mkdir(parents=True, exist_ok=True)
    for path in (shared_root(), shared_dir()):
        path.chmod(0o755)
    python, _ = learner_python()
    if not marker.exists():
        say(f"Installing the learners' environment in {venv} (a few minutes, once)")
        subprocess.run([str(python), "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([*pip, "-r", str(project_root() / REQUIREMENTS)], check=True)
        marker.touch()
    elif (venv / "bin" / "python").resolve() != python.resolve():  # made by another Python
        for link in (venv / "bin").glob("python*"):
            link.unlink()
        subprocess.run([str(python), "-m", "venv", "--upgrade", str(venv)], check=True)
    # the kit itself, as a package (no labs, no .git): refreshed on every `classroom up`
    subprocess.run(
        [*pip, "--no-deps", "--force-reinstall", str(project_root())],
        check=True,
        cwd=shared_dir(),
    )
    return venv
