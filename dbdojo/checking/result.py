"""Results of running an answer, and their digests (what a student build stores)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbdojo.checking.normalize import row_hash

MAX_ROWS = 10_000
Mapping = dict[str, int] | None  # reference column name -> the answer's column index


@dataclass
class ResultSet:
    """Rows with named columns. ``documents`` results hold one dict per row (field names are
    the union of the documents' top-level fields), compared independent of field order."""

    columns: list[str]
    rows: list[Any]
    documents: bool = False
    order_by: list[str] | None = None  # the reference's own order keys, when it orders
    ordered: bool = False
    noun: str = "row"
    commands: list[str] | None = None  # Redis: what the answer sent, as the gate logged it;
    # a MongoDB pipeline: its stages' names, in order
    problems: list[str] = field(default_factory=list)  # found on the way (sql-concurrent)
    notes: list[str] = field(default_factory=list)  # worth saying, not wrong (retries)

    @classmethod
    def from_documents(cls, docs: list[dict], noun: str = "document", **kw: Any) -> ResultSet:
        names = sorted({k for d in docs for k in d})
        return cls(columns=names, rows=list(docs), documents=True, noun=noun, **kw)

    def values(self, row: Any, names: list[str], mapping: dict[str, int] | None) -> Any:
        """The row's values for ``names`` (reference column names), through ``mapping``."""
        if self.documents:
            return {n: row[n] for n in names if n in row} if names != self.columns else row
        assert mapping is not None
        return [row[mapping[n]] for n in names]


@dataclass
class Digest:
    """One target's expected result without its values."""

    columns: list[str]
    count: int
    rows: list[str]  # sorted per-row hashes (a multiset)
    order: list[str] | None = None  # per-row order-key hashes in sequence, when ordered
    documents: bool = False
    noun: str = "row"
    by_column: dict[str, list[str]] | None = None  # per column, its values' hashes (a multiset)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "count": self.count,
            "rows": self.rows,
            "order": self.order,
            "documents": self.documents,
            "noun": self.noun,
            "by_column": self.by_column,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digest:
        return cls(**data)


@dataclass
class Rules:
    """How results are compared: shared by the reference's digest and the answer."""

    salt: str
    digits: int
    ordered: bool = False
    order_by: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def row_key(self, result: ResultSet, row: Any, names: list[str], mapping: Mapping) -> str:
        return row_hash(result.values(row, names, mapping), self.salt, self.digits)

    def column_keys(
        self, result: ResultSet, names: list[str], mapping: Mapping
    ) -> dict[str, list[str]]:
        """Per column, the sorted hashes of its values: which columns differ, not how."""
        out: dict[str, list[str]] = {}
        for name in names:
            values = [_column_value(result, row, name, mapping) for row in result.rows]
            out[name] = sorted(row_hash([v], f"{self.salt}\x00{name}", self.digits) for v in values)
        return out

    def order_key(self, result: ResultSet, row: Any, names: list[str], mapping: Mapping) -> str:
        """The hash of the row's sort keys (the whole row when the keys are unknown)."""
        return self.row_key(result, row, self.order_by or names, mapping)


_ABSENT = {"$absent": True}  # a document without the field


def _column_value(result: ResultSet, row: Any, name: str, mapping: Mapping) -> Any:
    if result.documents:
        return row.get(name, _ABSENT)
    assert mapping is not None
    return row[mapping[name]]


def identity(result: ResultSet) -> Mapping:
    return None if result.documents else {c: i for i, c in enumerate(result.columns)}


def digest(result: ResultSet, rules: Rules) -> Digest:
    """Hash every row of the reference's result (and its order keys when it orders)."""
    mapping, names = identity(result), result.columns
    hashes = [rules.row_key(result, r, names, mapping) for r in result.rows]
    order = None
    if rules.ordered:
        order = [rules.order_key(result, r, names, mapping) for r in result.rows]
    return Digest(
        columns=list(result.columns),
        count=len(result.rows),
        rows=sorted(hashes),
        order=order,
        documents=result.documents,
        noun=result.noun,
        by_column=rules.column_keys(result, names, mapping),
    )
