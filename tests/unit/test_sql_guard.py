"""The SQL write guard decides on SQLite's tokens: what writes is refused, what only reads passes, and a
word inside a string, quoted name or comment changes nothing. Statements split at top-level ``;`` only."""

from __future__ import annotations

import pytest

from rivetctl.frontend.sql import split_statements, tokens, write_reason


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM notes",
        "select id, body from notes where body = 'DELETE FROM notes';",
        'SELECT "delete" FROM t',
        "SELECT [update] FROM t -- DROP TABLE t",
        "SELECT 1 /* ; INSERT INTO t VALUES (1) */",
        "VALUES (1), (2)",
        "EXPLAIN QUERY PLAN SELECT * FROM notes",
        "WITH recent AS (SELECT * FROM notes ORDER BY id DESC LIMIT 5) SELECT * FROM recent",
        "PRAGMA table_info(notes)",
        "PRAGMA main.table_info('notes')",
        "pragma user_version",
        "SELECT 'it''s; fine'",
        "  SELECT 1 ;  ",
    ],
)
def test_read_only(sql: str) -> None:
    assert write_reason(sql) is None


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("INSERT INTO notes (body) VALUES ('x')", "INSERT"),
        ("update notes set body = 'x'", "UPDATE"),
        ("DELETE FROM notes", "DELETE"),
        ("REPLACE INTO notes VALUES (1, 'x')", "REPLACE"),
        ("CREATE TABLE t (x)", "CREATE"),
        ("DROP TABLE notes", "DROP"),
        ("ALTER TABLE notes ADD COLUMN y", "ALTER"),
        ("ATTACH DATABASE 'x.db' AS x", "ATTACH"),
        ("VACUUM", "VACUUM"),
        ("BEGIN", "BEGIN"),
        ("WITH old AS (SELECT id FROM notes) DELETE FROM notes WHERE id IN old", "DELETE"),
        ("PRAGMA user_version = 5", "sets"),
        ("PRAGMA journal_mode=WAL", "sets"),
        ("PRAGMA cache_size(100)", "sets"),
        ("PRAGMA optimize", "changes"),
        ("SELECT 1; DELETE FROM notes", "several statements"),
        ("SELECT 1; SELECT 2", "several statements"),
        ("SELECT 'unterminated", "unterminated"),
        ("", "no statement"),
    ],
)
def test_writes_are_named(sql: str, why: str) -> None:
    reason = write_reason(sql)
    assert reason is not None and why in reason


def test_split_keeps_semicolons_inside_strings_comments_and_triggers() -> None:
    text = (
        "SELECT 'a;b';\n"
        "-- a comment; with a semicolon\n"
        "SELECT 2 /* ; */;\n"
        "CREATE TRIGGER tr AFTER INSERT ON notes BEGIN UPDATE notes SET body = 'x;' WHERE id = 1; "
        "SELECT CASE WHEN 1 THEN 2 END; END;\n"
        ";;\n"
        "SELECT 3"
    )
    done, rest = split_statements(text)
    assert done[0] == "SELECT 'a;b'"
    assert done[1].endswith("SELECT 2 /* ; */")
    assert done[2].startswith("CREATE TRIGGER tr") and done[2].endswith("END")
    assert len(done) == 3
    assert rest.strip() == "SELECT 3"


def test_split_waits_for_the_end_of_an_open_string() -> None:
    done, rest = split_statements("SELECT 'abc;\ndef';")
    assert done == ["SELECT 'abc;\ndef'"] and rest == ""
    done, rest = split_statements("SELECT 'abc;")
    assert done == [] and rest == "SELECT 'abc;"


def test_tokens_of_quoted_names_and_parameters() -> None:
    kinds = [(t.kind, t.text) for t in tokens('SELECT "a""b", `c`, [d e], ?1, :name FROM t')]
    assert ("ident", '"a""b"') in kinds and ("ident", "[d e]") in kinds
    assert ("param", "?1") in kinds and ("param", ":name") in kinds
