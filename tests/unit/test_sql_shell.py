"""The SQL shell's pure parts: when Enter runs the input, what Tab offers, what stays out of the history file,
which scripts are refused before anything runs; and ``-o csv``, which only ``sql`` writes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from rivetctl.cli.app import main
from rivetctl.cli.choices import OutputMode
from rivetctl.errors import ConfigError
from rivetctl.frontend.exits import Exit
from rivetctl.frontend.settings import GlobalOptions, Settings
from rivetctl.output.render import MODES
from rivetctl.repl.sql_shell import (
    Schema,
    SqlCompleter,
    check_script,
    input_ready,
    is_secret_sql,
    make_sql_history,
)


def _table(name: str, *columns: str, records: int = 0) -> dict[str, Any]:
    return {
        "table": {"schema": "main", "name": name, "type": "table"},
        "columns": [
            {"cid": i, "name": c, "type": "TEXT", "notnull": 0, "dflt_value": None, "pk": int(i == 0)}
            for i, c in enumerate(columns)
        ],
        "foreignKeys": [],
        "records": records,
    }


SCHEMA = Schema(
    [
        _table("_rivet_runtime", "id", "inspector_token"),
        _table("notes", "id", "body", "tag", "created_at", records=2),
        _table("note tags", "note_id", "label"),
    ]
)


def _offers(text: str, *, tab: bool = True) -> list[str]:
    completer = SqlCompleter(SCHEMA)
    event = CompleteEvent(completion_requested=tab)
    return [c.text for c in completer.get_completions(Document(text), event)]


def test_output_modes_are_the_writers_modes_and_csv() -> None:
    assert {m.value for m in OutputMode} == set(MODES) | {"csv"}
    assert "csv" not in MODES


def test_csv_is_a_usage_error_for_other_commands() -> None:
    with pytest.raises(ConfigError, match="-o csv is for the sql command only"):
        _ = Settings(GlobalOptions(output="csv"), env={}).output
    out, err = io.StringIO(), io.StringIO()
    code = main(["-o", "csv", "config", "list"], env={"XDG_CONFIG_HOME": "/nonexistent"}, stdout=out, stderr=err)
    assert code == Exit.USAGE and err.getvalue().count("\n") == 1 and "sql command only" in err.getvalue()
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize(
    ("text", "ready"),
    [
        ("", True),
        ("   ", True),
        (".tables", True),
        (".schema notes", True),
        ("exit", True),
        ("SELECT 1", False),
        ("SELECT 1;", True),
        ("SELECT *\nFROM notes\nWHERE id > 1;", True),
        ("SELECT 1;  -- and a comment", True),
        ("SELECT 'a;", False),
        ("SELECT 'a;b';", True),
        ("SELECT 1; SELECT 2", False),
        ("/* still open ;", False),
        ("CREATE TRIGGER t AFTER INSERT ON notes BEGIN DELETE FROM notes;", False),
        ("CREATE TRIGGER t AFTER INSERT ON notes BEGIN DELETE FROM notes; END;", True),
    ],
)
def test_enter_runs_only_complete_input(text: str, ready: bool) -> None:
    assert input_ready(text) is ready


def test_completion_offers_tables_after_from() -> None:
    assert _offers("SELECT * FROM no") == ["notes", '"note tags"']
    assert _offers("select * from ") == ["notes", '"note tags"']
    assert _offers("SELECT * FROM _") == ["_rivet_runtime"]  # internal tables once asked for
    assert _offers("DELETE FROM n", tab=False) == ["notes", '"note tags"']


def test_completion_offers_columns_of_the_tables_in_the_statement() -> None:
    assert _offers("SELECT b FROM notes") == []  # a table name typed in full: nothing more to offer
    assert _offers("SELECT ta")[:1] == ["tag"]
    doc = Document("SELECT n.bo FROM notes n", cursor_position=len("SELECT n.bo"))
    assert [c.text for c in SqlCompleter(SCHEMA).get_completions(doc, CompleteEvent())] == ["body"]
    doc = Document('SELECT lab FROM "note tags"', cursor_position=len("SELECT lab"))
    assert [c.text for c in SqlCompleter(SCHEMA).get_completions(doc, CompleteEvent())] == ["label"]


def test_completion_of_keywords_keeps_the_case_typed() -> None:
    assert "SELECT" in _offers("SEL") and "select" in _offers("sel")
    assert "WHERE" in _offers("SELECT * FROM notes WHE")


def test_no_completion_inside_strings_or_without_a_word() -> None:
    assert _offers("SELECT 'no") == []
    assert _offers("SELECT ", tab=False) == []


def test_dot_commands_and_their_tables_complete() -> None:
    assert _offers(".ta") == [".tables"]
    assert _offers(".schema no") == ["notes", '"note tags"']
    assert _offers(".tables --") == ["--all"]


def test_secret_looking_input_stays_out_of_the_history_file(tmp_path: Path) -> None:
    assert is_secret_sql("SELECT inspector_token FROM _rivet_runtime;")
    assert is_secret_sql("UPDATE users SET password = 'x';")
    assert not is_secret_sql("SELECT * FROM notes;")
    path = tmp_path / "sql_history"
    history = make_sql_history(path)
    history.append_string("SELECT * FROM notes;")
    history.append_string("SELECT inspector_token FROM _rivet_runtime;")
    history.append_string("SELECT count(*)\nFROM notes;")
    text = path.read_text()
    assert "FROM notes;" in text and "count(*)" in text and "inspector_token" not in text
    assert list(history.get_strings())[-2] == "SELECT inspector_token FROM _rivet_runtime;"  # this session only


def test_a_script_with_a_write_is_refused_whole_before_running() -> None:
    assert check_script("SELECT 1;\nSELECT 'DELETE';", write=False) == ["SELECT 1", "SELECT 'DELETE'"]
    with pytest.raises(ConfigError, match="statement 2: DELETE changes the database"):
        check_script("SELECT 1;\nDELETE FROM notes;\nSELECT 2;", write=False)
    assert len(check_script("SELECT 1;\nDELETE FROM notes;", write=True)) == 2
    assert check_script("-- nothing\n", write=False) == []
    with pytest.raises(ConfigError, match="unterminated"):
        check_script("SELECT 1; SELECT 'x", write=True)
