"""Answers nobody planted (tests/corpus/*.yaml): other correct formulations must pass, the
mistakes learners really make must not, graded by the labs' checker on the seeded dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dbdojo.checking import discovery
from dbdojo.checking.engine import Checker
from tests.fixtures.checking import dataset_checker, require_database_of

CORPUS = Path(__file__).parent / "corpus"


def _entries() -> list[tuple[str, str, str, str, str]]:
    """(exercise, accept/reject, why, answer, words a rejection's verdict must contain)."""
    found = []
    for path in sorted(CORPUS.glob("*.yaml")):
        for exercise_id, sets in yaml.safe_load(path.read_text()).items():
            for verdict in ("accept", "reject"):
                for e in sets.get(verdict, []):
                    found.append((exercise_id, verdict, e["why"], e["answer"], e.get("expect", "")))
    return found


ENTRIES = _entries()


@pytest.fixture(scope="module")
def corpus_checker(request) -> Checker:
    checker = dataset_checker(request)
    checker.cache_main = True
    return checker


@pytest.mark.parametrize(
    ("exercise_id", "verdict", "why", "answer", "expect"),
    ENTRIES,
    ids=[f"{e[0]}-{e[1]}-{i}" for i, e in enumerate(ENTRIES)],
)
def test_corpus_answer(exercise_id, verdict, why, answer, expect, corpus_checker, request):
    exercise = discovery.find(exercise_id)
    require_database_of(request, exercise)
    result = corpus_checker.check(exercise, answer)
    if verdict == "accept":
        assert result.passed, f"{why}: refused\n{result.text()}"
    else:
        assert result.status in ("failed", "error"), f"{why}: accepted"
        assert expect in result.text(), f"{why}: refused for another reason\n{result.text()}"
