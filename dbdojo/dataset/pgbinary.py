"""Vectorized encoder for PostgreSQL's binary COPY format (numpy in, bytes out).

Formatting millions of numbers as text in Python is the slow part of a bulk load; the binary
format lets numpy lay out whole columns at once. Column kinds and their numpy representation:

=========  ==========================================  =========================
kind       values                                      NULL
=========  ==========================================  =========================
int2/4/8   integer array                               ``NULL_INT``
float4/8   float array                                 NaN
bool       bool array                                  (never)
ts         int64 seconds since the Unix epoch (UTC)    ``NULL_INT``
date       int64 days since 1970-01-01                 ``NULL_INT``
num2       int64 hundredths, written as numeric(x,2)   ``NULL_INT``
text/json  object array of str (json: serialized)      None
textarr    object array of lists of str                None
vector     float32 array of shape (n, dim)             (never)
=========  ==========================================  =========================
"""

from __future__ import annotations

import struct

import numpy as np

NULL_INT = np.iinfo(np.int64).min
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
_PG_EPOCH_S = 946_684_800  # 2000-01-01 in Unix seconds
_PG_EPOCH_DAYS = 10_957
_TEXT_OID = 25
_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float4": ">f4", "float8": ">f8"}


def _fixed(values: np.ndarray, dtype: str, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    typed = values.astype(dtype)
    return typed, np.where(null, -1, typed.dtype.itemsize)


def _numeric(cents: np.ndarray) -> np.ndarray:
    """numeric with 3 base-10000 digits, weight 1, scale 2 (enough for |x| < 10^8)."""
    n = len(cents)
    absval = np.abs(cents)
    whole, frac = absval // 100, absval % 100
    fields = np.empty((n, 7), dtype=">i2")
    fields[:, 0] = 3
    fields[:, 1] = 1
    fields[:, 2] = np.where(cents < 0, 0x4000, 0)
    fields[:, 3] = 2
    fields[:, 4] = whole // 10000
    fields[:, 5] = whole % 10000
    fields[:, 6] = frac * 100
    return fields.view(np.uint8).reshape(n, 14)


def _varlen(items: list[bytes | None]) -> tuple[np.ndarray, np.ndarray]:
    """Values padded to the longest one, and each value's length (-1 for NULL)."""
    lengths = np.fromiter((-1 if b is None else len(b) for b in items), np.int64, len(items))
    width = max(int(lengths.max(initial=0)), 1)
    padded = np.array([b or b"" for b in items], dtype=f"S{width}")
    return padded.view(np.uint8).reshape(len(items), width), lengths


def _textarr(value: list[str]) -> bytes:
    if not value:
        return struct.pack(">iii", 0, 0, _TEXT_OID)
    parts = [struct.pack(">iiiii", 1, 0, _TEXT_OID, len(value), 1)]
    for item in value:
        data = item.encode()
        parts.append(struct.pack(">i", len(data)) + data)
    return b"".join(parts)


def _column(kind: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The column's values (one fixed-size item per row) and each value's length (-1: NULL)."""
    if kind in _FIXED:
        null = np.isnan(values) if kind.startswith("float") else values == NULL_INT
        return _fixed(values, _FIXED[kind], null)
    if kind == "bool":
        return values.astype(np.uint8), np.ones(len(values), np.int64)
    if kind == "ts":
        null = values == NULL_INT
        return _fixed(np.where(null, 0, (values - _PG_EPOCH_S) * 1_000_000), ">i8", null)
    if kind == "date":
        null = values == NULL_INT
        return _fixed(np.where(null, 0, values - _PG_EPOCH_DAYS), ">i4", null)
    if kind == "num2":
        null = values == NULL_INT
        return _numeric(np.where(null, 0, values)), np.where(null, -1, 14)
    if kind == "vector":
        n, dim = values.shape
        head = np.zeros((n, 2), dtype=">i2")
        head[:, 0] = dim
        body = values.astype(">f4").view(np.uint8).reshape(n, -1)
        raw = np.concatenate([head.view(np.uint8).reshape(n, 4), body], axis=1)
        return raw, np.full(n, raw.shape[1])
    if kind == "text":
        return _varlen([None if v is None else v.encode() for v in values])
    if kind == "json":
        return _varlen([None if v is None else b"\x01" + v.encode() for v in values])
    if kind == "textarr":
        return _varlen([None if v is None else _textarr(v) for v in values])
    raise ValueError(f"unknown column kind {kind!r}")


def encode_rows(columns: list[tuple[str, np.ndarray]]) -> bytes:
    """The binary COPY rows (no header, no trailer) for equally long columns.

    Each row is first laid out with a fixed slot per field (a numpy structured array, written
    one column at a time); the unused bytes of values that are NULL or shorter than their slot
    are then cut out (see ``_compact``).
    """
    n = len(columns[0][1])
    encoded = [_column(kind, values) for kind, values in columns]
    fields: list[tuple] = [("count", ">i2")]
    for i, (raw, _) in enumerate(encoded):
        fields.append((f"len{i}", ">i4"))
        item = (raw.dtype, raw.shape[1:]) if raw.ndim > 1 else raw.dtype
        fields.append((f"val{i}", item))
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["count"] = len(columns)
    slack = []  # per field with short values: (first byte of its slot, slot width, lengths)
    at = 2
    for i, (raw, length) in enumerate(encoded):
        rows[f"len{i}"] = length
        rows[f"val{i}"] = raw
        width = rows.dtype.fields[f"val{i}"][0].itemsize
        if (length < width).any():
            slack.append((at + 4, width, length))
        at += 4 + width
    data = rows.view(np.uint8).reshape(n, -1)
    return _compact(data, slack) if slack else data.tobytes()


def _compact(data: np.ndarray, slack: list[tuple[int, int, np.ndarray]]) -> bytes:
    """``data``'s bytes without the unused tail of each short value.

    Few short values (a nullable id, say): join the spans between the cuts. Many (text in
    every row): a byte mask over the whole array is faster than millions of spans.
    """
    n, row_width = data.shape
    flat = data.reshape(-1)
    shorts = [np.flatnonzero(length < width) for _, width, length in slack]
    if sum(len(rows) for rows in shorts) * 8 > n:
        keep = np.ones(flat.size, dtype=bool)
        for offset, width, length in slack:
            keep.reshape(n, row_width)[:, offset : offset + width] = (
                np.arange(width) < length[:, None]
            )
        return flat[keep].tobytes()
    cut_starts, cut_ends = [], []
    for rows, (offset, width, length) in zip(shorts, slack, strict=True):
        slot = rows * row_width + offset
        cut_starts.append(slot + np.maximum(length[rows], 0))
        cut_ends.append(slot + width)
    starts, ends = np.concatenate(cut_starts), np.concatenate(cut_ends)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    span_starts = np.concatenate([[0], ends]).tolist()
    span_ends = np.concatenate([starts, [flat.size]]).tolist()
    return b"".join(flat[a:b].data for a, b in zip(span_starts, span_ends, strict=True))
