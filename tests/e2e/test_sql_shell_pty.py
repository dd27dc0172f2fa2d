"""The SQL shell end to end through a real pseudo-terminal against the real server: a multi-line statement
runs at its ``;`` with its rows and time, ``.tables``, Tab completes a table name, a write is asked about
(refused, then confirmed), the history file keeps no secret-looking input, ``.exit`` leaves."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from rivetctl.cli.app import main
from tests.envs import outside_world, private_home
from tests.ptyterm import TIMEOUT, Term


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def shell(endpoint: str, home: Path) -> Iterator[Callable[..., Term]]:
    children: list[pexpect.spawn] = []
    env = {**outside_world(), **private_home(home), "RIVET_ENDPOINT": endpoint, "TERM": "xterm-256color"}

    def start(*args: str) -> Term:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "rivetctl", "sql", *args],
            env=env,
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(40, 160),
        )
        children.append(child)
        return Term(child)

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)
        child.close()


def _cli(endpoint: str, home: Path, *args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    env = {"RIVET_ENDPOINT": endpoint, **private_home(home / "cli")}
    assert main(list(args), env=env, stdout=out, stderr=err) == 0, err.getvalue()
    return out.getvalue()


def test_shell_runs_statements_completes_and_guards_writes(shell, endpoint: str, home: Path, key: str) -> None:  # type: ignore[no-untyped-def]
    for body in ("hello world", "buy milk"):
        _cli(endpoint, home, "call", "notes", key, "addNote", body)
    prompt = f"notes {key} sql>"
    term = shell("notes", key)
    term.expect(re.escape(prompt))

    term.send("SELECT id, body\r")  # no ; yet: a new line, nothing runs
    term.expect(r"\.\.\.>")
    term.send("FROM notes ORDER BY id;\r")
    seen = term.expect(r"\d+ rows? in [0-9.]+ ms")
    assert "hello world" in seen and "buy milk" in seen and "2 rows in" in seen
    term.expect(re.escape(prompt))

    term.send(".tables\r")
    seen = term.expect(r"internal _rivet_\* tables not shown")
    assert re.search(r"notes\s+\S\s+2\s+\S\s+4", seen) and "_rivet_runtime" not in seen
    term.expect(re.escape(prompt))

    term.send("SELECT body FROM no")
    time.sleep(0.6)  # typed like a person: the completion menu is up before Tab
    term.send("\t")
    term.expect(r"tes")  # "no" became "notes" on the screen (drawn as the difference)
    term.send(" WHERE id = 1;\r")
    seen = term.expect(r"1 row in [0-9.]+ ms")
    assert "hello world" in seen and "no such table" not in seen
    term.expect(re.escape(prompt))

    term.send("DELETE FROM notes WHERE id = 2;\r")
    seen = term.expect(r"Run it\? \[y/N\]")
    assert "this statement changes the database (DELETE)" in seen
    term.send("n\r")
    term.expect("not run")
    term.expect(re.escape(prompt))
    assert _cli(endpoint, home, "call", "notes", key, "countNotes").strip() == "2"

    term.send("DELETE FROM notes WHERE id = 2 RETURNING id;\r")
    term.expect(r"Run it\? \[y/N\]")
    term.send("y\r")
    term.expect(r"1 row in [0-9.]+ ms")
    term.expect(re.escape(prompt))
    assert _cli(endpoint, home, "call", "notes", key, "countNotes").strip() == "1"

    term.send("SELECT inspector_token FROM _rivet_runtime WHERE 0;\r")
    term.expect(r"0 rows in [0-9.]+ ms")
    term.expect(re.escape(prompt))
    term.send("SELECT * FROM nope;\r")
    term.expect("no such table: nope")
    term.expect(re.escape(prompt))
    term.send(".exit\r")
    term.expect_eof()
    term.child.close()
    assert term.child.exitstatus == 0

    history = (home / "state" / "rivetctl" / "sql_history").read_text()
    assert "SELECT id, body\n+FROM notes ORDER BY id;" in history and "+.tables" in history
    assert "RETURNING id;" in history and "inspector_token" not in history


def test_shell_help_schema_and_ctrl_d(shell, endpoint: str, home: Path, key: str) -> None:  # type: ignore[no-untyped-def]
    _cli(endpoint, home, "call", "notes", key, "addNote", "x")
    prompt = f"notes {key} sql>"
    term = shell("notes", key)
    term.expect(re.escape(prompt))
    term.send(".help\r")
    seen = term.expect("anything else is SQL")
    assert ".schema" in seen and ".tables" in seen and ".exit" in seen
    term.expect(re.escape(prompt))
    term.send(".schema notes\r")
    seen = term.expect(r"created_at\s+\S\s+INTEGER")
    assert "body" in seen and "TEXT" in seen
    term.expect(re.escape(prompt))
    term.send(".schema nope\r")
    term.expect("no such table: nope")
    term.expect(re.escape(prompt))
    term.send("\x04")  # Ctrl-D on an empty line leaves
    term.expect_eof()
    term.child.close()
    assert term.child.exitstatus == 0
    assert json.loads(_cli(endpoint, home, "sql", "notes", key, "SELECT count(*) AS n FROM notes", "-o", "json")) == [
        {"n": 1}
    ]


def test_shell_needs_the_actor(shell, home: Path) -> None:  # type: ignore[no-untyped-def]
    term = shell("notes", f"missing-{os.getpid()}-{time.time_ns()}")
    term.expect("no 'notes' actor with key")
    term.expect_eof()
    term.child.close()
    assert term.child.exitstatus == 4


@pytest.fixture
def repl(endpoint: str, home: Path) -> Iterator[Callable[..., Term]]:
    children: list[pexpect.spawn] = []
    env = {**outside_world(), **private_home(home), "RIVET_ENDPOINT": endpoint, "TERM": "xterm-256color"}

    def start(*args: str) -> Term:
        child = pexpect.spawn(
            sys.executable, ["-m", "rivetctl", "repl", *args], env=env, encoding="utf-8", timeout=TIMEOUT
        )
        children.append(child)
        return Term(child)

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)
        child.close()


def test_repl_sql_statement_nested_prompt_and_guarded_write(repl, endpoint: str, home: Path, key: str) -> None:  # type: ignore[no-untyped-def]
    _cli(endpoint, home, "call", "notes", key, "addNote", "from the repl")
    term = repl("notes", key)
    term.expect(r"Ctrl-D to quit")
    term.send(".sql SELECT body FROM notes;\r")
    term.expect(r"1 row in [0-9.]+ ms")  # the table's title, then its rows
    term.expect("from the repl")
    term.send(".sql DELETE FROM notes\r")
    assert "this statement changes the database" in term.expect(r"Run it")
    term.send("n\r")
    term.expect("not run")
    assert _cli(endpoint, home, "call", "notes", key, "countNotes").strip() == "1"
    term.send(".sql\r")  # a nested SQL prompt until .exit
    term.expect(re.escape(f'notes/["{key}"] sql>') + "|" + re.escape("sql>"))
    term.send("SELECT count(*) AS n FROM notes;\r")
    term.expect(r"1 row in [0-9.]+ ms")
    term.send(".exit\r")
    term.expect(re.escape(f'notes/["{key}"]>') + "|" + r"notes.*>")
    term.send(".quit\r")
    term.expect_eof()
