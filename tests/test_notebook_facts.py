"""Dataset facts in the notebooks' text come from the notebook, not from the author's memory.

A number of 1,000 or more written with digits in a notebook's markdown (outside code) must be
found in the same notebook's code: as a literal in a code cell's source (an ``assert`` on the
figure the text rounds, or the parameter the text describes, as in ``LIMIT 1000``), or in a
code cell's stored output (the query that computed it). When the dataset changes and the
notebook is re-run, a typed figure the outputs no longer show fails here. Numbers that are not
dataset facts (years, figures quoted from documentation) are listed in ``NOT_DATASET_FACTS``
with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import outside_code

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb"))

# 1,000 or more: grouped with commas or (narrow) spaces, or four or more plain digits; not part
# of a word, an identifier, a decimal or a date
_NUMBER = re.compile(r"(?<![\w.,/-])(\d{1,3}(?:[,\u202f\u00a0]\d{3})+|\d{4,})(?![\w]|[.,]\d|-\d)")
# a year: four plain digits from 1900 to 2099
_YEAR = re.compile(r"^(19|20)\d\d$")

# (notebook stem, number as written): why it is not a dataset fact
NOT_DATASET_FACTS: dict[tuple[str, str], str] = {
    ("m1-document-modeling", "12,400"): "an example counter value in a product page's text",
    ("m2-queries-indexes", "6,371"): "the Earth's mean radius in km (the haversine helper's)",
    ("m3-aggregation-pipelines", "10,000"): "$lookup's hash-join limit, from the MongoDB docs",
    ("p3-indexing-explain", "30,000"): "ANALYZE's default sample (300 × 100), PostgreSQL docs",
    ("p3-indexing-explain", "180,000"): "the sample for a target of 600 (300 × 600)",
    ("p3-indexing-explain", "300,020"): "OFFSET 300000 LIMIT 20, worked out (an example query)",
    ("p3-indexing-explain", "15,000"): "OFFSET 300000 in pages of 20 (an example query)",
    ("p3-indexing-explain", "7,431"): "a page number nobody needs, as an example",
    ("r3-atomicity-scripting", "10,000"): "an example rate, not this dataset",
}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _output_text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(_text(output.get("text", "")))
        for kind, data in output.get("data", {}).items():
            if kind.startswith("text/"):
                parts.append(_text(data))
    return "\n".join(parts)


def typed_numbers(path: Path) -> list[tuple[str, str]]:
    """(cell, number as written) of every number ≥ 1,000 in the markdown, outside code."""
    found = []
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "markdown":
            continue
        for _, line in outside_code(_text(cell["source"])):
            for match in _NUMBER.finditer(line):
                written = match.group(1)
                if not _YEAR.match(written):
                    found.append((f"cell {index}", written))
    return found


def computed_numbers(path: Path) -> set[int]:
    """Every integer in the code cells' sources (``330_000`` too) and stored outputs
    (``330,000``, ``330000``)."""
    values: set[int] = set()
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        source = _text(cell["source"])
        values.update(int(m.replace("_", "")) for m in re.findall(r"\b\d+(?:_\d+)*\b", source))
        output = _output_text(cell)
        values.update(int(re.sub(r"\D", "", m)) for m in re.findall(r"\d{1,3}(?:,\d{3})+", output))
        values.update(int(m) for m in re.findall(r"\d+", output))
    return values


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_large_numbers_in_the_text_are_computed(path: Path) -> None:
    computed = computed_numbers(path)
    typed = [
        (where, written)
        for where, written in typed_numbers(path)
        if (path.stem, written) not in NOT_DATASET_FACTS
        and int(re.sub(r"\D", "", written)) not in computed
    ]
    assert not typed, (
        f"{path.name}: numbers in the text that no code cell computes or asserts "
        "(print them from a query, assert the rounded figure, or list them in "
        f"NOT_DATASET_FACTS with a reason): {typed}"
    )


def test_the_check_sees_typed_and_computed_figures(tmp_path: Path) -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "All 330,000 orders and 1,438 of them, in 2025,"},
            {"cell_type": "markdown", "source": "not `LIMIT 5000` nor\n```\n12000\n```"},
            {"cell_type": "code", "source": "assert round(n, -3) == 330_000", "outputs": []},
            {
                "cell_type": "code",
                "source": "print(n)",
                "outputs": [{"output_type": "stream", "text": ["1438 orders\n"]}],
            },
        ]
    }
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert typed_numbers(path) == [("cell 0", "330,000"), ("cell 0", "1,438")]
    assert {330_000, 1438} <= computed_numbers(path)
    nb["cells"][3]["outputs"] = []
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert 1438 not in computed_numbers(path)


def test_every_allowed_number_is_still_in_its_notebook() -> None:
    """An entry of NOT_DATASET_FACTS whose number left the text is removed, not kept."""
    typed = {(path.stem, written) for path in NOTEBOOKS for _, written in typed_numbers(path)}
    assert set(NOT_DATASET_FACTS) <= typed, set(NOT_DATASET_FACTS) - typed
