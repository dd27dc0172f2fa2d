"""Connection state without a server: status while the port is refused, queueing, timeouts, dispose,
listener bookkeeping, the events iterator's overflow policy, the subprotocol offer."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetctl.client import Client
from rivetctl.client.connection import ActorConnection, ListenerError
from rivetctl.errors import (
    ConfigError,
    ConnectionDisposedError,
    NetworkError,
    PayloadTooLargeError,
    RequestTimeoutError,
    UnsupportedError,
)
from rivetctl.transport.websocket import subprotocols

pytestmark = pytest.mark.timeout(30)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    """A client whose endpoint refuses every connection (nothing listens there)."""
    async with Client(f"http://127.0.0.1:{_closed_port()}", check_names=False, env={}) as c:
        yield c


@pytest.fixture
async def conn(client: Client) -> AsyncIterator[ActorConnection]:
    c = client.counter.get_or_create("k").connect()
    yield c
    await c.dispose()


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_refused_port_keeps_retrying_with_backoff(client: Client) -> None:
    started = time.monotonic()
    conn = client.counter.get_or_create("k").connect()
    statuses: list[str] = []
    errors: list[Exception] = []
    conn.on_status(statuses.append)  # registered before the loop runs: sees every change
    conn.on_error(errors.append)
    try:
        await until(lambda: conn.attempts >= 4)
        elapsed = time.monotonic() - started
        # delays before attempts 2..4: at most 0.25 + 0.5 + 1 s, at least half of that
        assert 0.85 <= elapsed <= 2.5
        assert statuses == ["connecting"]  # as in the official client: one status for the whole retry loop
        assert conn.status == "connecting"
        assert len(errors) >= 3
        assert all(isinstance(e, NetworkError) and "refused" in str(e) for e in errors)
        assert conn.last_failure is errors[-1]
        assert conn.error is None
    finally:
        await conn.dispose()


async def test_actions_queue_while_disconnected_and_time_out_unsent(conn: ActorConnection) -> None:
    task = asyncio.create_task(conn.action("increment", 1, timeout=0.3))
    await until(lambda: conn.queued == 1)
    with pytest.raises(RequestTimeoutError, match="increment"):
        await task
    assert conn.queued == 0  # a timed-out action is never sent later
    other = asyncio.create_task(conn.increment(2))
    await until(lambda: conn.queued == 1)
    other.cancel()
    with pytest.raises(asyncio.CancelledError):
        await other
    assert conn.queued == 0


async def test_each_action_times_out_at_its_own_deadline(conn: ActorConnection) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    ended: dict[float, float] = {}

    async def call(timeout: float) -> None:
        with pytest.raises(RequestTimeoutError, match=f"within {timeout:g} s"):
            await conn.action("increment", 1, timeout=timeout)
        ended[timeout] = loop.time() - started

    slow = asyncio.create_task(conn.action("increment", 1, timeout=30))
    await asyncio.gather(call(0.9), call(0.2), call(0.5))
    assert sorted(ended, key=ended.__getitem__) == [0.2, 0.5, 0.9]
    for timeout, elapsed in ended.items():
        assert timeout <= elapsed + 0.01 < timeout + 0.4, ended
    assert not slow.done() and conn.queued == 1
    slow.cancel()


async def test_wait_open_timeout_names_the_last_failure(conn: ActorConnection) -> None:
    with pytest.raises(RequestTimeoutError, match="refused"):
        await conn.wait_open(0.5)


async def test_dispose_rejects_queued_and_is_idempotent(conn: ActorConnection) -> None:
    closes: list[Any] = []
    conn.on_close(closes.append)
    queued = [asyncio.create_task(conn.increment(1)) for _ in range(3)]
    await until(lambda: conn.queued == 3)
    await conn.dispose()
    await conn.dispose()
    for task in queued:
        with pytest.raises(ConnectionDisposedError):
            await task
    assert conn.status == "disposed"
    assert closes == []  # it never was connected
    attempts = conn.attempts
    await asyncio.sleep(0.6)
    assert conn.attempts == attempts
    with pytest.raises(ConnectionDisposedError):
        await conn.getCount()
    with pytest.raises(ConnectionDisposedError):
        conn.events("x")


async def test_payload_too_large_is_refused_before_queueing(conn: ActorConnection) -> None:
    with pytest.raises(PayloadTooLargeError) as info:
        await conn.echo("x" * 70_000)
    assert info.value.limit == 65_536
    assert conn.queued == 0


async def test_sse_and_unknown_transports(client: Client) -> None:
    handle = client.counter.get_or_create("k")
    with pytest.raises(UnsupportedError, match=r"removed from RivetKit servers in 2\.0\.24"):
        handle.connect(transport="sse")
    with pytest.raises(ConfigError, match="unknown transport"):
        handle.connect(transport="grpc")


async def test_listeners_on_once_off_and_callback_errors(conn: ActorConnection) -> None:
    got: list[tuple[str, Any]] = []
    errors: list[Exception] = []
    conn.on_error(lambda e: errors.append(e) if isinstance(e, ListenerError) else None)

    def a(*args: Any) -> None:
        got.append(("a", args))

    async def b(*args: Any) -> None:
        got.append(("b", args))

    def boom(*args: Any) -> None:
        raise KeyError("nope")

    unsub_a = conn.on("ev", a)
    conn.once("ev", b)
    conn.on("ev", boom)
    conn._listeners.emit("ev", [1, "x"])
    await asyncio.sleep(0)
    conn._listeners.emit("ev", [2])
    await asyncio.sleep(0)
    assert got == [("a", (1, "x")), ("b", (1, "x")), ("a", (2,))]
    assert len(errors) == 2 and isinstance(errors[0].__cause__, KeyError)
    unsub_a()
    unsub_a()  # idempotent
    conn._listeners.emit("ev", [3])
    assert got[-1] == ("a", (2,))
    conn.off("ev")
    assert "ev" not in conn._listeners
    conn.on("ev", a)
    conn.on("ev", a)
    conn.off("ev", a)  # every registration of this callback
    assert "ev" not in conn._listeners


async def test_status_callback_errors_never_break_anything(client: Client) -> None:
    conn = client.counter.get_or_create("k").connect()
    errors: list[Exception] = []
    conn.on_error(errors.append)

    def bad_status(status: str) -> None:
        raise RuntimeError(status)

    conn.on_status(bad_status)
    try:
        await until(lambda: conn.attempts >= 2)
        assert isinstance(errors[0], ListenerError) and str(errors[0].__cause__) == "connecting"
        assert isinstance(errors[-1], NetworkError)  # the loop went on
    finally:
        await conn.dispose()


async def test_events_iterator_overflow_drops_oldest_and_counts(conn: ActorConnection) -> None:
    stream = conn.events("tick", maxsize=3)
    for i in range(10):
        conn._listeners.emit("tick", [i])
    assert (stream.buffered, stream.dropped) == (3, 7)
    first = await stream.__anext__()
    assert (first.name, first.args, first.dropped_before) == ("tick", [7], 7)
    conn._listeners.emit("tick", [10])
    conn._listeners.emit("tick", [11])  # buffer [8, 9, 10] is full: drops 8
    nxt = await stream.__anext__()
    assert (nxt.args, nxt.dropped_before) == ([9], 1)
    assert stream.dropped == 8
    stream.close()
    assert [e.args async for e in stream] == [[10], [11]]
    assert "tick" not in conn._listeners


async def test_events_iterator_needs_names_and_positive_size(conn: ActorConnection) -> None:
    with pytest.raises(ConfigError):
        conn.events()
    with pytest.raises(ConfigError):
        conn.events("x", maxsize=0)


async def test_events_iterator_waits_and_ends_on_dispose(conn: ActorConnection) -> None:
    async with conn.events("a", "b") as stream:
        consumer = asyncio.create_task(anext(stream))
        await asyncio.sleep(0.01)
        assert not consumer.done()
        conn._listeners.emit("b", [1])
        event = await asyncio.wait_for(consumer, 1)
        assert (event.name, event.args) == ("b", [1])
        waiting = asyncio.create_task(anext(stream))
        await asyncio.sleep(0.01)
        await conn.dispose()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, 1)


def test_connect_outside_a_loop_is_idle() -> None:
    client = Client(f"http://127.0.0.1:{_closed_port()}", check_names=False, env={})
    conn = client.counter.get_or_create("k").connect()
    assert conn.status == "idle"
    assert conn.queued == 0
    conn.on("x", print)  # allowed before start


def test_subprotocols_offer() -> None:
    assert subprotocols("bare", None) == ["rivet", "rivet_encoding.bare"]
    offered = subprotocols("json", {"token": "a b/c", "n": 1})
    assert offered[:2] == ["rivet", "rivet_encoding.json"]
    assert offered[2] == "rivet_conn_params.%7B%22token%22%3A%22a%20b%2Fc%22%2C%22n%22%3A1%7D"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@given(json_values.filter(lambda v: v is not None))
def test_params_subprotocol_is_always_a_valid_token_and_round_trips(params: Any) -> None:
    from websockets.headers import validate_subprotocols

    offered = subprotocols("cbor", params)
    validate_subprotocols(offered)  # raises on any character outside the HTTP token set
    assert json.loads(unquote(offered[2].removeprefix("rivet_conn_params."))) == params


def test_websockets_debug_log_never_shows_the_token(caplog: pytest.LogCaptureFixture) -> None:
    from rivetctl.transport.websocket import ws_log

    with caplog.at_level(logging.DEBUG, logger=ws_log.name):
        ws_log.debug("> GET %s HTTP/1.1", "/gateway/counter/connect?rvt-namespace=ns&rvt-token=s3cret&rvt-key=k")
        ws_log.debug("> GET %s HTTP/1.1", "/gateway/abc123@s3cret/connect")
    assert "s3cret" not in caplog.text
    assert "rvt-token=***" in caplog.text and "/gateway/abc123@***/connect" in caplog.text


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({}, "wss://h.example", (None, True)),
        ({"HTTPS_PROXY": "http://p:3128"}, "wss://h.example", ("http://p:3128", True)),
        ({"HTTPS_PROXY": "http://p:3128"}, "ws://h.example", ("http://p:3128", True)),
        ({"HTTP_PROXY": "http://p:3128"}, "ws://h.example", ("http://p:3128", True)),
        ({"HTTP_PROXY": "http://p:3128"}, "wss://h.example", (None, True)),
        ({"WSS_PROXY": "http://w:1", "HTTPS_PROXY": "http://p:3128"}, "wss://h.example", ("http://w:1", True)),
        ({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "h.example"}, "wss://h.example:8443", (None, True)),
        ({"ALL_PROXY": "http://a:8080"}, "ws://h.example", ("http://a:8080", "http://a:8080")),
        ({"ALL_PROXY": "http://a:8080", "NO_PROXY": "*"}, "ws://h.example", (None, True)),
    ],
)
def test_websocket_proxy_follows_websockets_rules_plus_all_proxy(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, expected: tuple[object, object]
) -> None:
    """``True`` leaves the choice to websockets; only an ``ALL_PROXY`` (which websockets ignores) is passed."""
    import os

    from rivetctl.transport.ws_errors import proxy_for

    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(url) == expected
