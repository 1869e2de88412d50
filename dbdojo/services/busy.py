"""A kit server that holds its port but does not answer is busy, not foreign: the MongoDB
emulator serves one operation at a time between its turns (scans and long writes take turns
between documents; an aggregation's stages and a sort run beside its event loop), so a step
that still holds it, or a frozen process, can make other clients time out. ``dojo status``
and ``dojo doctor`` say so, and what to do."""

from __future__ import annotations

import psutil

from dbdojo import procs, settings
from dbdojo.connect import LABELS
from dbdojo.records import ServerRecord


def holds_its_port(record: ServerRecord) -> bool:
    """The server the kit started (same pid and start time) is the one listening on its port."""
    if not (record.pid and record.port):
        return False
    marker = record.extra.get("marker", "")
    if not procs.is_ours(record.pid, record.extra.get("started"), marker):
        return False
    conn = procs.listening(record.port)
    owner = conn.pid if conn is not None else None
    if owner is None:
        return False
    family = {record.pid, *(p.pid for p in _children(record.pid))}
    return owner in family


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def explain(name: str, record: ServerRecord) -> str:
    """What a busy kit server means and what to do."""
    label = LABELS.get(name, name)
    limit = (
        f" Notebook queries stop after {settings.mongo_time_limit():.0f} s (their time limit)."
        if name == "mongo"
        else ""
    )
    return (
        f"busy: the kit's own {label} (pid {record.pid}) holds port {record.port} but does "
        f"not answer: a long operation is running (the emulator serves one at a time).{limit} "
        f"Wait, or restart it: `dojo down --only {name}` then `dojo up --only {name}`"
    )
