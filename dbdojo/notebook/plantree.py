"""A plan drawn as a tree, as text and as self-contained HTML (no script, inline styles), in
the spirit of explain.dalibo.com: each node with its share of the time, estimated and actual
rows (a misestimate is flagged), loops and buffers.

Numbers that change from run to run (times, shares, buffers) are written in forms the notebook
tests' sanitizers recognize (``12.5 ms``, ``45% of time``, ``Buffers: shared hit=…``)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any, NamedTuple

from dbdojo.checking import plan as plans

MISESTIMATE = 10.0
"""Flag a node whose row estimate is off by this factor or more, in either direction."""

DETAILS = (
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Index Cond",
    "Recheck Cond",
    "Filter",
    "Rows Removed by Filter",
    "Rows Removed by Join Filter",
    "Index Searches",
    "Heap Fetches",
    "Sort Key",
    "Sort Method",
    "Hash Batches",
    "Group Key",
    "Workers Launched",
)

AGGREGATES = {"Sorted": "GroupAggregate", "Hashed": "HashAggregate", "Mixed": "MixedAggregate"}
"""EXPLAIN's text names of the aggregation strategies."""


def title(node: dict[str, Any]) -> str:
    """``Index Scan using orders_pkey on orders o`` (as EXPLAIN's text format names nodes)."""
    text = node.get("Node Type", "?")
    join = node.get("Join Type")
    if join and join != "Inner":
        text += f" ({join})"
    if text == "Aggregate":
        text = AGGREGATES.get(node.get("Strategy", ""), text)
    if node.get("Index Name"):
        text += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        text += f" on {node['Relation Name']}"
        alias = node.get("Alias")
        if alias and alias != node["Relation Name"]:
            text += f" {alias}"
    elif node.get("CTE Name"):
        text += f" on {node['CTE Name']}"
    return text


def role(node: dict[str, Any]) -> str:
    """``InitPlan 1``, ``SubPlan 2``: what a node under ``Plans`` is for, when not an input."""
    relation = node.get("Parent Relationship", "")
    if relation in ("InitPlan", "SubPlan"):
        return node.get("Subplan Name", relation)
    return ""


class Where(NamedTuple):
    """Where a node runs: ``processes`` run it side by side (a Gather's workers and its
    leader); ``stopped_early`` when a parent may stop reading it (a Limit, a semi or anti
    join), so fewer actual rows than estimated is no misestimate; ``subplans``: the subplan
    time each node ran (:func:`plans.subplan_times`)."""

    processes: int = 1
    stopped_early: bool = False
    subplans: dict[int, float] | None = None


def inputs(node: dict[str, Any], where: Where) -> Where:
    """Where the inputs of ``node`` run."""
    processes = where.processes
    if "Workers Launched" in node:
        processes = int(node["Workers Launched"]) + 1
    stops = node.get("Node Type") == "Limit" or node.get("Join Type") in ("Semi", "Anti")
    return Where(processes, where.stopped_early or stops, where.subplans)


TOP = Where()
"""Where the top node runs."""


def start(doc: dict[str, Any]) -> Where:
    """Where the top node of an EXPLAIN document runs, with the times of its subplans."""
    return Where(subplans=plans.subplan_times(doc["Plan"]))


def misestimate(node: dict[str, Any], where: Where = TOP) -> str:
    """``31× under-estimated`` when the estimate is off by ``MISESTIMATE`` or more."""
    factor = plans.estimate_factor(node)
    if factor is None or factor < MISESTIMATE:
        return ""
    under = float(node["Actual Rows"]) > float(node.get("Plan Rows", 0))
    if where.stopped_early and not under:
        return ""
    return f"{factor:,.0f}× {'under' if under else 'over'}-estimated"


