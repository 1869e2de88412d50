"""How a Redis answer did its work, judged from the commands it sent (dbdojo/checking/mechanism.py):
rules over single commands and, with ``"over": "log"``, over their order."""

from __future__ import annotations

from dbdojo.checking import mechanism

CAPPED = {
    "uses": [{"match": "^LTRIM ", "message": "cap it with LTRIM"}],
    "avoids": [
        {
            "over": "log",
            "match": r"^LPUSH [^\n]*\n(?:(?!LTRIM )[^\n]*\n)*?LPUSH ",
            "message": "trim after each push",
        }
    ],
}


def test_a_rule_over_single_commands():
    rules = {"uses": [{"match": "^LMOVE ", "message": "move it atomically"}],
             "avoids": [{"match": "^RPOP ", "message": "no RPOP"}]}  # fmt: skip
    assert mechanism.check(["LMOVE q p RIGHT LEFT"], rules) == []
    found = mechanism.check(["RPOP q", "LPUSH p 1"], rules)
    assert found == ["move it atomically", "no RPOP (your function sent `RPOP q`)"]


def test_a_rule_over_the_log_sees_the_order_of_commands():
    each = ["LPUSH k a", "LTRIM k 0 2", "LPUSH k b", "LTRIM k 0 2"]
    assert mechanism.check(each, CAPPED) == []
    piped = ["MULTI", "LPUSH k a", "LTRIM k 0 2", "EXEC", "MULTI", "LPUSH k b", "LTRIM k 0 2"]
    assert mechanism.check(piped, CAPPED) == []
    at_the_end = ["LPUSH k a", "LPUSH k b", "LPUSH k c", "LTRIM k 0 2"]
    (problem,) = mechanism.check(at_the_end, CAPPED)
    assert problem.startswith("trim after each push") and "LPUSH k a ... LPUSH" in problem
    assert mechanism.check(["LPUSH k a"], CAPPED) == ["cap it with LTRIM"]
