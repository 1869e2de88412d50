"""Classroom pieces that need no server: rosters and password hashes, the kinds of wrong
answer the dashboard counts, the dashboard's figures and gradebook from progress files."""

from __future__ import annotations

import csv
import io
import os

import pytest

from dbdojo.checking import progress
from dbdojo.checking.feedback_kinds import feedback_kind
from dbdojo.checking.verdict import ERROR, FAILED, NOT_ANSWERED, PASSED, Verdict
from dbdojo.classroom import dashboard, roster
from tests.helpers import isolated_state


def test_roster_from_csv_and_numbered(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("username,name\nada,Ada Lovelace\nalan,\n")
    ada, alan = roster.from_csv(path)
    assert (ada.name, ada.display, ada.user) == ("ada", "Ada Lovelace", "dojo-ada")
    assert alan.display == "alan" and ada.password != alan.password
    assert [x.name for x in roster.numbered(3)] == ["learner01", "learner02", "learner03"]
    path.write_text("username\nada\nada\n")
    with pytest.raises(roster.RosterError, match=r"line 3.*twice"):
        roster.from_csv(path)
    path.write_text("username\nroot;rm\n")
    with pytest.raises(roster.RosterError, match="line 2"):
        roster.from_csv(path)


def test_password_hashes_verify_only_the_right_password():
    stored = roster.hash_password("s3cret")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert roster.verify_password("s3cret", stored)
    assert not roster.verify_password("s3cret ", stored)
    assert not roster.verify_password("", stored)
    assert roster.hash_password("s3cret") != stored  # salted


@pytest.mark.parametrize(
    ("verdict", "kind"),
    [
        (Verdict("x", PASSED, "correct"), None),
        (Verdict("x", NOT_ANSWERED, "not answered yet"), None),
        (Verdict("x", FAILED, "wrong columns: missing: city"), "wrong columns or fields"),
        (Verdict("x", FAILED, "2 rows missing (you returned 3 rows, 5 expected)"), "rows missing"),
        (Verdict("x", FAILED, "5 rows missing (you returned 0 rows, 5 expected)"),
         "no rows or documents"),
        (Verdict("x", FAILED, "5 rows missing (you returned 10 rows, 5 expected)"),
         "rows missing"),
        (Verdict("x", FAILED, "1 row missing, 2 rows that should not be there (...)"),
         "rows missing and extra"),
        (Verdict("x", FAILED, "3 documents that should not be there"), "extra rows"),
        (Verdict("x", FAILED, "right rows, wrong order: the first misplaced one is row 2"),
         "wrong order"),
        (Verdict("x", FAILED, "anything", target="edge_nulls"), "wrong on edge cases"),
        (Verdict("x", ERROR, 'syntax error at or near "SELEC"'), "the answer raised an error"),
        (Verdict("x", ERROR, "the server is down", graded=False), "could not be checked"),
    ],
)  # fmt: skip
def test_feedback_kinds(verdict, kind):
    assert feedback_kind(verdict) == kind


def test_dashboard_figures_and_gradebook():
    ann, bob, cyd = (roster.new_learner(n) for n in ("ann", "bob", "cyd"))
    with isolated_state():
        for status, kind in (("failed", "rows missing"), ("failed", "rows missing"),
                             ("passed", None)):  # fmt: skip
            progress.record_attempt("e1", status, dashboard.progress_name(ann), kind)
        for _ in range(dashboard.STUCK_ATTEMPTS):
            progress.record_attempt("e1", "failed", dashboard.progress_name(bob), "wrong order")
        progress.next_hint("e1", 2, dashboard.progress_name(bob))
        progress.record_attempt("e1", "passed")  # the instructor's own file: not the class's
        snap = dashboard.snapshot([ann, bob, cyd], ["e1", "e2"], {"ann": True})
        points = dashboard.timeline([ann, bob, cyd])
        png = dashboard.plot_png([ann, bob, cyd])
    rows = {r["name"]: r for r in snap["learners"]}
    assert rows["ann"]["cells"]["e1"] == {"state": "solved", "attempts": 3, "hints": 0}
    assert rows["bob"]["cells"]["e1"] == {"state": "attempted", "attempts": 4, "hints": 1}
    assert rows["cyd"]["cells"]["e1"]["state"] == "not started"
    assert rows["ann"]["connected"] and not rows["bob"]["connected"]
    e1, e2 = snap["exercises"]
    assert (e1["solved"], e1["attempted"], e2["attempted"]) == (1, 2, 0)
    assert e1["wrong_kinds"] == [("wrong order", 4), ("rows missing", 2)]
    assert [(s["learner"], s["exercise"]) for s in snap["stuck"]] == [("bob", "e1")]
    assert [count for _, count in points] == [1]
    assert png.startswith(b"\x89PNG")
    book = list(csv.DictReader(io.StringIO(dashboard.gradebook_csv(snap))))
    assert [(b["learner"], b["solved"], b["e1"], b["e1 attempts"]) for b in book] == [
        ("ann", "1", "1", "3"), ("bob", "0", "0", "4"), ("cyd", "0", "0", "0")
    ]  # fmt: skip


def test_a_check_worker_keeps_checker_connections_of_the_last_learners_only(monkeypatch):
    from dbdojo.checking import connections
    from dbdojo.classroom import workers
    from dbdojo.workspace import Workspace

    monkeypatch.setenv("DOJO_POSTGRES_URL", "postgresql://u:p@127.0.0.1:1/x")
    dropped: list[str] = []
    monkeypatch.setattr(connections, "discard_pg", lambda ws: dropped.append(ws.name))
    monkeypatch.setattr(workers, "_recent", workers.OrderedDict())
    names = [f"cls_l{i}" for i in range(10 + 3)]
    for name in [*names, names[-1], names[5]]:  # the last and the 6th check again
        workers._keep_connections(Workspace(name), 10)
    assert dropped == names[:3]  # the three who checked longest ago
    assert list(workers._recent) == [*names[3:5], *names[6:-1], names[-1], names[5]]


def test_check_workers_run_learners_in_parallel_and_each_learner_in_turn():
    """Two learners' slow checks overlap in time; one learner's two checks do not."""
    import threading

    from dbdojo.classroom import workers

    pool = workers.Workers(2)
    locks = workers.LearnerLocks()
    spans: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}

    def one(name: str) -> None:
        with locks(name):
            spans[name].append(pool.run(name, _timed_sleep, 1.5))

    try:
        pool.run("warm", _timed_sleep, 0.0)  # start the worker processes
        pool.run("warm2", _timed_sleep, 0.0)
        threads = [threading.Thread(target=one, args=(n,)) for n in ("a", "b", "a")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        pool.close()
    (a1, a2), (b,) = sorted(spans["a"]), spans["b"]
    assert a1[1] <= a2[0]  # one learner's checks one after the other
    assert b[0] < a2[1] and a1[0] < b[1]  # b's check overlaps a's


def _timed_sleep(seconds: float) -> tuple[float, float]:
    import time

    began = time.time()
    time.sleep(seconds)
    return began, time.time()


def test_the_mode_is_shared_when_asked_or_without_root():
    from dbdojo.classroom import layout, mode

    with isolated_state():
        assert mode.choose(shared_user=True) == mode.SHARED
        assert mode.choose() == (mode.SYSTEM if os.geteuid() == 0 else mode.SHARED)
        mode.record(mode.SHARED)
        assert mode.shared() and mode.homes_root() == layout.classroom_dir() / "homes"
        assert "NOT" in mode.warning("ann") and "ann" in mode.warning("ann")
        mode.record(mode.SYSTEM)
        assert not mode.shared() and mode.homes_root() == mode.HOME_ROOT


def test_a_reset_waits_for_a_running_check_of_that_learner(monkeypatch):
    """The service resets a learner's workspace under the lock their checks hold."""
    import threading
    import time

    from dbdojo.classroom import provision, roster, service

    ann, bob = roster.new_learner("ann"), roster.new_learner("bob")
    room = service.Classroom([ann, bob], key="k", worker_count=1)
    done: dict[str, float] = {}
    reset = lambda x: done.setdefault(x.name, time.time())  # noqa: E731
    monkeypatch.setattr(provision, "reset_workspace", reset)
    checking = threading.Event()

    def check_of_ann() -> None:
        with room.locks("ann"):  # what Classroom.check holds while ann's check runs
            checking.set()
            time.sleep(1.0)
            done["ann's check"] = time.time()

    thread = threading.Thread(target=check_of_ann)
    thread.start()
    checking.wait()
    room.reset("bob")  # another learner's reset does not wait
    room.reset("ann")
    thread.join()
    room.workers.close()
    assert done["bob"] < done["ann's check"] <= done["ann"]


SERVICE_WITH_WORKERS = """
import os
import time

from dbdojo.classroom import workers

if __name__ == "__main__":  # the workers are spawned: they import this file again
    pool = workers.Workers(2)
    for each in pool.pools:
        each.submit(os.getpid).result()  # start both worker processes
    print(" ".join(str(p.pid) for w in pool.pools for p in w._processes.values()), flush=True)
    time.sleep(600)
"""


def test_check_workers_end_when_the_service_is_killed(tmp_path):
    # `dojo classroom down` stops the service with SIGTERM, which gives it no time to shut its
    # pools down: the workers must notice and end, not wait for work forever.
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    script = tmp_path / "service.py"
    script.write_text(SERVICE_WITH_WORKERS)
    service = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert service.stdout is not None
    try:
        pids = [int(p) for p in service.stdout.readline().split()]
        assert len(pids) == 2 and all(psutil.pid_exists(p) for p in pids)
    finally:
        os.kill(service.pid, signal.SIGTERM)
        service.wait(30)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in pids if _alive(p)], "check workers outlived the service"


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
