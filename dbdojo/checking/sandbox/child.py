"""The answer's process: ``python -I -m dbdojo.checking.sandbox.child CONFIG``.

It imports what answers use while it still can, confines itself (:mod:`.confine`), and only
then reads the request (the answer, the exercise's options, where its databases are) from
stdin. It writes its reply to ``result.json`` in its scratch directory. Whatever the answer
does, it does in here: the verdict is computed by the grader from the reply.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from dbdojo.checking.sandbox.process import timed_out

# Imported before confinement: as root the sandbox user may not be able to read the Python
# installation (a pyenv under /root), so what an answer may import is loaded now.
PRELOAD = [
    "ast",
    "base64",
    "bisect",
    "calendar",
    "collections",
    "collections.abc",
    "concurrent.futures",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "io",
    "itertools",
    "json",
    "math",
    "numbers",
    "operator",
    "pprint",
    "queue",
    "random",
    "re",
    "secrets",
    "statistics",
    "string",
    "struct",
    "textwrap",
    "threading",
    "time",
    "traceback",
    "typing",
    "uuid",
    "warnings",
    "zlib",
    "zoneinfo",
    "encodings.idna",
    "ctypes",
    "ctypes.util",
    "psycopg",
    "psycopg.rows",
    "bson",
    "bson.son",
    "bson.objectid",
    "bson.decimal128",
    "pymongo",
    "pymongo.errors",
    "pymongo.synchronous.pool",
    "redis",
    "redis.exceptions",
    "redis.client",
    "redis.connection",
    "redis.lock",
    "dbdojo.connect",
    "dbdojo.checking.runners.python",
    "dbdojo.checking.runners.mongo",
    "dbdojo.checking.runners.redis",
    "dbdojo.checking.redis_concurrency",
    "dbdojo.checking.runners.pg_concurrent_py",
    "dbdojo.checking.sandbox.values",
]
MAX_REQUEST = 16 * 1024 * 1024
_PR_SET_CHILD_SUBREAPER = 36


class OutOfTime(BaseException):
    """The answer's own time is up (a BaseException: an answer's ``except Exception`` does
    not swallow it)."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise OutOfTime


def _limited(seconds: float, work):
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return work()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _result_set(rs: Any) -> dict[str, Any]:
    from dbdojo.checking.sandbox.values import encode

    return {"columns": list(rs.columns), "rows": encode(list(rs.rows)), "documents": rs.documents,
            "order_by": rs.order_by, "ordered": rs.ordered, "noun": rs.noun,
            "commands": rs.commands}  # fmt: skip


def _failure(exc: BaseException, seconds: float) -> dict[str, Any]:
    from dbdojo.checking.runners import AnswerError

    if isinstance(exc, OutOfTime):
        return timed_out(seconds)
    if isinstance(exc, AnswerError):
        return {"error": str(exc), "hint": exc.hint, "timeout": exc.timeout}
    if isinstance(exc, SystemExit):
        return {"error": "the answer called sys.exit()", "hint": "return a value instead"}
    return {"error": f"{type(exc).__name__}: {exc}"}


def _python(request: dict[str, Any]) -> dict[str, Any]:
    from dbdojo.checking.runners import python

    return {"result": _result_set(python.run(request["source"], request["options"]))}


def _mongo(request: dict[str, Any]) -> dict[str, Any]:
    from dbdojo.checking.runners import mongo
    from dbdojo.workspace import Workspace

    out = {}
    for name in request["targets"]:
        try:
            rs = _limited(
                request["timeout"],
                lambda name=name: mongo.run(
                    request["source"], Workspace(name), request["options"], request["timeout"]
                ),
            )
            out[name] = {"result": _result_set(rs)}
        except BaseException as exc:
            out[name] = _failure(exc, request["timeout"])
    return {"targets": out}


def _redis(request: dict[str, Any]) -> dict[str, Any]:
    import redis

    from dbdojo.checking.pyexec import function
    from dbdojo.checking.runners.redis import call
    from dbdojo.checking.sandbox.values import encode

    options, timeout = request["options"], request["timeout"]
    solve = function(request["source"], options.get("function", "solve"), {})
    r = redis.Redis(
        unix_socket_path=request["socket"], decode_responses=True, socket_timeout=timeout
    )
    return {"returned": encode(call(solve, r, request["prefix"], timeout))}


