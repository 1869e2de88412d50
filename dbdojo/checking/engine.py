"""The checking engine: run the answer and the reference (or read the stored digests) on the
learner's workspace and the edge-case workspaces, compare, and return a Verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dbdojo.checking import connections, datasets, emulator_gaps, mechanism, ordering, refcache
from dbdojo.checking.compare import compare
from dbdojo.checking.model import MONGO_KINDS, Exercise
from dbdojo.checking.normalize import digits_for
from dbdojo.checking.result import Digest, ResultSet, Rules, digest
from dbdojo.checking.runners import AnswerError, CannotCheck, SandboxError
from dbdojo.checking.sqltext import column_names, normalized_text, order_by_items, split_statements
from dbdojo.checking.verdict import ERROR, FAILED, NOT_ANSWERED, PASSED, Verdict
from dbdojo.connect import NotSeeded
from dbdojo.workspace import MAIN, SNAPSHOT_REDIS_DB, Workspace, current

# They do not read a workspace's data (sql-concurrent: a scratch schema of its own).
SINGLE_RUN_KINDS = ("redis", "python", "sql-concurrent")


class ReferenceFailed(RuntimeError):
    """The exercise's own reference does not run: an authoring bug."""


def default_edges() -> list[Workspace]:
    """The dataset's edge-case workspaces."""
    from dbdojo.dataset import edge_workspaces

    return list(edge_workspaces())


NOT_LOADED = "not loaded"
# A reference is the kit's own code and runs once per data version: its limit only stops an
# authoring mistake, so it has room for a loaded machine (a first `make lab` builds the labs
# while the seed's last steps still load it: a 5 s reference was once stopped there).
REFERENCE_TIME_FACTOR = 6


def _unchecked(ex: Exercise, unchecked: dict[str, str]) -> str:
    """A correct verdict's message naming the edge cases it was not checked on, and why."""
    missing = sorted(n for n, why in unchecked.items() if why == NOT_LOADED)
    failing = {n: why for n, why in sorted(unchecked.items()) if why != NOT_LOADED}
    said = []
    if missing:
        said.append(
            f"({', '.join(missing)}): their data is not loaded here. "
            "Run `dojo seed` (it loads them) and check again"
        )
    if failing:
        reasons = "; ".join(f"{n}: {why}" for n, why in failing.items())
        said.append(
            f"({', '.join(failing)}): the exercise's own reference solution fails there "
            f"({reasons}), a fault of {ex.id}, not of your answer: please report it"
        )
    return "correct on the main data, but NOT checked on the edge cases " + "; nor ".join(said)


@dataclass
class Expectation:
    rules: Rules
    targets: dict[str, Digest]
    # targets left out: the reference cannot run there (not loaded; or it fails, an author's bug)
    skipped: dict[str, str] = field(default_factory=dict)
    dataset: dict[str, str] | None = None  # stored digests: the dataset they were built on

    def to_dict(self) -> dict[str, Any]:
        data = {
            "ordered": self.rules.ordered,
            "order_by": self.rules.order_by,
            "digits": self.rules.digits,
            "targets": {name: d.to_dict() for name, d in self.targets.items()},
        }
        if self.dataset:
            data["dataset"] = self.dataset
        return data

    @classmethod
    def from_dict(cls, ex: Exercise, data: dict[str, Any]) -> Expectation:
        rules = Rules(ex.id, data["digits"], data["ordered"], data.get("order_by"))
        targets = {n: Digest.from_dict(d) for n, d in data["targets"].items()}
        return cls(rules, targets, dataset=data.get("dataset"))


def not_answered(ex: Exercise, answer: str) -> bool:
    body = normalized_text(answer)
    return not body or body == normalized_text(ex.starter)


