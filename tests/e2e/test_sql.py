"""``sql`` against the real server's inspector and the ``notes`` actor's SQLite table: statements with
bindings in every output mode, tables, columns and pages of rows, the write guard (nothing runs without
--write, checked through the actor's own action), errors and their exit codes, and a script from stdin."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from rivetctl.cli.app import main
from rivetctl.frontend.exits import Exit
from tests.envs import private_home

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(endpoint: str, tmp_path: Path) -> Cli:
    env = {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    return run


@pytest.fixture
def notes(cli: Cli, key: str) -> str:
    """A ``notes`` actor holding three notes (ids 1, 2, 3), added through its action."""
    for args in (("hello world", "greeting"), ("buy milk",), ("call mom", "todo")):
        code, _, err = cli("call", "notes", key, "addNote", *args)
        assert code == 0, err
    return key


def _count(cli: Cli, key: str) -> int:
    code, out, err = cli("call", "notes", key, "countNotes", "-o", "json")
    assert code == 0, err
    return int(json.loads(out))


def test_select_with_bindings_as_json_jsonl_and_csv(cli: Cli, notes: str) -> None:
    query = "SELECT id, body, tag FROM notes WHERE id > ? ORDER BY id"
    code, out, err = cli("sql", "notes", notes, query, "--arg", "1", "-o", "json")
    assert code == 0, err
    assert json.loads(out) == [{"id": 2, "body": "buy milk", "tag": None}, {"id": 3, "body": "call mom", "tag": "todo"}]

    code, out, _ = cli("sql", "notes", notes, "SELECT id FROM notes WHERE tag = ?", "--arg", "greeting", "-o", "jsonl")
    assert code == 0 and [json.loads(line) for line in out.splitlines()] == [{"id": 1}]
    code, out, _ = cli("sql", "notes", notes, "SELECT ? AS s, ? AS n", "--arg", '"5"', "--arg", "5", "-o", "jsonl")
    assert code == 0 and json.loads(out) == {"s": "5", "n": 5}

    code, out, err = cli("sql", "notes", notes, query, "--arg", "0", "-o", "csv")
    assert code == 0, err
    assert list(csv.reader(io.StringIO(out))) == [
        ["id", "body", "tag"],
        ["1", "hello world", "greeting"],
        ["2", "buy milk", ""],
        ["3", "call mom", "todo"],
    ]


def test_bindings_sqlite_cannot_take_are_refused_before_sending(cli: Cli, notes: str) -> None:
    code, out, err = cli("sql", "notes", notes, "SELECT ? AS v", "--arg", '{"a": 1}')
    assert code == Exit.USAGE and "objects" in err and out == ""
    code, _, err = cli("sql", "notes", notes, "SELECT ? AS v", "--arg", "9007199254740993")
    assert code == Exit.USAGE and "2**53" in err


def test_tables_hide_the_runtime_tables_unless_all(cli: Cli, notes: str) -> None:
    code, out, err = cli("sql", "notes", notes, "--tables", "-o", "json")
    assert code == 0, err
    assert json.loads(out) == [{"name": "notes", "rows": 3, "columns": 4}]
    code, out, err = cli("sql", "notes", notes, "--tables", "--all", "-o", "json")
    assert code == 0, err
    names = [t["name"] for t in json.loads(out)]
    assert (
        "notes" in names and "_rivet_runtime" in names and all(n == "notes" or n.startswith("_rivet_") for n in names)
    )


def test_schema_of_a_table_and_of_all(cli: Cli, notes: str) -> None:
    code, out, err = cli("sql", "notes", notes, "--schema", "notes", "-o", "json")
    assert code == 0, err
    columns = json.loads(out)
    assert [c["name"] for c in columns] == ["id", "body", "tag", "created_at"]
    assert columns[0] == {"cid": 0, "name": "id", "type": "INTEGER", "notnull": 0, "default": None, "pk": 1}
    code, out, _ = cli("sql", "notes", notes, "--schema", "-o", "jsonl")
    assert code == 0 and {json.loads(line)["table"] for line in out.splitlines()} == {"notes"}
    code, out, _ = cli("sql", "notes", notes, "--schema", "--all", "-o", "jsonl")
    assert code == 0 and "_rivet_runtime" in {json.loads(line)["table"] for line in out.splitlines()}
    code, _, err = cli("sql", "notes", notes, "--schema", "nope")
    assert code == Exit.NOT_FOUND and "no such table: nope" in err


def test_rows_page_through_a_table(cli: Cli, notes: str) -> None:
    code, out, err = cli("sql", "notes", notes, "--rows", "notes", "--limit", "1", "--offset", "1", "-o", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["id"], r["body"]) for r in rows] == [(2, "buy milk")] and set(rows[0]) == {
        "id",
        "body",
        "tag",
        "created_at",
    }
    code, out, _ = cli("sql", "notes", notes, "--rows", "notes", "-o", "json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [1, 2, 3]
    code, _, err = cli("sql", "notes", notes, "--rows", "nope")
    assert code == Exit.NOT_FOUND and "no such table" in err


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        ("DELETE FROM notes", "DELETE changes the database"),
        ("WITH old AS (SELECT id FROM notes) DELETE FROM notes WHERE id IN old", "WITH statement that runs DELETE"),
        ("UPDATE notes SET body = 'x'", "UPDATE"),
        ("DROP TABLE notes", "DROP"),
        ("PRAGMA user_version = 7", "sets a value"),
    ],
)
def test_writes_are_refused_without_write_and_nothing_runs(cli: Cli, notes: str, statement: str, why: str) -> None:
    code, out, err = cli("sql", "notes", notes, statement)
    assert code == Exit.USAGE and why in err and "--write" in err and out == ""
    assert _count(cli, notes) == 3
    code, out, _ = cli("sql", "notes", notes, "SELECT body FROM notes WHERE id = 1", "-o", "json")
    assert json.loads(out) == [{"body": "hello world"}]


@pytest.mark.parametrize("write", [[], ["--write"]])
def test_several_statements_are_refused_with_or_without_write(cli: Cli, notes: str, write: list[str]) -> None:
    code, out, err = cli("sql", "notes", notes, "SELECT 1; DELETE FROM notes WHERE id = 1; DELETE FROM notes", *write)
    assert code == Exit.USAGE and "3 statements" in err and "nothing was run" in err and out == ""
    assert _count(cli, notes) == 3


def test_words_in_strings_do_not_make_a_write(cli: Cli, notes: str) -> None:
    code, out, err = cli("sql", "notes", notes, "SELECT 'DELETE' AS word, 'x; DROP TABLE notes' AS s", "-o", "json")
    assert code == 0, err
    assert json.loads(out) == [{"word": "DELETE", "s": "x; DROP TABLE notes"}]


def test_write_runs_with_write(cli: Cli, notes: str) -> None:
    statement = "DELETE FROM notes WHERE id = ? RETURNING id"
    code, out, err = cli("sql", "notes", notes, statement, "--arg", "2", "--write", "-o", "json")
    assert code == 0, err
    assert json.loads(out) == [{"id": 2}]
    assert _count(cli, notes) == 2
    code, out, err = cli("sql", "notes", notes, "UPDATE notes SET tag = 'done' WHERE id = 1", "--write", "-o", "json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = cli("sql", "notes", notes, "SELECT tag FROM notes WHERE id = 1", "-o", "json")
    assert json.loads(out) == [{"tag": "done"}]


def test_missing_table_actor_and_bad_sql(cli: Cli, notes: str) -> None:
    code, out, err = cli("sql", "notes", notes, "SELECT * FROM nope")
    assert code == Exit.NOT_FOUND and "no such table: nope" in err
    missing = f"none-{uuid.uuid4().hex[:8]}"
    code, _, err = cli("sql", "notes", missing, "SELECT 1")
    assert code == Exit.NOT_FOUND and missing in err
    code, out, _ = cli("actors", "notes", "-o", "json")
    assert missing not in out  # looking did not create it
    code, _, err = cli("sql", "notes", notes, "SELECT nothere FROM notes")
    assert code == Exit.ACTOR_ERROR and "no such column: nothere" in err and err.count("\n") == 1


def test_script_from_stdin_prints_json_lines(cli: Cli, notes: str) -> None:
    script = "SELECT count(*) AS n FROM notes;\n-- the ids\nSELECT id FROM notes ORDER BY id;\nSELECT 'a;b' AS s"
    code, out, err = cli("sql", "notes", notes, stdin=script)
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [{"n": 3}, {"id": 1}, {"id": 2}, {"id": 3}, {"s": "a;b"}]


def test_script_with_a_write_is_refused_whole_without_write(cli: Cli, notes: str) -> None:
    script = "DELETE FROM notes WHERE id = 3;\nSELECT count(*) AS n FROM notes;\nDELETE FROM notes;\n"
    code, out, err = cli("sql", "notes", notes, stdin=script)
    assert code == Exit.USAGE and "statement 1" in err and out == ""
    assert _count(cli, notes) == 3
    code, out, err = cli("sql", "notes", notes, "--write", stdin=script.rsplit("DELETE FROM notes;", 1)[0])
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [{"n": 2}]


def test_script_stops_at_the_first_failure(cli: Cli, notes: str) -> None:
    code, out, err = cli("sql", "notes", notes, stdin="SELECT 1 AS a;\nSELECT * FROM nope;\nSELECT 2 AS b;\n")
    assert code == Exit.NOT_FOUND
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0] == {"a": 1}
    assert lines[1]["statement"] == 2 and lines[1]["error"]["code"] == "table_not_found"
    assert len(lines) == 2 and "statement 2" in err and "1 later statement not run" in err


def test_csv_belongs_to_sql(cli: Cli, notes: str) -> None:
    code, out, err = cli("sql", "notes", notes, "SELECT 1 AS one", "-o", "csv")
    assert code == 0 and out.splitlines() == ["one", "1"]
    code, out, err = cli("get", "notes", notes, "-o", "csv")
    assert code == Exit.USAGE and "sql" in err and err.count("\n") == 1 and out == ""
