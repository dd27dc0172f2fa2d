"""Fan-out calls (``call NAME --keys/--keys-from/--all ACTION``) and fan-in watches (``watch NAME --keys ...``)
against the real server, with the example registry's ``fleet`` actor (each counts the calls it got).

``--all`` calls every ``fleet`` actor of the session's server, other tests' included: the checks look at this
module's own actors (fresh key prefixes) and at what every line says.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest

from rivetctl.cli.app import main
from rivetctl.client import Client
from rivetctl.frontend.exits import Exit
from tests.envs import outside_world, private_home

RIVETCTL = [sys.executable, "-m", "rivetctl"]
RECORD_KEYS_OK = ["key", "actor_id", "ok", "output", "ms"]
RECORD_KEYS_FAILED = ["key", "actor_id", "ok", "error", "ms"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


Run = Callable[..., Result]


@pytest.fixture
def env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    return {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}


@pytest.fixture
def rivetctl(env: dict[str, str]) -> Run:
    """The CLI in-process, stdout not a terminal (JSON lines)."""

    def run(*args: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def prefix() -> str:
    return f"fo-{uuid.uuid4().hex[:8]}"


def counts(endpoint: str, keys: list[list[str]]) -> list[int | None]:
    """Each actor's call count, ``None`` for an actor that does not exist (nothing was ever called on it)."""
    from rivetctl.errors import ActorNotFoundError

    async def go() -> list[int | None]:
        async with Client(endpoint, env={}) as client:

            async def one(key: list[str]) -> int | None:
                try:
                    return int(await client.fleet.get(key).action("getCount"))
                except ActorNotFoundError:
                    return None

            return list(await asyncio.gather(*(one(k) for k in keys)))

    return asyncio.run(go())


def create_fleet(endpoint: str, keys: list[list[str]], concurrency: int = 16) -> None:
    """Create these fleet actors (a get-or-create call of ``ping``, which counts nothing), retrying what the
    engine fails to create under load (the call is idempotent)."""

    async def go() -> None:
        gate = asyncio.Semaphore(concurrency)
        async with Client(endpoint, env={}) as client:

            async def one(key: list[str]) -> None:
                async with gate:
                    for attempt in range(5):
                        try:
                            await client.fleet.get_or_create(key).action("ping")
                            return
                        except Exception:
                            if attempt == 4:
                                raise
                            await asyncio.sleep(1)

            await asyncio.gather(*(one(k) for k in keys))

    asyncio.run(go())


# -- --keys, the JSON lines ----------------------------------------------------------------------------------


def test_keys_one_json_line_per_actor_exactly_as_specified(rivetctl: Run, prefix: str) -> None:
    keys = [f"{prefix}-{i}" for i in range(5)]
    r = rivetctl("call", "fleet", "--keys", ",".join(keys), "increment", "1")
    assert r.code == Exit.OK, r.err
    lines = r.lines()
    assert sorted(line["key"] for line in lines) == sorted([k] for k in keys)
    for line in lines:
        assert list(line) == RECORD_KEYS_OK
        assert line["ok"] is True and line["output"] == 1
        assert isinstance(line["actor_id"], str) and line["actor_id"]
        assert isinstance(line["ms"], float | int) and line["ms"] > 0
    # the actor id is the actor's own
    got = rivetctl("-o", "json", "get", "fleet", keys[0])
    assert json.loads(got.out)["actor_id"] == next(line["actor_id"] for line in lines if line["key"] == [keys[0]])
    # the summary is on stderr, one line
    assert "5 calls: 5 ok, 0 failed" in r.err and "p50" in r.err and "p99" in r.err and "calls/s" in r.err
    assert r.err.count("\n") == 1


