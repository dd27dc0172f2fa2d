"""SQL text as the ``sql`` command and the SQL shells read it: statements split at top-level ``;`` and the
write guard (is this one read-only statement?). Pure functions on text, decided on SQLite's tokens, not on
substrings: a ``DELETE`` inside a string literal, a quoted identifier or a comment is not a write.

Also what both print of a result: its columns, CSV, and the database's error said plainly."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from rivetctl.errors import ActorError


class Token(NamedTuple):
    kind: str  # "word", "string", "ident" (quoted identifier), "number", "punct", "semicolon"
    text: str


_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"(?:0[xX][0-9A-Fa-f]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_PARAM = re.compile(r"[?][0-9]*|[:@$][A-Za-z_][A-Za-z0-9_]*")


class Unterminated(ValueError):
    """The text ends inside a string, quoted identifier or block comment."""


def tokens(text: str) -> list[Token]:
    """SQLite's tokens of ``text``, comments and whitespace dropped; raises ``Unterminated``."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i = _SPACE.match(text, i).end()  # type: ignore[union-attr]
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise Unterminated("unterminated /* comment")
            i = end + 2
        elif c in "'\"`[":
            close = "]" if c == "[" else c
            j = i + 1
            while True:
                k = text.find(close, j)
                if k < 0:
                    raise Unterminated("unterminated string" if c == "'" else "unterminated quoted name")
                if close != "]" and text.startswith(close * 2, k):
                    j = k + 2  # doubled quote: an escaped quote
                    continue
                break
            out.append(Token("string" if c == "'" else "ident", text[i : k + 1]))
            i = k + 1
        elif c == ";":
            out.append(Token("semicolon", ";"))
            i += 1
        elif m := _WORD.match(text, i):
            out.append(Token("word", m.group()))
            i = m.end()
        elif m := _NUMBER.match(text, i):
            out.append(Token("number", m.group()))
            i = m.end()
        elif m := _PARAM.match(text, i):
            out.append(Token("param", m.group()))
            i = m.end()
        else:
            out.append(Token("punct", c))
            i += 1
    return out


def split_statements(text: str) -> tuple[list[str], str]:
    """Complete statements (each ending at a top-level ``;``, kept without it) and the unfinished rest.

    A ``;`` inside a string, a quoted name, a comment or the ``BEGIN … END`` of a ``CREATE [TEMP] TRIGGER``
    does not end a statement. Empty statements are dropped.
    """
    statements: list[str] = []
    start = 0
    i, n = 0, len(text)
    depth = 0  # BEGIN … END nesting inside CREATE TRIGGER
    first_words: list[str] = []
    while i < n:
        c = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return statements, text[start:]
            i = end + 2
            continue
        if c in "'\"`[":
            close = "]" if c == "[" else c
            j = i + 1
            while True:
                k = text.find(close, j)
                if k < 0:
                    return statements, text[start:]
                if close != "]" and text.startswith(close * 2, k):
                    j = k + 2
                    continue
                break
            i = k + 1
            continue
        if m := _WORD.match(text, i):
            word = m.group().upper()
            if len(first_words) < 3:
                first_words.append(word)
            if first_words[0] == "CREATE" and "TRIGGER" in first_words[1:3] and word in ("BEGIN", "CASE"):
                depth += 1
            elif word == "END" and depth:
                depth -= 1
            i = m.end()
            continue
        if c == ";" and not depth:
            stmt = text[start:i].strip()
            if stmt and tokens_or_none(stmt):
                statements.append(stmt)
            start = i + 1
            first_words = []
        i += 1
    return statements, text[start:]


def tokens_or_none(text: str) -> list[Token] | None:
    try:
        return tokens(text) or None
    except Unterminated:
        return None


_READ_PRAGMAS = frozenset(
    [
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
        "function_list",
        "pragma_list",
        "collation_list",
        "database_list",
        "compile_options",
        "module_list",
    ]
)
"""Pragmas that only read even when given an argument (``PRAGMA table_info(notes)``)."""
_ACTING_PRAGMAS = frozenset(["optimize", "shrink_memory", "wal_checkpoint", "incremental_vacuum"])
"""Pragmas that change something even without an argument."""
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT"})
_WRITERS = _DML | frozenset(
    [
        "CREATE",
        "DROP",
        "ALTER",
        "ATTACH",
        "DETACH",
        "BEGIN",
        "COMMIT",
        "END",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "VACUUM",
        "ANALYZE",
        "REINDEX",
    ]
)
"""The first words of statements that write (or open and close transactions)."""


