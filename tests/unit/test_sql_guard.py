"""The SQL write guard decides on SQLite's tokens: what writes is refused, what only reads passes, and a
word inside a string, quoted name or comment changes nothing. Statements split at top-level ``;`` only.
What results print as: their columns, CSV, SQLite's own error message."""

from __future__ import annotations

from typing import Any

import pytest

from rivetctl.errors import ActorError
from rivetctl.frontend.sql import (
    Unterminated,
    csv_text,
    explain_error,
    result_columns,
    split_statements,
    statements_of,
    tokens,
    write_reason,
)


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
        "WITH t AS (SELECT replace(body, 'a', 'b') AS b FROM notes) SELECT * FROM t",
        "SELECT 'DELETE'",
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
        ("WITH t AS (SELECT 1) REPLACE INTO notes VALUES (1, 'x')", "REPLACE"),
        ("WITH t AS (SELECT 1) INSERT OR REPLACE INTO notes SELECT * FROM t", "INSERT"),
        ("CREATE TRIGGER tr AFTER INSERT ON notes BEGIN DELETE FROM notes; END", "CREATE"),
        ("SELECT 1 AS trigger, 2 AS begin; DELETE FROM notes; SELECT 3 AS end", "several statements"),
        ("SELEC 1", "not a known read-only statement"),
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


def test_only_a_create_trigger_keeps_its_body_together() -> None:
    text = "SELECT 1 AS trigger, 2 AS begin; DELETE FROM notes; SELECT 3 AS end;"
    assert split_statements(text)[0] == ["SELECT 1 AS trigger, 2 AS begin", "DELETE FROM notes", "SELECT 3 AS end"]
    trigger = "CREATE TEMP TRIGGER t AFTER INSERT ON n BEGIN SELECT 1; END; SELECT 2;"
    assert split_statements(trigger)[0] == ["CREATE TEMP TRIGGER t AFTER INSERT ON n BEGIN SELECT 1; END", "SELECT 2"]


def test_statements_of_takes_a_last_statement_without_its_semicolon() -> None:
    assert statements_of("SELECT 1; SELECT 2") == ["SELECT 1", "SELECT 2"]
    assert statements_of("SELECT 1; -- done") == ["SELECT 1"]
    assert statements_of("  ") == []
    with pytest.raises(Unterminated):
        statements_of("SELECT 1; SELECT 'x")


def test_result_columns_in_first_seen_order_and_csv() -> None:
    rows: list[dict[str, Any]] = [{"b": 1, "a": None}, {"a": "x,y", "c": [1, {"k": "v"}]}, {"c": True, "b": 1.5}]
    columns = result_columns(rows)
    assert columns == ["b", "a", "c"]
    assert csv_text(columns, rows).splitlines() == [
        "b,a,c",
        "1,,",
        ',"x,y","[1, {""k"": ""v""}]"',
        "1.5,,true",
    ]


def test_sqlite_errors_are_said_plainly() -> None:
    chain = (
        "actor x generation 1 key k\n\nCaused by:\n"
        '    failed to prepare sqlite execute statement: near "SELEC": syntax error'
    )
    exc = ActorError("core", "internal_error", "An internal error occurred", metadata={"error": chain}, ray_id="r1")
    plain = explain_error(exc)
    assert plain.full_code == "sqlite.error" and plain.message == 'near "SELEC": syntax error' and plain.ray_id == "r1"
    other = ActorError("core", "internal_error", "An internal error occurred", metadata={"error": "boom"})
    assert explain_error(other) is other