def test_each_key_called_once_and_by_id(rivetctl: Run, prefix: str, endpoint: str) -> None:
    first = rivetctl("call", "fleet", "--keys", f"{prefix}-a,{prefix}-b", "increment", "1")
    assert first.code == Exit.OK, first.err
    ids = {line["key"][0]: line["actor_id"] for line in first.lines()}
    r = rivetctl("call", "fleet", "--keys", f"@{ids[f'{prefix}-a']},{prefix}-b", "increment", "10", "-j", "1")
    assert r.code == Exit.OK, r.err
    by_key = {line["key"][0]: line for line in r.lines()}
    assert by_key[f"{prefix}-a"]["actor_id"] == ids[f"{prefix}-a"]  # the key of an @ID comes from the answer
    assert by_key[f"{prefix}-a"]["output"] == 11 and by_key[f"{prefix}-b"]["output"] == 11
    assert counts(endpoint, [[f"{prefix}-a"], [f"{prefix}-b"]]) == [11, 11]


def test_keys_from_file_with_a_compound_key_and_a_comma(rivetctl: Run, prefix: str, tmp_path: Path) -> None:
    compound = [f"{prefix}-org", "room,1"]
    comma = f"{prefix}-x,y"
    path = tmp_path / "keys.txt"
    path.write_text(f"{prefix}-plain\n{json.dumps(compound)}\n\n{comma}\n@@{prefix}-at\n")
    r = rivetctl("call", "fleet", "--keys-from", str(path), "increment", "2")
    assert r.code == Exit.OK, r.err
    keys = sorted(tuple(line["key"]) for line in r.lines())
    assert keys == sorted([(f"{prefix}-plain",), tuple(compound), (comma,), (f"@{prefix}-at",)])
    assert all(line["ok"] and line["output"] == 2 for line in r.lines())
    # the same keys from stdin reach the same actors
    r2 = rivetctl("call", "fleet", "--keys-from", "-", "getCount", stdin=path.read_text())
    assert r2.code == Exit.OK, r2.err
    assert sorted(line["output"] for line in r2.lines()) == [2, 2, 2, 2]
    assert {line["actor_id"] for line in r2.lines()} == {line["actor_id"] for line in r.lines()}


def test_a_bad_line_in_a_key_file_stops_before_anything_is_sent(
    rivetctl: Run, prefix: str, tmp_path: Path, endpoint: str
) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(f"{prefix}-first\n[not json\n")
    r = rivetctl("call", "fleet", "--keys-from", str(path), "increment", "1")
    assert r.code == Exit.USAGE and "line 2" in r.err and r.out == ""
    assert counts(endpoint, [[f"{prefix}-first"]]) == [None]


# -- failures and exit codes ---------------------------------------------------------------------------------


def test_some_actors_failing_exit_3_with_ok_and_failed_lines(rivetctl: Run, prefix: str) -> None:
    keys = [f"{prefix}-ok-1", f"bad-{prefix}-1", f"{prefix}-ok-2", f"bad-{prefix}-2"]
    r = rivetctl("call", "fleet", "--keys", ",".join(keys), "failSome")
    assert r.code == Exit.ACTOR_ERROR, r.err
    lines = {line["key"][0]: line for line in r.lines()}
    assert set(lines) == set(keys)
    for key, line in lines.items():
        if key.startswith("bad-"):
            assert list(line) == RECORD_KEYS_FAILED
            assert line["ok"] is False
            assert line["error"] == {"group": "user", "code": "bad_key", "message": f'refused for key ["{key}"]'}
            assert line["actor_id"]  # from the error's actor / the gateway's answer
        else:
            assert list(line) == RECORD_KEYS_OK and line["ok"] is True
    assert "4 calls: 2 ok, 2 failed" in r.err


