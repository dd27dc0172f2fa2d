"""Live connections against the real server: actions, events, subscriptions, lifecycle, volume.

Fault injection (cuts, refusals, runner kills) lives in ``test_connection_faults.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rivetctl.client import Client
from rivetctl.client.connection import ActorConnection, CloseInfo, ListenerError
from rivetctl.devserver import DevServer
from rivetctl.errors import (
    ActorError,
    AuthError,
    ConfigError,
    ConnectionDisposedError,
    PayloadTooLargeError,
    UnsupportedError,
)
from rivetctl.protocol.encoding import decode_to_server
from rivetctl.protocol.messages import ActionRequest, SubscriptionRequest

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]

ENCODINGS = ["json", "cbor", "bare"]


class WireTracer:
    """Records every WebSocket frame the client sends (decoded) and receives."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.sent: list[Any] = []
        self.received = 0
        self.opened: list[str] = []

    def http_request(self, *args: Any) -> None:
        pass

    def http_response(self, *args: Any) -> None:
        pass

    def ws_open(self, url: str) -> None:
        self.opened.append(url)

    def ws_message(self, direction: str, data: bytes | str) -> None:
        if direction == "send":
            raw = data.encode() if isinstance(data, str) else data
            self.sent.append(decode_to_server(raw, self.encoding))  # type: ignore[arg-type]
        else:
            self.received += 1

    def subscriptions(self) -> list[tuple[str, bool]]:
        return [(m.event_name, m.subscribe) for m in self.sent if isinstance(m, SubscriptionRequest)]


@pytest.fixture
async def client(server: DevServer) -> AsyncIterator[Client]:
    async with Client(server.endpoint, encoding="bare", env={}) as c:
        yield c


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_actions_and_events_in_every_encoding(server: DevServer, key: str, encoding: str) -> None:
    async with Client(server.endpoint, encoding=encoding, env={}) as client:
        handle = client.counter.get_or_create(key)
        statuses: list[str] = []
        async with handle.connect() as conn:
            conn.on_status(statuses.append)
            assert conn.status == "connected"
            assert conn.actor_id and conn.connection_id
            seen: list[int] = []
            got = asyncio.Event()

            def on_count(n: int) -> None:
                seen.append(n)
                got.set()

            conn.on("newCount", on_count)
            assert await conn.increment(5) == 5
            assert await conn.action("increment", 2) == 7
            await asyncio.wait_for(got.wait(), 5)
            await until(lambda: seen == [5, 7])
            assert await conn.echo("héllo ✓", [1, {"a": None}], True) == ["héllo ✓", [1, {"a": None}], True]
            assert await handle.getCount() == 7  # the same actor over HTTP
        assert conn.status == "disposed"
        assert statuses[-1] == "disposed"


