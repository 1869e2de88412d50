"""Run a learner's Python cell: statements, then the value of its last expression."""

from __future__ import annotations

import ast
from typing import Any

from dbdojo.checking.runners import AnswerError


def evaluate(source: str, namespace: dict[str, Any]) -> Any:
    """Execute ``source`` in ``namespace``; return its last expression's value (or None)."""
    try:
        tree = ast.parse(source, "<answer>")
    except SyntaxError as exc:
        raise AnswerError(f"Python syntax error, line {exc.lineno}: {exc.msg}") from exc
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    try:
        exec(compile(tree, "<answer>", "exec"), namespace)
        if last is None:
            return None
        return eval(compile(ast.Expression(last.value), "<answer>", "eval"), namespace)
    except AnswerError:
        raise
    except Exception as exc:
        raise AnswerError(f"{type(exc).__name__}: {exc}") from exc


def function(source: str, name: str, namespace: dict[str, Any]) -> Any:
    """The object ``name`` that the cell defines."""
    evaluate(source, namespace)
    if name not in namespace:
        raise AnswerError(f"the cell does not define `{name}`", f"write `def {name}(...):`")
    return namespace[name]