def test_no_create_on_missing_keys_fails_those(rivetctl: Run, prefix: str, endpoint: str) -> None:
    assert rivetctl("call", "fleet", f"{prefix}-there", "increment", "1").code == Exit.OK
    keys = [f"{prefix}-there", f"{prefix}-missing-1", f"{prefix}-missing-2"]
    r = rivetctl("call", "fleet", "--keys", ",".join(keys), "--no-create", "increment", "1")
    assert r.code == Exit.ACTOR_ERROR, r.err
    lines = {line["key"][0]: line for line in r.lines()}
    assert lines[f"{prefix}-there"]["ok"] is True and lines[f"{prefix}-there"]["output"] == 2
    for key in keys[1:]:
        assert lines[key]["ok"] is False and lines[key]["actor_id"] is None
        assert lines[key]["error"]["group"] == "actor" and lines[key]["error"]["code"] == "not_found"
    assert counts(endpoint, [[k] for k in keys]) == [2, None, None]


def test_unreachable_server_exit_7(rivetctl: Run, prefix: str, env: dict[str, str]) -> None:
    r = rivetctl("-e", "http://127.0.0.1:9", "call", "fleet", "--keys", f"{prefix}-a,{prefix}-b", "ping")
    assert r.code == Exit.NETWORK and "connection refused" in r.err and r.out == ""
    # With the registry's names cached for that endpoint, every call goes out and fails: a line each, exit 7.
    from rivetctl.frontend.store import cache_names

    cache_names(env, "http://127.0.0.1:9", "default", ["fleet"])
    r = rivetctl("-e", "http://127.0.0.1:9", "call", "fleet", "--keys", f"{prefix}-a,{prefix}-b", "ping")
    assert r.code == Exit.NETWORK, r.err
    lines = r.lines()
    assert len(lines) == 2
    for line in lines:
        assert line["ok"] is False and line["error"]["group"] == "rivetctl" and line["error"]["code"] == "network"
        assert "connection refused" in line["error"]["message"]
    assert "2 calls: 0 ok, 2 failed" in r.err


def test_timeout_applies_to_each_call(rivetctl: Run, prefix: str) -> None:
    keys = [f"{prefix}-slow-1", f"{prefix}-slow-2"]
    assert rivetctl("call", "fleet", "--keys", ",".join(keys), "ping").code == Exit.OK  # created, awake
    r = rivetctl("--timeout", "0.5", "call", "fleet", "--keys", ",".join(keys), "-j", "1", "slowIncrement", "2000")
    assert r.code == Exit.ACTOR_ERROR, r.err
    lines = r.lines()
    assert len(lines) == 2
    for line in lines:
        assert line["ok"] is False and line["error"]["code"] == "timeout" and line["error"]["group"] == "rivetctl"
        assert 400 < line["ms"] < 1900  # each call had its own 0.5 s, one after the other (-j 1)


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["--keys", "a", "--all", "ping"], "alternatives"),
        (["--keys", "a"], "Missing argument 'ACTION'"),
        (["a", "ping", "-j", "4"], "is for a fan-out"),
        (["--keys", "a,,b", "ping"], "empty key"),
        (["--keys", "a", "ping", "--repeat", "3"], "--repeat is for one actor"),
        (["--keys-from", "/nonexistent/keys", "ping"], "cannot read"),
    ],
)
def test_fan_out_usage_errors_send_nothing(rivetctl: Run, args: list[str], wanted: str) -> None:
    r = rivetctl("call", "fleet", *args)
    assert r.code == Exit.USAGE and wanted in r.err and r.out == ""


