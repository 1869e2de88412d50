"""Redis answers under concurrency: what a prompt requiring atomicity, optimistic locking or no
double spend asks, and what one run of the answer cannot show.

Option ``concurrent`` of a ``redis`` exercise::

    "concurrent": {"clients": 4, "rounds": 3,
                   "check": "def check(r, prefix, returns):\\n    ..."}

Once the answer passed on its own, its ``solve(r, prefix)`` runs again in the sandbox from
``clients`` threads at once, each with a connection of its own, released together by a
barrier; ``rounds`` times, each round on keys of its own (``prefix + "run<k>:"``, the
exercise's setup run for each). The gate holds every command a few random milliseconds
(:func:`.sandbox.redis_gate.jittered`), so the clients' commands interleave: one client's
read-then-write meets another's write in between. Then the grader (never the answer's process)
calls ``check(r, prefix, returns)`` on each round's keys with the clients' return values; it
returns what broke (a lost update, a double spend) or None.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from dbdojo.checking.pyexec import function
from dbdojo.checking.runners import AnswerError

CLIENTS = 4
ROUNDS = 3


@dataclass(frozen=True)
class Spec:
    """How the answer is run at once: by how many clients, how many times, checked how."""

    check: str
    clients: int = CLIENTS
    rounds: int = ROUNDS

    @classmethod
    def of(cls, options: dict[str, Any]) -> Spec | None:
        data = options.get("concurrent")
        if not data:
            return None
        clients, rounds = int(data.get("clients", CLIENTS)), int(data.get("rounds", ROUNDS))
        return cls(data["check"], clients, rounds)

    def prefixes(self, prefix: str) -> list[str]:
        return [f"{prefix}run{k}:" for k in range(1, self.rounds + 1)]


def problems(options: dict[str, Any]) -> list[str]:
    """What is wrong with an exercise's ``concurrent`` option (empty when it is fine)."""
    data = options.get("concurrent")
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("check"), str):
        return ["options.concurrent needs a 'check' (the source of check(r, prefix, returns))"]
    if options.get("keys"):
        return ["options.concurrent runs each round under a prefix of its own: no options.keys"]
    counts = [data.get("clients", CLIENTS), data.get("rounds", ROUNDS)]
    if not all(isinstance(n, int) and 1 <= n <= 16 for n in counts):
        return ["options.concurrent: clients and rounds are whole numbers from 1 to 16"]
    return []


def check(
    source: str, options: dict[str, Any], timeout: float, prefix: str, source_db: int
) -> list[str]:
    """Run the answer from several clients at once (in the sandbox) and check each round's
    invariant here; what broke, for the learner (empty: nothing)."""
    from dbdojo.checking import sandbox
    from dbdojo.checking.runners.redis import prepared

    spec = Spec.of(options)
    if spec is None:
        return []
    prefixes = spec.prefixes(prefix)
    at_once = f"{spec.clients} clients ran your solve() at the same time"
    # the turn first, then the scratch database, as runners.redis.run takes them
    with sandbox.turn(), prepared(options, timeout, prefixes, source_db) as (scratch, r):
        try:
            rounds = sandbox.run_redis_clients(
                source, options, timeout, prefixes, spec.clients, scratch.redis_db
            )
        except AnswerError as exc:
            return [_failure(at_once, exc, timeout)]
        invariant = function(spec.check, "check", {})
        for k, (round_prefix, returns) in enumerate(zip(prefixes, rounds, strict=True), 1):
            failed = next((x for x in returns if isinstance(x, AnswerError)), None)
            if failed is not None:
                return [_failure(at_once, failed, timeout)]
            try:
                broken = invariant(r, round_prefix, returns)
            except Exception as exc:  # the answer returned something the check cannot read
                broken = f"their return values could not be read ({type(exc).__name__}: {exc})"
            if broken:
                return [f"{at_once} (round {k} of {spec.rounds}, on fresh keys): {broken}"]
    return []


def serial_outcomes(
    returns: list[list[Any]],
    operations: list[Any],
    start: Hashable,
    step: Callable[[Any, Any], tuple[Hashable, Any]],
) -> set[Hashable]:
    """For a ``check``: the end states that some one-at-a-time order of the clients' work could
    have reached while giving each client exactly what it returned. Each client ran
    ``operations`` in order and returned one result per operation; ``step(state, operation)``
    gives ``(state after, result)`` of one operation run alone. Empty: no serial order
    explains the clients' results (they interfered). Searched depth-first over the clients'
    positions, each (positions, state) visited once."""
    clients = len(returns)
    finals: set[Hashable] = set()
    seen: set[tuple[tuple[int, ...], Hashable]] = set()
    stack = [((0,) * clients, start)]
    while stack:
        positions, state = stack.pop()
        if (positions, state) in seen:
            continue
        seen.add((positions, state))
        if all(p == len(operations) for p in positions):
            finals.add(state)
        for c, p in enumerate(positions):
            if p < len(operations) and p < len(returns[c]):
                after, result = step(state, operations[p])
                if result == returns[c][p]:
                    stack.append(((*positions[:c], p + 1, *positions[c + 1 :]), after))
    return finals


def _failure(at_once: str, exc: AnswerError, timeout: float) -> str:
    if exc.timeout:
        return (
            f"{at_once} and they did not all finish within {timeout:g} s: does a retry loop "
            "never end, or does a client wait for something another one never gives back?"
        )
    return f"{at_once} and one of them failed: {exc}"


def run_clients(
    solve: Callable[[Any, str], Any],
    connect: Callable[[], Any],
    prefixes: list[str],
    clients: int,
    timeout: float,
) -> list[list[dict[str, Any]]]:
    """In the answer's process: per prefix, ``clients`` threads, each with its own client
    from ``connect()``, call ``solve(client, prefix)`` together (a barrier releases them once
    all are connected). Per round, per client: ``{"returned": encoded}`` or ``{"error": ...}``."""
    return [_round(solve, connect, prefix, clients, timeout) for prefix in prefixes]


def _round(
    solve: Callable[[Any, str], Any],
    connect: Callable[[], Any],
    prefix: str,
    clients: int,
    timeout: float,
) -> list[dict[str, Any]]:
    from dbdojo.checking.runners.redis import call
    from dbdojo.checking.sandbox.values import encode

    barrier = threading.Barrier(clients)
    replies: list[dict[str, Any]] = [{"error": "the client did not run"}] * clients

    def one(n: int) -> None:
        r = connect()
        try:
            r.ping()  # connected before the start, so that the clients really start together
            barrier.wait(timeout)
            replies[n] = {"returned": encode(call(solve, r, prefix, timeout))}
        except AnswerError as exc:
            replies[n] = {"error": str(exc), "hint": exc.hint, "timeout": exc.timeout}
        except Exception as exc:  # connecting, the barrier, a return value it cannot encode
            replies[n] = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            r.close()

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies
