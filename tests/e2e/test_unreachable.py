"""``watch`` with the server unreachable: within 2 s stderr says what is wrong and that it retries (one line
per attempt), ``--timeout`` still ends it, and once the server is reachable the watch subscribes and streams.
Real subprocesses; the late server is the real one behind a TCP proxy that refuses connections at first."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rivetctl.client import Client
from rivetctl.devserver import DevServer
from tests.envs import outside_world, private_home
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.timeout(90)

RIVETCTL = [sys.executable, "-m", "rivetctl"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(endpoint: str, home: Path) -> dict[str, str]:
    return {**outside_world(), **private_home(home), "RIVET_ENDPOINT": endpoint}


def test_watch_says_within_2s_that_it_cannot_reach_the_server_and_keeps_retrying(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    proc = subprocess.Popen(
        [*RIVETCTL, "watch", "counter", "x", "newCount"],
        env=env_for(endpoint, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        first_at = time.monotonic() - started
        lines = [first]
        while time.monotonic() - started < 4.0:
            lines.append(proc.stderr.readline())
            assert proc.poll() is None, "the watch gave up"
    finally:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert first_at < 2.0, f"first line after {first_at:.2f} s: {first!r}"
    assert first.startswith(f"rivetctl: cannot connect to {endpoint}: connection refused")
    assert "retrying in " in first and "Ctrl-C to stop" in first
    # one line per attempt, the delays growing (0.25, 0.5, 1, 2 s nominal): a handful in 4 s, not a flood
    assert 3 <= len(lines) <= 8, lines
    assert all("retrying in" in line for line in lines)
    assert "Traceback" not in "".join(lines)


def test_watch_unreachable_until_timeout_is_exit_8_naming_the_failure(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    r = subprocess.run(
        [*RIVETCTL, "--timeout", "2", "watch", "counter", "x", "newCount"],
        env=env_for(endpoint, tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert r.returncode == 8, r.stderr
    assert elapsed < 6
    assert "(until --timeout 2 s)" in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("rivetctl: not connected within --timeout 2 s: last failure: cannot connect to"), last


@pytest.mark.server
@pytest.mark.parametrize("key", ["plain", "with,comma"])
async def test_watch_started_while_the_server_is_unreachable_streams_once_it_is_back(
    server: DevServer, tmp_path: Path, key: str
) -> None:
    """The engine is unreachable for the first 3 s: the name check (and, for a key a URL cannot carry, the
    id lookup) fail over HTTP before any WebSocket; the watch retries them, then subscribes and streams."""
    key = f"{key}-{time.monotonic_ns()}"
    async with FaultProxy(server.endpoint) as proxy, Client(server.endpoint, env={}) as direct:
        await proxy.refuse_for(3.0)  # listener closed: connections are refused until it reopens
        proc = await asyncio.create_subprocess_exec(
            *RIVETCTL,
            "-o",
            "jsonl",
            "--timeout",
            "60",
            "watch",
            "counter",
            json.dumps([key]),
            "newCount",
            "--count",
            "2",
            env=env_for(proxy.endpoint, tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None and proc.stdout is not None
        err: list[str] = []

        async def next_err_line() -> str:
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()  # type: ignore[union-attr]
            err.append(line)
            return line

        try:
            assert "retrying in" in await next_err_line()
            while "watching" not in await next_err_line():
                pass
            assert proxy.accepted > 0
            state = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
            assert (state["type"], state["args"]) == ("state", {"count": 0})  # the inspector works too
            counter = direct.counter.get_or_create([key])
            assert await counter.increment(1) == 1
            assert await counter.increment(1) == 2
            out, rest = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    err.append(rest.decode())
    stderr = "".join(err)
    assert proc.returncode == 0, stderr
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert [r["args"] for r in records if r["type"] == "event"] == [[1], [2]]
    assert "cannot connect to" in stderr and "Traceback" not in stderr
