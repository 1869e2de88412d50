"""One supported Python, 3.13, found by `make` wherever it is, or named in one line first.

``scripts/find-python`` looks at PATH, pyenv's versions and uv; these tests run it (and the
Makefile) with a PATH and a HOME built for each case. Their "Python 3.13" is a link to the
interpreter running the tests; "another Python" is a stand-in that fails the version check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dbdojo.paths import project_root

FIND_PYTHON = project_root() / "scripts" / "find-python"
MAKE = shutil.which("make")


@pytest.fixture
def bare(tmp_path: Path) -> dict[str, str]:
    """An environment like a login shell on a machine without pyenv's shims: a PATH whose
    only python3 is not 3.13 (Debian 12's 3.11, say), and an empty HOME."""
    assert sys.version_info[:2] == (3, 13), "the tests themselves run on the supported Python"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    other = bindir / "python3"
    other.write_text("#!/bin/sh\necho 'Python 3.11.2'\nexit 1\n")
    other.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": str(bindir), "HOME": str(home)}


def find_python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FIND_PYTHON), *args], env=env, capture_output=True, text=True, check=False
    )


def test_none_found_says_how_to_get_one_in_one_line(bare):
    result = find_python(bare)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "needs Python 3.13" in line
    assert "uv python install 3.13" in line and "pyenv install 3.13" in line


def test_found_in_pyenv_without_pyenv_on_path(bare):
    versions = Path(bare["HOME"]) / ".pyenv" / "versions" / "3.13.9" / "bin"
    versions.mkdir(parents=True)
    (versions / "python3.13").symlink_to(sys.executable)
    result = find_python(bare)
    assert result.returncode == 0, result.stderr
    assert os.path.samefile(result.stdout.strip(), sys.executable)


def test_found_on_path_first(bare, tmp_path):
    (Path(bare["PATH"]) / "python3.13").symlink_to(sys.executable)
    result = find_python(bare)
    assert result.returncode == 0, result.stderr
    assert os.path.samefile(result.stdout.strip(), sys.executable)


def test_found_through_uv(bare):
    uv = Path(bare["PATH"]) / "uv"
    uv.write_text(f'#!/bin/sh\n[ "$*" = "python find 3.13" ] && echo {sys.executable}\n')
    uv.chmod(0o755)
    result = find_python(bare)
    assert result.returncode == 0, result.stderr
    assert os.path.samefile(result.stdout.strip(), sys.executable)


def test_an_explicit_python_of_another_version_is_refused(bare):
    result = find_python(bare, str(Path(bare["PATH"]) / "python3"))
    assert result.returncode == 1
    assert "PYTHON=" in result.stderr and "3.13" in result.stderr


def test_make_says_it_before_pip_says_anything(bare, tmp_path):
    """`make test` with no Python 3.13 anywhere: the first (and only) thing said is the line."""
    assert MAKE, "make runs the README's commands"
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml", "requirements-test.txt", "requirements-core.txt"):
        shutil.copy(project_root() / name, checkout / name)
    shutil.copytree(project_root() / "scripts", checkout / "scripts")
    result = subprocess.run(
        [MAKE, "test"], cwd=checkout, env=bare, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("dbdojo needs Python 3.13"), result.stderr
    assert "pip" not in result.stderr and not (checkout / ".venv-test").exists()


def test_pyproject_and_readme_say_the_same():
    pyproject = tomllib.loads((project_root() / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == "==3.13.*"
    readme = (project_root() / "README.md").read_text()
    assert "Python 3.13" in readme and "3.11 works" not in readme
    pins = (project_root() / "requirements-core.txt").read_text()
    assert "python_version" not in pins, "one supported Python: no per-version pins"
