"""``dojo build student``: learner versions of the labs, with every solution removed and the
expected results kept only as per-row digests.

What it costs: every reference runs on a temporary workspace ``student_build`` freshly copied
from the seeded template (about 0.8 GB at the default scale, no spare copy) and on the edge-case
workspaces; the workspace is dropped afterwards, so the disk comes back. ``dojo lab`` keeps
the result in ``.dojo/student-build/`` (:func:`cached_student_build`) and builds again only when
the labs, the checker or the seeded data change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

from dbdojo import settings
from dbdojo.checking.datasets import BUILD_SCALE, identity
from dbdojo.checking.discovery import default_labs_dir, lab_paths, read_lab, student_dir
from dbdojo.checking.engine import Checker, Expectation, ReferenceFailed
from dbdojo.checking.model import Exercise, ExerciseError
from dbdojo.checking.transforms import (
    PLAN_KIND,
    clear_solution,
    exercise_id,
    student_version,
)
from dbdojo.workspace import Workspace

BUILD_WORKSPACE = Workspace("student_build")
COST = (
    "computes every exercise's expected result on a temporary copy of the data "
    "(about 0.8 GB of disk, given back afterwards; about half a minute on an idle machine)"
)


def build_checker() -> Checker:
    """A checker on workspace ``student_build`` freshly reset from the default-scale seed:
    the digests must not depend on what an author's own workspace holds now."""
    from dbdojo.dataset.seeding import seeded_meta
    from dbdojo.dataset.workspaces import reset

    meta = seeded_meta()
    if meta is None:
        raise ExerciseError(f"nothing is seeded: run `dojo seed --scale {BUILD_SCALE}` first")
    if meta.get("scale") != BUILD_SCALE:
        raise ExerciseError(
            f"the student build computes expected results on the {BUILD_SCALE!r} scale that "
            f"learners use, but the servers hold the {meta.get('scale')!r} scale: run "
            f"`dojo seed --scale {BUILD_SCALE}` first"
        )
    from dbdojo.dataset.seeding import ensure_edges

    ensure_edges()  # the build carries the edge-case digests the labs promise
    with settings.spares(False):  # the build workspace is dropped afterwards
        ws = reset(BUILD_WORKSPACE)
    return Checker(ws, cache_main=True)


def drop_build_workspace() -> None:
    """Give the build workspace's disk back."""
    from dbdojo.checking import connections
    from dbdojo.dataset import disk

    with contextlib.suppress(Exception):
        connections.discard_pg(BUILD_WORKSPACE)
    disk.drop(BUILD_WORKSPACE)


def expected_result(ex: Exercise, checker: Checker) -> Expectation | None:
    """``ex``'s expected result computed on the checker's workspace (the server part of the
    build), with the dataset it was computed on; None when there is nothing to compare."""
    if ex.options.get("database") == "mysql" and _no_mysql():
        return None  # a student cell (no reference) with nothing to compare: its check says
        # MariaDB is missing; the lab is built again once there is one
    if ex.kind == PLAN_KIND:
        return None
    try:
        expected = checker.expectation(ex)
    except ReferenceFailed as exc:
        where = f"{ex.where()}, workspace {checker.workspace.name!r}"
        raise ExerciseError(f"{where}: {exc}") from exc
    expected.dataset = identity(ex.kind, checker.workspace)
    return expected


def _no_mysql() -> bool:
    """Whether no seeded MariaDB/MySQL can compute the X3 lab's expected results."""
    from dbdojo.dataset import mysql_data

    return mysql_data.template_checksum() is None


def student_notebook(path: Path, checker: Checker) -> nbformat.NotebookNode:
    """The learner version of the lab at ``path``: the expected results computed on the
    checker's workspace, then the pure cell transforms of :mod:`dbdojo.checking.transforms`."""
    nb = nbformat.read(path, as_version=4)
    exercises = {ex.id: ex for ex in read_lab(path).exercises}
    answered = [exercise_id(c) for c in nb.cells if clear_solution(c) is not None]
    expected = {i: expected_result(exercises[i], checker) for i in answered if i is not None}
    return student_version(nb, exercises, expected, path.name)


def build_student(
    out: Path | None = None,
    source: Path | None = None,
    checker: Checker | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Path]:
    """Write the student version of every lab in ``source`` (default labs/) into ``out``.

    A pre-placed ``dojo.hint(...)`` cell is commented out, so "Run All" spends no hint."""
    out = out or student_dir()
    out.mkdir(parents=True, exist_ok=True)
    own = checker is None
    checker = checker or build_checker()
    written = []
    try:
        for path in lab_paths(source or default_labs_dir()):
            progress(path.name)
            nb = student_notebook(path, checker)
            target = out / path.name
            nbformat.write(nb, target)
            written.append(target)
    finally:
        if own:
            drop_build_workspace()
    return written


def build_key(source: Path) -> str:
    """What a student build depends on: the labs, the checker's code, the seeded data (main
    and edge variants). Equal keys, equal builds."""
    from dbdojo.dataset.edge import VARIANTS, inputs_of
    from dbdojo.dataset.seeding import seeded_meta
    from dbdojo.paths import PACKAGE_DIR

    digest = hashlib.sha256()
    for path in lab_paths(source):
        digest.update(path.name.encode() + path.read_bytes())
    for path in sorted((PACKAGE_DIR / "checking").rglob("*.py")):
        digest.update(path.read_bytes())
    meta = seeded_meta() or {}
    fields = ("scale", "seed", "generator_version", "checksum")
    digest.update(json.dumps({k: meta.get(k) for k in fields}, sort_keys=True).encode())
    digest.update(json.dumps([inputs_of(v) for v in VARIANTS]).encode())
    from dbdojo.dataset import mysql_data

    digest.update(str(mysql_data.template_checksum()).encode())  # X3: MariaDB came or went
    return digest.hexdigest()[:20]


def cached_student_build(say: Callable[[str], None] = print) -> Path:
    """The student build of the labs for this checkout's data, built only when its inputs
    changed since the last one (``.dojo/student-build/labs``)."""
    from dbdojo.paths import state_dir

    cache = state_dir() / "student-build"
    labs, manifest = cache / "labs", cache / "build.json"
    source = default_labs_dir()
    key = build_key(source)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(manifest.read_text()).get("key") == key and labs.is_dir():
            return labs
    say(f"Building the learner versions of the labs (again only when they change): {COST}.")
    started = time.perf_counter()
    fresh = cache / "labs.new"
    shutil.rmtree(fresh, ignore_errors=True)
    build_student(fresh, source, progress=lambda name: say(f"  {name}"))
    shutil.rmtree(labs, ignore_errors=True)
    fresh.rename(labs)
    seconds = time.perf_counter() - started
    manifest.write_text(json.dumps({"key": key, "seconds": round(seconds, 1)}, indent=1))
    say(f"Learner labs built in {seconds:.0f} s; the temporary copy of the data is dropped.")
    return labs
