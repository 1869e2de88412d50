"""Work on many documents at once runs beside the event loop, so other clients are served.

mongoeco loads an aggregation's input (a scan that takes turns: :mod:`.fairness`), then applies
every stage to it in one synchronous call, and converts each result document for the wire in
another: nothing else ran until both ended. Another client waited 1.29 s behind a ``$sort`` of
20,000 orders and 1.46 s behind a ``$project`` of them (``benchmarks/bench_mongo_reads.py``);
MongoDB yields during such work, as it does during scans. Here the two loops run in a worker
thread while the event loop goes on serving (Python switches threads every few milliseconds).
That is safe because the stages only read the documents they are given and build new ones:
mongoeco's stored documents are immutable versions that writes replace, never change.

:func:`patch_offloaded_stages` replaces ``AsyncAggregationCursor._materialize`` with mongoeco
4.11's own code, unchanged but for those two calls; aggregations that start with ``$search``
(the kit's course has none) keep mongoeco's path. A pipeline left with no stage once its
leading ``$match``/``$sort``/``$limit`` went into the scan, and fewer than :data:`OFFLOAD_FROM`
documents to convert, runs in place (a thread hand-off costs more than it saves there).

A sort done inside the scan (a sorted find, an aggregation's leading ``$sort``) gathered every
matching document and sorted them in one synchronous step (another client waited 1.0-1.3 s
behind a sort of 20,000 orders on a loaded machine). :func:`patch_offloaded_stages` also
replaces ``MemoryEngine.scan_find_semantics`` for sorted scans with mongoeco 4.11's own code
whose sort, skip, limit and projection run in a worker thread once the collection's lock is
released, over the candidates the scan pinned (the same read view mongoeco's lazy sort uses).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from copy import deepcopy
from typing import Any

#: A pipeline without stages left converts fewer documents than this on the event loop itself.
OFFLOAD_FROM = 1000


def _stages_and_wire(documents: list[Any], pipeline: list[Any], kwargs: dict[str, Any]) -> list:
    """The stages applied to ``documents``, each result converted for the wire."""
    from mongoeco.core.aggregation import apply_pipeline
    from mongoeco.core.codec import DocumentCodec
    from mongoeco.core.search import strip_search_result_metadata

    result = apply_pipeline(documents, pipeline, **kwargs)
    return [DocumentCodec.to_public(strip_search_result_metadata(doc)) for doc in result]


async def _beside_the_loop(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


async def _materialize(self: Any) -> list[Any]:
    """mongoeco 4.11's ``AsyncAggregationCursor._materialize`` (the path without ``$search``),
    its two loops over the documents run beside the event loop."""
    from mongoeco.api._async._active_operations import track_active_operation
    from mongoeco.api._async.cursor import _ensure_operation_executable
    from mongoeco.compat import MONGODB_DIALECT_70
    from mongoeco.core.aggregation import apply_pipeline, split_pushdown_pipeline
    from mongoeco.core.operation_limits import enforce_deadline, operation_deadline

    if self._leading_search_stage() is not None:
        return await _ORIGINAL[0](self)
    _ensure_operation_executable(self._collection, self._operation)
    self._ensure_session_can_use_engine()
    deadline = operation_deadline(self._max_time_ms)
    dialect = getattr(self._collection, "mongodb_dialect", MONGODB_DIALECT_70)
    pipeline, writeback_stage = self._split_terminal_writeback_stage(self._effective_pipeline())
    with track_active_operation(
        self._collection._engine,
        command_name="aggregate",
        operation_type="aggregate",
        namespace=f"{self._collection._db_name}.{self._collection._collection_name}",
        session=self._session,
        comment=self._comment,
        max_time_ms=self._max_time_ms,
    ):
        enforce_deadline(deadline)
        remaining = split_pushdown_pipeline(pipeline, dialect=dialect).remaining_pipeline
        first = remaining[0] if remaining and isinstance(remaining[0], dict) else {}
        if first.keys() & {"$collStats", "$indexStats", "$currentOp", "$planCacheStats",
                           "$listSessions"}:  # fmt: skip
            documents = []
        else:
            documents = await self._load_pushdown_source_documents(remaining, dialect=dialect)
        self._enforce_materialization_budget(len(documents), remaining, dialect=dialect)
        resources = await self._load_pipeline_resources()
        kwargs = {
            **resources.resolver_kwargs(),
            "variables": self._execution_variables(),
            "dialect": dialect,
            "collation": self._collation,
            "spill_policy": self._spill_policy(),
            "lookup_hash_max_associations": self._lookup_hash_max_associations(),
            "deadline": deadline,
        }
        beside = bool(remaining) or len(documents) >= OFFLOAD_FROM
        if writeback_stage is not None:
            if beside:
                result = await _beside_the_loop(apply_pipeline, documents, remaining, **kwargs)
            else:
                result = apply_pipeline(documents, remaining, **kwargs)
            enforce_deadline(deadline)
            await self._apply_merge_stage(result, writeback_stage[1])
            return []
        if beside:
            public = await _beside_the_loop(_stages_and_wire, documents, remaining, kwargs)
        else:
            public = _stages_and_wire(documents, remaining, kwargs)
        enforce_deadline(deadline)
        return public


async def _sorted_scan(
    self: Any, db_name: str, coll_name: str, semantics: Any, context: Any
) -> AsyncIterator[Any]:
    """mongoeco 4.11's ``MemoryEngine.scan_find_semantics`` for a sorted scan of a collection,
    its sort (with skip, limit and projection) run beside the event loop."""
    import datetime

    from mongoeco.core.codec import DocumentCodec
    from mongoeco.core.operation_limits import enforce_deadline
    from mongoeco.core.search import resolve_classic_text_index_for_hint
    from mongoeco.engines.semantic_core import _iter_finalize_documents, iter_filtered_documents

    deadline = semantics.deadline
    self._record_operation_metadata(
        context,
        operation="scan_collection",
        comment=semantics.comment,
        max_time_ms=semantics.max_time_ms,
        hint=semantics.hint,
    )
    enforce_deadline(deadline)
    async with self._get_lock(db_name, coll_name):
        coll = self._storage_view(context).get(db_name, {}).get(coll_name, {})
        indexes = self._indexes_view(context).get(db_name, {}).get(coll_name, [])
        index_data = self._index_data_view(context).get(db_name, {}).get(coll_name, {})
        self._purge_expired_documents_locked(
            db_name,
            coll_name,
            context=context,
            indexes_view=self._indexes_view(context),
            index_data_view=self._index_data_view(context),
            storage_view=self._storage_view(context),
            now=semantics.variables.now.replace(tzinfo=datetime.UTC),
        )
        if semantics.text_query is None:
            self._resolve_hint_index(
                db_name,
                coll_name,
                semantics.hint,
                indexes=indexes,
                plan=semantics.query_plan,
                dialect=semantics.dialect,
                collation=semantics.collation,
            )
        else:
            resolve_classic_text_index_for_hint(indexes, semantics.hint)
        candidate_items = self._candidate_items_for_plan_locked(
            coll,
            semantics.query_plan,
            dialect=semantics.dialect,
            indexes=indexes,
            index_data=index_data,
            collation=semantics.collation,
            natural_order_limit=None,
        )
        source = (self._borrow_storage_document(data) for _key, data in candidate_items)
        source = self._iter_documents_for_classic_text_query(
            source,
            indexes=deepcopy(indexes) if semantics.text_query is not None else [],
            semantics=semantics,
        )
        filtered = iter_filtered_documents(source, semantics)
        documents = _iter_finalize_documents(filtered, semantics, emit_public_documents=False)
        beside = len(candidate_items) >= OFFLOAD_FROM
        read_view_token = object()
        with self._meta_lock:
            self._active_read_views[read_view_token] = candidate_items
        del coll, indexes, index_data, candidate_items
    try:
        selected = await _beside_the_loop(list, documents) if beside else list(documents)
        for document in selected:
            enforce_deadline(deadline)
            yield self._copy_document_containers(DocumentCodec.to_public(document))
    finally:
        with self._meta_lock:
            self._active_read_views.pop(read_view_token, None)


def _scan_find_semantics(
    self: Any, db_name: str, coll_name: str, semantics: Any, *, context: Any = None
) -> AsyncIterable[Any]:
    """mongoeco's scan; a sorted one of a collection (not the profiler) by :func:`_sorted_scan`."""
    if not semantics.sort or self._is_profile_namespace(coll_name):
        return _ORIGINAL[1](self, db_name, coll_name, semantics, context=context)
    return _sorted_scan(self, db_name, coll_name, semantics, context)


_ORIGINAL: list[Any] = []


def patch_offloaded_stages() -> None:
    """Run long aggregations' stages and sorted scans beside the event loop (idempotent; mongoeco
    4.11 only, whose ``_materialize`` and ``scan_find_semantics`` this module reproduces).
    Called before :func:`.fairness.patch_yielding_writes`, which wraps the scan it leaves."""
    import mongoeco
    from mongoeco.api._async.aggregation_cursor import AsyncAggregationCursor
    from mongoeco.engines.memory import MemoryEngine

    if _ORIGINAL or not mongoeco.__version__.startswith("4.11."):
        return
    _ORIGINAL.extend((AsyncAggregationCursor._materialize, MemoryEngine.scan_find_semantics))
    AsyncAggregationCursor._materialize = _materialize  # type: ignore[method-assign]
    MemoryEngine.scan_find_semantics = _scan_find_semantics  # type: ignore[method-assign]