def _count(value: Any) -> str:
    number = float(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"


def facts(node: dict[str, Any], total_ms: float | None, where: Where = TOP) -> list[str]:
    """One node's figures: time share, rows, loops, buffers (or cost, without ANALYZE)."""
    found = []
    if "Actual Rows" in node:
        if total_ms:
            ms = plans.self_time(node, where.processes, where.subplans)
            found.append(f"{round(100 * ms / total_ms)}% of time ({ms:.3f} ms)")
        found.append(f"rows {_count(node['Actual Rows'])} (est. {_count(node['Plan Rows'])})")
        found.append(f"loops {node.get('Actual Loops', 1)}")
    else:
        found.append(f"est. rows {_count(node.get('Plan Rows', 0))}")
        found.append(f"est. cost {node.get('Total Cost', 0):,.2f}")
    if "Shared Hit Blocks" in node:
        hit, read = node["Shared Hit Blocks"], node.get("Shared Read Blocks", 0)
        found.append(f"Buffers: shared hit={hit} read={read}")
    return found


def details(node: dict[str, Any]) -> list[str]:
    out = []
    for key in DETAILS:
        value = node.get(key)
        if value in (None, "", []) or (value == 0 and key != "Index Searches"):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        out.append(f"{key}: {value}")
    return out


def walk(
    node: dict[str, Any], depth: int = 0, where: Where = TOP
) -> Iterator[tuple[int, dict[str, Any], Where]]:
    """``(depth, node, where)`` for every node, depth first."""
    yield depth, node, where
    for child in node.get("Plans", []):
        yield from walk(child, depth + 1, inputs(node, where))


def summary(doc: dict[str, Any]) -> str:
    """The line above the tree: execution and planning time, total buffers."""
    root = doc["Plan"]
    parts = []
    if "Execution Time" in doc:
        parts.append(f"Execution Time: {doc['Execution Time']:.3f} ms")
    if "Planning Time" in doc:
        parts.append(f"Planning Time: {doc['Planning Time']:.3f} ms")
    if "Shared Hit Blocks" in root:
        hit, read = root["Shared Hit Blocks"], root.get("Shared Read Blocks", 0)
        parts.append(f"Buffers: shared hit={hit} read={read}")
    if "Actual Rows" not in root:
        parts.append("estimates only (not run: analyze=False)")
    return " · ".join(parts)


def text(doc: dict[str, Any]) -> str:
    """The plan as an indented text tree, one node per line, details below it."""
    total = doc.get("Execution Time")
    lines = [summary(doc)]
    for depth, node, where in walk(doc["Plan"], where=start(doc)):
        pad = "   " * depth
        lead = pad + ("└─ " if depth else "")
        label = f"[{role(node)}] " if role(node) else ""
        flag = misestimate(node, where)
        lines.append(f"{lead}{label}{title(node)}" + (f"  ⚠ {flag}" if flag else ""))
        body = pad + ("   " if depth else "") + "   "
        lines.append(body + " · ".join(facts(node, total, where)))
        lines += [body + d for d in details(node)]
    return "\n".join(lines)


_BOX = (
    "border:1px solid #d0d7de;border-radius:6px;padding:4px 8px;margin:3px 0;"
    "background:#f6f8fa;color:#24292f;display:inline-block;min-width:22em;font-size:90%"
)
_BRANCH = "list-style:none;margin:0;padding-left:1.4em;border-left:2px solid #d0d7de"
_BADGE = "background:#ffebe9;color:#a40e26;border-radius:4px;padding:0 4px;margin-left:6px"


def _bar(node: dict[str, Any], total_ms: float | None, where: Where) -> str:
    if not total_ms or "Actual Rows" not in node:
        return ""
    share = round(100 * plans.self_time(node, where.processes, where.subplans) / total_ms)
    return (
        '<div style="background:#e7ecf0;height:5px;border-radius:3px;margin:2px 0">'
        f'<div style="width:{share}%;background:#0969da;height:5px;border-radius:3px">'
        "</div></div>"
    )


def _node_html(node: dict[str, Any], total_ms: float | None, where: Where = TOP) -> str:
    label = role(node)
    head = f'<i style="color:#57606a">{html.escape(label)}</i> ' if label else ""
    head += f"<b>{html.escape(title(node))}</b>"
    if flag := misestimate(node, where):
        head += f'<span style="{_BADGE}">⚠ {html.escape(flag)}</span>'
    lines = " · ".join(html.escape(f) for f in facts(node, total_ms, where))
    more = "".join(
        f'<div style="color:#57606a"><code>{html.escape(d)}</code></div>' for d in details(node)
    )
    children = "".join(_node_html(c, total_ms, inputs(node, where)) for c in node.get("Plans", []))
    branch = f'<ul style="{_BRANCH}">{children}</ul>' if children else ""
    return (
        f'<li><div style="{_BOX}">{head}{_bar(node, total_ms, where)}'
        f'<div style="color:#24292f">{lines}</div>{more}</div>{branch}</li>'
    )


def to_html(doc: dict[str, Any]) -> str:
    """The plan as a self-contained HTML tree (inline styles only)."""
    total = doc.get("Execution Time")
    tree = _node_html(doc["Plan"], total, start(doc))
    return (
        '<div class="dojo-plan">'
        f'<div style="color:#57606a;margin-bottom:4px">{html.escape(summary(doc))}</div>'
        f'<ul style="list-style:none;margin:0;padding:0">{tree}</ul></div>'
    )