class Checker:
    """Checks answers on ``workspace`` (default: the current one) and the edge workspaces."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        edges: list[Workspace] | None = None,
        redis_source: int = SNAPSHOT_REDIS_DB,
        cache_main: bool = False,
    ) -> None:
        """``cache_main``: also reuse the reference's results on ``workspace`` while its seeded
        checksum is unchanged. Only for a workspace nothing else writes to (the tests' own):
        a learner's changes to the main data do not change that checksum. The edge workspaces
        belong to the checker and are always reused."""
        self.workspace = workspace or current()
        self._edges = edges
        self.redis_source = redis_source
        self.cache_main = cache_main

    @property
    def edges(self) -> list[Workspace]:
        if self._edges is None:
            self._edges = default_edges()
        return self._edges

    def targets(self, ex: Exercise) -> dict[str, Workspace]:
        found = {MAIN: self.workspace}
        # MariaDB's scratch kinds run on their own setup; its queries on each seeded copy
        mysql_scratch = ex.options.get("database") == "mysql" and ex.kind != "sql"
        if ex.kind not in SINGLE_RUN_KINDS and not mysql_scratch and ex.options.get("edge", True):
            found.update({ws.name: ws for ws in self.edges})
        return found

    # -- running ------------------------------------------------------------------------------

    def run(self, ex: Exercise, source: str, ws: Workspace, trusted: bool = False) -> ResultSet:
        """Run ``source`` on ``ws`` (any kind but sql-plan). Only ``trusted`` code (a
        reference, the author's) runs in this process; an answer in Python runs in the
        sandbox, an SQL answer as the answer role."""
        # Each kind imports only its own runner: a plain SQL check (`dojo grade`, a fresh
        # process) pays for neither the sandbox nor the MongoDB and concurrency runners.
        timeout, options = ex.timeout * (REFERENCE_TIME_FACTOR if trusted else 1), ex.options
        if ex.kind == "sql-concurrent" and options.get("database") == "mysql":
            from dbdojo.checking.runners import mysql_concurrent

            return mysql_concurrent.run(source, options, timeout)
        if ex.kind == "sql-concurrent":
            from dbdojo.checking.runners import pg_concurrent

            return pg_concurrent.run(source, options, timeout)
        if ex.kind == "sql" and options.get("database") == "mysql":
            from dbdojo.checking.runners import mysql

            return mysql.run_query(source, ws, options, timeout)
        if ex.kind == "sql":
            from dbdojo.checking.runners import sql

            return sql.run_query(source, ws, options, timeout)
        if ex.kind == "sql-ddl" and options.get("database") == "mysql":
            from dbdojo.checking.runners import mysql_scratch

            return mysql_scratch.run_ddl(source, options, timeout)
        if ex.kind == "sql-ddl":
            from dbdojo.checking.runners import sql

            return sql.run_ddl(source, ws, options, timeout)
        if ex.kind in MONGO_KINDS:
            if trusted:
                from dbdojo.checking.runners import mongo

                return mongo.run(source, ws, options, timeout)
            from dbdojo.checking import sandbox

            return _raised(sandbox.run_mongo(source, [ws], options, timeout)[ws.name])
        if ex.kind == "redis":
            from dbdojo.checking.runners import redis

            return redis.run(source, options, timeout, _prefix(ex), self.redis_source, trusted)
        if ex.kind == "python":
            if trusted:
                from dbdojo.checking.runners import python

                return python.run(source, options)
            from dbdojo.checking import sandbox

            return sandbox.run_python(source, options, timeout)
        raise ValueError(f"{ex.id}: unknown kind {ex.kind!r}")

    def answer_results(
        self, ex: Exercise, answer: str, targets: dict[str, Workspace]
    ) -> Iterator[tuple[str, ResultSet | Exception]]:
        """The answer's result (or why it has none) on each target, in order. A MongoDB
        answer runs once for all targets (one sandboxed process)."""
        if ex.kind in MONGO_KINDS:
            from dbdojo.checking import sandbox

            results = sandbox.run_mongo(answer, list(targets.values()), ex.options, ex.timeout)
            yield from ((name, results[ws.name]) for name, ws in targets.items())
            return

        def run(name: str, ws: Workspace) -> ResultSet | Exception:
            try:
                return self.run(ex, answer, ws)
            except (AnswerError, NotSeeded) as exc:
                return exc

        yield from _each(ex, targets, run)

    def reference_result(self, ex: Exercise, name: str, ws: Workspace) -> ResultSet:
        """The reference's result on ``ws``: reused when the data is the same seeded data."""
        assert ex.reference is not None
        reference = ex.reference

        def run() -> ResultSet:
            return self.run(ex, reference, ws, trusted=True)

        single = ex.kind in SINGLE_RUN_KINDS  # not the workspace's data: the snapshot's
        if name == MAIN and not self.cache_main and not single:
            return run()
        return refcache.reference_result(ex, ws, self.redis_source, run)

    def rules(self, ex: Exercise, reference: ResultSet) -> Rules:
        """Comparison rules: tolerance, and order as the options say or the reference does."""
        auto_keys: list[str] | None = reference.order_by
        auto_ordered = reference.ordered
        if ex.kind == "sql" and ex.reference is not None:
            items = order_by_items(ex.reference)
            auto_ordered = items is not None
            auto_keys = column_names(items or [], reference.columns)
        ordered = ex.options.get("ordered", auto_ordered)
        keys = ex.options.get("order_by", auto_keys if ordered else None)
        if keys and not set(keys) <= set(reference.columns):
            keys = None  # sorted by something not in the output: the whole sequence must match
        tolerance = ex.options.get("tolerance")
        return Rules(ex.id, digits_for(tolerance), bool(ordered), keys or None)

    def expectation(self, ex: Exercise) -> Expectation:
        """Digests of the reference's results on every target (or the stored ones)."""
        if ex.reference is None:
            if ex.expected is None:
                if ex.options.get("database") == "mysql":  # built where no MariaDB was
                    raise ReferenceFailed(
                        f"{ex.id} is checked on MariaDB/MySQL, which this build had none of: "
                        "install one (the X3 notebook's first cell says how), then `dojo lab`"
                    )
                raise ReferenceFailed(f"{ex.id} has neither a reference solution nor digests")
            return Expectation.from_dict(ex, ex.expected)

        def reference(name: str, ws: Workspace) -> ResultSet | Exception:
            try:
                found = self.reference_result(ex, name, ws)
                if found.problems:
                    raise AnswerError("; ".join(found.problems))
            except (AnswerError, NotSeeded) as exc:
                return exc
            return found

        results: dict[str, ResultSet] = {}
        skipped: dict[str, str] = {}
        for name, found in _each(ex, self.targets(ex), reference):
            if isinstance(found, ResultSet):
                results[name] = found
            elif name == MAIN:
                raise ReferenceFailed(
                    f"the reference solution of {ex.id} fails: {found}"
                ) from found
            else:
                skipped[name] = NOT_LOADED if isinstance(found, NotSeeded) else str(found)
        rules = self.rules(ex, results[MAIN])
        return Expectation(rules, {n: digest(r, rules) for n, r in results.items()}, skipped)

    # -- checking -----------------------------------------------------------------------------

    def check(self, ex: Exercise, answer: str) -> Verdict:
        if not_answered(ex, answer):
            return Verdict(ex.id, NOT_ANSWERED, "not answered yet: write your answer in the cell")
        if ex.kind == "sql-plan":
            return self.check_plan(ex, answer)
        if _postgres_sql(ex):
            connections.open_answer_pg(list(self.targets(ex).values()))
        try:
            expected = self.expectation(ex)
        except (ReferenceFailed, CannotCheck) as exc:
            return Verdict(ex.id, ERROR, f"cannot check this exercise: {exc}", graded=False)
        built_on = expected.dataset
        if built_on and (problem := datasets.mismatch(ex.kind, self.workspace, built_on)):
            return Verdict(ex.id, ERROR, problem, graded=False)
        notes: list[str] = []
        promised = self.targets(ex)
        targets = {n: ws for n, ws in promised.items() if n in expected.targets}
        unchecked = {n: expected.skipped.get(n, NOT_LOADED) for n in promised if n not in targets}
        try:
            for name, result in self.answer_results(ex, answer, targets):
                if isinstance(result, NotSeeded):
                    unchecked[name] = NOT_LOADED
                    continue
                if isinstance(result, Exception):
                    return self._error(ex, result, name)
                notes += [n for n in result.notes if n not in notes]
                if result.problems:
                    hint = f"dojo.hint({ex.id!r}) gives a hint"
                    first, *rest = result.problems
                    return Verdict(ex.id, FAILED, first, rest, notes, hint=hint, target=name)
                outcome = compare(expected.targets[name], result, expected.rules)
                notes += [n for n in outcome.notes if n not in notes]
                if not outcome.ok and ex.kind in MONGO_KINDS:
                    notes += emulator_gaps.notes(answer)
                if not outcome.ok:
                    return Verdict(
                        ex.id,
                        FAILED,
                        _where(name) + outcome.problems[0],
                        outcome.problems[1:],
                        notes,
                        outcome.extra_examples,
                        hint=_edge_hint(name) or f"dojo.hint({ex.id!r}) gives a hint",
                        target=name,
                    )
                if problems := self.how(ex, answer, result, expected.rules):
                    hint = f"dojo.hint({ex.id!r}) gives a hint"
                    return Verdict(ex.id, FAILED, problems[0], problems[1:], hint=hint)
        except (SandboxError, CannotCheck) as exc:
            return Verdict(ex.id, ERROR, f"cannot check this answer: {exc}", graded=False)
        if unchecked:
            return Verdict(ex.id, PASSED, _unchecked(ex, unchecked), notes=notes)
        return Verdict(ex.id, PASSED, "correct", notes=notes)

    def how(self, ex: Exercise, answer: str, result: ResultSet, rules: Rules) -> list[str]:
        """What an answer with the right outcome breaks of what the prompt asks about how it
        gets there: an SQL order that only the plan defines, the plan the prompt asks for, the
        order of its statements; for Redis, the commands it must (not) send and what must hold
        when several clients run it at once; for a MongoDB pipeline, the order of its stages."""
        if ex.kind == "sql":
            loose = ordering.undetermined(answer, result, rules.order_by) if rules.ordered else ""
            return [loose] if loose else self.plan_problems(ex, answer)
        mongo = ex.kind in ("mongo-query", "mongo-pipeline")
        if (
            mongo
            and rules.ordered
            and (loose := ordering.undetermined_documents(result, rules.order_by))
        ):
            return [loose]
        commands = ex.options.get("commands")
        sent = result.commands
        if commands and ex.kind in ("sql", "sql-ddl"):  # the statements, as the scanner splits
            sent = [" ".join(s.split()) for s in split_statements(answer)]
        if commands and sent is not None and (found := mechanism.check(sent, commands)):
            return found
        if ex.kind != "redis" or "concurrent" not in ex.options:
            return []
        from dbdojo.checking import redis_concurrency

        return redis_concurrency.check(
            answer, ex.options, ex.timeout, _prefix(ex), self.redis_source
        )

    def plan_problems(self, ex: Exercise, answer: str) -> list[str]:
        """Option ``answer_plan`` of kind ``sql``: what the answer's own plan breaks of what
        the prompt asks of it (a rewrite that each part of which an index serves)."""
        spec = ex.options.get("answer_plan")
        if not spec:
            return []
        from dbdojo.checking import plan as plans
        from dbdojo.checking.runners import sql

        try:
            tree = sql.answer_plan(answer, self.workspace, ex.options, ex.timeout)
        except AnswerError as exc:
            return [f"your rows are right, but its plan could not be read: {exc}"]
        found = plans.check(tree, spec)
        if found:
            found[0] = f"your rows are right, but {found[0]} (plan: {plans.outline(tree)})"
        return found

    def check_plan(self, ex: Exercise, answer: str) -> Verdict:
        from dbdojo.checking import plan as plans
        from dbdojo.checking.runners import sql

        try:
            run = sql.explain(answer, self.workspace, ex.options, ex.timeout)
        except AnswerError as exc:
            return self._error(ex, exc, MAIN)
        problems = plans.budget_problems(run.new_indexes, run.new_index_kb, ex.options)
        workload = len(run.trees) > 1
        notes = []
        for number, tree in enumerate(run.trees, 1):
            where = f"query {number}: " if workload else ""
            problems += [where + p for p in plans.check(tree, ex.options["plan"])]
            read = (
                f" ({plans.buffers(tree):,} blocks)" if "max_buffers" in ex.options["plan"] else ""
            )
            notes.append(f"{where or 'your '}plan: {plans.outline(tree)}{read}")
        if problems:
            hint = f"dojo.hint({ex.id!r}) gives a hint"
            return Verdict(ex.id, FAILED, problems[0], problems[1:], notes, hint=hint)
        return Verdict(ex.id, PASSED, "correct", notes=[n.replace("your ", "") for n in notes])

    def _error(self, ex: Exercise, exc: Exception, target: str) -> Verdict:
        if ex.kind in MONGO_KINDS and (refused := emulator_gaps.refusal(str(exc))):
            return Verdict(ex.id, ERROR, refused, target=target, graded=False)
        hint = getattr(exc, "hint", "") or f"dojo.hint({ex.id!r}) gives a hint"
        return Verdict(ex.id, ERROR, _where(target) + str(exc), hint=hint, target=target)


def _postgres_sql(ex: Exercise) -> bool:
    """An SQL query or statement checked on PostgreSQL: one answer-role connection per target."""
    return ex.kind in ("sql", "sql-ddl") and ex.options.get("database") != "mysql"


def _each[T](
    ex: Exercise, targets: dict[str, Workspace], run: Callable[[str, Workspace], T]
) -> Iterator[tuple[str, T]]:
    """``run`` on each target, the results in the targets' order. An SQL exercise on PostgreSQL
    runs on every target at once (threads: each its own database and connection) where the
    checker's connections are not bounded (``dojo grade``, a batch); in a learner's kernel
    (:func:`connections.bounded`), and for every other kind, one target after the other. A
    caller that stops early (a failing target) waits for the others to end."""
    if len(targets) < 2 or not _postgres_sql(ex) or connections.is_bounded():
        yield from ((name, run(name, ws)) for name, ws in targets.items())
        return
    from dbdojo.checking import threads

    futures = [(name, threads.pool().submit(run, name, ws)) for name, ws in targets.items()]
    try:
        yield from ((name, future.result()) for name, future in futures)
    finally:  # a caller that stops early: the others end before the check returns
        for _, future in futures:
            future.cancel() or future.exception()


def _raised(result: ResultSet | AnswerError) -> ResultSet:
    if isinstance(result, AnswerError):
        raise result
    return result


def _prefix(ex: Exercise) -> str:
    """The key prefix a Redis exercise's functions get."""
    return ex.options.get("prefix", f"{ex.id}:")


def _where(target: str) -> str:
    return "" if target == MAIN else f"right on the main data, not on the edge case {target!r}: "


def _edge_hint(target: str) -> str:
    if target == MAIN:
        return ""
    return (
        "the edge-case data has NULLs, ties, duplicates, empty groups and orphans: "
        "a query can be right by accident on the main data"
    )
