"""Write conflicts between transactions, as MongoDB reports them (the emulator's wire layer).

MongoDB (https://www.mongodb.com/docs/manual/core/transactions-production-consideration/#in-progress-transactions-and-write-conflicts):
when a transaction writes a document that another in-progress transaction has modified, or
that was committed by another transaction after this one's snapshot was taken, the write fails
at once with ``WriteConflict`` (code 112) labelled ``TransientTransactionError`` and the
transaction is aborted; ``with_transaction`` (the driver's callback API) retries the whole
transaction. So one of two concurrent increments waits for a retry and neither is lost.

mongoeco 4.11 accepts the second write and fails the second *commit* with an unlabelled
"Write conflict during transaction commit" whenever any write was committed after the
transaction began. :class:`WriteConflicts` tracks, per document, which open transaction wrote
it and when committed transactions wrote it, and answers a conflicting write as MongoDB does;
the commit-time failure that remains (two transactions writing *different* documents of one
collection, which MongoDB commits both) is labelled the same way, so the driver retries it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Execute = Callable[[Any], Awaitable[dict[str, Any]]]
RunCommand = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
Txn = tuple[str, int]
Key = tuple[str, str, Any]

WRITE_CONFLICT = {
    "ok": 0.0,
    "errmsg": "Caused by :: Write conflict during plan execution and yielding is disabled. :: "
    "Please retry your operation or multi-document transaction.",
    "code": 112,
    "codeName": "WriteConflict",
    "errorLabels": ["TransientTransactionError"],
}
NO_SUCH_TRANSACTION = {
    "ok": 0.0,
    "code": 251,
    "codeName": "NoSuchTransaction",
    "errorLabels": ["TransientTransactionError"],
}
_UPDATES = {"update": "updates", "delete": "deletes"}


def transaction_of(body: dict[str, Any]) -> Txn | None:
    """The (session, txnNumber) of a command sent inside a multi-document transaction."""
    lsid, number = body.get("lsid"), body.get("txnNumber")
    if body.get("autocommit") is not False or not isinstance(lsid, dict) or number is None:
        return None
    from mongoeco.core.bson_scalars import unwrap_bson_numeric

    return str(lsid.get("id")), int(unwrap_bson_numeric(number))  # type: ignore[call-overload]


def _id_key(db: str, coll: str, doc_id: Any) -> Key:
    from mongoeco.core.bson_ordering import bson_equality_key

    return db, coll, bson_equality_key(doc_id)


class WriteConflicts:
    """First writer wins, document by document, across open transactions."""

    def __init__(self, run: RunCommand) -> None:
        self.run = run
        self.commits = 0  # commit sequence number
        self.started: dict[Txn, int] = {}  # open transaction -> commits when it began
        self.owner: dict[Key, Txn] = {}  # document -> the open transaction that wrote it
        self.written: dict[Txn, set[Key]] = {}
        self.committed: dict[Key, int] = {}  # document -> commit that last wrote it
        self.doomed: set[Txn] = set()  # aborted by a conflict, until the client ends them

    async def execute(self, context: Any, execute: Execute) -> dict[str, Any]:
        body, name = context.raw_body, context.command_name
        txn = transaction_of(body)
        if txn is None:
            return await execute(context)
        if body.get("startTransaction"):
            self._begin(txn)
        if name in ("commitTransaction", "abortTransaction"):
            return await self._end(txn, name == "commitTransaction", context, execute)
        if txn in self.doomed:
            return {**NO_SUCH_TRANSACTION, "errmsg": f"Transaction {txn[1]} has been aborted."}
        keys = await self._targets(context.db_name, name, context.command_document, body)
        if any(self._conflicts(txn, key) for key in keys):
            await self._abort_in_engine(body)
            self._release(txn)
            self.doomed.add(txn)
            return dict(WRITE_CONFLICT)
        result = await execute(context)
        if isinstance(result, dict) and result.get("ok") == 1:
            for key in keys:
                self.owner[key] = txn
            self.written.setdefault(txn, set()).update(keys)
        return result

    def _begin(self, txn: Txn) -> None:
        for other in [t for t in self.started if t[0] == txn[0]]:
            self._release(other)  # a new transaction on a session ends its previous one
        self.doomed = {t for t in self.doomed if t[0] != txn[0]}
        self.started[txn] = self.commits

    def _conflicts(self, txn: Txn, key: Key) -> bool:
        holder = self.owner.get(key)
        if holder is not None and holder != txn:
            return True
        began = self.started.get(txn, self.commits)
        return self.committed.get(key, -1) > began

    async def _end(self, txn: Txn, commit: bool, context: Any, execute: Execute) -> dict[str, Any]:
        if txn in self.doomed:
            self.doomed.discard(txn)
            if commit:
                return {**NO_SUCH_TRANSACTION, "errmsg": f"Transaction {txn[1]} has been aborted."}
            return {"ok": 1.0}
        try:
            result = await execute(context)
        except Exception as exc:  # mongoeco raises its commit-time conflict; the proxy replies
            if not (commit and "write conflict" in str(exc).lower()):
                raise
            result = {"ok": 0.0, "errmsg": str(exc)}
        ok = isinstance(result, dict) and result.get("ok") == 1
        if commit and ok:
            self.commits += 1
            for key in self.written.get(txn, ()):
                self.committed[key] = self.commits
        elif commit and "write conflict" in str(result.get("errmsg", "")).lower():
            await self._abort_in_engine(context.raw_body)  # else its stale snapshot lives on
            result = {**WRITE_CONFLICT, "errmsg": result["errmsg"]}
        self._release(txn)
        if not self.started:
            self.committed.clear()  # no open transaction can conflict with the past
        return result

    def _release(self, txn: Txn) -> None:
        self.started.pop(txn, None)
        for key in self.written.pop(txn, set()):
            if self.owner.get(key) == txn:
                del self.owner[key]

    async def _abort_in_engine(self, body: dict[str, Any]) -> None:
        fields = {k: body[k] for k in ("lsid", "txnNumber", "autocommit") if k in body}
        await self.run("admin", {"abortTransaction": 1, **fields})

    async def _targets(
        self, db: str, name: str, command: dict[str, Any], body: dict[str, Any]
    ) -> set[Key]:
        """The documents a write command will write (their ``_id``s, found before it runs)."""
        coll = str(command.get(name) or "")
        if name == "insert":
            docs = command.get("documents") or []
            return {_id_key(db, coll, d["_id"]) for d in docs if isinstance(d, dict) and "_id" in d}
        if name in _UPDATES:
            statements = command.get(_UPDATES[name]) or []
            filters = [
                (s.get("q", {}), bool(s.get("multi")) or s.get("limit") == 0) for s in statements
            ]
        elif name.lower() == "findandmodify":
            filters = [(command.get("query") or {}, False)]
        else:
            return set()
        keys: set[Key] = set()
        session = {k: body[k] for k in ("lsid", "txnNumber", "autocommit") if k in body}
        if body.get("startTransaction"):
            session = {}  # not begun in the engine yet: its snapshot is the committed state
        for query, many in filters:
            find = {"find": coll, "filter": query, "projection": {"_id": 1}, **session}
            find["batchSize"] = 1 << 30
            if not many:
                find["limit"] = 1
            reply = await self.run(db, find)
            for doc in (reply.get("cursor") or {}).get("firstBatch", []):
                keys.add(_id_key(db, coll, doc.get("_id")))
        return keys
