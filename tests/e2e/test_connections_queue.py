"""``connections`` and ``queue`` against the real server's inspector: live connections with their params
(secrets redacted), the queue listed, sent to and cleared (only with consent)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rivetctl.cli.app import main
from rivetctl.frontend.exits import Exit
from tests.envs import private_home

RIVETCTL = str(Path(sys.executable).with_name("rivetctl"))


@pytest.fixture
def cli(endpoint: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    return run


@pytest.fixture
def live_connection(endpoint: str, key: str, tmp_path: Path) -> Iterator[str]:
    """A script-mode ``connect`` holding a connection with params open while the test runs."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RIVET")}, "RIVET_ENDPOINT": endpoint}
    env.update(private_home(tmp_path / "conn"))
    args = [RIVETCTL, "--param", "user=alice", "--param", "authToken=s3cret-value", "connect", "counter", key]
    proc = subprocess.Popen(
        [*args, "--linger", "30"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"getCount\n")
    proc.stdin.flush()
    json.loads(proc.stdout.readline())  # answered: the connection is open
    try:
        yield key
    finally:
        proc.kill()
        proc.communicate(timeout=10)  # reaps it and closes its pipes


def test_connections_show_params_with_secrets_redacted(cli, live_connection: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("connections", "counter", live_connection, "-o", "json")
    assert code == 0, err
    conns = json.loads(out)
    assert len(conns) == 1
    assert conns[0]["params"] == {"user": "alice", "authToken": "***"}
    assert conns[0]["hibernatable"] in (True, False) and conns[0]["id"]
    assert "s3cret-value" not in out + err
    code, out, _ = cli("connections", "counter", live_connection, "-o", "jsonl", "--show-secrets")
    assert json.loads(out.splitlines()[0])["params"]["authToken"] == "s3cret-value"


def test_queue_lists_sends_and_clears(cli, key: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("call", "worker", key, "enqueue", '{"n": 1}', "two")[0] == 0
    code, out, err = cli("queue", "worker", key, "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["size"] == 2 and data["max_size"] > 0 and [m["name"] for m in data["messages"]] == ["jobs", "jobs"]
    code, out, err = cli("queue", "worker", key, "--send", "jobs", '{"n": 3}', "-o", "json")
    assert code == 0 and "sent message" in err
    assert json.loads(out)["size"] == 3
    code, out, _ = cli("queue", "worker", key, "--limit", "1", "-o", "json")
    assert len(json.loads(out)["messages"]) == 1 and json.loads(out)["truncated"] is True
    code, out, err = cli("call", "worker", key, "work", "3", "-o", "json")
    assert code == 0 and json.loads(out) == [{"n": 1}, "two", {"n": 3}]  # the actor consumed what was sent


def test_clear_needs_consent_off_a_terminal(cli, key: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("call", "worker", key, "enqueue", "a", "b")[0] == 0
    code, _, err = cli("queue", "worker", key, "--clear")
    assert code == Exit.USAGE and "--yes" in err
    assert json.loads(cli("queue", "worker", key, "-o", "json")[1])["size"] == 2  # nothing cleared
    code, out, err = cli("queue", "worker", key, "--clear", "--yes", "-o", "json")
    assert code == 0 and json.loads(out)["size"] == 0 and "cleared" in err


def test_missing_actor_is_exit_4(cli, key: str) -> None:  # type: ignore[no-untyped-def]
    for command in ("connections", "queue"):
        code, _, err = cli(command, "worker", f"missing-{key}")
        assert code == Exit.NOT_FOUND, err


def test_inspector_commands_take_an_actor_id(cli, key: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("call", "notes", key, "addNote", "by id")[0] == 0
    code, out, err = cli("get", "notes", key, "-o", "json")
    actor_id = json.loads(out)["actor_id"]
    for argv in (
        ("state", "notes", f"@{actor_id}"),
        ("connections", "notes", f"@{actor_id}"),
        ("queue", "notes", f"@{actor_id}"),
        ("sql", "notes", f"@{actor_id}", "SELECT body FROM notes"),
        ("traces", "notes", f"@{actor_id}"),
    ):
        code, out, err = cli(*argv, "-o", "json")
        assert code == 0, (argv, err)
    assert json.loads(cli("sql", "notes", f"@{actor_id}", "SELECT body FROM notes", "-o", "json")[1]) == [
        {"body": "by id"}
    ]
    code, _, err = cli("workflow", "notes", f"@{actor_id}")
    assert code == 4 and "has no workflow" in err
    code, _, err = cli("state", "counter", f"@{actor_id}")
    assert code == 2 and "notes" in err  # the id names another actor name
