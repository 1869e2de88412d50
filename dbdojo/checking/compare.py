"""Compare an answer's result with a reference digest and say what differs, never what is
expected."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dbdojo.checking.normalize import display
from dbdojo.checking.result import Digest, Mapping, ResultSet, Rules

RETURN_KEY = "(return value)"  # the first row of a Redis answer's result

EXAMPLES = 3


@dataclass
class Comparison:
    ok: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_examples: list[str] = field(default_factory=list)


def _names(names: list[str] | set[str]) -> str:
    return ", ".join(sorted(names)) if isinstance(names, set) else ", ".join(names)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def match_columns(expected: Digest, answer: ResultSet) -> tuple[Mapping, Comparison | None]:
    """Map the reference's columns onto the answer's: by name, else by position with a note."""
    want, got = expected.columns, answer.columns
    if expected.documents:
        missing, extra = set(want) - set(got), set(got) - set(want)
        if not missing and not extra:
            return None, None
        problems = []
        if missing:
            problems.append(f"missing fields: {_names(missing)}")
        if extra:
            tip = " (leave _id out with a projection: {'_id': 0})" if "_id" in extra else ""
            problems.append(f"extra fields: {_names(extra)}{tip}")
        return None, Comparison(
            False, ["the documents have the wrong fields: " + "; ".join(problems)]
        )
    if len(set(got)) == len(got) and set(got) == set(want):
        return {name: got.index(name) for name in want}, None
    if len(got) == len(want):
        renamed = [f"{g} (expected name: {w})" for g, w in zip(got, want, strict=True) if g != w]
        note = f"columns compared by position; named differently: {', '.join(renamed)}"
        return {name: i for i, name in enumerate(want)}, Comparison(True, notes=[note])
    missing = [w for w in want if w not in got]
    extra = [g for g in got if g not in want]
    detail = f"expected {len(want)} columns ({_names(want)}), got {len(got)} ({_names(got)})"
    parts = [detail]
    if missing:
        parts.append(f"missing: {_names(missing)}")
    if extra:
        parts.append(f"extra: {_names(extra)}")
    return None, Comparison(False, ["wrong columns: " + "; ".join(parts)])


def compare(expected: Digest, answer: ResultSet, rules: Rules) -> Comparison:
    """Rows as multisets (duplicates count), then order when the reference orders."""
    if expected.documents and not answer.rows and expected.count:
        message = f"your query matched no documents ({expected.count} expected)"
        return Comparison(False, [message + ": check the filter's field names and values"])
    mapping, verdict = match_columns(expected, answer)
    if verdict is not None and not verdict.ok:
        return verdict
    notes = verdict.notes if verdict else []
    names = expected.columns
    keys = [rules.row_key(answer, row, names, mapping) for row in answer.rows]
    want, got = Counter(expected.rows), Counter(keys)
    missing, extra = want - got, got - want
    noun = expected.noun
    if missing or extra:
        problems, returned = [], _return_value_differs(answer, keys, extra)
        skip = 1 if _has_return_row(answer) else 0  # a Redis answer's return row is not a key
        if returned:
            problems.append("the return value is not the expected one")
            missing = missing - Counter({next(iter(missing), ""): 1})
            extra = extra - returned
        if missing:
            problems.append(f"{_plural(sum(missing.values()), noun)} missing")
        if extra:
            problems.append(f"{_plural(sum(extra.values()), noun)} that should not be there")
        count = f"you returned {_plural(len(keys) - skip, noun)}, {expected.count - skip} expected"
        details = _differing_columns(expected, answer, rules, mapping)
        return Comparison(
            False,
            [", ".join(problems) + f" ({count})", *details],
            notes,
            _examples(answer, keys, extra | returned, names, mapping),
        )
    if rules.ordered and expected.order is not None:
        order = [rules.order_key(answer, row, names, mapping) for row in answer.rows]
        if order != expected.order:
            pairs = zip(order, expected.order, strict=True)
            first = next(i for i, (a, b) in enumerate(pairs) if a != b)
            by = f" (sorted by {', '.join(rules.order_by)})" if rules.order_by else ""
            return Comparison(
                False,
                [f"right {noun}s, wrong order{by}: the first misplaced one is {noun} {first + 1}"],
                notes,
            )
    return Comparison(True, notes=notes)


def _differing_columns(
    expected: Digest, answer: ResultSet, rules: Rules, mapping: Mapping
) -> list[str]:
    """Name the columns (fields) whose values differ, as a multiset, from the expected ones."""
    if not expected.by_column or len(answer.rows) != expected.count or len(expected.columns) < 2:
        return []
    if expected.noun == "return value":  # (case, value): the example already names the case
        return []
    names = [n for n in expected.columns if n in expected.by_column]
    got = rules.column_keys(answer, names, mapping)
    differ = [n for n in names if got[n] != expected.by_column[n]]
    if not differ or len(differ) == len(names) > 1:
        return []
    what = "fields" if expected.documents else "columns"
    return [f"the differences are in the {what}: {', '.join(differ)}"]


def _has_return_row(answer: ResultSet) -> bool:
    return not answer.documents and bool(answer.rows) and answer.rows[0][0] == RETURN_KEY


def _return_value_differs(answer: ResultSet, keys: list[str], extra: Counter) -> Counter:
    """For a Redis answer (a return-value row, then key rows): the return row's key in
    ``extra`` when the return value is wrong, else nothing."""
    if not _has_return_row(answer):
        return Counter()
    return Counter({keys[0]: 1}) if extra.get(keys[0]) else Counter()


def _examples(
    answer: ResultSet, keys: list[str], extra: Counter, names: list[str], mapping: Mapping
) -> list[str]:
    shown: list[str] = []
    for row, key in zip(answer.rows, keys, strict=True):
        if extra.get(key) and len(shown) < EXAMPLES:
            shown.append(display(_as_shown(answer, row, names, mapping)))
            extra[key] -= 1
    return shown


def _as_shown(answer: ResultSet, row: Any, names: list[str], mapping: Mapping) -> Any:
    if answer.documents:
        return row
    assert mapping is not None
    return {n: row[mapping[n]] for n in names}
