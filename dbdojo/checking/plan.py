"""Predicates on an ``EXPLAIN (FORMAT JSON)`` plan tree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of the plan, depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


# A node asked for is also satisfied by one that does at least as well: an index-only scan
# reads the index an index scan reads, without the table.
AT_LEAST_AS_GOOD = {"Index Scan": {"Index Scan", "Index Only Scan"}}


def matches(node: dict[str, Any], pattern: dict[str, Any]) -> bool:
    return all(node.get(key) == value for key, value in pattern.items())


def satisfies(node: dict[str, Any], pattern: dict[str, Any]) -> bool:
    """Whether ``node`` is what ``pattern`` asks for, or at least as good."""
    wanted = pattern.get("Node Type")
    accepted = AT_LEAST_AS_GOOD.get(wanted, {wanted})
    rest = {k: v for k, v in pattern.items() if k != "Node Type"}
    return (wanted is None or node.get("Node Type") in accepted) and matches(node, rest)


def describe(pattern: dict[str, Any]) -> str:
    text = pattern.get("Node Type", "a node")
    if "Relation Name" in pattern:
        text += f" on {pattern['Relation Name']}"
    if pattern.get("Index Partial") is True:
        text += " with a partial index (one that holds only the rows of its WHERE)"
    skip = ("Node Type", "Relation Name", "Index Partial")
    rest = {k: v for k, v in pattern.items() if k not in skip}
    if rest:
        text += " (" + ", ".join(f"{k}={v}" for k, v in rest.items()) + ")"
    return text


def outline(plan: dict[str, Any]) -> str:
    """The plan's nodes in one line, e.g. 'Sort > Seq Scan on orders'."""
    parts = []
    for node in nodes(plan):
        part = node.get("Node Type", "?")
        if node.get("Relation Name"):
            part += f" on {node['Relation Name']}"
        if node.get("Index Name"):
            part += f" using {node['Index Name']}"
        parts.append(part)
    return " > ".join(parts)


def check(plan: dict[str, Any], predicate: dict[str, Any]) -> list[str]:
    """What the plan lacks or has against the predicate ``{"uses": [...], "avoids": [...]}``."""
    problems = []
    all_nodes = list(nodes(plan))
    for pattern in predicate.get("uses", []):
        if not any(satisfies(n, pattern) for n in all_nodes):
            problems.append(f"the plan does not use {describe(pattern)}")
    for pattern in predicate.get("avoids", []):
        if any(matches(n, pattern) for n in all_nodes):
            problems.append(f"the plan still uses {describe(pattern)}")
    return problems
