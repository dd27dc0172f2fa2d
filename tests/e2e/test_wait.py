"""``rivetctl wait`` against the real server: a condition on the state met at once or by a change made during
the wait, an event with and without a condition on its args, the timeout (exit 8, the last value on stderr),
a bad expression (exit 2), a missing actor (exit 4, not created) and an unreachable server (retried)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rivetctl.cli.app import main
from rivetctl.frontend.exits import Exit
from tests.envs import outside_world, private_home

pytestmark = pytest.mark.server


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), env=env, stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    return {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}


def set_count(env: dict[str, str], key: str, value: int) -> None:
    code, out, err = run(env, "call", "counter", key, "setCount", str(value))
    assert (code, out) == (0, f"{value}\n"), err


class Waiting:
    """``rivetctl wait`` in a subprocess, started and read up to its "waiting for" line on stderr."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rivetctl", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**outside_world(), **env},
        )
        assert self.proc.stderr is not None
        self.err = ""
        while "waiting for" not in self.err:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.err += line
        assert "waiting for" in self.err, self.err

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        try:
            out, rest = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.communicate()
        return self.proc.returncode, out, self.err + rest


def test_condition_met_at_once(env: dict[str, str], key: str) -> None:
    set_count(env, key, 3)
    started = time.monotonic()
    code, out, err = run(env, "--timeout", "20", "wait", "counter", key, "--until", "count >= `3`")
    assert (code, json.loads(out)) == (0, True), err
    assert time.monotonic() - started < 5
    code, out, err = run(env, "-o", "raw", "wait", "counter", key, "--until", "count")
    assert (code, out) == (0, "3\n"), err


def test_raw_prints_a_string_unquoted(env: dict[str, str], key: str) -> None:
    set_count(env, key, 1)
    code, out, err = run(env, "-o", "raw", "wait", "counter", key, "--until", "count == `1` && 'ready'")
    assert (code, out) == (0, "ready\n"), err


def test_condition_met_by_a_change_during_the_wait(env: dict[str, str], key: str) -> None:
    set_count(env, key, 0)
    waiting = Waiting(
        env,
        "--timeout",
        "30",
        "-o",
        "json",
        "wait",
        "counter",
        key,
        "--until",
        "count >= `10` && count",
        "--interval",
        "0.2",
    )
    time.sleep(0.5)
    assert waiting.proc.poll() is None  # not met yet
    set_count(env, key, 12)
    code, out, err = waiting.finish()
    assert (code, json.loads(out)) == (0, 12), err


def test_an_event_without_a_condition_ends_the_wait_with_its_args(env: dict[str, str], key: str) -> None:
    set_count(env, key, 0)
    waiting = Waiting(env, "--timeout", "30", "wait", "counter", key, "--event", "newCount")
    assert run(env, "call", "counter", key, "increment", "4")[0] == 0
    code, out, err = waiting.finish()
    assert (code, json.loads(out)) == (0, [4]), err


def test_an_event_with_a_condition_on_its_args(env: dict[str, str], key: str) -> None:
    set_count(env, key, 0)
    waiting = Waiting(
        env, "--timeout", "30", "wait", "counter", key, "--event", "newCount", "--until", "[0] >= `5` && [0]"
    )
    assert run(env, "call", "counter", key, "increment", "2")[0] == 0  # 2: not yet
    time.sleep(0.3)
    assert waiting.proc.poll() is None
    assert run(env, "call", "counter", key, "increment", "4")[0] == 0  # 6
    code, out, err = waiting.finish()
    assert (code, json.loads(out)) == (0, 6), err


def test_timeout_exits_8_with_the_last_value_on_stderr(env: dict[str, str], key: str) -> None:
    set_count(env, key, 7)
    started = time.monotonic()
    code, out, err = run(
        env, "--timeout", "1.5", "wait", "counter", key, "--until", "count > `100`", "--interval", "0.2"
    )
    assert code == Exit.TIMEOUT and out == ""
    assert time.monotonic() - started < 10
    lines = err.strip().splitlines()
    assert "last value: false" in lines[-1] and "--timeout 1.5 s" in lines[-1]
    code, _, err = run(env, "--timeout", "1", "wait", "counter", key, "--until", "missing", "--interval", "0.2")
    assert code == Exit.TIMEOUT and "last value: null" in err


def test_event_timeout_names_the_last_value(env: dict[str, str], key: str) -> None:
    set_count(env, key, 0)
    waiting = Waiting(env, "--timeout", "3", "wait", "counter", key, "--event", "newCount", "--until", "[0] > `100`")
    assert run(env, "call", "counter", key, "increment", "1")[0] == 0
    code, out, err = waiting.finish()
    assert (code, out) == (Exit.TIMEOUT, ""), err
    assert "last value: false" in err.strip().splitlines()[-1]


@pytest.mark.parametrize("expr", ["count >= ", "count[", "`unclosed", "nosuchfn(count)"])
def test_bad_expression_exits_2_before_anything_is_sent(env: dict[str, str], key: str, expr: str) -> None:
    code, out, err = run(env, "wait", "counter", key, "--until", expr)
    assert code == Exit.USAGE and out == ""
    assert err.count("\n") == 1 and "--until" in err
    assert run(env, "get", "counter", key)[0] == Exit.NOT_FOUND  # nothing created, nothing sent to it


def test_wait_needs_a_condition_or_an_event(env: dict[str, str], key: str) -> None:
    code, _, err = run(env, "wait", "counter", key)
    assert code == Exit.USAGE and "--until" in err


def test_missing_actor_exits_4_and_is_not_created(env: dict[str, str], key: str) -> None:
    for extra in (["--until", "count"], ["--event", "newCount"]):
        code, _, err = run(env, "--timeout", "10", "wait", "counter", key, *extra)
        assert code == Exit.NOT_FOUND, err
    assert run(env, "get", "counter", key)[0] == Exit.NOT_FOUND


def test_unreachable_server_is_retried_until_the_timeout(env: dict[str, str], key: str) -> None:
    code, _, err = run(env, "-e", "http://127.0.0.1:9", "--timeout", "1.5", "wait", "counter", key, "--until", "count")
    assert code == Exit.TIMEOUT
    lines = err.strip().splitlines()
    assert len(lines) >= 3
    assert all("retrying in" in line for line in lines[:-1])
    assert "connection refused" in lines[-1] and "no value seen" in lines[-1]
