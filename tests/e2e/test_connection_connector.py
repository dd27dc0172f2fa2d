"""An injected connector (the function that opens each attempt's WebSocket) against the real server: failed
attempts are retried and reported to ``on_retry``, then the real connector takes over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from rivetctl.client import Client
from rivetctl.devserver import DevServer
from rivetctl.errors import NetworkError, RivetctlError
from rivetctl.transport.websocket import WebSocketTransport

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]


@pytest.fixture
async def client(server: DevServer) -> AsyncIterator[Client]:
    async with Client(server.endpoint, env={}) as c:
        yield c


class FailingThenReal:
    """Fails the first ``failures`` attempts as an unreachable server would, then opens the real socket."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.urls: list[str] = []

    async def __call__(self, url: str, **kwargs: Any) -> WebSocketTransport:
        self.urls.append(url)
        if len(self.urls) <= self.failures:
            raise NetworkError(f"attempt {len(self.urls)} refused by the test")
        return await WebSocketTransport.open(url, **kwargs)


async def test_injected_connector_failures_are_retried_then_the_real_one_connects(client: Client, key: str) -> None:
    connector = FailingThenReal(failures=2)
    conn = client.counter.get_or_create(key).connect(connector=connector)
    retries: list[tuple[RivetctlError, float]] = []
    conn.on_retry(lambda error, delay: retries.append((error, delay)))
    try:
        await conn.wait_open(30)
        assert conn.connector is connector
        assert conn.attempts == 3 and len(connector.urls) == 3
        assert [str(e) for e, _ in retries] == ["attempt 1 refused by the test", "attempt 2 refused by the test"]
        assert all(0 < delay <= 0.5 for _, delay in retries)
        assert all(u.startswith("ws://") and "/connect?" in u for u in connector.urls)
        events: list[int] = []
        conn.on("newCount", events.append)
        assert await conn.increment(4) == 4
        assert await conn.getCount() == 4
        assert events == [4]
    finally:
        await conn.dispose()


async def test_a_connector_can_be_replaced_between_attempts(client: Client, key: str) -> None:
    seen: list[str] = []

    async def recording(url: str, **kwargs: Any) -> WebSocketTransport:
        seen.append(url)
        return await WebSocketTransport.open(url, **kwargs)

    conn = client.counter.get_or_create(key).connect()
    assert conn.connector == WebSocketTransport.open  # the real one by default
    conn.connector = recording
    try:
        await conn.wait_open(30)
        assert len(seen) == 1 and conn.attempts == 1
        assert await conn.increment(1) == 1
    finally:
        await conn.dispose()


async def test_a_permanent_failure_from_the_connector_is_fatal_not_retried(client: Client, key: str) -> None:
    async def untrusted(url: str, **kwargs: Any) -> WebSocketTransport:
        raise NetworkError("certificate verify failed (from the test)", permanent=True)

    conn = client.counter.get_or_create(key).connect(connector=untrusted)
    retries: list[object] = []
    conn.on_retry(lambda error, delay: retries.append(error))
    try:
        with pytest.raises(NetworkError, match="certificate"):
            await conn.wait_open(10)
        assert conn.status == "idle" and conn.attempts == 1
        assert retries == []
    finally:
        await conn.dispose()
