"""The learner's own copies of the labs, in ``work/`` beside ``notebooks/`` (git-ignored).

``dojo lab`` copies each lab of the student build (no solutions) into ``work/`` the first
time, so links such as ``../notebooks/p2-….ipynb`` work from there. A copy is the learner's:
it is never overwritten once changed. When the course updates a lab:

- a copy the learner never changed is replaced by the new version;
- a started copy keeps every cell as the learner left it; exercises it does not have yet are
  appended at the end (each with its prompt, under a note), and the checker's metadata of the
  exercises it has is refreshed (expected results, hints), never their answers;
- an exercise the course retired (ids are never reused) stays in a started copy, with its
  metadata, so it still checks there; the sync names it.

``work/.dojo-copies.json`` records the digest of each copy as last written when it was a
pristine copy of the build (a merged copy is the learner's and is never replaced).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from dbdojo.paths import project_root

MANIFEST = ".dojo-copies.json"
README = "README.md"
README_TEXT = """# Your labs

Your own copies of the course's labs, made by `dojo lab` (no solutions inside). Write your
answers here: a rebuild or an update of the course never overwrites them. When a lab gets new
exercises, they are appended at the end of your copy. Instructors keep the source in `labs/`.
"""


def work_dir() -> Path:
    """``work/`` at the top of the checkout, beside ``notebooks/``."""
    return project_root() / "work"


@dataclass
class SyncReport:
    """What one sync did, file by file."""

    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    extended: dict[str, list[str]] = field(default_factory=dict)  # file -> new exercise ids
    refreshed: list[str] = field(default_factory=list)
    retired: dict[str, list[str]] = field(default_factory=dict)  # file -> ids gone from it

    def lines(self) -> list[str]:
        out = [f"new: work/{name}" for name in self.created]
        out += [f"updated: work/{name} (you had not changed it)" for name in self.replaced]
        for name, ids in self.extended.items():
            out.append(
                f"updated: work/{name}: {len(ids)} new exercise(s) appended at the end "
                f"({', '.join(ids)}); your cells are as you left them"
            )
        out += [f"refreshed the checks of work/{name}" for name in self.refreshed]
        for name, ids in self.retired.items():
            out.append(
                f"work/{name}: {', '.join(ids)} left the course (retired); your answers stay "
                "in your copy and still check there, but no longer count in `dojo progress`"
            )
        return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _exercise(cell: Any) -> str | None:
    return cell.get("metadata", {}).get("dojo", {}).get("exercise")


def merge(mine: Any, new: Any) -> tuple[list[str], bool]:
    """Bring ``new`` exercises and check metadata into the learner's notebook ``mine`` (in
    place). Returns the appended exercise ids and whether any existing metadata changed."""
    have = {_exercise(c): c for c in mine.cells if _exercise(c)}
    refreshed = False
    appended: list[str] = []
    prompt = None
    additions = []
    for cell in new.cells:
        ex = _exercise(cell)
        if cell.cell_type == "markdown":
            prompt = cell
            continue
        if not ex:
            continue
        if ex in have:
            if have[ex].metadata.get("dojo") != cell.metadata["dojo"]:
                have[ex].metadata["dojo"] = cell.metadata["dojo"]
                refreshed = True
            continue
        additions += [prompt, cell] if prompt is not None else [cell]
        appended.append(ex)
        prompt = None
    if additions:
        day = dt.date.today().isoformat()
        note = (
            f"## Added by a course update ({day})\n\nNew exercises of this lab. "
            "Everything above is as you left it."
        )
        mine.cells += [nbformat.v4.new_markdown_cell(note), *additions]
    return appended, refreshed


def retired(mine: Any, new: Any) -> list[str]:
    """Exercises of the learner's copy that the course's version no longer has."""
    current = {_exercise(c) for c in new.cells}
    return [ex for c in mine.cells if (ex := _exercise(c)) and ex not in current]


def sync(build: Path, work: Path | None = None) -> SyncReport:
    """Make or update the learner's copies in ``work`` from the student build ``build``."""
    work = work or work_dir()
    work.mkdir(parents=True, exist_ok=True)
    if not (work / README).exists():
        (work / README).write_text(README_TEXT)
    manifest_path = work / MANIFEST
    try:
        manifest: dict[str, str | None] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    report = SyncReport()
    for built in sorted(build.glob("*.ipynb")):
        target = work / built.name
        pristine = manifest.get(built.name)  # digest of the untouched copy we wrote, or None
        if not target.exists():
            target.write_bytes(built.read_bytes())
            report.created.append(built.name)
        elif _sha(target) == _sha(built):
            pass
        elif pristine is not None and pristine == _sha(target):  # the learner never changed it
            target.write_bytes(built.read_bytes())
            report.replaced.append(built.name)
        else:
            mine = nbformat.read(target, as_version=4)
            new = nbformat.read(built, as_version=4)
            appended, refreshed = merge(mine, new)
            if gone := retired(mine, new):
                report.retired[built.name] = gone
            if appended or refreshed:
                nbformat.write(mine, target)
            if appended:
                report.extended[built.name] = appended
            elif refreshed:
                report.refreshed.append(built.name)
            manifest[built.name] = None  # the learner's now: never replaced
            continue
        manifest[built.name] = _sha(target)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return report