def _redis_clients(request: dict[str, Any]) -> dict[str, Any]:
    import redis

    from dbdojo.checking.pyexec import function
    from dbdojo.checking.redis_concurrency import run_clients

    options, timeout = request["options"], request["timeout"]
    solve = function(request["source"], options.get("function", "solve"), {})

    def connect() -> redis.Redis:
        return redis.Redis(
            unix_socket_path=request["socket"], decode_responses=True, socket_timeout=timeout
        )

    clients = int(request["clients"])
    return {"rounds": run_clients(solve, connect, request["prefixes"], clients, timeout)}


def _pg_sessions(request: dict[str, Any]) -> dict[str, Any]:
    import psycopg

    from dbdojo.checking.pyexec import function
    from dbdojo.checking.runners.pg_concurrent_py import run_sessions

    options, timeout = request["options"], request["timeout"]
    solve = function(request["source"], options.get("function", "solve"), {})
    # The child's input channel, not a user setting (dbdojo.settings): the sandbox passes the
    # gate's URL for this answer in the child's environment.
    url = os.environ["DOJO_POSTGRES_URL"]

    def connect() -> psycopg.Connection:
        return psycopg.connect(url, connect_timeout=max(1, int(timeout)))

    return {"sessions": run_sessions(solve, connect, request["sessions"], timeout)}


def _preload() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):  # optional: a driver version without it
            importlib.import_module(name)
    import pymongo
    import redis.utils

    redis.utils.get_lib_version()  # reads package metadata: imports importlib.metadata's parts
    with contextlib.suppress(ImportError):
        import psycopg

        psycopg.pq.version()  # loads libpq (and ctypes.util) now
    pymongo.MongoClient("mongodb://127.0.0.1:9/", connect=False).close()
    # what the kit's own client code imports lazily (connect.kit_emulator: the kit's state;
    # connect.mongo_client: the classroom's MongoDB login), unreadable once confined where the
    # checkout is private (a clone under /root)
    import dbdojo.mongo.kitauth
    import dbdojo.state  # noqa: F401


HANDLERS = {"python": _python, "mongo": _mongo, "redis": _redis, "redis-clients": _redis_clients,
            "pg-sessions": _pg_sessions}  # fmt: skip


def main() -> None:
    """Supervise one worker: it confines itself and runs the answer; this process (never
    running answer code) adopts whatever the worker leaves behind (a child subreaper), stops
    it all at the deadline, and reaps it."""
    config = json.loads(sys.argv[1])
    _preload()
    request = json.loads(sys.stdin.read(MAX_REQUEST))
    scratch = Path(config["scratch"])
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)  # a group of its own: one killpg ends all it forked, a fork bomb too
        try:
            _work(config, request, scratch)
        except BaseException:
            traceback.print_exc()  # the grader shows its last line
        finally:
            os._exit(0)
    with contextlib.suppress(OSError):  # here too: whichever of the two runs first
        os.setpgid(pid, pid)
    seconds = float(request["timeout"]) * max(1, len(request.get("targets") or []))
    finished = _wait(pid, time.monotonic() + seconds + 1)
    _end_all(config["uid"], pid)
    if not finished:
        (scratch / "result.json").write_text(json.dumps(timed_out(seconds)))


def _work(config: dict[str, Any], request: dict[str, Any], scratch: Path) -> None:
    from dbdojo.checking.sandbox import confine

    granted = confine.apply(confine.Confinement(scratch, config["cpu"], config["uid"])).granted
    seconds = float(request["timeout"])
    handler = HANDLERS[request["kind"]]
    try:  # a MongoDB answer runs once per workspace, each run with its own time limit
        if handler is _mongo:
            reply = handler(request)
        else:
            reply = _limited(seconds, lambda: handler(request))
    except BaseException as exc:
        reply = _failure(exc, seconds)
    reply["confinement"] = granted
    (scratch / "result.json").write_text(json.dumps(reply))


def _wait(pid: int, deadline: float) -> bool:
    """Reap children until the worker ends (True) or the deadline passes (False)."""
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if done == pid:
            return True
        if done == 0:
            time.sleep(0.01)
    return False


def _end_all(uid: int | None, group: int) -> None:
    """Kill every process the answer started, wherever it went, and reap them: its process
    ``group`` at once (the kernel lets no fork escape a group kill; as a learner, without a
    sandbox uid, a fork bomb has no process limit), then any that left the group."""
    import psutil

    for _ in range(5):
        if psutil.Process().children():  # the group's pid is not reused while we hold some
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
        if uid is not None and os.fork() == 0:  # as the sandbox user: kill all of its processes
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
            os._exit(0)
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        while True:
            try:
                if os.waitpid(-1, 0)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not psutil.Process().children(recursive=True):
            return


if __name__ == "__main__":
    main()
