"""Build lab notebooks and exercise cells from Python (see labs/README.md)."""

from __future__ import annotations

from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dbdojo.checking.model import BADGES, heading_index

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def new_lab(lab: str, title: str, intro: str = "") -> nbformat.NotebookNode:
    """A lab notebook: ``%load_ext dbdojo`` first, then the intro."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["dojo"] = {"lab": lab, "title": title}
    nb.cells.append(new_code_cell("%load_ext dbdojo"))
    if intro:
        nb.cells.append(new_markdown_cell(intro))
    return nb


def exercise_cells(
    exercise_id: str,
    title: str,
    *,
    kind: str,
    prompt: str,
    reference: str,
    starter: str,
    hints: list[str],
    difficulty: str,
    wrong: list[str] | None = None,
    options: dict[str, Any] | None = None,
) -> list[nbformat.NotebookNode]:
    """The prompt (markdown, its heading badged with the difficulty) and the answer cell
    (``%%check`` + reference, with metadata)."""
    meta: dict[str, Any] = {
        "exercise": exercise_id,
        "title": title,
        "kind": kind,
        "difficulty": difficulty,
        "starter": starter,
        "hints": hints,
    }
    if wrong:
        meta["wrong"] = wrong
    if options:
        meta["options"] = options
    answer = new_code_cell(f"%%check {exercise_id}\n{reference.strip()}", metadata={"dojo": meta})
    return [new_markdown_cell(badged(prompt, difficulty)), answer]


def badged(prompt: str, difficulty: str) -> str:
    """The prompt with its heading (:func:`heading_index`) ending in the difficulty's badge."""
    lines = prompt.split("\n")
    index = heading_index(lines)
    line = lines[index]
    for badge in BADGES.values():
        line = line.removesuffix(f" · {badge}")
    lines[index] = f"{line} · {BADGES[difficulty]}"
    return "\n".join(lines)
