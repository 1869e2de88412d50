"""Every exercise in labs/*.ipynb, discovered automatically: valid metadata, the reference
passes (main and edge-case data), every planted wrong answer fails, the starter is "not
answered yet". Labs other engineers add are covered without touching this file.

The checker reuses each reference's results (per exercise and workspace, for the session): the
reference runs once on each workspace, and its wrong answers are compared with those results.
The workspace is this worker's own, reset once and never written to, so that is safe."""

from __future__ import annotations

import pytest

from dbdojo.checking import discovery
from dbdojo.checking.authoring import badged
from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise, problems
from tests.fixtures.checking import dataset_checker, require_database_of

LABS = discovery.labs()
EXERCISES = [ex for lab in LABS for ex in lab.exercises]
WRONG = [(ex, i) for ex in EXERCISES for i in range(len(ex.wrong))]


@pytest.fixture(scope="module")
def lab_checker(request) -> Checker:
    checker = dataset_checker(request)
    checker.cache_main = True
    return checker


def test_labs_exist_and_ids_are_unique():
    assert EXERCISES, "no exercises found in labs/*.ipynb"
    discovery.exercises()  # raises on a duplicate id


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.path.name)
def test_exercise_metadata_is_valid(lab):
    assert [p for ex in lab.exercises for p in problems(ex, lab.id)] == []


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.id)
def test_reference_passes(ex, lab_checker, request):
    require_database_of(request, ex)
    verdict = lab_checker.check(ex, ex.reference)
    assert verdict.passed, verdict.text()


@pytest.mark.parametrize("ex, index", WRONG, ids=lambda v: v.id if hasattr(v, "id") else f"w{v}")
def test_planted_wrong_answer_fails(ex, index, lab_checker, request):
    require_database_of(request, ex)
    verdict = lab_checker.check(ex, ex.wrong[index])
    assert verdict.status in ("failed", "error"), f"wrong answer {index} passes:\n{ex.wrong[index]}"


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.id)
def test_starter_is_not_answered_yet(ex):
    verdict = Checker(edges=[]).check(ex, ex.starter)  # decided before any database is used
    assert verdict.status == "not-answered"


def test_difficulty_is_required_valid_and_badged_in_the_prompt():
    ex = Exercise("zz.a", "A", "python", hints=["h"], prompt="### A\nDo it.")
    assert any("difficulty ''" in p for p in problems(ex))
    ex.difficulty = "tricky"
    assert any("difficulty 'tricky' is not one of easy, medium, hard" in p for p in problems(ex))
    ex.difficulty = "hard"
    assert any("does not show its difficulty ('🔴 hard'" in p for p in problems(ex))
    ex.prompt = badged(badged(ex.prompt, "easy"), "hard")  # re-badging replaces the badge
    assert ex.prompt == "### A · 🔴 hard\nDo it." and problems(ex) == []


@pytest.mark.parametrize("lab", [lab for lab in LABS if lab.id != "intro"], ids=lambda lab: lab.id)
def test_a_lab_starts_easy_and_ends_with_two_hard_exercises(lab):
    levels = [ex.difficulty for ex in lab.exercises]
    assert levels[0] == "easy" and levels[-2:] == ["hard", "hard"], levels
