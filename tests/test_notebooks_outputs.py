"""Stored outputs exist (nbval compares nothing in a cell without them), notebooks follow the
kit's conventions, and the nbval sanitizers do what they claim."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.helpers import sanitize

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("labs/*.ipynb")])


def _code_cells(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_there_are_notebooks_and_labs():
    assert any(p.parent.name == "notebooks" for p in NOTEBOOKS), "no notebook in notebooks/"
    assert any(p.parent.name == "labs" for p in NOTEBOOKS), "no lab in labs/"


def test_every_notebook_is_stored_with_its_outputs():
    """A code cell without an execution count is never compared by nbval: list them all."""
    missing = {}
    for path in NOTEBOOKS:
        cells = _code_cells(path)
        unrun = [i for i, c in enumerate(cells) if c.execution_count is None]
        if unrun or not any(c.outputs for c in cells):
            missing[str(path.relative_to(ROOT))] = unrun or "no outputs at all"
    assert not missing, (
        "stored without outputs (code cells by index); run `dojo run-notebook PATH` and "
        f"commit the result: {missing}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_loads_the_extension(path):
    cells = _code_cells(path)
    assert cells and cells[0].source.strip().splitlines()[0] == "%load_ext dbdojo", (
        f"{path.name}: the first code cell must start with `%load_ext dbdojo`"
    )


def test_the_index_lists_every_notebook_and_lab():
    index = (ROOT / "notebooks" / "README.md").read_text()
    unlisted = [
        str(p.relative_to(ROOT))
        for p in NOTEBOOKS
        # a lab is listed by the name of the learner's copy in work/, or linked
        if not any(
            form in index for form in (f"]({p.name})", f"](../labs/{p.name})", f"`{p.name}`")
        )
    ]
    assert not unlisted, f"notebooks/README.md does not list: {unlisted}"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "Seq Scan on orders  (cost=0.00..1.00 rows=1 width=8) "
            "(actual time=0.011..12.52 rows=3 loops=1)\n  Buffers: shared hit=12 read=3\n"
            "Planning Time: 0.088 ms\nExecution Time: 12.611 ms",
            "Seq Scan on orders  (cost=0.00..1.00 rows=1 width=8) "
            "(actual time=0.020..9.1 rows=3 loops=1)\n  Buffers: shared hit=15\n"
            "Planning Time: 1.2 ms\nExecution Time: 9.0 ms",
        ),
        (
            '{"Actual Total Time": 1.25, "Execution Time": 3.5}',
            '{"Actual Total Time": 2, "Execution Time": 0.75}',
        ),
        ("now: 2025-11-22 03:04:05.123+01:00", "now: 2025-11-23T10:00:00Z"),
        (
            "{'_id': ObjectId('65a1f0c2e4b0a1b2c3d4e5f6')}",
            "{'_id': ObjectId('75a1f0c2e4b0a1b2c3d4e5f7')}",
        ),
        ("<psycopg.Cursor at 0x7f96fb369850>", "<psycopg.Cursor at 0x7fafb3609910>"),
        ("cache miss 12.5 ms, hit 0.4 ms: 31.2x faster", "cache miss 9 ms, hit 0.3 ms: 30x faster"),
        (
            "dbdojo ▸ PostgreSQL 18.6 (embedded) · Valkey 9.1.2 (embedded)",
            "dbdojo ▸ PostgreSQL 17.2 (your server) · Redis 7.4.1 (your server)",
        ),
    ],
)
def test_sanitizers_hide_what_legitimately_changes(first, second):
    assert sanitize(first) == sanitize(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("rows=3", "rows=4"),
        ("Index Only Scan using orders_pkey", "Seq Scan on orders"),
        ("total 12.50 EUR", "total 12.51 EUR"),
        ("⚠ Redis is not running", "dbdojo ▸ Redis"),
    ],
)
def test_sanitizers_keep_what_must_be_compared(first, second):
    assert sanitize(first) != sanitize(second)
