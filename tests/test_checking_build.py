"""The student build: starters back, no solution text anywhere, digests that still check.

The first tests build a lab written here against the fixture workspaces; the last one builds
the real labs/ (it needs the seeded dataset)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from dbdojo.checking import connections, discovery
from dbdojo.checking.authoring import exercise_cells, new_lab
from dbdojo.checking.build import build_student
from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise
from dbdojo.checking.sqltext import normalized_text
from dbdojo.checking.transforms import LeakError
from tests.fixtures.checking import dataset_checker, require_servers, workspaces

REF_SQL = (
    "SELECT customer_id, sum(total) AS spent_in_total FROM orders "
    "WHERE status = 'delivered' GROUP BY customer_id ORDER BY spent_in_total DESC, customer_id"
)
REF_MONGO = '[{"$match": {"status": "cancelled"}}, {"$project": {"_id": 0, "order_id": 1}}]'


@pytest.fixture(scope="module")
def checker(request) -> Checker:
    require_servers(request)
    fx = workspaces()
    return Checker(fx.main, [fx.edge], fx.redis_source)


@pytest.fixture(scope="module")
def lab_checker(request) -> Checker:
    return dataset_checker(request)


def write_lab(folder: Path) -> Path:
    nb = new_lab("zz", "Fixture lab", intro="# A lab")
    nb.cells += exercise_cells(
        "zz.spend",
        "Spend",
        kind="sql",
        difficulty="easy",
        prompt="Sum the delivered totals per customer.",
        reference=REF_SQL,
        starter="-- your query\nSELECT",
        hints=["GROUP BY"],
        wrong=[REF_SQL.replace("DESC", "ASC"), REF_SQL.replace("'delivered'", "'cancelled'")],
    )
    nb.cells += exercise_cells(
        "zz.cancelled",
        "Cancelled",
        kind="mongo-pipeline",
        difficulty="medium",
        prompt="Cancelled orders.",
        reference=REF_MONGO,
        starter="[]",
        hints=["$match"],
        options={"collection": "orders"},
    )
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text=f"ran {REF_MONGO}")]
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "# instructor notes: " + REF_SQL, metadata={"tags": ["dojo-solution"]}
        )
    )
    path = folder / "zz-fixture.ipynb"
    nbformat.write(nb, path)
    return path


def strings(node) -> list[str]:
    """Every string in a JSON document (keys and values)."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (k, *strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


def distinctive_tokens(ex: Exercise, visible: str) -> set[str]:
    """Tokens of the solution that the learner's visible material does not contain."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]{3,}|'[^']+'|\"[^\"]+\"", ex.reference or ""))
    return {w for w in words if w not in visible and w.strip("'\"") not in visible}


def allowed_names(built: Path) -> str:
    """What a student build may disclose: the expected column names and order keys."""
    names = []
    for ex in discovery.read_lab(built).exercises:
        expected = ex.expected or {}
        names += expected.get("order_by") or []
        for target in expected.get("targets", {}).values():
            names += target["columns"]
    return " ".join(names)


def visible_text(source: Path) -> str:
    """The instructor lab's text a learner sees anyway: cells and metadata but no solutions."""
    nb = nbformat.read(source, as_version=4)
    parts = []
    for cell in nb.cells:
        if "dojo-solution" in cell.metadata.get("tags", []):
            continue
        dojo = dict(cell.metadata.get("dojo", {}))
        if "exercise" in dojo:
            dojo.pop("wrong", None)
        else:
            parts.append(cell.source)
        parts.append(json.dumps(dojo))
    return " ".join(parts)


def assert_no_solution_survives(source: Path, built: Path) -> None:
    visible = visible_text(source) + " " + allowed_names(built)
    normalized = [normalized_text(t) for t in strings(json.loads(built.read_text()))]
    raw = built.read_text()
    for ex in discovery.read_lab(source).exercises:
        for solution in [ex.reference or "", *ex.wrong]:
            needle = normalized_text(solution)
            assert not any(needle in t for t in normalized), f"{ex.id}: a solution survives"
        for token in distinctive_tokens(ex, visible):
            assert token not in raw, f"{ex.id}: solution token {token!r} survives in {built.name}"


def test_student_build_strips_solutions_and_keeps_digests(checker, tmp_path):
    (tmp_path / "labs").mkdir()
    source = write_lab(tmp_path / "labs")
    out = tmp_path / "student"
    (built,) = build_student(out, source.parent, checker)
    assert_no_solution_survives(source, built)
    student = {ex.id: ex for ex in discovery.read_lab(built).exercises}
    spend = student["zz.spend"]
    assert spend.reference is None and spend.wrong == [] and spend.expected
    nb = nbformat.read(built, as_version=4)
    assert all("dojo-solution" not in c.metadata.get("tags", []) for c in nb.cells)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert checker.check(spend, "-- your query\nSELECT").status == "not-answered"
    assert checker.check(spend, REF_SQL).passed
    assert "wrong order" in checker.check(spend, REF_SQL.replace("DESC", "ASC")).message
    assert checker.check(student["zz.cancelled"], REF_MONGO).passed


def test_a_cell_repeating_a_solution_stops_the_build(checker, tmp_path):
    (tmp_path / "labs").mkdir()
    source = write_lab(tmp_path / "labs")
    nb = nbformat.read(source, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"Solution: `{REF_SQL}`"))
    nbformat.write(nb, source)
    with pytest.raises(LeakError, match="repeats a solution"):
        build_student(tmp_path / "student", source.parent, checker)


def test_real_labs_build_without_leaks(tmp_path, lab_checker):
    written = build_student(tmp_path, checker=lab_checker)
    assert written, "no labs in labs/"
    for built in written:
        assert_no_solution_survives(Path("labs") / built.name, built)
        for ex in discovery.read_lab(built).exercises:
            assert lab_checker.check(ex, ex.starter).status == "not-answered"


def test_build_digests_come_from_a_fresh_default_scale_workspace(lab_checker, monkeypatch):
    from dbdojo.checking.build import BUILD_WORKSPACE, build_checker
    from dbdojo.checking.datasets import identity
    from dbdojo.checking.model import ExerciseError
    from dbdojo.dataset import pg
    from dbdojo.dataset.seeding import seeded_meta

    scale = (seeded_meta() or {}).get("scale")
    if scale != "default":  # the tests' servers hold another scale: the build must refuse
        with pytest.raises(ExerciseError, match=r"dojo seed --scale default"):
            build_checker()
        return
    monkeypatch.setenv("DOJO_RESET_SPARES", "0")  # no background copy to clean up after
    try:
        checker = build_checker()
        assert checker.workspace == BUILD_WORKSPACE and checker.cache_main
        assert identity("sql", checker.workspace)["scale"] == "default"
    finally:
        connections.discard_pg(BUILD_WORKSPACE)
        with pg.admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{BUILD_WORKSPACE.database}" WITH (FORCE)')
