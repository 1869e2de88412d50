"""The emulator's wire listener: bound before mongoeco is imported, served by its proxy after.

Besides :mod:`dbdojo.mongo.emulator.memstate` and :mod:`dbdojo.mongo.emulator.dialect`, the
only module using mongoeco internals (pinned: mongoeco 4.11): the proxy's ``_accept_connection``
(to serve connections accepted on the kit's own, early socket) and its executor's
``_build_request_context`` and ``execute_prepared`` (to hold a request until the database it
reads has been recovered, to authenticate and authorize it (:mod:`.auth`), and to answer as
MongoDB 8 where mongoeco does not).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from dbdojo.mongo.emulator import auth as mongo_auth
from dbdojo.mongo.emulator import explain as mongo_explain
from dbdojo.mongo.emulator import stages as mongo_stages
from dbdojo.mongo.emulator import txn as mongo_txn
from dbdojo.mongo.emulator.journal import WRITE_COMMANDS, Journal

BeforeRequest = Callable[[str, str], Awaitable[None]]
RunCommand = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class Listener:
    """The TCP socket clients connect to; connections wait until a proxy serves them."""

    def __init__(self, sock: socket.socket, ready: asyncio.Event) -> None:
        self.sock = sock
        self.ready = ready
        self.proxy: Any = None
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, sock=self.sock)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.ready.wait()
        while self.proxy is None:  # ready, but the proxy is being attached
            await asyncio.sleep(0.01)
        self.proxy._accept_connection(reader, writer)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


@asynccontextmanager
async def serving(
    listener: Listener,
    engine: Any,
    before: BeforeRequest,
    journal: Journal | None = None,
    security: mongo_auth.Security | None = None,
) -> AsyncIterator[RunCommand]:
    """mongoeco's wire proxy over ``engine``, answering the connections of ``listener``;
    acknowledged writes go to ``journal``; ``security`` authenticates and authorizes. Yields
    a function running one command in-process (not held, not checked, not journaled: for
    replaying the journal)."""
    from mongoeco.wire import AsyncMongoEcoProxyServer

    from dbdojo.mongo.emulator import collector, fairness, offload
    from dbdojo.mongo.emulator import dialect as mongo_dialect

    offload.patch_offloaded_stages()
    fairness.patch_yielding_writes()
    mongo_dialect.patch_bson_sizes()
    mongo_dialect.patch_projection_slice()
    dialect = mongo_dialect.Dialect(engine)
    # Its own listener (an unused ephemeral port) keeps the proxy's lifecycle intact.
    proxy = AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=0, mongodb_dialect="8.0")
    executor = proxy._executor
    execute, build = executor.execute_prepared, executor._build_request_context

    async def dialect_execute(context: Any) -> dict[str, Any]:
        command, name, db = context.command_document, context.command_name, context.db_name
        if name == "explain" and (find := mongo_explain.find_of(command)):
            return await explainer.explain(db, command, find)
        if name in ("explain", "aggregate") and (explained := mongo_explain.aggregate_of(command)):
            return await explainer.explain_aggregate(db, *explained)
        if name == "aggregate" and mongo_stages.handles(command):
            return await stages.aggregate(db, command)
        if name == "find" and mongo_stages.handles_text(command):
            return await stages.find_text(db, command)
        if name == "find" and mongo_stages.handles_find(command):
            return await stages.find_near(db, command)
        if name == "insert" and fairness.sliced_insert(command):

            async def run_slice(body: dict[str, Any]) -> dict[str, Any]:
                part = built(body, connection=context.connection, db_name=db)
                return await dialect.execute(part, execute)

            return await fairness.insert_in_slices(context.raw_body, run_slice)
        return await dialect.execute(context, execute)

    async def gated(context: Any) -> dict[str, Any]:
        activity.begin()
        try:
            await before(context.db_name, context.command_name)
            secured = security is not None
            served = security.serve(context, journaled) if secured else journaled(context)
            return await fairness.encoded_in_turns(await served)
        finally:
            activity.end()

    async def journaled(context: Any) -> dict[str, Any]:
        result = await conflicts.execute(context, dialect_execute)
        if journal is not None and isinstance(result, dict) and result.get("ok") == 1:
            name = context.command_name
            if name in WRITE_COMMANDS:
                journal.command(context.db_name, context.raw_body)
            elif name in ("commitTransaction", "abortTransaction"):
                journal.transaction_ended(context.raw_body, name == "commitTransaction")
        return result

    async def run(db: str, body: dict[str, Any]) -> dict[str, Any]:
        from mongoeco.wire.connections import WireConnectionContext

        context = build(body, connection=WireConnectionContext(connection_id=0), db_name=db)
        return await execute(context)

    conflicts = mongo_txn.WriteConflicts(run)
    stages = mongo_stages.Stages(run, journal.command if journal is not None else None)
    explainer = mongo_explain.Explainer(run)

    def built(body: dict[str, Any], **kwargs: Any) -> Any:
        if body and next(iter(body)) in mongo_auth.USER_COMMANDS:
            return mongo_auth.placeholder_context(build, body, **kwargs)
        return build(mongo_dialect.normalize_body(body), **kwargs)

    executor.execute_prepared = gated
    executor._build_request_context = built
    activity = collector.Activity()
    collecting = asyncio.create_task(
        collector.collect_when_idle(activity, collector.defer_full_passes())
    )
    try:
        async with proxy:
            listener.proxy = proxy
            yield run
    finally:
        collecting.cancel()
