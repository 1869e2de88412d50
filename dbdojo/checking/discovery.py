"""Find labs and their exercises in notebooks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from dbdojo import settings
from dbdojo.checking.model import Exercise, ExerciseError, from_metadata, split_check_cell
from dbdojo.paths import labs_dir, project_root


@dataclass
class Lab:
    id: str
    title: str
    path: Path
    exercises: list[Exercise] = field(default_factory=list)


def student_dir() -> Path:
    return project_root() / "build" / "student"


def read_lab(path: Path) -> Lab:
    """Parse one lab notebook into its exercises (in cell order)."""
    nb = json.loads(path.read_text(encoding="utf-8"))  # nbformat v4; its import costs 0.5 s
    meta = nb.get("metadata", {}).get("dojo", {})
    lab = Lab(meta.get("lab") or path.stem.split("-", 1)[0], meta.get("title", path.stem), path)
    prompt = ""
    for index, cell in enumerate(nb.get("cells", [])):
        source = cell.get("source", "")
        source = source if isinstance(source, str) else "".join(source)
        if cell.get("cell_type") == "markdown":
            prompt = source
            continue
        dojo = cell.get("metadata", {}).get("dojo", {})
        parsed = split_check_cell(source) if cell.get("cell_type") == "code" else None
        if "exercise" not in dojo:
            if parsed:
                raise ExerciseError(
                    f"{path.name} cell {index}: `%%check {parsed[0]}` has no metadata.dojo "
                    "(see labs/README.md)"
                )
            continue
        if not parsed or parsed[0] != dojo["exercise"]:
            raise ExerciseError(
                f"{path.name} cell {index}: metadata.dojo.exercise is {dojo['exercise']!r} but "
                f"the cell does not start with `%%check {dojo['exercise']}`"
            )
        ex = from_metadata(dojo, parsed[1], notebook=path, cell=index, prompt=prompt)
        lab.exercises.append(ex)
    return lab


def default_labs_dir() -> Path:
    """``DOJO_LABS_DIR`` (another course's labs, tests), else the checkout's ``labs/``."""
    return settings.labs_dir() or labs_dir()


def lab_paths(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.ipynb") if not p.name.startswith("."))


def labs(directory: Path | None = None) -> list[Lab]:
    """Every lab in ``directory`` (default: the checkout's ``labs/``)."""
    return [read_lab(p) for p in lab_paths(directory or default_labs_dir())]


def exercises(directory: Path | None = None) -> list[Exercise]:
    found: list[Exercise] = []
    seen: dict[str, Exercise] = {}
    for lab in labs(directory):
        for ex in lab.exercises:
            if ex.id in seen:
                raise ExerciseError(
                    f"exercise id {ex.id!r} is used twice: {seen[ex.id].where()} and {ex.where()}"
                )
            seen[ex.id] = ex
            found.append(ex)
    return found


def search_dirs() -> list[Path]:
    """Where ``find`` looks: ``DOJO_LABS_DIR``, the working directory, labs/, the student build."""
    dirs = [default_labs_dir(), Path.cwd(), labs_dir(), student_dir()]
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def find(exercise_id: str) -> Exercise:
    """The exercise with this id, from the first directory that holds it."""
    for directory in search_dirs():
        for path in lab_paths(directory):
            try:
                lab = read_lab(path)
            except Exception:  # a notebook that is not a lab (or is broken) is not ours
                continue
            for ex in lab.exercises:
                if ex.id == exercise_id:
                    return ex
    where = ", ".join(str(d) for d in search_dirs())
    raise ExerciseError(
        f"unknown exercise {exercise_id!r} (looked in {where}); `dojo exercises` lists the ids"
    )
