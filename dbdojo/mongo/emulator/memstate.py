"""Whole-database images of mongoeco's MemoryEngine: capture, copy, install, save, load.

The one module that touches mongoeco internals (pinned: mongoeco 4.11). The MemoryEngine keeps
each collection in persistent (HAMT) structures whose ``copy()`` shares them in O(1); documents
are immutable (every write replaces them), which is also what the engine's own MVCC snapshots
rely on (``MemoryMvccState.capture``). So a database image is the engine's per-database roots,
and installing a copy of one under another name is an O(collections) operation, however many
documents there are.
"""

from __future__ import annotations

import copy
import copyreg
import dataclasses
import gc
import io
import marshal
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mongoeco.engines._memory_collection import MemoryCollection, MemoryIndexMap
from mongoeco.engines.memory import MemoryEngine, _StoredDocument

FORMAT = "dbdojo-mongo-image/1"  # bump when mongoeco's layout changes
ROOTS = (
    "_storage",
    "_indexes",
    "_index_data",
    "_search_indexes",
    "_collections",
    "_collection_options",
)

Image = dict[str, Any]
"""One database: engine root name -> that root's entry for the database."""


def _rebuild(cls: type, state: tuple[Any, ...]) -> Any:
    obj = cls()
    obj._restore_state(state)
    if cls is MemoryCollection:
        _mark_deleted_again(obj)
    return obj


def _mark_deleted_again(collection: MemoryCollection) -> None:
    """Put mongoeco's deleted-slot marker back in a loaded collection's order chunks. The
    marker is a bare ``object()`` that the collection compares by identity; pickled, it comes
    back as another object, which iteration then took for a document ("cannot unpack
    non-iterable object object": a learner's database that had lost a document, saved at
    ``dojo down``, failed every scan after ``dojo up``). Also repairs images saved so."""
    from mongoeco.engines._memory_collection import _DELETED

    chunks = collection._chunks
    for chunk_id, chunk in collection._chunks.items():
        if any(type(item) is object for item in chunk.items):
            items = tuple(_DELETED if type(item) is object else item for item in chunk.items)
            chunks = chunks.insert(chunk_id, dataclasses.replace(chunk, items=items))
    collection._chunks = chunks


def _reduce(obj: MemoryCollection | MemoryIndexMap) -> tuple[Any, ...]:
    # Their dict-subclass layout does not survive default pickling; their own state tuple does.
    return _rebuild, (type(obj), obj._snapshot_state())


copyreg.pickle(MemoryCollection, _reduce)
copyreg.pickle(MemoryIndexMap, _reduce)


class PackedDocument(_StoredDocument):
    """A stored document that keeps its payload (the codec's plain dicts, lists, strings and
    numbers) marshalled, and unpacks it on each read; mongoeco caches what it decodes from it
    as for any stored document. It pickles as those bytes alone: a snapshot of the dataset
    saves and loads several times faster than the payloads' millions of small containers
    (``benchmarks/bench_mongo_snapshots.py``), and the emulator decodes only what is read."""

    __slots__ = ("packed",)

    def __init__(self, payload: Any) -> None:
        self.packed = marshal.dumps(payload)
        self.decoded_wrapped = None
        self.decoded_public = None

    @property
    def payload(self) -> Any:  # shadows the base class's slot, left unset
        return marshal.loads(self.packed)

    def __reduce__(self) -> tuple[Any, ...]:
        return _unpacked, (self.packed,)


def warm(engine: MemoryEngine, image: Image) -> None:
    """Decode the packed documents of ``image``'s collections that have secondary indexes
    (the ones an index build reads, and a seed's snapshot used to carry decoded), so that the
    first query over them reads as fast as the next (M2's first scan of the orders took 4 s
    instead of 1 s); then freeze what it made (:func:`settle`). For a thread of its own: the
    documents are shared by every database restored from the image."""
    for coll, records in image["_indexes"].items():
        for row in image["_storage"].get(coll, {}).values() if records else ():
            if type(row) is PackedDocument and row.decoded_wrapped is None:
                engine._borrow_storage_document(row)
    settle()


def _unpacked(packed: bytes) -> PackedDocument:
    doc = PackedDocument.__new__(PackedDocument)
    doc.packed = packed
    doc.decoded_wrapped = doc.decoded_public = None
    return doc


def copy_image(image: Image) -> Image:
    """An independent copy: writes to one never show in the other. O(collections)."""
    return {
        "_storage": {c: docs.copy() for c, docs in image["_storage"].items()},
        "_indexes": {c: list(records) for c, records in image["_indexes"].items()},
        "_index_data": {
            c: {name: entries.copy() for name, entries in per_index.items()}
            for c, per_index in image["_index_data"].items()
        },
        "_search_indexes": {c: list(d) for c, d in image["_search_indexes"].items()},
        "_collections": set(image["_collections"]),
        "_collection_options": copy.deepcopy(image["_collection_options"]),
    }


def capture(engine: MemoryEngine, db_name: str) -> Image:
    """A copy of database ``db_name`` as it is now (empty image if it does not exist)."""
    with engine._meta_lock:
        raw = {root: getattr(engine, root).get(db_name) for root in ROOTS}
    raw = {root: value if value is not None else _empty(root) for root, value in raw.items()}
    return copy_image(raw)


def _empty(root: str) -> Any:
    return set() if root == "_collections" else {}


async def install(engine: MemoryEngine, db_name: str, image: Image) -> None:
    """Replace database ``db_name`` with a copy of ``image`` (indexes and options included)."""
    await engine.drop_database(db_name)
    fresh = copy_image(image)
    roots = [getattr(engine, root) for root in ROOTS]
    with engine._publication_scope(
        engine._storage, views=tuple(roots[1:]), touched_databases={db_name}
    ):
        for root, value in zip(roots, (fresh[name] for name in ROOTS), strict=True):
            if value:
                root[db_name] = value


def database_names(engine: MemoryEngine) -> list[str]:
    with engine._meta_lock:
        return sorted(set(engine._storage) | set(engine._collections))


@contextmanager
def no_gc() -> Iterator[None]:
    """Without the cyclic garbage collector meanwhile: making or reading an image creates
    millions of objects and no cycles, and the collections it would trigger took half of a
    snapshot's load time (``benchmarks/bench_mongo_snapshots.py``)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def settle() -> None:
    """Take every object the process holds now out of the cyclic collector's sight
    (``gc.freeze``). A loaded image's millions of containers, made under :func:`no_gc`, sit
    in the youngest generation: the next collections traverse them, once per generation,
    while the emulator serves nobody. They hold no cycles, and frozen objects are still freed
    by their reference counts when a write replaces them or a database is dropped."""
    gc.freeze()


def dumps(image: Image) -> bytes:
    with no_gc():
        return pickle.dumps((FORMAT, image), protocol=pickle.HIGHEST_PROTOCOL)


# Where this module lived when older images were written (images name the module of _rebuild).
MOVED_FROM = ("dbdojo.services.mongo_memstate",)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(__name__ if module in MOVED_FROM else module, name)


def loads(data: bytes) -> Image:
    """The image in ``data``; ValueError if it was written by another layout version."""
    with no_gc():
        fmt, image = _Unpickler(io.BytesIO(data)).load()
    if fmt != FORMAT:
        raise ValueError(f"snapshot format {fmt!r}, expected {FORMAT!r}: rebuild it")
    return image
