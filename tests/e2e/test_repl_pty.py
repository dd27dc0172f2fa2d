"""The REPL end to end through a real pseudo-terminal against the real server."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from rivetctl.client import Client
from rivetctl.devserver import DevServer
from tests.ptyterm import TIMEOUT, Term


def _env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVET")}
    env.update(
        {
            "RIVET_ENDPOINT": endpoint,
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "TERM": "xterm-256color",
            "NO_COLOR": "1",
            "COLUMNS": "160",
            "LINES": "40",
        }
    )
    return env


@pytest.fixture
def spawn(endpoint: str, tmp_path: Path) -> Iterator[object]:
    children: list[pexpect.spawn] = []

    def start(*args: str, endpoint_override: str | None = None) -> pexpect.spawn:
        env = _env(endpoint_override or endpoint, tmp_path)
        child = pexpect.spawn(
            sys.executable,
            ["-m", "rivetctl", *args],
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
            child.sendcontrol("d")
            try:
                child.expect(pexpect.EOF, timeout=10)
            except pexpect.TIMEOUT:
                child.terminate(force=True)
        child.close()


def _call(endpoint: str, *calls: tuple[str, str, tuple[object, ...]]) -> None:
    async def go() -> None:
        async with Client(endpoint, env={}) as client:
            for name, key, (action, *args) in calls:
                await client.actor(name).get_or_create(key).action(str(action), *args)

    asyncio.run(go())


def _prompt(key: str) -> str:
    return f'counter/["{key}"]>'


def test_call_and_result(spawn, key: str) -> None:  # type: ignore[no-untyped-def]
    child = spawn("connect", "counter", key)
    child.expect_exact(_prompt(key))
    child.sendline("increment 5")
    child.expect(r"increment · [0-9.]+ ms")
    assert "5" in child.before
    child.expect_exact(_prompt(key))
    child.sendline(".status")
    child.expect("connected")


def test_event_above_half_typed_line(spawn, endpoint: str, key: str) -> None:  # type: ignore[no-untyped-def]
    child = spawn("connect", "counter", key, "--sub", "newCount")
    child.expect_exact(_prompt(key))
    child.send("getCo")
    time.sleep(0.5)
    threading.Thread(target=_call, args=(endpoint, ("counter", key, ("increment", 7))), daemon=True).start()
    child.expect(r"newCount\s+\[7\]")
    # The half-typed line is redrawn below the event and finishing it works.
    child.expect_exact("getCo")
    child.sendline("unt")
    child.expect(r"getCount · [0-9.]+ ms")
    assert "7" in child.before


def test_tab_completes_action(spawn, key: str) -> None:  # type: ignore[no-untyped-def]
    child = spawn("connect", "counter", key)
    child.expect_exact(_prompt(key))
    time.sleep(1.5)  # action names are learned from the inspector in the background
    child.send("getCou")
    time.sleep(0.6)  # typed like a person: the completion menu is up before Tab
    child.send("\t")
    child.expect_exact("getCount")
    child.send("\r")
    child.expect(r"getCount · [0-9.]+ ms")


def test_ctrl_c_cancels_slow_call_not_repl(spawn, key: str) -> None:  # type: ignore[no-untyped-def]
    child = spawn("connect", "counter", key)
    child.expect_exact(_prompt(key))
    child.sendline("slow 8000")
    time.sleep(1.0)
    started = time.monotonic()
    child.sendcontrol("c")
    child.expect_exact("cancelled")
    child.expect_exact(_prompt(key))
    assert time.monotonic() - started < 5
    child.sendline("getCount")
    child.expect(r"getCount · [0-9.]+ ms")


def test_history_has_no_secret(spawn, key: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret = f"tok-{uuid.uuid4().hex}"
    child = spawn("--param", f"token={secret}", "connect", "counter", key)
    child.expect_exact(_prompt(key))
    child.sendline("getCount")
    child.expect(r"getCount · [0-9.]+ ms")
    child.sendline(f'.params {{"token": "{secret}"}}')
    child.expect("params set")
    child.sendline(".params")
    child.expect(r'"token": "\*\*\*"')
    child.sendline("increment 1")
    child.expect(r"increment · [0-9.]+ ms")
    # Control keys typed before the prompt is back would meet the tty's cooked mode (where Ctrl-D is
    # the line discipline's EOF, not a key): wait for the prompt, as a person would.
    child.expect_exact(_prompt(key))
    time.sleep(0.3)
    child.sendcontrol("d")
    child.expect_eof()
    history = (tmp_path / "state" / "rivetctl" / "history").read_text()
    assert "increment 1" in history and "getCount" in history
    assert secret not in history
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path


def test_reconnect_visible_and_next_call_works(spawn, server: DevServer, key: str) -> None:  # type: ignore[no-untyped-def]
    """The runner is killed and restarted; through a fault proxy the connection is also cut, so the
    toolbar must show the reconnection."""
    from tests.faultproxy import FaultProxy

    async def scenario() -> None:
        proxy = FaultProxy(server.endpoint)
        await proxy.start()
        try:
            child = spawn("connect", "counter", key, endpoint_override=proxy.endpoint)
            await asyncio.to_thread(child.expect_exact, _prompt(key))
            child.sendline("increment 1")
            await asyncio.to_thread(child.expect, r"increment · [0-9.]+ ms")
            # The runner persists actor state about once a second; a SIGKILL right after a change loses it
            # (server behaviour, not the client's), so let it save first.
            await asyncio.sleep(1.5)
            server.kill_runner()
            await proxy.refuse_for(2.0)
            await asyncio.to_thread(child.expect, r"reconnecting|connection lost")
            server.start_runner()
            await asyncio.to_thread(server.wait_ready, 60)
            child.sendline("increment 1")
            await asyncio.to_thread(child.expect, r"increment · [0-9.]+ ms", timeout=40)
            assert "reconnected" in child.before  # the one-line notice, printed before the queued call ran
            assert re.search(r"(?<![0-9:.])2\r\n", child.before), child.before[-300:]  # state kept: 1 + 1
            child.sendline(".status")
            await asyncio.to_thread(child.expect, "connected")
        finally:
            await proxy.stop()

    asyncio.run(scenario())


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


UNREACHABLE = (
    r"cannot connect to http://127\.0\.0\.1:[0-9]+: connection refused \(is the server running\?\); retrying in "
)


def test_unreachable_said_at_once_prompt_usable(spawn, key: str) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    child = spawn("connect", "counter", key, endpoint_override=f"http://127.0.0.1:{_closed_port()}")
    child.expect(UNREACHABLE, timeout=5)
    assert time.monotonic() - started < 2.0
    child.expect(r"calls wait for the connection, \.close stops trying")
    child.expect_exact(_prompt(key))
    child.expect(r"unreachable, (retrying in [0-9.]+ s|connecting)")  # the toolbar
    child.sendline(".help")
    child.expect_exact("close the current connection")
    child.expect_exact(_prompt(key))
    time.sleep(0.3)
    child.sendcontrol("d")
    child.expect_eof(timeout=10)


def test_unreachable_then_server_comes(spawn, server: DevServer, key: str) -> None:  # type: ignore[no-untyped-def]
    """The proxy in front of the real server is down for the first seconds: the REPL says so at once, takes
    commands meanwhile (a subscription, a call that waits), and opens the connection when it can."""
    from tests.faultproxy import FaultProxy

    async def scenario() -> None:
        proxy = FaultProxy(server.endpoint)
        await proxy.start()
        try:
            await proxy.refuse_for(5.0)
            started = time.monotonic()
            child = spawn("connect", "counter", key, endpoint_override=proxy.endpoint)
            await asyncio.to_thread(child.expect, UNREACHABLE, 5)
            assert time.monotonic() - started < 2.0
            await asyncio.to_thread(child.expect_exact, _prompt(key))
            child.sendline(".sub newCount")
            await asyncio.to_thread(child.expect_exact, "subscribed to newCount")
            child.sendline(".status")
            await asyncio.to_thread(child.expect, r"unreachable, (retrying in [0-9.]+ s|connecting)")
            child.sendline("increment 4")
            await asyncio.to_thread(child.expect_exact, "the call waits until the connection opens")
            await asyncio.to_thread(child.expect_exact, f'connected to counter/["{key}"]', 40)
            await asyncio.to_thread(child.expect, r"increment · [0-9.]+ ms")
            if not re.search(r"newCount\s+\[4\]", child.before):  # the subscription made while down
                await asyncio.to_thread(child.expect, r"newCount\s+\[4\]")
            assert time.monotonic() - started >= 5.0
            child.sendline("getCount")
            await asyncio.to_thread(child.expect, r"getCount · [0-9.]+ ms")
            assert re.search(r"(?<![0-9:.])4\r\n", child.before), child.before[-300:]
            child.sendline(".status")
            await asyncio.to_thread(child.expect, r"connected")
        finally:
            await proxy.stop()

    asyncio.run(scenario())


def test_server_that_does_not_answer_leaves_the_prompt(spawn, server: DevServer, key: str) -> None:  # type: ignore[no-untyped-def]
    """Through a black hole (the proxy accepts and forwards nothing) an open neither succeeds nor fails:
    --timeout ends the wait, Ctrl-C ends a .use's wait, and both connections keep trying in the background."""
    from tests.faultproxy import FaultProxy

    async def scenario() -> None:
        proxy = FaultProxy(server.endpoint)
        await proxy.start()
        try:
            proxy.set_delay(3600)
            child = spawn("--timeout", "3", "connect", "counter", key, endpoint_override=proxy.endpoint)
            await asyncio.to_thread(child.expect, r"still connecting in the background|; retrying in", 15)
            await asyncio.to_thread(child.expect_exact, _prompt(key))
            child.sendline(f".use counter {key}-2")
            await asyncio.sleep(1.0)
            child.sendcontrol("c")
            await asyncio.to_thread(child.expect, r"still connecting in the background \(\.close stops it\)")
            await asyncio.to_thread(child.expect_exact, "cancelled")
            await asyncio.to_thread(child.expect_exact, _prompt(f"{key}-2"))
            proxy.set_delay(0)  # connections from now on get through; the stuck ones time out and are retried
            await asyncio.to_thread(child.expect_exact, f'connected to counter/["{key}-2"]', 40)
            child.sendline("increment 2")
            await asyncio.to_thread(child.expect, r"increment · [0-9.]+ ms", 40)
            child.sendline(f".use counter {key}")
            await asyncio.to_thread(child.expect_exact, _prompt(key), 40)
            child.sendline("getCount")
            await asyncio.to_thread(child.expect, r"getCount · [0-9.]+ ms", 40)
        finally:
            await proxy.stop()

    asyncio.run(scenario())
