"""Just enough SQL lexing for the checker: comments, statements, a top-level ORDER BY."""

from __future__ import annotations

import json
import re

_TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
    |(?P<string>'(?:[^']|'')*'|\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$)
    |(?P<ident>"(?:[^"]|"")*")
    |(?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<number>\d+(?:\.\d*)?)
    |(?P<space>\s+)
    |(?P<other>.)
    """,
    re.S | re.X,
)

_CLAUSE_END = {"limit", "offset", "fetch", "for", "union", "intersect", "except"}


def tokens(sql: str) -> list[tuple[str, str]]:
    """(kind, text) tokens, comments and whitespace dropped."""
    out = []
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup if m.lastgroup != "tag" else "string"
        if kind in {"comment", "space"}:
            continue
        if m.group("string") is not None:
            kind = "string"
        out.append((kind or "other", m.group()))
    return out


def strip_comments(sql: str) -> str:
    return " ".join(text for _, text in tokens(sql))


def split_statements(sql: str) -> list[str]:
    """Statements as PostgreSQL's own scanner separates them (libpg_query, through pglast):
    ``E'\\''`` strings, nested comments and dollar quotes are what the server says they are.
    Every piece between two semicolons that holds more than comments is a statement, even one
    the scanner knows no keyword of (libpg_query's own split drops ``SELEC 1``; the server
    names the mistake), and a ``BEGIN ATOMIC ... END`` function body is one statement with
    the ``CREATE`` that holds it (as psql reads it). Text the scanner cannot read is returned
    whole, for the server to report."""
    if ";" not in sql:  # one statement at most: no scanner needed (nor its import)
        return [sql.strip()] if strip_comments(sql).strip() else []
    from pglast import parser

    try:
        scanned = parser.scan(sql)
    except Exception:  # pglast raises its own error types; the server's message is clearer
        return [sql.strip()] if strip_comments(sql).strip() else []
    statements, start, content = [], 0, False
    atomic = 0  # depth inside a BEGIN ATOMIC ... END body, whose semicolons end no statement
    for i, token in enumerate(scanned):
        if token.name == "ASCII_59" and not atomic:
            if content:
                statements.append(sql[start : token.start].strip())
            start, content = token.end + 1, False
        elif token.name not in ("SQL_COMMENT", "C_COMMENT"):
            content = True
        following = scanned[i + 1].name if i + 1 < len(scanned) else ""
        if (token.name, following) == ("BEGIN_P", "ATOMIC") or (atomic and token.name == "CASE"):
            atomic += 1
        elif atomic and token.name == "END_P":
            atomic -= 1
    if content:
        statements.append(sql[start:].strip())
    return statements


_TRANSACTION_END = {"TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT",
                    "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE", "TRANS_STMT_COMMIT_PREPARED",
                    "TRANS_STMT_ROLLBACK_PREPARED"}  # fmt: skip
#: The words a transaction-control statement starts with (PostgreSQL's TransactionStmt).
_TRANSACTION_WORDS = {"begin", "start", "commit", "end", "rollback", "abort", "prepare"}


def controls_transaction(statement: str) -> bool:
    """Whether PostgreSQL's parser reads ``statement`` as BEGIN, COMMIT, ROLLBACK (not to a
    savepoint), PREPARE TRANSACTION or their synonyms. Unparsable text is not: the server
    refuses it too."""
    words = [text.lower() for kind, text in tokens(statement)[:1] if kind == "word"]
    if not words or words[0] not in _TRANSACTION_WORDS:  # no parser needed (nor its import)
        return False
    from pglast import parser

    try:
        parsed = parser.parse_sql_json(statement)
    except Exception:
        return False
    for raw in json.loads(parsed).get("stmts", []):
        node = raw.get("stmt", {}).get("TransactionStmt")
        if node is not None and node.get("kind") in _TRANSACTION_END:
            return True
    return False


def order_by_items(sql: str) -> list[str] | None:
    """The items of the last statement's top-level ORDER BY, or None when it does not order."""
    statements = split_statements(sql)
    if not statements:
        return None
    toks = tokens(statements[-1])
    depth, start = 0, None
    for i, (kind, text) in enumerate(toks):
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif (
            depth == 0
            and kind == "word"
            and text.lower() == "order"
            and i + 1 < len(toks)
            and toks[i + 1][1].lower() == "by"
        ):
            start = i + 2
        elif depth == 0 and start is not None and kind == "word" and text.lower() in _CLAUSE_END:
            if text.lower() in {"union", "intersect", "except"}:
                start = None  # that ORDER BY belonged to a branch
            else:
                return _split_items(toks[start:i])
    return _split_items(toks[start:]) if start is not None else None


# `col IS [NOT] NULL` (MySQL's NULLS LAST): rows tied on col are tied on it too
_NULL_TEST = re.compile(r'^(?:\S+ \. )?"?([^\s"]+)"? is (?:not )?null$', re.IGNORECASE)


def column_names(items: list[str], columns: list[str]) -> list[str] | None:
    """The output columns that ORDER BY items name (by name or position), or None when one
    is another expression. A null test of a column counts as the column: rows tied on the
    column are tied on the test, so ties found on the columns are ties of the items."""
    names: list[str] = []
    for item in items:
        test = _NULL_TEST.match(item.strip())
        name = test.group(1) if test else item
        if name.isdigit() and 0 < int(name) <= len(columns) and not test:
            name = columns[int(name) - 1]
        elif name not in columns:
            return None
        if name not in names:
            names.append(name)
    return names


def _split_items(toks: list[tuple[str, str]]) -> list[str]:
    items, current, depth = [], [], 0
    for kind, text in toks:
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        if text == "," and depth == 0:
            items.append(current)
            current = []
        else:
            current.append((kind, text))
    items.append(current)
    return [_item_name(item) for item in items if item]


_MODIFIERS = {"asc", "desc", "nulls", "first", "last"}


def _item_name(item: list[tuple[str, str]]) -> str:
    """An ORDER BY item without ASC/DESC/NULLS: a column name when simple, else its text."""
    while item and item[-1][0] == "word" and item[-1][1].lower() in _MODIFIERS:
        item = item[:-1]
    if len(item) >= 3 and item[-2][1] == ".":
        item = item[-1:]  # t.col -> col
    if len(item) == 1:
        kind, text = item[0]
        if kind == "ident":
            return text[1:-1].replace('""', '"')
        if kind == "word":
            return text.lower()
        return text
    return " ".join(text for _, text in item)


def normalized_text(source: str, comment_prefixes: tuple[str, ...] = ("--", "#")) -> str:
    """Source with comment lines and all whitespace removed, for "not answered yet"."""
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(comment_prefixes):
            continue
        lines.append(stripped)
    return re.sub(r"\s+", "", "".join(lines))
