"""The student build's cell transforms (dbdojo/checking/transforms.py) on a small in-memory
lab: no server, no files. The build on the real labs is tested in test_checking_build.py."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dbdojo.checking.engine import Expectation
from dbdojo.checking.model import Exercise
from dbdojo.checking.result import ResultSet, Rules, digest
from dbdojo.checking.transforms import (
    HINT_NOTE,
    SOLUTION_TAG,
    LeakError,
    clear_outputs,
    clear_solution,
    comment_out_hints,
    digest_expected,
    keep_starter,
    refuse_leaks,
    solutions,
    student_version,
)

REFERENCE = "SELECT name FROM customers WHERE country = 'Iceland' ORDER BY name"
WRONG = "SELECT name FROM customers WHERE country = 'Ireland' ORDER BY name"
STARTER = "-- the customers in Iceland, by name\n"
SECRET_VALUE = "Sigridur Eiriksdottir"  # a row of the expected result: only its hash may ship

EX = Exercise(
    id="t-iceland",
    title="Customers in Iceland",
    kind="sql",
    starter=STARTER,
    hints=["Filter on country."],
    reference=REFERENCE,
    wrong=[WRONG],
    difficulty="easy",
)
PLAN = Exercise(id="t-plan", title="Use the index", kind="sql-plan", reference="SELECT 1")


def expectation(ex: Exercise = EX) -> Expectation:
    """What the checker computes on a server, computed here from rows in memory."""
    rules = Rules(ex.id, 6, ordered=True, order_by=["name"])
    result = ResultSet(columns=["name"], rows=[("Anna Jonsdottir",), (SECRET_VALUE,)])
    return Expectation(rules, {"main": digest(result, rules)}, dataset={"scale": "default"})


def answer_cell(ex: Exercise = EX) -> nbformat.NotebookNode:
    cell = new_code_cell(f"%%check {ex.id}\n{ex.reference}", execution_count=3)
    cell.metadata["dojo"] = {"exercise": ex.id, "reference": ex.reference, "wrong": ex.wrong}
    cell.outputs = [new_output("stream", name="stdout", text="Correct!")]
    return cell


def lab() -> nbformat.NotebookNode:
    solution = new_code_cell(REFERENCE, metadata={"tags": [SOLUTION_TAG]})
    hint = new_code_cell(f"dojo.hint('{EX.id}')", execution_count=2)
    hint.outputs = [new_output("stream", name="stdout", text="Filter on country.")]
    return new_notebook(
        cells=[
            new_markdown_cell("# Lab\nFind the customers in Iceland."),
            answer_cell(),
            hint,
            solution,
            new_markdown_cell("Sorting by `name` keeps the list stable."),
        ]
    )


def test_clear_solution_drops_instructor_cells_and_copies_the_others():
    tagged = new_code_cell(REFERENCE, metadata={"tags": [SOLUTION_TAG, "other"]})
    assert clear_solution(tagged) is None
    prose = new_markdown_cell("Some prose.")
    kept = clear_solution(prose)
    assert kept == prose and kept is not prose


def test_keep_starter_replaces_the_solution_by_the_starter():
    cell = answer_cell()
    new = keep_starter(cell, EX)
    assert new.source == f"%%check {EX.id}\n{STARTER}"
    assert REFERENCE not in new.source
    assert cell.source.endswith(REFERENCE), "the input cell must not change"


def test_digest_expected_ships_digests_and_no_solution():
    expected = expectation()
    new = digest_expected(answer_cell(), EX, expected)
    meta = new.metadata["dojo"]
    assert meta["expected"] == expected.to_dict()
    assert meta["expected"]["dataset"] == {"scale": "default"}
    assert {k: meta[k] for k in ("exercise", "title", "kind", "difficulty")} == {
        "exercise": EX.id,
        "title": EX.title,
        "kind": "sql",
        "difficulty": "easy",
    }
    assert meta["hints"] == EX.hints and meta["starter"] == STARTER
    shipped = json.dumps(meta)
    for secret in (REFERENCE, WRONG, SECRET_VALUE):
        assert secret not in shipped
    assert meta["expected"]["targets"]["main"]["count"] == 2


def test_digest_expected_without_a_result():
    assert digest_expected(answer_cell(), EX, None).metadata["dojo"]["expected"] is None
    assert "expected" not in digest_expected(answer_cell(PLAN), PLAN, None).metadata["dojo"]


def test_comment_out_hints_only_touches_hint_calls_in_code():
    cell = new_code_cell("x = 1\n  dojo.hint('t-iceland')")
    new = comment_out_hints(cell)
    assert new.source == f"x = 1\n  # dojo.hint('t-iceland'){HINT_NOTE}"
    prose = new_markdown_cell("Call dojo.hint('t-iceland') when stuck.")
    assert comment_out_hints(prose).source == prose.source


def test_refuse_leaks_names_the_cell():
    secrets = solutions(EX)
    assert len(secrets) == 2
    spaced = WRONG.replace(" WHERE", "\n    WHERE")  # layout does not hide a solution
    leaking = new_markdown_cell(f"The answer:\n```sql\n{spaced}\n```")
    with pytest.raises(LeakError, match=r"lab\.ipynb cell 7 repeats a solution"):
        refuse_leaks(leaking, secrets, "lab.ipynb cell 7")
    fine = new_markdown_cell("Filter the customers on their country.")
    assert refuse_leaks(fine, secrets, "lab.ipynb cell 8") is fine


def test_clear_outputs_of_code_cells():
    cell = answer_cell()
    new = clear_outputs(cell)
    assert new.outputs == [] and new.execution_count is None
    assert cell.outputs and cell.execution_count == 3


def test_student_version_composes_the_transforms():
    nb = lab()
    before = copy.deepcopy(nb)
    out = student_version(nb, {EX.id: EX}, {EX.id: expectation()}, "lab.ipynb")
    assert nb == before, "the source notebook must not change"
    assert [c.cell_type for c in out.cells] == ["markdown", "code", "code", "markdown"]
    answer, hint = out.cells[1], out.cells[2]
    assert answer.source == f"%%check {EX.id}\n{STARTER}"
    assert answer.metadata["dojo"]["expected"] == expectation().to_dict()
    assert hint.source.startswith("# dojo.hint(")
    assert all(c.outputs == [] and c.execution_count is None for c in (answer, hint))
    assert out.metadata["dojo"]["student"] is True
    text = nbformat.writes(out)
    for secret in (REFERENCE, WRONG, SECRET_VALUE):
        assert secret not in text
    nbformat.validate(out)


def test_student_version_refuses_a_leaking_lab():
    nb = lab()
    nb.cells.append(new_markdown_cell(f"Spoiler: `{REFERENCE}`"))
    with pytest.raises(LeakError, match=r"lab\.ipynb cell 5\b"):
        student_version(nb, {EX.id: EX}, {EX.id: expectation()}, "lab.ipynb")
