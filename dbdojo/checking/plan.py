"""Predicates on an ``EXPLAIN (FORMAT JSON)`` plan tree."""

from __future__ import annotations

import json
import re
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
    if pattern == {"Parent Relationship": "SubPlan"}:
        return "a subquery run for each row (SubPlan)"
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
    """What the plan lacks or has against the predicate ``{"uses": [...], "avoids": [...],
    "max_buffers": N}`` (a budget of shared blocks hit or read, for an analyzed plan)."""
    problems = []
    all_nodes = list(nodes(plan))
    for pattern in predicate.get("uses", []):
        if not any(satisfies(n, pattern) for n in all_nodes):
            problems.append(f"the plan does not use {describe(pattern)}")
    for pattern in predicate.get("avoids", []):
        if any(matches(n, pattern) for n in all_nodes):
            problems.append(f"the plan still uses {describe(pattern)}")
    budget = predicate.get("max_buffers")
    if budget is not None and "Actual Total Time" not in plan:
        raise ValueError("a max_buffers predicate needs the plan of EXPLAIN (ANALYZE, BUFFERS)")
    if budget is not None and (used := buffers(plan)) > budget:
        problems.append(
            f"the query still touches {used:,} blocks of 8 kB (shared hit + read); "
            f"a good plan needs at most {budget:,}"
        )
    return problems


def budget_problems(new_indexes: int, new_kb: float, options: dict[str, Any]) -> list[str]:
    """What an answer's indexes cost beyond the exercise's budgets: ``max_indexes`` (net
    indexes added; negative asks to drop some) and ``max_index_kb`` (size of those it built)."""
    found = []
    most = options.get("max_indexes")
    if most is not None and new_indexes > most:
        if most < 0:
            found.append(f"the workload must run with {-most} fewer index(es) than it has now")
        else:
            found.append(
                f"the answer adds {new_indexes} index(es); the budget is {most} (every index "
                "slows down each write to its table and takes disk and memory)"
            )
    size = options.get("max_index_kb")
    if size is not None and new_kb > size:
        found.append(
            f"the index(es) built weigh {new_kb:,.0f} kB; the budget is {size:,} kB (an index "
            "is read, cached and written: its size is a cost)"
        )
    return found


def estimate_factor(node: dict[str, Any]) -> float | None:
    """How far the planner's row estimate is from the actual rows, as a factor >= 1 in either
    direction (10 for ten times too many or too few); None without ``EXPLAIN ANALYZE``.

    Both counts are per loop, as EXPLAIN gives them; a count of 0 counts as 1."""
    if "Actual Rows" not in node or node.get("Actual Loops", 1) == 0:
        return None
    estimated = max(float(node.get("Plan Rows", 0)), 1.0)
    actual = max(float(node["Actual Rows"]), 1.0)
    return max(actual / estimated, estimated / actual)


def buffers(node: dict[str, Any]) -> int:
    """Shared blocks the node and its inputs read or found in cache (``EXPLAIN (ANALYZE,
    BUFFERS)``): the I/O work of that part of the plan, whatever was cached."""
    return int(node.get("Shared Hit Blocks", 0)) + int(node.get("Shared Read Blocks", 0))


SUBPLAN_REFERENCE = re.compile(r"\((?:InitPlan|SubPlan) \d+\)")


def _total(node: dict[str, Any], processes: int = 1) -> float:
    """The node's time over all its loops (ms), shared by ``processes`` running side by side."""
    loops = float(node.get("Actual Loops", 1))
    return float(node.get("Actual Total Time", 0.0)) * loops / processes


def subplan_times(plan: dict[str, Any]) -> dict[int, float]:
    """``{id(node): ms}``: the subplans' time each node's own total includes. A subplan runs
    inside the node whose expression names it (``(InitPlan 1).col1`` in a Filter), else inside
    the node it is listed under (a subplan in the output list)."""
    owners: dict[str, dict[str, Any]] = {}
    for parent in nodes(plan):
        for child in parent.get("Plans", []):
            if child.get("Parent Relationship") in SUBPLANS and "Subplan Name" in child:
                owners.setdefault(f"({child['Subplan Name']})", parent)
    for node in nodes(plan):
        own = json.dumps({k: v for k, v in node.items() if k != "Plans"})
        for name in SUBPLAN_REFERENCE.findall(own):
            if name in owners:
                owners[name] = node
    times = {f"({n['Subplan Name']})": _total(n) for n in nodes(plan) if "Subplan Name" in n}
    owed: dict[int, float] = {}
    for name, owner in owners.items():
        owed[id(owner)] = owed.get(id(owner), 0.0) + times.get(name, 0.0)
    return owed


def self_time(
    node: dict[str, Any], processes: int = 1, subplans: dict[int, float] | None = None
) -> float:
    """Milliseconds spent in the node itself (total time × loops, minus its inputs'); 0
    without ``EXPLAIN ANALYZE``. Under a Gather, ``processes`` (workers + the leader) ran the
    loops side by side: their time counts once. The subplans a node ran (``subplans``, from
    :func:`subplan_times`) count in the subplans, not in the node."""
    inputs = [c for c in node.get("Plans", []) if c.get("Parent Relationship") not in SUBPLANS]
    spent = (subplans or {}).get(id(node), 0.0)
    return max(0.0, _total(node, processes) - sum(_total(c, processes) for c in inputs) - spent)


SUBPLANS = ("InitPlan", "SubPlan")
