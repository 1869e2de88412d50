"""A learner's machine inside the test machine: an ordinary user with its own HOME, its own
copy of the checkout, and a Python that user can run (for tests/test_nonroot.py).

As root the learner is ``nobody`` (override with ``DOJO_TEST_LEARNER``); otherwise it is the
user running the tests. The learner runs the test environment's Python and packages where it
can reach them; where it cannot (a venv and a pyenv Python under /root, mode 0700), it gets
hard-linked copies of both (seconds, no download): a fresh venv over a copy of the base
Python, with a ``.pth`` naming the learner's checkout and the test venv's site-packages.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from dbdojo import procs
from dbdojo.paths import project_root

SKIPPED = {
    ".git",
    ".dojo",
    ".venv",
    ".venv-test",
    "build",
    "student",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
}


class Learner:
    """One learner's world under ``root``: ``home``, ``repo`` (their checkout) and a ``dojo``
    command; :meth:`dojo` runs it as them, in their checkout, with a clean environment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.user = _learner_account()
        self.home = root / "home"
        self.repo = root / "repo"
        self.env: dict[str, str] = {}
        self.python = ""

    def build(self) -> Learner:
        self.root.chmod(0o755)
        self.home.mkdir()
        _copy_checkout(project_root(), self.repo)
        self.python, extra = self._python()
        path = os.pathsep.join(
            [str(Path(self.python).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        )
        self.env = {"HOME": str(self.home), "PATH": path, "LANG": "C.UTF-8", **extra}
        self.env["DOJO_PG_NO_SYNC"] = "1"  # as the other server tests: no final initdb fsync
        for path in (self.home, self.repo):
            procs.give_to(path, self.user)
        return self

    def _python(self) -> tuple[str, dict[str, str]]:
        """The interpreter the learner runs, and the variables it needs."""
        site = Path(sysconfig.get_paths()["purelib"])
        if procs.can_reach(Path(sys.executable).resolve(), self.user) and procs.can_reach(
            site, self.user, "r"
        ):
            return sys.executable, {"PYTHONPATH": str(self.repo)}
        base = procs.mirror_tree(Path(sys.base_prefix), self.root / "python")
        if not procs.can_reach(site, self.user, "r"):
            site = procs.mirror_tree(site, self.root / "site-packages")
        venv = self.root / "venv"
        interpreter = base / "bin" / Path(sys.executable).name
        subprocess.run([str(interpreter), "-m", "venv", "--without-pip", str(venv)], check=True)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        Path(venv, "lib", version, "site-packages", "dojo-test-learner.pth").write_text(
            f"{self.repo}\n{site}\n"
        )
        # a pyenv Python finds libpython through an absolute RUNPATH into the unreachable copy
        return str(venv / "bin" / "python"), {"LD_LIBRARY_PATH": str(base / "lib")}

    def dojo(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``dojo ARGS`` as the learner, in their checkout (never raises on failure)."""
        code = "import sys; from dbdojo.cli import main; sys.argv[0] = 'dojo'; main()"
        kwargs = self.user.subprocess_kwargs() if self.user else {}
        return subprocess.run(
            [self.python, "-c", code, *args],
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def python_code(self, code: str) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` as the learner, in their checkout."""
        kwargs = self.user.subprocess_kwargs() if self.user else {}
        return subprocess.run(
            [self.python, "-c", code],
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **kwargs,
        )

    def owner_of(self, pid: int) -> str:
        import psutil

        return psutil.Process(pid).username()

    @property
    def name(self) -> str:
        return self.user.name if self.user else pwd.getpwuid(os.getuid()).pw_name


def _learner_account() -> procs.RunAs | None:
    """``nobody`` (or DOJO_TEST_LEARNER) when the tests run as root, else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(os.environ.get("DOJO_TEST_LEARNER", "nobody"))
    return procs.RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _copy_checkout(source: Path, target: Path) -> None:
    """The checkout's files as they are now (committed or not), without state or venvs."""
    shutil.copytree(
        source,
        target,
        ignore=lambda _dir, names: [n for n in names if n in SKIPPED or n.endswith(".egg-info")],
        symlinks=True,
    )
