"""Live connections under faults: a TCP fault proxy in front of the real server, and real server events
(runner SIGKILL, actor sleep, kick, destroy). Never a fake server."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faultproxy import FaultProxy

from rivetctl.client import Client, connection
from rivetctl.client.connection import ActorConnection, CloseInfo
from rivetctl.devserver import DevServer
from rivetctl.errors import ActorNotFoundError, ConnectionLostError, NetworkError, RequestTimeoutError
from rivetctl.transport.websocket import WebSocketTransport

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]


@pytest.fixture
async def proxy(server: DevServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(server.endpoint) as p:
        yield p


@pytest.fixture
async def pclient(proxy: FaultProxy) -> AsyncIterator[Client]:
    """A client that reaches the server only through the fault proxy."""
    async with Client(proxy.endpoint, encoding="cbor", connect_timeout=2.0, env={}) as c:
        await c.actor_names()  # cached: later name checks never need the (possibly refusing) proxy
        yield c


@pytest.fixture
async def direct(server: DevServer) -> AsyncIterator[Client]:
    async with Client(server.endpoint, env={}) as c:
        yield c


async def until(predicate: Any, timeout: float = 10.0, why: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout:g} s" + (f": {why()}" if why else ""))
        await asyncio.sleep(0.01)


class Recorder:
    """Status changes with timestamps, closes and errors of one connection."""

    def __init__(self, conn: ActorConnection) -> None:
        self.statuses: list[tuple[float, str]] = []
        self.closes: list[CloseInfo] = []
        self.errors: list[Exception] = []
        conn.on_status(lambda s: self.statuses.append((time.monotonic(), s)))
        conn.on_close(self.closes.append)
        conn.on_error(self.errors.append)

    def names(self) -> list[str]:
        return [s for _, s in self.statuses]

    def first(self, status: str, after: float = 0.0) -> float:
        return next(t for t, s in self.statuses if s == status and t >= after)

    def __repr__(self) -> str:
        return f"statuses={self.names()} closes={self.closes} errors={self.errors}"


async def test_cut_mid_stream_reconnects_restores_subscriptions_and_delivers_queued_once(
    pclient: Client, direct: Client, proxy: FaultProxy, key: str
) -> None:
    conn = pclient.counter.get_or_create(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    first_connection = conn.connection_id
    counts: list[int] = []
    conn.on("newCount", counts.append)
    assert await conn.increment(1) == 1
    in_flight = asyncio.create_task(conn.slow(2000))
    await until(lambda: conn.in_flight == 1)

    await proxy.refuse_for(1.0)  # cuts everything, then refuses for 1 s
    with pytest.raises(ConnectionLostError, match="in flight") as lost:
        await in_flight
    assert lost.value.close_code == 1006
    assert conn.status in ("disconnected", "connecting")
    queued = [asyncio.create_task(conn.increment(1)) for _ in range(20)]
    await until(lambda: conn.queued == 20)

    results = await asyncio.wait_for(asyncio.gather(*queued), 15)
    assert sorted(results) == list(range(2, 22))  # each queued action ran exactly once
    assert conn.status == "connected"
    assert conn.connection_id != first_connection
    assert conn.reconnects == 1
    assert await direct.counter.get_or_create(key).getCount() == 21
    # the subscription was restored: events flow on the new socket
    await until(lambda: counts[-1:] == [21])
    assert await conn.increment(1) == 22
    await until(lambda: counts[-1:] == [22])
    assert rec.names()[:2] == ["connecting", "connected"]
    assert "disconnected" in rec.names() and rec.names()[-1] == "connected"
    assert [c.code for c in rec.closes] == [1006]
    assert conn.queued == 0 and conn.in_flight == 0
    await conn.dispose()


async def test_action_that_ran_before_the_connection_dropped_is_never_sent_again(
    pclient: Client, direct: Client, proxy: FaultProxy, key: str
) -> None:
    """The request reaches the actor, which runs it; the answer is still on its way when the path is cut.
    The caller is told the action may or may not have run, and the new connection never sends it again:
    the actor's state shows exactly one run."""
    conn = pclient.counter.get_or_create(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    first = conn.connection_id
    assert await conn.increment(10) == 10
    proxy.set_delay(2.0)  # every chunk, both ways: the answer comes back ~2 s after the actor ran the action
    in_flight = asyncio.create_task(conn.increment(1))
    counter = direct.counter.get_or_create(key)
    deadline = time.monotonic() + 10
    while await counter.getCount() != 11:  # the actor ran it (seen over HTTP, around the proxy)
        assert time.monotonic() < deadline, "the request never reached the actor"
        await asyncio.sleep(0.05)
    assert not in_flight.done() and conn.in_flight == 1
    proxy.set_delay(0)
    proxy.cut_all()  # the answer, still held by the proxy, is lost with the connection
    with pytest.raises(ConnectionLostError, match="may or may not have run") as lost:
        await in_flight
    assert lost.value.close_code == 1006
    await until(lambda: conn.status == "connected" and conn.connection_id != first, timeout=15, why=lambda: rec)
    await asyncio.sleep(0.5)  # room for a (wrong) re-send to land
    assert await conn.getCount() == 11
    assert await counter.getCount() == 11
    assert conn.reconnects == 1 and conn.queued == 0 and conn.in_flight == 0
    await conn.dispose()


async def test_refused_for_three_seconds_reconnects_within_backoff_bounds(
    pclient: Client, proxy: FaultProxy, key: str
) -> None:
    conn = pclient.counter.get_or_create(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    attempts_before = conn.attempts
    started = time.monotonic()
    await proxy.refuse_for(3.0)
    await until(lambda: conn.status != "connected")
    await until(lambda: conn.status == "connected", timeout=15)
    took = time.monotonic() - started
    attempts = conn.attempts - attempts_before
    # Delays 0.25, 0.5, 1, 2, 4 s nominal, each jittered to 50-100%. The last refused attempt starts
    # before 3 s and the next waits at most one nominal 4 s delay more: 3 + 4 s, plus the handshake.
    assert 3.0 <= took <= 9.0, took
    assert 4 <= attempts <= 8, attempts  # not a hot loop, not stuck
    failures = [e for e in rec.errors if isinstance(e, NetworkError)]
    assert len(failures) == attempts - 1
    assert all("refused" in str(e) for e in failures)
    assert await conn.increment(1) == 1
    print(f"\nrefused 3 s: reconnected after {took:.2f} s in {attempts} attempts")
    await conn.dispose()


async def test_refused_port_at_first_connect_never_wedges(pclient: Client, proxy: FaultProxy, key: str) -> None:
    await proxy.refuse_for(1.5)
    conn = pclient.counter.get_or_create(key).connect()
    pending = asyncio.create_task(conn.increment(7))
    await until(lambda: conn.attempts >= 2)
    assert conn.status in ("connecting", "disconnected")
    assert conn.queued == 1
    assert await asyncio.wait_for(pending, 10) == 7
    assert conn.status == "connected"
    await conn.dispose()


async def test_accept_and_reset_counts_as_failed_attempts(pclient: Client, proxy: FaultProxy, key: str) -> None:
    conn = pclient.counter.get_or_create(key).connect()
    await conn.wait_open(30)
    before = conn.attempts
    await proxy.refuse_for(1.2, mode="reset")
    await until(lambda: conn.status != "connected")
    await until(lambda: conn.status == "connected", timeout=10)
    # A young connection (< 2 s) that drops waits before its first retry (flap guard): attempts at
    # ~0.25 and ~0.75 s are reset, the one at ~1.75 s gets through.
    assert proxy.reset_on_accept >= 2
    assert conn.attempts - before == proxy.reset_on_accept + 1
    assert await conn.increment(2) == 2
    await conn.dispose()


async def test_truncated_frame_rejects_in_flight_and_reconnects(pclient: Client, proxy: FaultProxy, key: str) -> None:
    conn = pclient.counter.get_or_create(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    assert await conn.increment(1) == 1
    proxy.truncate_next(3)
    with pytest.raises(ConnectionLostError):
        await conn.echo("this answer is cut short")
    await until(lambda: conn.status == "connected" and conn.reconnects == 1)
    assert await conn.increment(1) == 2
    assert rec.closes[0].code == 1006
    await conn.dispose()


async def test_delay_slows_but_keeps_order_and_a_slow_handshake_is_retried(
    pclient: Client, proxy: FaultProxy, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = pclient.counter.get_or_create(key).connect()
    await conn.wait_open(30)
    proxy.set_delay(0.15)
    started = time.monotonic()
    results = await asyncio.gather(*(conn.increment(1) for _ in range(50)))
    assert time.monotonic() - started >= 0.3  # one round trip through a 2 x 0.15 s delay
    assert sorted(results) == list(range(1, 51))
    # An upgrade that takes longer than the open budget fails the attempt; it is retried, not fatal.
    monkeypatch.setattr(connection, "OPEN_TIMEOUT", 0.5)
    proxy.set_delay(0.6)
    before = conn.attempts
    proxy.cut_all()
    await until(lambda: conn.attempts >= before + 2)
    assert isinstance(conn.last_failure, RequestTimeoutError)
    assert "accept the WebSocket" in str(conn.last_failure) or "Init" in str(conn.last_failure)
    assert conn.error is None
    proxy.set_delay(0)
    monkeypatch.setattr(connection, "OPEN_TIMEOUT", 30.0)
    await until(lambda: conn.status == "connected", timeout=15)
    assert await conn.getCount() == 50
    await conn.dispose()


async def test_truncated_handshake_is_a_failed_attempt(pclient: Client, proxy: FaultProxy, key: str) -> None:
    conn = pclient.counter.get_or_create(key).connect()
    await conn.wait_open(30)
    errors: list[Exception] = []
    conn.on_error(errors.append)
    before = conn.attempts
    proxy.truncate_next(20)  # the next server→client bytes are the reconnect's "HTTP/1.1 101 …" answer
    proxy.cut_all()
    await until(lambda: conn.status == "connected" and conn.attempts >= before + 2, timeout=15)
    assert any(isinstance(e, NetworkError) and "handshake" in str(e) for e in errors), errors
    assert await conn.increment(1) == 1
    await conn.dispose()


async def test_dead_tcp_path_is_detected_by_keepalive_pings(
    pclient: Client, proxy: FaultProxy, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path that silently stops forwarding (no FIN, no RST) is noticed by the ping timeout."""
    monkeypatch.setattr(WebSocketTransport, "ping_interval", 0.3)
    monkeypatch.setattr(WebSocketTransport, "ping_timeout", 0.5)
    conn = pclient.counter.get_or_create(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    assert await conn.increment(1) == 1
    proxy.set_delay(3600)  # a black hole: bytes are accepted and never delivered
    await until(lambda: conn.status != "connected", timeout=10)  # ping 0.3 + pong 0.5 + close 2 s
    proxy.set_delay(0)
    proxy.cut_all()  # the path comes back (an attempt may be stuck in the black hole)
    await until(lambda: conn.status == "connected", timeout=15)
    assert rec.closes[0].code == 1011 and "keepalive" in rec.closes[0].reason
    assert await conn.increment(1) == 2
    await conn.dispose()


@pytest.mark.timeout(90)
async def test_runner_sigkill_and_restart_keeps_state(server: DevServer, direct: Client, key: str) -> None:
    """SIGKILL the Node runner with a connection open, restart it: the actor comes back with its state.

    The engine reschedules an actor of a dead runner only after 10-25 s; meanwhile the gateway holds the
    client's socket open (hibernation) and the frames sent on it, and delivers them once the actor is back.
    So the action below simply waits; a reconnect would be accepted too.
    """
    conn = direct.counter.get_or_create(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    counts: list[int] = []
    conn.on("newCount", counts.append)
    assert await conn.increment(5) == 5
    await asyncio.sleep(1.5)  # the runner saves actor state every 1 s: let it persist before the kill
    before = conn.connection_id
    killed = time.monotonic()
    try:
        server.kill_runner(signal.SIGKILL)
    finally:
        server.start_runner()
        await asyncio.to_thread(server.wait_ready, 60)
        # wait_ready() only sees the registry's names, which outlive the runner: probe with a fresh actor.
        await direct.counter.get_or_create(f"{key}-probe").getCount()
    result: int | None = None
    while result is None:
        try:
            result = await conn.action("increment", 1, timeout=45)
        except ConnectionLostError:  # a reconnect is fine too; the retry is a new action
            assert time.monotonic() - killed < 60
            await conn.wait_open(45)
    took = time.monotonic() - killed
    assert result == 6  # state survived the SIGKILL
    await until(lambda: counts[-1:] == [6])
    outcome = "survived (same connection id)" if conn.connection_id == before else "reconnected"
    print(f"\nrunner SIGKILL: connection {outcome}; answered {took:.1f} s after the kill; {rec.names()}")
    await conn.dispose()


async def test_actor_sleep_and_wake(direct: Client, key: str) -> None:
    conn = direct.counter.get_or_create(key).connect()
    await conn.wait_open(30)
    counts: list[int] = []
    conn.on("newCount", counts.append)
    assert await conn.increment(3) == 3
    assert await conn.goToSleep() is True
    await asyncio.sleep(1.0)
    assert await conn.increment(1) == 4  # wakes the actor; state kept
    await until(lambda: counts == [3, 4])
    assert conn.status == "connected"
    await conn.dispose()


async def test_server_kick_reconnects(direct: Client, key: str) -> None:
    conn = direct.counter.get_or_create(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    counts: list[int] = []
    conn.on("newCount", counts.append)
    first = conn.connection_id
    with contextlib.suppress(ConnectionLostError):  # the close may overtake the answer
        await conn.kickMe("go away")
    await until(lambda: conn.status == "connected" and conn.connection_id != first)
    assert [(c.code, c.reason) for c in rec.closes] == [(1000, "go away")]
    assert await conn.increment(1) == 1
    await until(lambda: counts == [1])
    await conn.dispose()


async def test_destroyed_actor_get_or_create_reconnects_to_a_new_actor(direct: Client, key: str) -> None:
    conn = direct.counter.get_or_create(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    assert await conn.increment(9) == 9
    old_actor = conn.actor_id
    with contextlib.suppress(ConnectionLostError):  # the close may overtake the answer
        await conn.destroyMe()
    # Usually well under a second; generous because a loaded engine may hold the re-creation for a while.
    await until(lambda: conn.status == "connected" and conn.actor_id != old_actor, timeout=40, why=lambda: rec)
    assert await conn.getCount() == 0  # a fresh actor under the same key
    await conn.dispose()


async def test_destroyed_actor_get_handle_stops_with_not_found(direct: Client, key: str) -> None:
    await direct.counter.get_or_create(key).increment(1)
    conn = direct.counter.get(key).connect()
    rec = Recorder(conn)
    await conn.wait_open(30)
    with contextlib.suppress(ConnectionLostError):  # the close may overtake the answer
        await conn.destroyMe()
    await until(lambda: conn.status == "idle", timeout=15)
    assert isinstance(conn.error, ActorNotFoundError)
    attempts = conn.attempts
    await asyncio.sleep(1.0)
    assert conn.attempts == attempts  # stopped: no retry storm
    with pytest.raises(ActorNotFoundError):
        await conn.getCount()
    assert rec.names()[-1] == "idle"
    await conn.dispose()


async def test_dispose_while_reconnecting_stops_the_loop(pclient: Client, proxy: FaultProxy, key: str) -> None:
    conn = pclient.counter.get_or_create(key).connect()
    await conn.wait_open(30)
    await proxy.refuse_for(5.0)
    queued = asyncio.create_task(conn.increment(1))
    await until(lambda: conn.attempts >= 3)
    await conn.dispose()
    attempts = conn.attempts
    from rivetctl.errors import ConnectionDisposedError

    with pytest.raises(ConnectionDisposedError):
        await queued
    await asyncio.sleep(1.0)
    assert conn.attempts == attempts
    assert conn.status == "disposed"
