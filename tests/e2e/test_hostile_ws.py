"""Hostile WebSocket peers: the connection recovers or ends with a clear reason, in bounded time and memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rivetctl.client import Client
from rivetctl.client.connection import ActorConnection
from rivetctl.errors import ConfigError, NetworkError, ProtocolError, RequestTimeoutError, RivetctlError
from tests.hostile_ws import ConnectProxy, HostileWsPeer, SilentTcp

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


async def test_connect_and_upgrade_have_their_own_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """``connect_timeout`` bounds reaching the host (or the proxy's tunnel); the upgrade then gets the whole
    ``handshake_timeout``, counted from the moment the TCP connection is up."""
    from rivetctl.transport.websocket import WebSocketTransport

    _no_proxy_env(monkeypatch)
    async with SilentTcp() as silent:
        url = silent.endpoint.replace("http://", "ws://") + "/connect"
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError, match="accept the WebSocket"):
            await WebSocketTransport.open(url, encoding="bare", connect_timeout=0.2, handshake_timeout=1.0)
        assert 1.0 <= time.monotonic() - started < 1.8
        monkeypatch.setenv("HTTP_PROXY", silent.endpoint)  # a proxy that never answers CONNECT
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError, match=r"connecting to the proxy 127\.0\.0\.1:\d+ \(for ws://"):
            await WebSocketTransport.open(
                "ws://rivet.invalid:6420/connect", encoding="bare", connect_timeout=0.3, handshake_timeout=5.0
            )
        assert time.monotonic() - started < 1.0
        assert silent.accepted == 2


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
    """While the peer reads nothing, the socket's buffers fill and sends wait for them to drain (flow control);
    once it reads again every action arrives exactly once, in call order, and every caller gets its answer."""
    from rivetctl.transport.websocket import WebSocketTransport

    waited = {"n": 0}
    send = WebSocketTransport.send

    async def timed_send(self: WebSocketTransport, data: bytes) -> None:
        started = time.monotonic()
        await send(self, data)
        if time.monotonic() - started > 0.5:
            waited["n"] += 1

    monkeypatch.setattr(WebSocketTransport, "send", timed_send)
    async with HostileWsPeer("slow-reader") as peer, _client(peer.endpoint) as client:
        conn = client.counter.get_for_id(ACTOR_ID).connect()
        try:
            await conn.wait_open(timeout=5)
            payloads = [f"{i:05d}" + "x" * 60_000 for i in range(300)]  # ~18 MB: more than the socket buffers
            results = await asyncio.wait_for(asyncio.gather(*(conn.action("echo", p) for p in payloads)), 60)
            assert results == [[p] for p in payloads]
            assert waited["n"] > 0, "flow control never held a send back: the test did not fill the buffers"
            assert peer.action_ids == list(range(len(payloads)))  # in call order, none lost, none twice
            assert peer.accepted == 1
        finally:
            await conn.dispose()


async def test_dispose_is_bounded_when_the_peer_never_reads() -> None:
    """A close frame stuck behind a full write buffer does not hold ``dispose()``: the TCP connection is
    dropped at the close timeout. Actions still waiting fail with ``ConnectionDisposedError``."""
    from rivetctl.errors import ConnectionDisposedError
    from rivetctl.transport.websocket import CLOSE_TIMEOUT

    async with HostileWsPeer("never-reads") as peer, _client(peer.endpoint) as client:
        conn = client.counter.get_for_id(ACTOR_ID).connect()
        await conn.wait_open(timeout=5)
        calls = [asyncio.create_task(conn.action("echo", "x" * 60_000)) for _ in range(300)]
        await asyncio.sleep(1.0)  # the buffers fill up
        assert not any(call.done() for call in calls)
        started = time.monotonic()
        await asyncio.wait_for(conn.dispose(), CLOSE_TIMEOUT + 3)
        assert time.monotonic() - started < CLOSE_TIMEOUT + 1.5
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(o, ConnectionDisposedError) for o in outcomes), {type(o) for o in outcomes}
        assert peer.accepted == 1


@contextlib.contextmanager
def _closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, never listening, while the block runs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


async def _echo_through(client: Client) -> list[object]:
    async with client.counter.get_for_id(ACTOR_ID).connect() as conn:
        return list(await asyncio.gather(*(conn.action("echo", i) for i in range(5))))


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
async def test_websocket_goes_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """``ws://`` uses ``https_proxy``/``http_proxy`` as websockets reads them, and ``all_proxy`` as httpx does;
    ``no_proxy`` bypasses it."""
    _no_proxy_env(monkeypatch)
    async with HostileWsPeer("wrong-and-duplicate-ids") as peer, ConnectProxy() as proxy:
        monkeypatch.setenv(variable, proxy.url)
        async with _client(peer.endpoint) as client:
            assert await _echo_through(client) == [[i] for i in range(5)]
        assert proxy.tunnels == [f"127.0.0.1:{peer.port}"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with _client(peer.endpoint) as client:
            assert await _echo_through(client) == [[i] for i in range(5)]
        assert len(proxy.tunnels) == 1 and peer.accepted == 2


async def test_proxy_failures_are_clear_network_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from rivetctl.transport.websocket import WebSocketTransport

    _no_proxy_env(monkeypatch)
    async with HostileWsPeer("wrong-and-duplicate-ids") as peer, ConnectProxy(status=407) as proxy:
        url = f"ws://127.0.0.1:{peer.port}/connect"
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://user:s3cret@"))
        with pytest.raises(NetworkError, match=r"the proxy 127\.0\.0\.1:\d+ refused .* HTTP 407") as refused:
            await WebSocketTransport.open(url, encoding="bare")
        assert "s3cret" not in str(refused.value)
        async with _client(peer.endpoint) as client:  # a live connection stops: retrying would not help
            conn = client.counter.get_for_id(ACTOR_ID).connect()
            try:
                with pytest.raises(NetworkError, match="HTTP 407"):
                    await conn.wait_open(timeout=5)
                assert conn.status == "idle" and conn.attempts == 1
            finally:
                await conn.dispose()
        with _closed_port() as port:
            monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
            with pytest.raises(NetworkError, match=r"cannot connect to the proxy 127\.0\.0\.1:\d+ .*refused"):
                await WebSocketTransport.open(url, encoding="bare")
            async with _client(peer.endpoint) as client:  # a proxy that is down may come back: retried
                conn = client.counter.get_for_id(ACTOR_ID).connect()
                try:
                    with pytest.raises(RequestTimeoutError, match="cannot connect to the proxy"):
                        await conn.wait_open(timeout=1.5)
                    assert conn.status == "connecting" and conn.attempts >= 2
                finally:
                    await conn.dispose()
    assert peer.accepted == 0


async def test_tls_verification_failure_names_the_fix_and_each_fix_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trustme

    from rivetctl.transport.websocket import WebSocketTransport

    _no_proxy_env(monkeypatch)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    async with HostileWsPeer("wrong-and-duplicate-ids", tls=server_ctx) as peer:
        url = f"wss://127.0.0.1:{peer.port}/connect"
        with pytest.raises(NetworkError) as failed:
            await WebSocketTransport.open(url, encoding="bare")
        assert "certificate verify failed" in str(failed.value)
        assert "pass --cacert FILE or set SSL_CERT_FILE (or --insecure to skip verification)" in str(failed.value)
        async with Client(peer.endpoint, encoding="bare", env={}) as client:
            conn = client.counter.get_for_id(ACTOR_ID).connect()
            try:
                with pytest.raises(NetworkError, match="--cacert"):
                    await conn.wait_open(timeout=5)
                assert conn.status == "idle" and conn.attempts == 1  # not retried: it would not heal
            finally:
                await conn.dispose()

        async def opens(verify: bool | str) -> None:
            transport = await WebSocketTransport.open(url, encoding="bare", verify=verify)
            assert await transport.recv()  # Init
            await transport.close()

        with pytest.raises(ConfigError, match="cannot load CA certificates from --cacert"):
            await opens(str(tmp_path / "missing.pem"))
        await opens(str(cafile))
        await opens(False)
        monkeypatch.setenv("SSL_CERT_FILE", str(cafile))
        await opens(True)
