"""The classroom service: learners' checks and hints, and the instructor's live dashboard.

One HTTP server, run by ``dojo classroom up`` as the instructor (it holds the kit's
credentials; learners never do). Learners' kernels call it with their token (``~/.env``);
the instructor opens ``/dashboard?key=KEY``. The hub also routes
``/services/dojo-classroom/`` to it, so both work through the hub's address.

Checks run in a few worker processes (:mod:`.workers`, one per core, 2 to 4): different
learners' checks in parallel, one learner's checks and resets one at a time
(benchmarks/bench_classroom.py measures both).
"""

from __future__ import annotations

import json
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dbdojo import settings
from dbdojo.checking import discovery, progress
from dbdojo.checking.feedback_kinds import feedback_kind
from dbdojo.checking.model import Exercise
from dbdojo.checking.verdict import NOT_ANSWERED, Verdict
from dbdojo.classroom import dashboard, layout, roster, workers
from dbdojo.classroom.roster import Learner

PREFIX = "/services/dojo-classroom"
PAGE = Path(__file__).with_name("dashboard.html")


class Classroom:
    """What the service serves: the roster, the exercises (with their references), the hub."""

    def __init__(
        self,
        learners: list[Learner],
        key: str,
        hub: dict[str, str] | None = None,
        worker_count: int | None = None,
    ):
        self.learners = learners
        self.by_token = {x.token: x for x in learners}
        self.by_name = {x.name: x for x in learners}
        self.key = key
        self.hub = hub or {}
        self.exercises: dict[str, Exercise] = {ex.id: ex for ex in discovery.exercises()}
        self.workers = workers.Workers(worker_count or workers.default_count())
        self.locks = workers.LearnerLocks()

    def check(self, learner: Learner, exercise_id: str, answer: str) -> Verdict:
        ex = self._exercise(exercise_id)
        with self.locks(learner.name):
            verdict = self.workers.run(
                learner.name, workers.check, learner.workspace, ex.id, answer, self.workers.keep
            )
        if verdict.status != NOT_ANSWERED:
            progress.record_attempt(
                ex.id, verdict.status, dashboard.progress_name(learner), feedback_kind(verdict)
            )
        return verdict

    def hint(self, learner: Learner, exercise_id: str) -> list[str]:
        ex = self._exercise(exercise_id)
        if not ex.hints:
            return []
        shown = progress.next_hint(ex.id, len(ex.hints), dashboard.progress_name(learner))
        return ex.hints[:shown]

    def _exercise(self, exercise_id: str) -> Exercise:
        try:
            return self.exercises[exercise_id]
        except KeyError:
            raise LookupError(f"unknown exercise {exercise_id!r}") from None

    def connected(self) -> dict[str, bool]:
        """Learner -> whether their JupyterLab is running (the hub's REST API)."""
        if not self.hub.get("api_url"):
            return {}
        request = urllib.request.Request(
            self.hub["api_url"].rstrip("/") + "/users",
            headers={"Authorization": f"token {self.hub['api_token']}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                users = json.loads(response.read())
        except OSError:
            return {}
        names = {x.user: x.name for x in self.learners}
        return {names[u["name"]]: bool(u.get("server")) for u in users if u["name"] in names}

    def snapshot(self) -> dict[str, Any]:
        return dashboard.snapshot(self.learners, list(self.exercises), self.connected())

    def reset(self, name: str) -> None:
        from dbdojo.classroom import provision

        learner = self.by_name[name]
        with self.locks(name):  # never under a running check of theirs
            provision.reset_workspace(learner)


class Handler(BaseHTTPRequestHandler):
    classroom: Classroom  # set on the subclass made by :func:`serve`

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no request log: it would hold learners' names and times only

    # -- helpers ---------------------------------------------------------------------------

    def _route(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path.removeprefix(PREFIX) or "/", parse_qs(parts.query)

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(data).encode())

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def _learner(self) -> Learner | None:
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        return self.classroom.by_token.get(token)

    def _instructor(self, query: dict[str, list[str]]) -> bool:
        import secrets

        given = (query.get("key") or [""])[0]
        return bool(given) and secrets.compare_digest(given, self.classroom.key)

    # -- verbs -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        path, query = self._route()
        if path == "/health":
            return self._json({"ok": True})
        if not self._instructor(query):
            return self._error(HTTPStatus.FORBIDDEN, "the instructor's key is needed")
        room = self.classroom
        if path in ("/", "/dashboard"):
            return self._send(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
        if path == "/api/state":
            return self._json(room.snapshot())
        if path == "/gradebook.csv":
            return self._send(
                HTTPStatus.OK, dashboard.gradebook_csv(room.snapshot()).encode(), "text/csv"
            )
        if path == "/progress.png":
            return self._send(HTTPStatus.OK, dashboard.plot_png(room.learners), "image/png")
        return self._error(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    def do_POST(self) -> None:
        path, query = self._route()
        try:
            body = self._body()
        except ValueError:
            return self._error(HTTPStatus.BAD_REQUEST, "the body must be JSON")
        if path == "/api/reset":
            if not self._instructor(query):
                return self._error(HTTPStatus.FORBIDDEN, "the instructor's key is needed")
            if body.get("learner") not in self.classroom.by_name:
                return self._error(HTTPStatus.NOT_FOUND, "no such learner")
            self.classroom.reset(body["learner"])
            return self._json({"reset": body["learner"]})
        learner = self._learner()
        if learner is None:
            return self._error(HTTPStatus.UNAUTHORIZED, "unknown learner token")
        try:
            if path == "/api/check":
                verdict = self.classroom.check(
                    learner, str(body["exercise"]), str(body.get("answer", ""))
                )
                return self._json(verdict.to_dict())
            if path == "/api/hint":
                return self._json({"hints": self.classroom.hint(learner, str(body["exercise"]))})
        except (LookupError, KeyError) as exc:
            return self._error(HTTPStatus.NOT_FOUND, str(exc))
        return self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}")


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a class checking at once: the default 5 resets connections


def serve(classroom: Classroom, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"classroom": classroom})
    server = _Server((host, port), handler)
    server.daemon_threads = True
    return server


def main() -> None:
    """``python -m dbdojo.classroom.service``: serve the saved classroom until stopped."""
    settings.no_spares_by_default()
    info = json.loads(layout.service_file().read_text())
    room = Classroom(roster.load(layout.roster_file()), info["key"], info.get("hub"))
    server = serve(room, info["host"], info["port"])
    server.serve_forever()


if __name__ == "__main__":
    main()
