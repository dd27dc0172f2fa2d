"""SQL text as the ``sql`` command and the SQL shells read it: statements split at top-level ``;`` and the
write guard (is this one read-only statement?). Pure functions on text, decided on SQLite's tokens, not on
substrings: a ``DELETE`` inside a string literal, a quoted identifier or a comment is not a write."""

from __future__ import annotations

import re
from typing import NamedTuple


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

    A ``;`` inside a string, a quoted name, a comment or a trigger's ``BEGIN … END`` does not end a
    statement. Empty statements are dropped.
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
            if "TRIGGER" in first_words and word in ("BEGIN", "CASE"):
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
    if any(t.kind == "semicolon" for t in toks):
        return "several statements"
    first = toks[0].text.upper() if toks[0].kind == "word" else ""
    words = [t.text.upper() for t in toks if t.kind == "word"]
    if first in ("SELECT", "VALUES", "EXPLAIN"):
        return None
    if first == "WITH":
        found = next((w for w in words if w in _DML), None)
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
    return f"{first or toks[0].text} changes the database" if first else "not a read-only statement"
