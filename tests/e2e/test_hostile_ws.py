"""Hostile WebSocket peers: the connection recovers or ends with a clear reason, in bounded time and memory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from rivetctl.client import Client
from rivetctl.client.connection import ActorConnection
from rivetctl.errors import ProtocolError, RivetctlError
from tests.hostile_ws import HostileWsPeer, SilentTcp

ACTOR_ID = "a" * 30


async def _until_failed(conn: Any) -> None:
    """Wait (bounded) until the connection has stopped with an error."""
    with contextlib.suppress(ProtocolError):
        await conn.wait_open(timeout=5)
    for _ in range(100):
        if conn.error is not None:
            return
        await asyncio.sleep(0.05)


def _client(endpoint: str) -> Client:
    return Client(endpoint, encoding="bare", connect_timeout=1.5, env={})


@pytest.mark.parametrize("scenario", ["garbage-after-init", "unknown-tag"])
async def test_garbage_frames_end_the_connection_with_a_protocol_error(scenario: str) -> None:
    """A peer that sends undecodable frames is not a RivetKit server: stop (no retry storm), say why."""
    async with HostileWsPeer(scenario) as peer, _client(peer.endpoint) as client:
        conn = client.counter.get_for_id(ACTOR_ID).connect()
        try:
            await _until_failed(conn)
            assert isinstance(conn.error, ProtocolError)
            assert conn.status == "idle"
            with pytest.raises(ProtocolError):
                await asyncio.wait_for(conn.action("echo", 1), 5)
            await asyncio.sleep(1.0)
            assert peer.accepted == 1
        finally:
            await conn.dispose()


async def test_oversized_frame_drops_the_connection_and_retries() -> None:
    """A frame over the limit closes the socket (1009): a transport failure, retried with backoff."""
    async with HostileWsPeer("huge-frame") as peer, _client(peer.endpoint) as client:
        conn = client.counter.get_for_id(ACTOR_ID).connect()
        try:
            await conn.wait_open(timeout=5)
            await asyncio.sleep(3.0)
        finally:
            await conn.dispose()
        assert 2 <= peer.accepted <= 8, peer.accepted


async def test_json_text_with_unknown_tag() -> None:
    async with (
        HostileWsPeer("json-text-garbage") as peer,
        Client(peer.endpoint, encoding="json", connect_timeout=1.5, env={}) as client,
    ):
        conn = client.counter.get_for_id(ACTOR_ID).connect()
        try:
            await _until_failed(conn)
            assert isinstance(conn.error, ProtocolError)
        finally:
            await conn.dispose()


async def test_stray_and_duplicate_responses_are_ignored() -> None:
    async with (
        HostileWsPeer("wrong-and-duplicate-ids") as peer,
        _client(peer.endpoint) as client,
        client.counter.get_for_id(ACTOR_ID).connect() as conn,
    ):
        got: list[tuple[object, ...]] = []
        conn.on("tick", lambda *a: got.append(a))
        results = await asyncio.gather(*(conn.action("echo", i) for i in range(20)))
        assert results == [[i] for i in range(20)]
        await asyncio.sleep(0.2)
        assert conn.status == "connected"
        assert conn.in_flight == 0
        assert got and got[0] == (1,)


async def _open_fails_within(client: Client, seconds: float) -> ActorConnection:
    """Connect, expect ``wait_open(4)`` to fail, dispose; the whole in under ``seconds``."""
    conn = client.counter.get_for_id(ACTOR_ID).connect()
    started = time.monotonic()
    try:
        with pytest.raises(RivetctlError):
            await conn.wait_open(timeout=4)
    finally:
        await conn.dispose()
    assert time.monotonic() - started < seconds
    return conn


async def test_init_that_never_comes_is_a_bounded_failed_attempt() -> None:
    async with HostileWsPeer("never-init") as peer, _client(peer.endpoint) as client:
        conn = await _open_fails_within(client, 5)
        assert conn.status == "disposed"


async def test_tcp_that_never_answers_the_handshake() -> None:
    async with SilentTcp() as peer, _client(peer.endpoint) as client:
        await _open_fails_within(client, 5)
        assert peer.accepted >= 1


async def test_action_in_flight_when_garbage_arrives_fails_cleanly() -> None:
    async with HostileWsPeer("garbage-after-init") as peer, _client(peer.endpoint) as client:
        conn = client.counter.get_for_id(ACTOR_ID).connect()
        try:
            with pytest.raises(RivetctlError):
                await asyncio.wait_for(conn.action("echo", 1), 10)
        finally:
            await conn.dispose()
        assert peer.accepted == 1


async def test_peer_that_stops_reading_gets_every_action_once_it_reads_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes are immediate while the socket takes them; once flow control pauses writing (a peer that does
    not read), frames wait for the buffer to drain instead: nothing is lost, reordered or sent twice."""
    from rivetctl.transport.websocket import WebSocketTransport

    waited = {"n": 0}
    send = WebSocketTransport.send

    async def counting_send(self: WebSocketTransport, data: bytes) -> None:
        waited["n"] += 1
        await send(self, data)

    monkeypatch.setattr(WebSocketTransport, "send", counting_send)
    async with HostileWsPeer("slow-reader") as peer, _client(peer.endpoint) as client:
        conn = client.counter.get_for_id(ACTOR_ID).connect()
        try:
            await conn.wait_open(timeout=5)
            payloads = [f"{i:05d}" + "x" * 60_000 for i in range(300)]  # ~18 MB: more than the socket buffers
            results = await asyncio.wait_for(asyncio.gather(*(conn.action("echo", p) for p in payloads)), 60)
            assert results == [[p] for p in payloads]
            assert waited["n"] > 0, "flow control never paused writing: the test did not fill the buffers"
            assert waited["n"] < len(payloads), "no frame was written at once"
            assert peer.accepted == 1
        finally:
            await conn.dispose()
