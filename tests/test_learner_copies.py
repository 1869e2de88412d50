"""The learner's copies of the labs (``work/``): made once, never overwritten once started, and
an updated lab reaching a learner who already started it (new exercises appended, checks
refreshed, answers untouched)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from dbdojo.checking.authoring import exercise_cells, new_lab
from dbdojo.notebook import learner

LAB = "zz-fixture-lab.ipynb"


def _build(folder: Path, exercises: list[tuple[str, list[str]]]) -> Path:
    """A student-build folder holding one lab with ``exercises`` (id, hints)."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = new_lab("zz", "Fixture", intro="# A lab\nRead [the notebook](../notebooks/x.ipynb).")
    for ex_id, hints in exercises:
        nb.cells += exercise_cells(
            ex_id,
            ex_id,
            kind="sql",
            difficulty="easy",
            prompt=f"### {ex_id}\nWrite the query.",
            reference="SELECT 1",
            starter="-- your query",
            hints=hints,
        )
    for cell in nb.cells:  # what the student build leaves in an answer cell: the starter
        if "exercise" in cell.metadata.get("dojo", {}):
            cell.source = f"%%check {cell.metadata['dojo']['exercise']}\n-- your query"
    nbformat.write(nb, folder / LAB)
    return folder


def _answer_cell(path: Path, ex_id: str):
    nb = nbformat.read(path, as_version=4)
    [cell] = [c for c in nb.cells if c.metadata.get("dojo", {}).get("exercise") == ex_id]
    return nb, cell


def test_first_sync_copies_and_a_second_changes_nothing(tmp_path):
    build = _build(tmp_path / "v1", [("zz.one", ["h1"])])
    work = tmp_path / "work"
    assert learner.sync(build, work).created == [LAB]
    before = (work / LAB).read_bytes()
    report = learner.sync(build, work)
    assert report.lines() == []
    assert (work / LAB).read_bytes() == before
    assert (work / "README.md").exists()


def test_an_untouched_copy_is_replaced_by_the_update(tmp_path):
    work = tmp_path / "work"
    learner.sync(_build(tmp_path / "v1", [("zz.one", ["h1"])]), work)
    report = learner.sync(_build(tmp_path / "v2", [("zz.one", ["h1"]), ("zz.two", [])]), work)
    assert report.replaced == [LAB]
    assert (work / LAB).read_bytes() == (tmp_path / "v2" / LAB).read_bytes()


def test_an_update_reaches_a_started_lab_without_touching_the_answers(tmp_path):
    work = tmp_path / "work"
    learner.sync(_build(tmp_path / "v1", [("zz.one", ["old hint"])]), work)
    nb, cell = _answer_cell(work / LAB, "zz.one")
    cell.source = "%%check zz.one\nSELECT 'my own answer'"
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="my output\n")]
    nb.cells.append(nbformat.v4.new_markdown_cell("my notes"))
    nbformat.write(nb, work / LAB)

    v2 = _build(tmp_path / "v2", [("zz.one", ["new hint"]), ("zz.two", ["h"])])
    report = learner.sync(v2, work)
    assert report.extended == {LAB: ["zz.two"]}
    assert "1 new exercise(s) appended" in report.lines()[0]
    nb, mine = _answer_cell(work / LAB, "zz.one")
    assert mine.source == "%%check zz.one\nSELECT 'my own answer'"  # the answer is untouched
    assert mine.outputs[0]["text"] == "my output\n"
    assert mine.metadata["dojo"]["hints"] == ["new hint"]  # the check is the course's latest
    sources = [c.source for c in nb.cells]
    notes = sources.index("my notes")
    added = next(i for i, s in enumerate(sources) if s.startswith("## Added by a course update"))
    assert notes < added  # appended after everything the learner had
    assert sources[added + 1].startswith("### zz.two") and sources[added + 2].startswith(
        "%%check zz.two"
    )
    # a third sync of the same build changes nothing, and a later update never replaces it
    assert learner.sync(v2, work).lines() == []
    v3 = _build(tmp_path / "v3", [("zz.one", ["new hint"]), ("zz.two", ["h"]), ("zz.three", [])])
    assert learner.sync(v3, work).extended == {LAB: ["zz.three"]}
    assert _answer_cell(work / LAB, "zz.one")[1].source.endswith("'my own answer'")


def test_a_retired_exercise_stays_in_a_started_copy_and_still_checks(tmp_path, monkeypatch):
    from dbdojo.checking import discovery

    work = tmp_path / "work"
    learner.sync(_build(tmp_path / "v1", [("zz.one", ["h"]), ("zz.old", ["h"])]), work)
    nb, cell = _answer_cell(work / LAB, "zz.old")
    cell.source = "%%check zz.old\nSELECT 'kept'"
    nbformat.write(nb, work / LAB)

    report = learner.sync(_build(tmp_path / "v2", [("zz.one", ["h"])]), work)
    assert report.retired == {LAB: ["zz.old"]}
    assert "zz.old left the course (retired)" in "\n".join(report.lines())
    nb, mine = _answer_cell(work / LAB, "zz.old")
    assert mine.source.endswith("'kept'") and mine.metadata["dojo"]["exercise"] == "zz.old"
    monkeypatch.chdir(work)  # a kernel runs in the notebook's folder: the copy is found there
    monkeypatch.setenv("DOJO_LABS_DIR", str(tmp_path / "v2"))
    assert discovery.find("zz.old").notebook == work / LAB
