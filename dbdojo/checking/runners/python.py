"""Run Python answers: a value, or a function called with the exercise's cases."""

from __future__ import annotations

import copy
from typing import Any

from dbdojo.checking.pyexec import function
from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError


def from_value(value: Any, noun: str = "row") -> ResultSet:
    """A result set from a DataFrame, a list of dicts/rows, or a single value."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas DataFrame
        frame = value.reset_index(drop=True)
        return ResultSet([str(c) for c in frame.columns], list(frame.itertuples(index=False)))
    return ResultSet(["value"], [(value,)], noun=noun)


def run(source: str, options: dict[str, Any]) -> ResultSet:
    name = options.get("function", "solve")
    obj = function(source, name, {})
    if not callable(obj):
        return from_value(obj)
    cases = options.get("cases") or [[]]
    try:
        # copies: a function may change its arguments (insert_one adds an _id to a dict)
        rows = [(i, obj(*copy.deepcopy(args))) for i, args in enumerate(cases)]
    except Exception as exc:
        raise AnswerError(f"{type(exc).__name__}: {exc}") from exc
    return ResultSet(["case", "value"], rows, noun="return value")
