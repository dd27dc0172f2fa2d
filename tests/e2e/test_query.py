"""``--query``: a JMESPath expression applied to the JSON result of a command in every -o mode, and to each
record of a stream, against the real server."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rivetctl.cli.app import main
from rivetctl.frontend.exits import Exit
from tests.envs import outside_world, private_home

pytestmark = pytest.mark.server


class Tty(io.StringIO):
    """A stdout that says it is a terminal (the table mode of ``-o auto``)."""

    def isatty(self) -> bool:
        return True


def run(env: dict[str, str], *args: str, tty: bool = False) -> tuple[int, str, str]:
    out: io.StringIO = Tty() if tty else io.StringIO()
    err = io.StringIO()
    code = main(list(args), env=env, stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    return {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path), "COLUMNS": "200"}


@pytest.fixture
def counter(env: dict[str, str], key: str) -> str:
    """A counter whose state is {"count": 5}."""
    assert run(env, "call", "counter", key, "setCount", "5")[:2] == (0, "5\n")
    return key


def test_raw_query_prints_the_number(env: dict[str, str], counter: str) -> None:
    assert run(env, "-o", "raw", "--query", "count", "state", "counter", counter) == (0, "5\n", "")


def test_query_after_the_command_too(env: dict[str, str], counter: str) -> None:
    assert run(env, "state", "counter", counter, "--query", "count", "-o", "raw")[:2] == (0, "5\n")


@pytest.mark.parametrize(
    ("mode", "parse"),
    [
        ("json", json.loads),
        ("jsonl", json.loads),
        ("yaml", yaml.safe_load),
        ("raw", json.loads),
        ("auto", json.loads),  # piped: json
    ],
)
def test_each_mode_prints_what_the_query_selects(env: dict[str, str], counter: str, mode: str, parse: object) -> None:
    code, out, err = run(env, "-o", mode, "--query", "{n: count, doubled: [count, count]}", "state", "counter", counter)
    assert code == 0, err
    assert parse(out) == {"n": 5, "doubled": [5, 5]}  # type: ignore[operator]


def test_table_mode_record_and_value(env: dict[str, str], counter: str) -> None:
    code, out, _ = run(env, "-o", "table", "--query", "{id: actor_id, key: key[0]}", "get", "counter", counter)
    assert code == 0
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert ["key", counter] in lines
    assert any(line[0] == "id" and len(line) == 2 for line in lines)
    code, out, _ = run(env, "--query", "count", "state", "counter", counter, tty=True)
    assert (code, out.strip()) == (0, "5")


def test_a_record_queried_in_every_mode(env: dict[str, str], counter: str) -> None:
    """``get`` prints a record: the query sees its JSON form (the key as an array, times as ISO strings)."""
    code, out, _ = run(env, "-o", "json", "get", "counter", counter)
    record = json.loads(out)
    for mode in ("json", "jsonl", "raw"):
        code, out, err = run(env, "-o", mode, "--query", "key", "get", "counter", counter)
        assert (code, json.loads(out)) == (0, [counter]), err
    code, out, _ = run(env, "-o", "raw", "--query", "actor_id", "get", "counter", counter)
    assert out == record["actor_id"] + "\n"  # raw: a string unquoted
    code, out, _ = run(env, "-o", "yaml", "--query", "status", "get", "counter", counter)
    assert yaml.safe_load(out) == record["status"]


def test_rows_are_queried_as_a_whole(env: dict[str, str], counter: str) -> None:
    code, out, _ = run(env, "-o", "json", "--query", "[].name", "actors")
    assert code == 0 and "counter" in json.loads(out) and "chatRoom" in json.loads(out)
    code, out, _ = run(env, "-o", "raw", "--query", "[].name", "actors")
    assert "counter" in out.splitlines()  # one per line, unquoted
    code, out, _ = run(env, "-o", "jsonl", "--query", "[?name=='counter'].{n: name}", "actors")
    assert [json.loads(line) for line in out.splitlines()] == [{"n": "counter"}]
    code, out, _ = run(env, "-o", "json", "--query", "length(@)", "actors", "counter", "--all")
    assert code == 0 and json.loads(out) >= 1
    code, out, _ = run(env, "-o", "table", "--query", "[?name=='counter'].{actor: name}", "actors")
    assert code == 0 and "actor" in out and "counter" in out and "chatRoom" not in out


def test_an_action_output_is_queried(env: dict[str, str], key: str) -> None:
    code, out, err = run(env, "-o", "json", "--query", "[1].a", "call", "counter", key, "echo", "x", '{"a": [1, 2]}')
    assert (code, json.loads(out)) == (0, [1, 2]), err
    code, out, err = run(env, "-o", "raw", "--query", "[0]", "call", "counter", key, "echo", "hello world")
    assert (code, out) == (0, "hello world\n")


def test_tagged_values_are_queried_in_their_printed_form(env: dict[str, str], key: str) -> None:
    code, out, _ = run(env, "-o", "json", "--query", "[bytes, bytes[0], dollar]", "call", "counter", key, "types")
    assert (code, json.loads(out)) == (0, [["$Uint8Array", "AAEC/f7/"], "$Uint8Array", ["$$fake", 1]])


def test_a_stream_is_queried_record_by_record(env: dict[str, str], key: str, tmp_path: Path) -> None:
    """``watch`` piped: each record goes through the query (events and the state lines alike)."""
    assert run(env, "call", "counter", key, "setCount", "1")[0] == 0
    argv = ["--timeout", "30", "-o", "jsonl", "--query", "[type, args]", "watch", "counter", key, "newCount"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rivetctl", *argv, "--count", "2", "--state-interval", "0.2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**outside_world(), **env},
    )
    assert proc.stderr is not None
    err = ""
    try:
        while "watching" not in err:
            line = proc.stderr.readline()
            if not line:
                break
            err += line
        assert "watching" in err, err
        assert run(env, "call", "counter", key, "increment", "2")[0] == 0
        assert run(env, "call", "counter", key, "increment", "3")[0] == 0
        out, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err + rest
    records = [json.loads(line) for line in out.splitlines()]
    assert ["event", [3]] in records and ["event", [6]] in records
    assert records[0] == ["state", {"count": 1}]
    assert all(isinstance(r, list) and len(r) == 2 for r in records)


def test_a_stream_query_selecting_a_value_on_a_terminal(env: dict[str, str], key: str) -> None:
    """On a terminal (table mode), a query that selects a non-object prints it as a line of JSON."""
    assert run(env, "call", "counter", key, "setCount", "4")[0] == 0
    for query, line in (("args.count", "4"), ("[type, args]", '["state", {"count": 4}]')):
        code, out, err = run(
            env, "--timeout", "1", "--query", query, "watch", "counter", key, "--until-timeout", tty=True
        )
        assert code == 0, err
        assert out.splitlines()[0] == line


def test_bad_expression_is_a_usage_error_before_anything_is_sent(env: dict[str, str], key: str) -> None:
    code, out, err = run(env, "--query", "count[", "call", "counter", key, "increment", "1")
    assert code == Exit.USAGE and out == ""
    assert err.count("\n") == 1 and "--query 'count['" in err
    code, _, err = run(env, "--query", "nosuchfn(@)", "call", "counter", key, "increment", "1")
    assert code == Exit.USAGE and "Unknown function" in err
    # nothing was sent: the actor was never created
    code, out, _ = run(env, "-o", "json", "get", "counter", key)
    assert code == Exit.NOT_FOUND


def test_query_with_csv_is_refused(env: dict[str, str], key: str) -> None:
    code, _, err = run(env, "-o", "csv", "--query", "x", "sql", "notes", key, "SELECT 1")
    assert code == Exit.USAGE and "--query" in err


def test_a_query_error_on_the_value_is_one_line(env: dict[str, str], counter: str) -> None:
    code, _, err = run(env, "--query", "length(count)", "state", "counter", counter)
    assert code == Exit.USAGE and err.count("\n") == 1 and "length()" in err