# -- --all ---------------------------------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_all_calls_every_actor_exactly_once_across_pages(rivetctl: Run, endpoint: str) -> None:
    """250 actors (the engine lists 100 a page by default), walked 40 a page: each of them is called exactly
    once, and no actor appears twice in the output (ties at page boundaries are re-checked)."""
    prefix = f"all-{uuid.uuid4().hex[:8]}"
    keys = [[f"{prefix}-{i}"] for i in range(250)]
    create_fleet(endpoint, keys)
    r = rivetctl("call", "fleet", "--all", "increment", "1", "--page-size", "40", "-j", "16")
    assert r.code == Exit.OK, r.err[-2000:]
    lines = r.lines()
    ids = [line["actor_id"] for line in lines]
    assert len(ids) == len(set(ids)), "an actor was called twice"
    mine = [line for line in lines if line["key"][0].startswith(prefix)]
    assert sorted(line["key"] for line in mine) == sorted(keys)
    assert all(line["ok"] and line["output"] == 1 for line in mine)
    assert counts(endpoint, keys) == [1] * len(keys)

    # The library's pager: small pages give the same actors as one large page, each once.
    async def walk(page_size: int) -> list[str]:
        async with Client(endpoint, env={}) as client:
            return [a.actor_id async for a in client.engine.iter_actors("fleet", page_size=page_size)]

    small, large = asyncio.run(walk(7)), asyncio.run(walk(1000))
    assert len(small) == len(set(small)) and set(small) == set(large) >= set(ids)


# -- Ctrl-C ------------------------------------------------------------------------------------------------------


