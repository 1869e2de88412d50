"""``dojo build student``: learner versions of the labs, with every solution removed and the
expected results kept only as per-row digests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from dbdojo.checking.datasets import BUILD_SCALE, identity
from dbdojo.checking.discovery import default_labs_dir, lab_paths, read_lab, student_dir
from dbdojo.checking.engine import Checker, ReferenceFailed
from dbdojo.checking.model import Exercise, ExerciseError
from dbdojo.checking.sqltext import normalized_text
from dbdojo.workspace import Workspace

SOLUTION_TAG = "dojo-solution"
BUILD_WORKSPACE = Workspace("student_build")


class LeakError(ExerciseError):
    """A cell outside the answer cells repeats a solution."""


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
    return Checker(reset(BUILD_WORKSPACE), cache_main=True)


def student_metadata(ex: Exercise, checker: Checker) -> dict[str, Any]:
    meta = {"exercise": ex.id, "title": ex.title, "kind": ex.kind, "starter": ex.starter}
    meta.update(hints=ex.hints, options=ex.options)
    if ex.kind != "sql-plan":  # plans are checked by a predicate, not against a result
        try:
            expected = checker.expectation(ex)
        except ReferenceFailed as exc:
            where = f"{ex.where()}, workspace {checker.workspace.name!r}"
            raise ExerciseError(f"{where}: {exc}") from exc
        expected.dataset = identity(ex.kind, checker.workspace)
        meta["expected"] = expected.to_dict()
    return meta


def solutions(ex: Exercise) -> list[str]:
    return [normalized_text(s) for s in [ex.reference or "", *ex.wrong] if normalized_text(s)]


def student_notebook(path: Path, checker: Checker) -> nbformat.NotebookNode:
    """The learner version of the lab at ``path``."""
    nb = nbformat.read(path, as_version=4)
    exercises = {ex.id: ex for ex in read_lab(path).exercises}
    secrets = [s for ex in exercises.values() for s in solutions(ex)]
    kept = []
    for index, cell in enumerate(nb.cells):
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            continue
        dojo = cell.metadata.get("dojo", {})
        if "exercise" in dojo:
            ex = exercises[dojo["exercise"]]
            cell.source = f"%%check {ex.id}\n{ex.starter}"
            cell.metadata["dojo"] = student_metadata(ex, checker)
        elif any(s in normalized_text(cell.source) for s in secrets if len(s) > 12):
            raise LeakError(
                f"{path.name} cell {index} repeats a solution: tag it {SOLUTION_TAG!r} "
                "(instructor only) or rephrase it"
            )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        kept.append(cell)
    nb.cells = kept
    nb.metadata.setdefault("dojo", {})["student"] = True
    return nb


def build_student(
    out: Path | None = None,
    source: Path | None = None,
    checker: Checker | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Path]:
    """Write the student version of every lab in ``source`` (default labs/) into ``out``."""
    out = out or student_dir()
    out.mkdir(parents=True, exist_ok=True)
    checker = checker or build_checker()
    written = []
    for path in lab_paths(source or default_labs_dir()):
        progress(path.name)
        nb = student_notebook(path, checker)
        target = out / path.name
        nbformat.write(nb, target)
        written.append(target)
    return written
