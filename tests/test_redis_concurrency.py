"""Redis answers run from several clients at once (option ``concurrent``): read-then-write
answers that pass alone fail, atomic ones (INCR, WATCH/MULTI retried, Lua) pass. Real servers,
the real sandbox."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dbdojo.checking import model
from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise
from dbdojo.checking.redis_concurrency import serial_outcomes
from tests.fixtures.checking import require_servers, workspaces


@pytest.fixture(scope="module")
def checker(request) -> Checker:
    require_servers(request)
    fx = workspaces()
    return Checker(fx.main, [fx.edge], fx.redis_source)


def exercise(reference: str, setup: str, check: str, rounds: int = 3) -> Exercise:
    options = {"setup": setup, "concurrent": {"clients": 4, "rounds": rounds, "check": check}}
    return Exercise("t.redis-concurrent", "t", "redis", "# answer", ["h"], options, reference)


COUNTER_SETUP = "def setup(r, prefix):\n    r.set(prefix + 'n', 0)\n"
COUNTER_CHECK = (
    "def check(r, prefix, returns):\n"
    "    n = int(r.get(prefix + 'n'))\n"
    "    if n != 5 * len(returns):\n"
    "        return f'the counter is {n}, not {5 * len(returns)}: updates were lost'\n"
)
INCR = "def solve(r, prefix):\n    for _ in range(5):\n        r.incr(prefix + 'n')\n    return 1\n"
GET_THEN_SET = (
    "def solve(r, prefix):\n"
    "    for _ in range(5):\n"
    "        r.set(prefix + 'n', int(r.get(prefix + 'n')) + 1)\n"
    "    return 1\n"
)
WATCH_RETRY = (
    "import redis\n"
    "def solve(r, prefix):\n"
    "    key = prefix + 'n'\n"
    "    for _ in range(5):\n"
    "        with r.pipeline() as tx:\n"
    "            while True:\n"
    "                try:\n"
    "                    tx.watch(key)\n"
    "                    value = int(tx.get(key))\n"
    "                    tx.multi()\n"
    "                    tx.set(key, value + 1)\n"
    "                    tx.execute()\n"
    "                    break\n"
    "                except redis.WatchError:\n"
    "                    continue\n"
    "    return 1\n"
)
LUA = (
    "def solve(r, prefix):\n"
    "    add = r.register_script(\"local n = tonumber(redis.call('GET', KEYS[1])) \"\n"
    "                            \"redis.call('SET', KEYS[1], n + 1) return n + 1\")\n"
    "    for _ in range(5):\n"
    "        add(keys=[prefix + 'n'])\n"
    "    return 1\n"
)


def test_a_lost_update_fails_and_atomic_increments_pass(checker):
    task = exercise(INCR, COUNTER_SETUP, COUNTER_CHECK)
    lost = checker.check(task, GET_THEN_SET)
    assert lost.status == "failed", lost.text()
    assert "4 clients ran your solve() at the same time" in lost.message
    assert "updates were lost" in lost.message
    for answer in (INCR, WATCH_RETRY, LUA):
        verdict = checker.check(task, answer)
        assert verdict.passed, verdict.text()


SPEND_SETUP = "def setup(r, prefix):\n    r.set(prefix + 'balance', 1000)\n"
SPEND_CHECK = (
    "from dbdojo.checking.redis_concurrency import serial_outcomes\n"
    "def check(r, prefix, returns):\n"
    "    balance = int(r.get(prefix + 'balance'))\n"
    "    def spend(b, amount):\n"
    "        return (b - amount, True) if b >= amount else (b, False)\n"
    "    if balance not in serial_outcomes(returns, [300, 400, 200], 1000, spend):\n"
    "        return f'the balance ends at {balance}: money was spent twice'\n"
)
SPEND_BODY = (
    "                    tx.watch(key)\n"
    "                    if int(tx.get(key)) < amount:\n"
    "                        tx.unwatch()\n"
    "                        out.append(False)\n"
    "                        break\n"
    "                    tx.multi()\n"
    "                    tx.decrby(key, amount)\n"
    "                    tx.execute()\n"
    "                    out.append(True)\n"
    "                    break\n"
)
SPEND_WATCH = (
    "import redis\n"
    "def solve(r, prefix):\n"
    "    key, out = prefix + 'balance', []\n"
    "    for amount in [300, 400, 200]:\n"
    "        with r.pipeline() as tx:\n"
    "            while True:\n"
    "                try:\n" + SPEND_BODY + "                except redis.WatchError:\n"
    "                    continue\n"
    "    return out\n"
)
SPEND_NO_WATCH = (
    "def solve(r, prefix):\n"
    "    key, out = prefix + 'balance', []\n"
    "    for amount in [300, 400, 200]:\n"
    "        ok = int(r.get(key)) >= amount\n"
    "        if ok:\n"
    "            r.decrby(key, amount)\n"
    "        out.append(ok)\n"
    "    return out\n"
)
SPEND_NO_RETRY = (  # WATCH, but the aborted EXEC raises WatchError out of solve()
    "def solve(r, prefix):\n"
    "    key, out = prefix + 'balance', []\n"
    "    for amount in [300, 400, 200]:\n"
    "        with r.pipeline() as tx:\n"
    "            while True:\n"
    "                if True:\n" + SPEND_BODY + "    return out\n"
)
SPEND_LUA = (
    "def solve(r, prefix):\n"
    "    spend = r.register_script(\"if tonumber(redis.call('GET', KEYS[1])) < \"\n"
    "        \"tonumber(ARGV[1]) then return 0 end redis.call('DECRBY', KEYS[1], ARGV[1]) \"\n"
    "        'return 1')\n"
    "    return [spend(keys=[prefix + 'balance'], args=[a]) == 1 for a in [300, 400, 200]]\n"
)


def test_a_double_spend_fails_and_optimistic_locking_passes(checker):
    task = exercise(SPEND_WATCH, SPEND_SETUP, SPEND_CHECK)
    for answer in (SPEND_NO_WATCH, SPEND_NO_RETRY):  # both right when run alone
        alone = checker.check(replace(task, options={"setup": SPEND_SETUP}), answer)
        assert alone.passed, alone.text()
    spent_twice = checker.check(task, SPEND_NO_WATCH)
    assert spent_twice.status == "failed" and "money was spent twice" in spent_twice.message
    no_retry = checker.check(task, SPEND_NO_RETRY)
    assert no_retry.status == "failed" and "Watched variable changed" in no_retry.message
    for answer in (SPEND_WATCH, SPEND_LUA):
        verdict = checker.check(task, answer)
        assert verdict.passed, verdict.text()


def test_clients_that_never_finish_are_stopped_at_the_time_limit(checker):
    task = exercise(INCR, COUNTER_SETUP, COUNTER_CHECK)
    task.options["timeout"] = 2
    waits = (
        "import time\n"
        "def solve(r, prefix):\n"
        "    if r.incr(prefix + 'n') > 1:\n"  # alone it finishes; the later clients wait forever
        "        while True:\n"
        "            time.sleep(0.01)\n"
        "    for _ in range(4):\n"
        "        r.incr(prefix + 'n')\n"
        "    return 1\n"
    )
    verdict = checker.check(task, waits)
    assert verdict.status == "failed" and "did not all finish within 2 s" in verdict.message


def test_serial_outcomes_explains_only_what_one_at_a_time_can_give():
    def spend(balance, amount):
        return (balance - amount, True) if balance >= amount else (balance, False)

    assert serial_outcomes([[True, False], [True, False]], [600, 600], 1000, spend) == set()
    assert serial_outcomes([[True, False], [False, False]], [600, 600], 1000, spend) == {400}
    # a refusal explained only if the balance was short at some point
    assert serial_outcomes([[False], [False]], [300], 1000, spend) == set()


def test_the_option_is_validated():
    def problems(kind: str, options: dict) -> list[str]:
        return model.problems(
            Exercise("t.x", "t", kind, "", ["h"], options, "x", difficulty="easy")
        )

    assert problems("redis", {"concurrent": {"check": "def check(r, p, v): pass"}}) == []
    assert problems("redis", {"concurrent": {"clients": 4}})
    assert problems("redis", {"concurrent": {"check": "x", "clients": 0}})
    assert problems("redis", {"concurrent": {"check": "x"}, "keys": ["other"]})
    assert problems("python", {"concurrent": {"check": "x"}})