def write_reason(sql: str) -> str | None:
    """Why ``sql`` is not a single read-only statement (``None`` when it is one).

    Read-only: exactly one ``SELECT``, ``VALUES``, ``EXPLAIN …``, ``WITH … SELECT`` (no
    INSERT/UPDATE/DELETE/REPLACE in it) or reading ``PRAGMA``. Anything else is a write: DML, DDL,
    ATTACH/DETACH, transactions, VACUUM, a pragma that sets or acts, several statements.
    """
    try:
        toks = tokens(sql)
    except Unterminated as exc:
        return str(exc)
    while toks and toks[-1].kind == "semicolon":
        toks.pop()
    if not toks:
        return "no statement"
    first = toks[0].text.upper() if toks[0].kind == "word" else ""
    if any(t.kind == "semicolon" for t in toks) and first != "CREATE":  # a trigger's body has ``;`` inside
        return "several statements"
    if first in ("SELECT", "VALUES", "EXPLAIN"):
        return None
    if first == "WITH":
        found = next((w for w in _statement_words(toks) if w in _DML), None)
        return None if found is None else f"a WITH statement that runs {found}"
    if first == "PRAGMA":
        name = toks[1].text.lower() if len(toks) > 1 else ""
        if len(toks) > 3 and toks[2].text == ".":  # PRAGMA schema.name
            name = toks[3].text.lower()
        rest = toks[2:] if not (len(toks) > 3 and toks[2].text == ".") else toks[4:]
        if name in _ACTING_PRAGMAS:
            return f"PRAGMA {name} changes the database"
        if any(t.text == "=" for t in rest):
            return f"PRAGMA {name} = … sets a value"
        if rest and name not in _READ_PRAGMAS:
            return f"PRAGMA {name}(…) sets a value"
        return None
    if first in _WRITERS:
        return f"{first} changes the database"
    return f"{first or toks[0].text} is not a known read-only statement"


def _statement_words(toks: list[Token]) -> list[str]:
    """The upper-cased keywords and names of ``toks``, without the names of functions called (``replace(…)``
    is SQLite's string function, not a ``REPLACE`` statement)."""
    return [
        t.text.upper()
        for i, t in enumerate(toks)
        if t.kind == "word" and not (i + 1 < len(toks) and toks[i + 1].text == "(")
    ]


# -- results ----------------------------------------------------------------------------------------------

INTERNAL_PREFIX = "_rivet_"
"""The runtime's own tables (``_rivet_actor``, ``_rivet_runtime``, …), listed only on request."""


def is_internal(table: str) -> bool:
    return table.startswith(INTERNAL_PREFIX)


def result_columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The column names of ``rows`` in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for name in row:
            seen.setdefault(name, None)
    return list(seen)


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """``rows`` as CSV (RFC 4180, ``\r\n`` line ends): a header of ``columns``, then one line per row; null is
    empty, numbers and strings as they are, booleans, arrays and objects as JSON."""
    import csv
    import io
    import json

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return buf.getvalue()


_SQLITE_FAILURE = re.compile(r"failed to (?:prepare|step) sqlite execute statement: (.+)", re.S)


def explain_error(exc: ActorError) -> ActorError:
    """The inspector's answer to SQL that SQLite refused (a 500 whose metadata holds the actor's error chain)
    as the SQLite message itself: ``near "SELEC": syntax error``; other errors as they are."""
    from rivetctl.errors import ActorError

    detail = exc.metadata.get("error") if isinstance(exc.metadata, dict) else None
    found = _SQLITE_FAILURE.search(detail) if isinstance(detail, str) else None
    if found is None:
        return exc
    return ActorError(
        "sqlite", "error", " ".join(found.group(1).split()), status=exc.status, ray_id=exc.ray_id, actor=exc.actor
    )


def statements_of(text: str) -> list[str]:
    """Every statement of ``text``, the last one with or without its ``;``; raises ``Unterminated`` when
    the text ends inside a string, quoted name or comment."""
    done, rest = split_statements(text)
    if rest.strip() and tokens(rest):
        done.append(rest.strip())
    return done


def find_table(tables: Sequence[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The entry of :meth:`~rivetctl.client.inspector.Inspector.tables` named ``name`` (SQLite's names are
    case-insensitive: an exact match first, then one ignoring case)."""
    named = [t for t in tables if table_name(t) == name]
    if not named:
        named = [t for t in tables if table_name(t).casefold() == name.casefold()]
    return named[0] if named else None


def table_summaries(tables: Iterable[dict[str, Any]], *, internal: bool = False) -> list[dict[str, Any]]:
    """``{"name", "rows", "columns"}`` per table (the runtime's ``_rivet_*`` ones only with ``internal``)."""
    return [
        {"name": table_name(t), "rows": t.get("records"), "columns": len(t.get("columns") or [])}
        for t in tables
        if internal or not is_internal(table_name(t))
    ]


COLUMN_FIELDS = ("cid", "name", "type", "notnull", "default", "pk")


def column_rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    """A table's columns as ``PRAGMA table_info`` gives them (``dflt_value`` named ``default``)."""
    out = []
    for col in table.get("columns") or []:
        if isinstance(col, dict):
            out.append({f: col.get("dflt_value" if f == "default" else f) for f in COLUMN_FIELDS})
    return out


def table_name(table: dict[str, Any]) -> str:
    info = table.get("table")
    return str(info.get("name", "")) if isinstance(info, dict) else ""