async def test_action_errors_do_not_break_the_connection(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        first_id = conn.connection_id
        with pytest.raises(ActorError) as info:
            await conn.throwUserCode()
        assert (info.value.group, info.value.code, info.value.message) == ("user", "RATE_LIMITED", "nope")
        with pytest.raises(ActorError) as meta:
            await conn.throwUserMeta()
        assert meta.value.metadata == {"reason": "because", "n": 42}
        with pytest.raises(ActorError) as missing:
            await conn.noSuchAction()
        assert missing.value.full_code == "actor.action_not_found"
        with pytest.raises(AuthError):
            await conn.throwForbidden()
        assert await conn.increment(1) == 1
        assert conn.connection_id == first_id


async def test_responses_are_matched_by_id_out_of_order(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        order: list[str] = []

        async def run(name: str, *args: Any) -> Any:
            result = await conn.action(name, *args)
            order.append(name)
            return result

        slow, count = await asyncio.gather(run("slow", 500), run("getCount"))
        assert (slow, count) == (500, 0)
        assert order == ["getCount", "slow"]


async def test_subscribe_on_first_listener_unsubscribe_on_last(server: DevServer, key: str) -> None:
    tracer = WireTracer("json")
    async with Client(server.endpoint, encoding="json", env={}, tracer=tracer) as client:  # type: ignore[arg-type]
        async with client.counter.get_or_create(key).connect() as conn:
            a: list[int] = []
            b: list[int] = []
            once: list[int] = []
            off_a = conn.on("newCount", a.append)
            conn.on("newCount", b.append)
            conn.once("newCount", once.append)
            await conn.increment(1)
            await conn.increment(1)
            await until(lambda: len(a) == 2 and len(b) == 2)
            assert once == [1]
            off_a()
            await conn.increment(1)
            await until(lambda: len(b) == 3)
            assert a == [1, 2]
            conn.off("newCount", b.append)  # the last listener: unsubscribes
            await conn.increment(1)
            await conn.getCount()
            await asyncio.sleep(0.2)
            assert b == [1, 2, 3]
            assert tracer.subscriptions() == [("newCount", True), ("newCount", False)]
            # re-subscribing works, and off(name) removes all callbacks of a name
            c: list[int] = []
            conn.on("newCount", c.append)
            conn.on("newCount", lambda n: c.append(-n))
            await conn.increment(1)
            await until(lambda: len(c) == 2)
            assert c == [5, -5]
            conn.off("newCount")
            await until(lambda: len(tracer.subscriptions()) == 4)
            assert tracer.subscriptions()[-2:] == [("newCount", True), ("newCount", False)]
        ids = [m.id for m in tracer.sent if isinstance(m, ActionRequest)]
        assert ids == sorted(set(ids))


async def test_targeted_events_and_multi_arg_events(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        direct: list[str] = []
        ticks: list[tuple[int, str]] = []
        conn.on("direct", direct.append)
        conn.on("tick", lambda i, label: ticks.append((i, label)))
        assert await conn.sendToMe("hi there") is True
        assert await conn.multiEvent(3) == 3
        await until(lambda: len(ticks) == 3 and direct == ["hi there"])
        assert ticks == [(0, "tick-0"), (1, "tick-1"), (2, "tick-2")]


async def test_callbacks_sync_async_and_raising(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        errors: list[Exception] = []
        conn.on_error(errors.append)
        from_async: list[int] = []

        def bad(n: int) -> None:
            raise RuntimeError(f"boom {n}")

        async def good(n: int) -> None:
            await asyncio.sleep(0.01)
            from_async.append(n)

        async def bad_async(n: int) -> None:
            raise ValueError("async boom")

        conn.on("newCount", bad)
        conn.on("newCount", good)
        conn.on("newCount", bad_async)
        assert await conn.increment(3) == 3
        assert await conn.increment(1) == 4
        await until(lambda: sorted(from_async) == [3, 4] and len(errors) == 4)
        assert all(isinstance(e, ListenerError) for e in errors)
        causes = sorted(type(e.__cause__).__name__ for e in errors)
        assert causes == ["RuntimeError", "RuntimeError", "ValueError", "ValueError"]
        assert conn.status == "connected"


async def test_events_iterator(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        async with conn.events("newCount", "tick") as stream:
            await conn.increment(2)
            await conn.multiEvent(2)
            got = [await asyncio.wait_for(stream.__anext__(), 5) for _ in range(3)]
        assert [(e.name, e.args) for e in got] == [
            ("newCount", [2]),
            ("tick", [0, "tick-0"]),
            ("tick", [1, "tick-1"]),
        ]
        assert all(e.received_at <= time.time() and e.dropped_before == 0 for e in got)
        # closed: iteration ends
        assert [e async for e in stream] == []


async def test_events_iterator_drops_oldest_when_full(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        stream = conn.events("burst", maxsize=100)
        assert await conn.burst(1000) == 1000
        await until(lambda: stream.dropped == 900)
        assert stream.buffered == 100
        first = await stream.__anext__()
        assert (first.args, first.dropped_before) == ([900], 900)
        second = await stream.__anext__()
        assert (second.args, second.dropped_before) == ([901], 0)
        stream.close()
        rest = [e.args[0] async for e in stream]
        assert rest == list(range(902, 1000))


async def test_events_iterator_ends_on_dispose(client: Client, key: str) -> None:
    conn = client.counter.get_or_create(key).connect()
    await conn.wait_open(30)
    stream = conn.events("newCount")

    async def consume() -> list[int]:
        return [e.args[0] async for e in stream]

    consumer = asyncio.create_task(consume())
    await conn.increment(1)
    await conn.increment(1)
    await until(lambda: stream.buffered == 0)
    await conn.dispose()
    assert await asyncio.wait_for(consumer, 5) == [1, 2]


async def test_params_reach_the_actor(client: Client, key: str) -> None:
    async with client.secure.get_or_create(key).connect(params={"token": "secret", "user": "zoë (admin) ✓"}) as conn:
        assert await conn.whoami() == {"user": "zoë (admin) ✓", "visits": 1}
    params = {"token": "secret", "user": "bob", "n": 1}
    async with client.counter.get_or_create(key).connect(params=params) as conn:
        info = await conn.connInfo()
        assert info["params"] == params
        assert info["id"] == conn.connection_id


@pytest.mark.parametrize(
    ("params", "full_code", "metadata"),
    [
        (None, "auth.forbidden", None),
        ({"token": "wrong"}, "auth.forbidden", None),
        ({"user": "banned"}, "user.unauthorized", {"hint": "use secret"}),
    ],
)
async def test_rejected_by_on_before_connect_is_one_clear_error(
    client: Client, key: str, params: Any, full_code: str, metadata: Any
) -> None:
    conn = client.secure.get_or_create(key).connect(params=params)
    errors: list[Exception] = []
    conn.on_error(errors.append)
    started = time.monotonic()
    with pytest.raises(ActorError) as info:
        await conn.wait_open(30)
    assert time.monotonic() - started < 15  # generous: the shared test machine may be loaded
    assert info.value.full_code == full_code
    assert info.value.metadata == metadata
    await asyncio.sleep(1.0)  # no retry loop in the background
    assert conn.attempts == 1
    assert conn.status == "idle"
    assert conn.error is info.value
    assert errors == [info.value]
    with pytest.raises(ActorError):
        await conn.whoami()
    if full_code.startswith("auth."):
        assert isinstance(info.value, AuthError)
    await conn.dispose()
    with pytest.raises(ConnectionDisposedError):
        await conn.whoami()


async def test_async_with_raises_the_rejection(client: Client, key: str) -> None:
    with pytest.raises(AuthError, match=r"auth\.forbidden"):
        async with client.secure.get_or_create(key).connect():
            pytest.fail("must not get here")


async def test_get_on_missing_key_is_fatal_not_found(client: Client, key: str) -> None:
    conn = client.counter.get(f"missing-{key}").connect()
    with pytest.raises(ActorError) as info:
        await conn.wait_open(30)
    assert info.value.full_code == "actor.not_found"
    assert conn.attempts == 1
    await conn.dispose()


async def test_sse_transport_is_a_clear_error(client: Client, key: str) -> None:
    handle = client.counter.get_or_create(key)
    with pytest.raises(UnsupportedError, match=r"SSE.*removed.*2\.0\.24"):
        handle.connect(transport="sse")
    with pytest.raises(ConfigError):
        handle.connect(transport="carrier-pigeon")


async def test_dispose_rejects_pending_and_is_idempotent(client: Client, key: str) -> None:
    conn = client.counter.get_or_create(key).connect()
    closes: list[CloseInfo] = []
    statuses: list[str] = []
    conn.on_close(closes.append)
    conn.on_status(statuses.append)
    await conn.wait_open(30)
    calls: list[int] = []
    conn.on("newCount", calls.append)
    pending = asyncio.create_task(conn.slow(3000))
    await until(lambda: conn.in_flight == 1)
    await conn.dispose()
    with pytest.raises(ConnectionDisposedError):
        await pending
    await conn.dispose()
    assert conn.status == "disposed"
    assert statuses[-1] == "disposed" and statuses.count("disposed") == 1
    assert [(c.code, c.reason, c.reconnecting) for c in closes] == [(1000, "Disposed", False)]
    with pytest.raises(ConnectionDisposedError):
        await conn.increment(1)
    with pytest.raises(ConnectionDisposedError):
        conn.on("newCount", print)
    with pytest.raises(ConnectionDisposedError):
        await conn.wait_open()


async def test_large_output_and_too_large_input(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        out = await conn.bigOutput(1000 * 1000)
        assert len(out) == 1000 * 1000
        with pytest.raises(PayloadTooLargeError):
            await conn.echo("x" * 70_000)
        assert await conn.increment(1) == 1


async def test_connect_without_a_running_loop_starts_idle(server: DevServer, key: str) -> None:
    client = Client(server.endpoint, env={})
    conn: ActorConnection = await asyncio.to_thread(lambda: client.counter.get_or_create(key).connect())
    assert conn.status == "idle"
    assert await conn.increment(4) == 4  # first use starts it
    assert conn.status == "connected"
    await conn.dispose()
    await client.aclose()


async def test_ten_thousand_pipelined_actions(client: Client, key: str) -> None:
    """10,000 actions in flight at once over 4 connections (the server slows a connection after ~2,550)."""
    handle = client.counter.get_or_create(key)
    await handle.getCount()  # create the actor first: sockets racing to create one new actor are slow
    conns = [handle.connect() for _ in range(4)]
    await asyncio.gather(*(c.wait_open(30) for c in conns))
    started = time.perf_counter()
    results = await asyncio.gather(*(conns[i % 4].echo(i, f"v{i}") for i in range(10_000)))
    elapsed = time.perf_counter() - started
    assert results == [[i, f"v{i}"] for i in range(10_000)]
    print(f"\n10,000 pipelined actions over 4 connections: {elapsed:.2f} s ({10_000 / elapsed:.0f}/s)")
    await asyncio.gather(*(c.dispose() for c in conns))


async def test_two_thousand_pipelined_on_one_connection(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        started = time.perf_counter()
        results = await asyncio.gather(*(conn.increment(1) for _ in range(2000)))
        elapsed = time.perf_counter() - started
        # every increment ran exactly once; the server may run pipelined actions in any order
        assert sorted(results) == list(range(1, 2001))
        print(f"\n2,000 pipelined increments on one connection: {elapsed:.2f} s ({2000 / elapsed:.0f}/s)")


async def test_five_thousand_event_burst_in_order(client: Client, key: str) -> None:
    async with client.counter.get_or_create(key).connect() as conn:
        seen: list[int] = []
        conn.on("burst", seen.append)
        stream = conn.events("burst")
        started = time.perf_counter()
        assert await conn.burst(5000) == 5000
        await until(lambda: len(seen) == 5000, timeout=20)
        elapsed = time.perf_counter() - started
        assert seen == list(range(5000))
        got = [stream._buffer[i].args[0] for i in range(stream.buffered)]
        assert got == list(range(5000)) and stream.dropped == 0
        print(f"\n5,000-event burst: {elapsed:.2f} s ({5000 / elapsed:.0f} events/s)")