def test_ctrl_c_stops_launching_waits_for_calls_in_flight_exit_130(env: dict[str, str], endpoint: str) -> None:
    prefix = f"int-{uuid.uuid4().hex[:8]}"
    keys = [f"{prefix}-{i}" for i in range(40)]
    proc = subprocess.Popen(
        [*RIVETCTL, "call", "fleet", "--keys", ",".join(keys), "-j", "3", "slowIncrement", "500"],
        env={**outside_world(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    printed = [json.loads(proc.stdout.readline()) for _ in range(4)]
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    printed += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == Exit.INTERRUPTED, err
    assert "none was started after Ctrl-C" in err and "Traceback" not in err
    assert all(line["ok"] for line in printed)
    done = {line["key"][0] for line in printed}
    assert 4 <= len(done) < len(keys)
    # Every call that started was printed (it finished); no actor beyond those was ever called (or created).
    found = counts(endpoint, [[k] for k in keys])
    assert {k for k, n in zip(keys, found, strict=True) if n is not None} == done
    assert all(n == 1 for n in found if n is not None)


# -- a terminal --------------------------------------------------------------------------------------------------


def test_terminal_progress_then_table_and_summary(env: dict[str, str]) -> None:
    prefix = f"tty-{uuid.uuid4().hex[:8]}"
    keys = [f"{prefix}-{i}" for i in range(4)] + [f"bad-{prefix}"]
    child = pexpect.spawn(
        RIVETCTL[0],
        [*RIVETCTL[1:], "call", "fleet", "--keys", ",".join(keys), "-j", "1", "slowIncrement", "400"],
        env={**outside_world(), **env, "TERM": "xterm-256color"},
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=60,
    )
    child.expect(r"fleet · slowIncrement.*\d+/5.*ok \d+ · failed \d+")  # the progress bar
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before
    assert "output / error" in screen and "actor_id" in screen  # the table's header
    assert f"{prefix}-3" in screen and "✓" in screen
    assert "5 calls: 5 ok, 0 failed" in screen and "calls/s" in screen
    assert child.exitstatus == Exit.OK

    failing = pexpect.spawn(
        RIVETCTL[0],
        [*RIVETCTL[1:], "call", "fleet", "--keys", ",".join(keys), "failSome"],
        env={**outside_world(), **env, "TERM": "xterm-256color"},
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=60,
    )
    failing.expect(pexpect.EOF)
    failing.close()
    assert "✗" in failing.before and "user.bad_key" in failing.before
    assert "5 calls: 4 ok, 1 failed" in failing.before
    assert failing.exitstatus == Exit.ACTOR_ERROR


def test_closed_pipe_ends_quietly(env: dict[str, str], prefix: str) -> None:
    keys = ",".join(f"{prefix}-{i}" for i in range(30))
    cmd = f"{' '.join(RIVETCTL)} call fleet --keys {keys} -j 2 ping | head -1; exit ${{PIPESTATUS[0]}}"
    r = subprocess.run(["bash", "-c", cmd], env={**outside_world(), **env}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.count("\n") == 1
    assert "Traceback" not in r.stderr and "Broken pipe" not in r.stderr


# -- fan-in watch --------------------------------------------------------------------------------------------


class Lines:
    """A subprocess's output lines, read by a thread."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """After the process ended: the rest of its output, then the pipe closed."""
        self._thread.join(10)
        self._stream.close()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line)

    def wait_for(self, test: Callable[[list[str]], bool], timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if test(list(self.lines)):
                return True
            time.sleep(0.05)
        return False


def test_fan_in_watch_merges_events_with_keys_and_reconnects_each_on_its_own(
    env: dict[str, str], rivetctl: Run, tmp_path: Path
) -> None:
    prefix = f"in-{uuid.uuid4().hex[:8]}"
    keys = [[f"{prefix}-a"], [f"{prefix}-b"], [prefix, "c,d"]]
    path = tmp_path / "keys.txt"
    path.write_text("".join(json.dumps(k) + "\n" for k in keys))
    proc = subprocess.Popen(
        [*RIVETCTL, "--timeout", "90", "watch", "fleet", "--keys-from", str(path), "calls", "-o", "jsonl"],
        env={**outside_world(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        assert err.wait_for(lambda ls: any("watching 3 fleet actors: calls" in line for line in ls)), err.lines

        def events() -> list[dict[str, Any]]:
            return [json.loads(line) for line in out.lines]

        assert rivetctl("call", "fleet", "--keys-from", str(path), "increment", "1").code == Exit.OK
        assert out.wait_for(lambda ls: len(ls) >= 3), (out.lines, err.lines)
        first = events()
        assert sorted(e["key"] for e in first) == sorted(keys)
        for e in first:
            assert e["type"] == "event" and e["event"] == "calls" and e["args"] == [1]
            assert e["actor"] == f"fleet/{json.dumps(e['key'])}"
        # One actor drops its connections: that one reconnects by itself, the others keep streaming.
        assert rivetctl("call", "fleet", f"{prefix}-a", "kickOthers").code == Exit.OK
        assert rivetctl("call", "fleet", f"{prefix}-b", "increment", "1").code == Exit.OK
        assert out.wait_for(lambda ls: len(ls) >= 4)
        assert json.loads(out.lines[3])["key"] == [f"{prefix}-b"]
        label = f'fleet/["{prefix}-a"]'
        assert err.wait_for(lambda ls: any(f"reconnected to {label}" in line for line in ls)), err.lines
        assert any(f"connection to {label} lost" in line for line in err.lines)
        assert not any(f"{prefix}-b" in line and "lost" in line for line in err.lines)
        assert rivetctl("call", "fleet", "--keys-from", str(path), "increment", "1").code == Exit.OK
        assert out.wait_for(lambda ls: len(ls) >= 7)
        assert sorted(e["key"] for e in events()[4:7]) == sorted(keys)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        err.close()
    assert proc.returncode == Exit.INTERRUPTED
    assert not any("Traceback" in line for line in err.lines)


def test_fan_in_watch_count_and_keys(rivetctl: Run, prefix: str, endpoint: str) -> None:
    keys = f"{prefix}-1,{prefix}-2"
    result: list[Result] = []
    watcher = threading.Thread(
        target=lambda: result.append(
            rivetctl("--timeout", "60", "watch", "fleet", "--keys", keys, "calls", "--count", "2")
        )
    )
    # the watch is in-process in another thread: Ctrl-C handling is the main thread's; --count ends it
    watcher.start()
    deadline = time.monotonic() + 30
    while watcher.is_alive() and time.monotonic() < deadline:
        create = rivetctl("call", "fleet", "--keys", keys, "increment", "1")
        assert create.code == Exit.OK
        time.sleep(0.5)
    watcher.join(30)
    assert result and result[0].code == Exit.OK, result
    lines = result[0].lines()
    assert len(lines) == 2 and all(line["key"][0].startswith(prefix) for line in lines)


# -- --dry-run ---------------------------------------------------------------------------------------------------


def test_dry_run_connect_and_watch_send_nothing_and_show_no_secret(tmp_path: Path) -> None:
    env = {
        **private_home(tmp_path),
        "RIVET_ENDPOINT": "http://127.0.0.1:9",  # nothing listens: a request would fail
        "RIVET_TOKEN": "tok-s3cr3t",
        "CHAT_TOKEN": "param-s3cr3t",
    }

    def run(*args: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    assert (
        run("config", "set", "chat", "--param", "user=alice", "--secret-param", "token=CHAT_TOKEN", "--use").code == 0
    )
    r = run("-o", "json", "connect", "chatRoom", "general", "--sub", "newMessage", "--dry-run", stdin="typing bob\n")
    assert r.code == Exit.OK, r.err
    plan = json.loads(r.out)
    assert "s3cr3t" not in r.out + r.err
    assert plan["url"].startswith("ws://127.0.0.1:9/gateway/chatRoom/connect?")
    assert plan["url"].endswith("&rvt-token=$RIVET_TOKEN")
    assert plan["subprotocols"][:2] == ["rivet", "rivet_encoding.bare"]
    assert plan["subprotocols"][2].startswith("rivet_conn_params.") and "$CHAT_TOKEN" in plan["subprotocols"][2]
    assert plan["frames"] == [
        {"body": {"tag": "SubscriptionRequest", "val": {"eventName": "newMessage", "subscribe": True}}},
        {"body": {"tag": "ActionRequest", "val": {"id": 0, "name": "typing", "args": ["bob"]}}},
    ]
    w = run("-o", "jsonl", "watch", "fleet", "--keys", "a,@ID1", "calls", "--dry-run")
    assert w.code == Exit.OK, w.err
    plans = [json.loads(line) for line in w.out.splitlines()]
    assert [p["key"] for p in plans] == [["a"], None]
    assert plans[1]["url"] == "ws://127.0.0.1:9/gateway/ID1@$RIVET_TOKEN/connect"
    assert all(p["frames"][0]["body"]["val"]["eventName"] == "calls" for p in plans)
    assert "s3cr3t" not in w.out + w.err
    refused = run("watch", "fleet", "--all", "calls", "--dry-run")
    assert refused.code == Exit.USAGE and "--dry-run lists no actors" in refused.err


def test_call_dry_run_one_curl_per_actor_runs_as_printed(
    rivetctl: Run, prefix: str, endpoint: str, tmp_path: Path
) -> None:
    keys = [[f"{prefix}-a"], [prefix, "b"]]
    path = tmp_path / "keys.txt"
    path.write_text("".join(json.dumps(k) + "\n" for k in keys))
    r = rivetctl("call", "fleet", "--keys-from", str(path), "increment", "3", "--dry-run")
    assert r.code == Exit.OK, r.err
    commands = r.out.splitlines()
    assert len(commands) == 2 and all(c.startswith("curl ") for c in commands)
    assert counts(endpoint, keys) == [None, None]  # nothing was sent
    ran = subprocess.run(["bash", "-c", r.out], capture_output=True, text=True, timeout=60, env=outside_world())
    assert ran.returncode == 0, ran.stderr
    assert [json.loads(line) for line in ran.stdout.splitlines()] == [{"output": 3}, {"output": 3}]
    assert counts(endpoint, keys) == [3, 3]
    one = rivetctl("call", "fleet", f"{prefix}-a", "increment", "1", "--dry-run")
    assert one.code == Exit.OK and one.out.count("\n") == 1 and f"rvt-key={prefix}-a" in one.out
    refused = rivetctl("call", "fleet", "--all", "increment", "1", "--dry-run")
    assert refused.code == Exit.USAGE and "--dry-run lists no actors" in refused.err and refused.out == ""
