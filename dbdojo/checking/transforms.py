"""The student build as pure cell transforms (nbgrader's preprocessors are the model).

Each transform takes a cell (and, where needed, the exercise and its already computed
expected result) and returns a new cell; none touches a server or changes its input.
:mod:`dbdojo.checking.build` computes the expected results and composes these.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

import nbformat

from dbdojo.checking.engine import Expectation
from dbdojo.checking.model import Exercise, ExerciseError
from dbdojo.checking.sqltext import normalized_text

Cell = nbformat.NotebookNode

SOLUTION_TAG = "dojo-solution"
PLAN_KIND = "sql-plan"  # checked by a predicate on the plan, not against a result
HINT_CALL = re.compile(r"^(\s*)(dojo\.hint\(.*)$", re.MULTILINE)
HINT_NOTE = "  # remove the # and run this cell when you want a hint"
LEAK_MIN = 12  # shorter solutions ("SELECT 1") may legitimately appear in the prose


class LeakError(ExerciseError):
    """A cell outside the answer cells repeats a solution."""


def exercise_id(cell: Cell) -> str | None:
    """The id of the exercise whose answer cell ``cell`` is, None for any other cell."""
    return cell.metadata.get("dojo", {}).get("exercise")


def clear_solution(cell: Cell) -> Cell | None:
    """None for an instructor-only cell (tagged ``dojo-solution``), else a copy of ``cell``."""
    if SOLUTION_TAG in cell.metadata.get("tags", []):
        return None
    return copy.deepcopy(cell)


def keep_starter(cell: Cell, ex: Exercise) -> Cell:
    """The answer cell with the solution replaced by the exercise's starter code."""
    new = copy.deepcopy(cell)
    new.source = f"%%check {ex.id}\n{ex.starter}"
    return new


def digest_expected(cell: Cell, ex: Exercise, expected: Expectation | None) -> Cell:
    """The answer cell whose metadata is what a learner's check needs: the exercise without
    its reference or wrong answers, and ``expected`` as digests only (None: nothing to
    compare, e.g. no MariaDB for the X3 lab; plan exercises carry no expected result)."""
    meta: dict[str, Any] = {"exercise": ex.id, "title": ex.title, "kind": ex.kind}
    meta.update(starter=ex.starter, difficulty=ex.difficulty, hints=ex.hints, options=ex.options)
    if expected is not None:
        meta["expected"] = expected.to_dict()
    elif ex.kind != PLAN_KIND:
        meta["expected"] = None
    new = copy.deepcopy(cell)
    new.metadata["dojo"] = meta
    return new


def comment_out_hints(cell: Cell) -> Cell:
    """A code cell's pre-placed ``dojo.hint(...)`` calls commented out, so "Run All" spends
    no hint."""
    new = copy.deepcopy(cell)
    if new.cell_type == "code":
        new.source = HINT_CALL.sub(lambda m: f"{m[1]}# {m[2]}{HINT_NOTE}", new.source)
    return new


def refuse_leaks(cell: Cell, secrets: Iterable[str], where: str) -> Cell:
    """``cell`` unchanged, or :class:`LeakError` when it repeats one of ``secrets``
    (normalized solutions, see :func:`solutions`)."""
    text = normalized_text(cell.source)
    if any(s in text for s in secrets if len(s) > LEAK_MIN):
        raise LeakError(
            f"{where} repeats a solution: tag it {SOLUTION_TAG!r} (instructor only) or rephrase it"
        )
    return cell


def clear_outputs(cell: Cell) -> Cell:
    """A code cell without outputs or execution count (other cells as they are)."""
    new = copy.deepcopy(cell)
    if new.cell_type == "code":
        new.outputs = []
        new.execution_count = None
    return new


def solutions(ex: Exercise) -> list[str]:
    """The exercise's reference and wrong answers, normalized (what must not leak)."""
    return [normalized_text(s) for s in [ex.reference or "", *ex.wrong] if normalized_text(s)]


def student_cell(
    cell: Cell,
    exercises: Mapping[str, Exercise],
    expected: Mapping[str, Expectation | None],
    secrets: list[str],
    where: str,
) -> Cell | None:
    """The learner version of one cell (None: the cell is dropped)."""
    kept = clear_solution(cell)
    if kept is None:
        return None
    ex_id = exercise_id(kept)
    if ex_id is not None:
        ex = exercises[ex_id]
        kept = digest_expected(keep_starter(kept, ex), ex, expected[ex_id])
    elif kept.cell_type == "code" and HINT_CALL.search(kept.source):
        kept = comment_out_hints(kept)
    else:
        kept = refuse_leaks(kept, secrets, where)
    return clear_outputs(kept)


def student_version(
    nb: nbformat.NotebookNode,
    exercises: Mapping[str, Exercise],
    expected: Mapping[str, Expectation | None],
    name: str,
) -> nbformat.NotebookNode:
    """The learner version of the lab ``nb`` (called ``name`` in errors), given its exercises
    and their computed expected results by id."""
    secrets = [s for ex in exercises.values() for s in solutions(ex)]
    new = copy.deepcopy(nb)
    cells = (
        student_cell(cell, exercises, expected, secrets, f"{name} cell {index}")
        for index, cell in enumerate(nb.cells)
    )
    new.cells = [cell for cell in cells if cell is not None]
    new.metadata.setdefault("dojo", {})["student"] = True
    return new
