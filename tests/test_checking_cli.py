"""``dojo exercises``, ``grade``, ``hint``, ``progress`` and the ``%%check`` magic, on a lab
written into a temporary labs directory (``DOJO_LABS_DIR``) over the fixture workspaces."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from dbdojo.checking.authoring import new_lab
from dbdojo.cli import main
from tests.fixtures.checking.cli_lab import REF, WRONG


def dojo(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_exercises_lists_and_shows_solutions(lab_env):
    listed = json.loads(dojo("exercises", "--json").output)
    assert listed == [
        {
            "id": "zz.cities",
            "lab": "zz",
            "kind": "sql",
            "difficulty": "easy",
            "title": "Customers per city",
            "notebook": str(lab_env / "labs" / "zz-cli.ipynb"),
            "hints": 2,
        }
    ]
    with_solutions = json.loads(dojo("exercises", "--json", "--solutions").output)
    assert with_solutions[0]["reference"] == REF and len(with_solutions[0]["wrong"]) == 2


def test_grade_exit_status_and_json(lab_env):
    ok = dojo("grade", "zz.cities", "--answer", str(lab_env / "ref.sql"), "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["passed"] is True
    bad = dojo("grade", "zz.cities", "--answer", str(lab_env / "wrong.sql"), "--json")
    feedback = json.loads(bad.output)
    assert (
        bad.exit_code == 1 and feedback["status"] == "failed" and "missing" in feedback["message"]
    )


def test_grade_many_answers_and_a_submitted_notebook(lab_env):
    submission = new_lab("zz", "submission")
    submission.cells.append(nbformat.v4.new_code_cell(f"%%check zz.cities\n{REF}"))
    nbformat.write(submission, lab_env / "alice.ipynb")
    result = dojo(
        "grade",
        "zz.cities",
        "--answer",
        str(lab_env / "alice.ipynb"),
        "--answer",
        str(lab_env / "wrong.sql"),
        "--json",
    )
    assert result.exit_code == 1
    assert [v["passed"] for v in json.loads(result.output)] == [True, False]


def test_grade_against_any_reference(lab_env):
    args = ["grade", "--reference", REF, "--answer", str(lab_env / "wrong.sql"), "--kind", "sql"]
    assert dojo(*args).exit_code == 1
    reordered = lab_env / "reordered.sql"
    reordered.write_text(REF.replace("ORDER BY city", "ORDER BY city DESC"))
    args = ["grade", "--reference", str(lab_env / "ref.sql"), "--answer", str(reordered)]
    assert "wrong order" in dojo(*args).output
    assert dojo(*args, "--unordered").exit_code == 0


def test_unknown_exercise_is_a_clear_error(lab_env):
    result = dojo("grade", "zz.nope", "--answer", str(lab_env / "ref.sql"))
    assert result.exit_code == 2 and "unknown exercise 'zz.nope'" in result.output
    as_json = dojo("grade", "zz.nope", "--answer", str(lab_env / "ref.sql"), "--json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.output)["graded"] is False


def _bad_answer_files(root: Path) -> dict[str, tuple[Path, str]]:
    """Answer files that are not answers, and what the message must say."""
    (root / "latin1.sql").write_bytes("SELECT 'café'".encode("latin-1"))
    (root / "binary.sql").write_bytes(b"\x7fELF\x02\x01\x00\x00" * 8)
    (root / "folder.sql").mkdir()
    (root / "broken.ipynb").write_text('{"cells": [')
    (root / "shape.ipynb").write_text('{"cells": 3, "nbformat": 4, "nbformat_minor": 5}')
    with open(root / "huge.sql", "wb") as fh:
        fh.truncate(47 * 1024 * 1024)  # sparse: no disk used
    return {
        "latin1.sql": (root / "latin1.sql", "not UTF-8"),
        "binary.sql": (root / "binary.sql", "binary"),
        "folder.sql": (root / "folder.sql", "not a regular file"),
        "broken.ipynb": (root / "broken.ipynb", "not a valid notebook"),
        "shape.ipynb": (root / "shape.ipynb", "not a valid notebook"),
        "huge.sql": (root / "huge.sql", "larger than 1 MB"),
        "dev-zero": (Path("/dev/zero"), "not a regular file"),
        "missing.sql": (root / "missing.sql", "does not exist"),
    }


def test_answer_files_that_are_not_answers_get_a_clear_verdict(lab_env):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, (path, says) in _bad_answer_files(lab_env).items():
        text = dojo("grade", "zz.cities", "--answer", str(path))
        assert text.exit_code == 2 and says in text.output, (name, text.output)
        as_json = dojo("grade", "zz.cities", "--answer", str(path), "--json")
        data = json.loads(as_json.output)
        assert as_json.exit_code == 2 and data["graded"] is False and says in data["message"]
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000, f"reading bad answer files grew the grader by {grown_kb} kB"


def test_one_unreadable_file_among_answers(lab_env):
    args = ["grade", "zz.cities", "--json", "--answer", str(lab_env / "ref.sql")]
    result = dojo(*args, "--answer", str(lab_env / "missing.sql"))
    assert result.exit_code == 2
    assert [v["graded"] for v in json.loads(result.output)] == [True, False]


def test_hints_one_more_per_call_and_progress(lab_env):
    assert "1 of 2" in dojo("hint", "zz.cities").output
    second = dojo("hint", "zz.cities").output
    assert "2 of 2" in second and "count(*)" in second and "last hint" in second
    assert "0/1" in dojo("progress").output
    dojo("grade", "zz.cities", "--answer", str(lab_env / "ref.sql"))  # grading records nothing
    from dbdojo.checking import progress_report
    from dbdojo.checking.api import check

    check("zz.cities", REF, show=False)
    assert "1/1" in dojo("progress").output
    per_exercise = dojo("progress", "zz").output
    assert "difficulty" in per_exercise and "easy" in per_exercise
    report = progress_report.report("zz")
    assert report.rows[0].difficulty == "easy" and "🟢 easy" in report._repr_html_()
    assert " easy " in report.text()


def test_check_magic_in_ipython(lab_env, monkeypatch, capsys, ipython_shell):
    from dbdojo.checking.magics import register
    from dbdojo.checking.verdict import CheckFailed

    shell = ipython_shell
    register(shell)
    monkeypatch.setenv("DOJO_STRICT", "1")
    shell.run_cell_magic("check", "zz.cities", REF)
    shell.run_cell_magic("check", "zz.cities", "-- here\n")  # not answered: never raises
    assert "not answered yet" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="missing"):
        shell.run_cell_magic("check", "zz.cities", WRONG)
    monkeypatch.delenv("DOJO_STRICT")
    shell.run_cell_magic("check", "zz.cities", WRONG)
    assert "missing" in capsys.readouterr().out
