"""Labs, second run: the student build (``dojo build student``, solutions stripped) executed top
to bottom in a real kernel, where every ``%%check`` must say "not answered yet" and nothing may
fail. (The instructor version runs through nbval, where every check must pass.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dbdojo.notebook.execute import CHECK_MAGIC, execute, output_text

ROOT = Path(__file__).resolve().parent.parent
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
NOT_ANSWERED = "not answered yet"


@pytest.fixture(scope="module")
def student_build(seeded_checkout, tmp_path_factory) -> Path:
    """``dojo build student`` of the checkout's labs, against its seeded data."""
    out = tmp_path_factory.mktemp("student")
    dojo = Path(sys.executable).with_name("dojo")
    result = subprocess.run(
        [str(dojo), "build", "student", "--out", str(out)],
        env=seeded_checkout,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"`dojo build student` failed:\n{result.stdout}{result.stderr}"
    return out


def test_labs_exist():
    assert LABS, "no lab in labs/: the student-build run has nothing to check"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_student_build_runs_and_every_check_is_not_answered(
    lab, student_build, fresh_worker_workspace
):
    built = student_build / lab.name
    assert built.exists(), f"{lab.name} missing from the student build in {student_build}"
    run = execute(built, env=fresh_worker_workspace, timeout=300)  # raises on a failing cell
    checks = [
        c for c in run.notebook.cells if c.cell_type == "code" and c.source.startswith(CHECK_MAGIC)
    ]
    assert checks, f"{lab.name}: the student build has no {CHECK_MAGIC} cell"
    wrong = {
        c.source.splitlines()[0]: output_text(c).strip()[:200]
        for c in checks
        if NOT_ANSWERED not in output_text(c)
    }
    assert not wrong, f"{lab.name}: checks that did not say {NOT_ANSWERED!r}: {wrong}"


def test_student_build_has_no_instructor_outputs(student_build):
    """Stored outputs of answer cells would show the reference's result."""
    for built in sorted(student_build.glob("*.ipynb")):
        nb = nbformat.read(built, as_version=4)
        leaked = [
            c.source.splitlines()[0]
            for c in nb.cells
            if c.cell_type == "code" and c.source.startswith(CHECK_MAGIC) and c.get("outputs")
        ]
        assert not leaked, f"{built.name}: answer cells keep outputs: {leaked}"
    assert os.listdir(student_build), "the student build is empty"
