"""The README's path as a learner takes it: servers running as an ordinary user.

CI runs as root, where the kit starts its servers as ``nobody``; most learners are not root,
and the servers then run as themselves, out of their own checkout. This test is that learner
(``nobody`` with its own HOME and a checkout it owns, when the tests run as root; the user
running the tests otherwise): `dojo up`, a tiny seed, a reset, a graded answer, `dojo down`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from unprivileged import Learner


@pytest.fixture(scope="module")
def learner() -> Iterator[Learner]:
    # under /var/tmp: pytest's tmp_path lies in /tmp/pytest-of-root (0700) when root
    root = Path(tempfile.mkdtemp(prefix="dojo-learner-", dir="/var/tmp"))
    try:
        world = Learner(root).build()
        try:
            yield world
        finally:
            world.dojo("down", timeout=120)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# the learner's own code: the seeded data of `main` in each database, then broken
COUNT = """
import json
from dbdojo.connect import mongo_db, pg_connect, redis_client
with pg_connect() as conn:
    [(pg,)] = conn.execute("SELECT count(*) FROM customers").fetchall()
mongo = mongo_db().customers.count_documents({})
print(json.dumps({"postgres": pg, "mongo": mongo, "redis": redis_client().dbsize()}))
"""
BREAK = """
from dbdojo.connect import mongo_db, pg_connect, redis_client
with pg_connect() as conn:
    conn.execute("TRUNCATE customers CASCADE")
mongo_db().customers.delete_many({})
redis_client().flushdb()
"""


def counts(learner: Learner) -> dict[str, int]:
    return json.loads(ok(learner.python_code(COUNT)))


def ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_up_runs_every_server_as_the_learner(learner):
    ok(learner.dojo("up"))
    status = json.loads(ok(learner.dojo("status", "--json")))
    rows = {row["service"]: row for row in status}
    assert set(rows) == {"postgres", "mongo", "redis", "mysql"}, rows
    if rows["mysql"]["backend"] == "absent":  # optional: no MariaDB installed here
        del rows["mysql"]
    for name, row in rows.items():
        assert row["healthy"], f"{name}: {row}"
        expected = ("system",) if name == "mysql" else ("embedded", "emulator")
        assert row["backend"] in expected, row
        assert learner.owner_of(row["pid"]) == learner.name, f"{name} runs as someone else"
    assert (learner.repo / ".dojo" / "state.json").exists(), "state lives in their checkout"
    checker = re.search(r"check server: pid (\d+)", ok(learner.dojo("status")))
    assert checker, "`dojo up` started no check server"
    assert learner.owner_of(int(checker[1])) == learner.name, "the check server is not theirs"


def test_tiny_seed_reset_and_a_graded_answer(learner):
    ok(learner.dojo("seed", "--scale", "tiny"))
    seeded = counts(learner)
    assert all(seeded.values()), seeded
    ok(learner.python_code(BREAK))
    assert counts(learner) == dict.fromkeys(seeded, 0), "the learner broke their data"
    assert "reset main" in ok(learner.dojo("reset"))
    assert counts(learner) == seeded, "reset restores the seeded data"
    listed = json.loads(ok(learner.dojo("exercises", "--json", "--solutions")))
    exercise = next(e for e in listed if e["id"] == "intro.no-phone")
    answer = learner.home / "answer.sql"
    answer.write_text(exercise["reference"])
    wrong = learner.home / "wrong.sql"
    wrong.write_text(exercise["wrong"][0])
    passed = json.loads(
        ok(learner.dojo("grade", "intro.no-phone", "--answer", str(answer), "--json"))
    )
    assert passed["passed"], passed
    failed = learner.dojo("grade", "intro.no-phone", "--answer", str(wrong), "--json")
    assert failed.returncode == 1, failed.stderr
    assert not json.loads(failed.stdout)["passed"]


def test_a_sandboxed_answer_graded_after_root_used_the_sandbox(learner):
    """A Python answer runs in the sandbox, which takes turns through lock files; root's are
    in a directory closed to others (CI has used it by now), the learner's in their checkout."""
    listed = json.loads(ok(learner.dojo("exercises", "--json", "--solutions")))
    exercise = next(e for e in listed if e["id"] == "intro.top-drivers")
    answer = learner.home / "answer.py"
    answer.write_text(exercise["reference"])
    graded = json.loads(
        ok(learner.dojo("grade", "intro.top-drivers", "--answer", str(answer), "--json"))
    )
    assert graded["passed"], graded
