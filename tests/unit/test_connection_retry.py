"""``ActorConnection.on_retry``: every failed attempt that will be retried is reported with its delay."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from rivetctl.client import Client
from rivetctl.errors import NetworkError, RivetctlError
from rivetctl.protocol import backoff as policy

pytestmark = pytest.mark.timeout(30)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_on_retry_reports_each_failed_attempt_with_the_delay_before_the_next() -> None:
    async with Client(f"http://127.0.0.1:{_closed_port()}", check_names=False, env={}) as client:
        conn = client.counter.get_or_create("k").connect()
        retries: list[tuple[RivetctlError, float, float]] = []
        attempts_at: list[float] = []
        conn.on_status(lambda s: attempts_at.append(time.monotonic()) if s == "connecting" else None)
        unregister = conn.on_retry(lambda error, delay: retries.append((error, delay, time.monotonic())))
        try:
            deadline = time.monotonic() + 5
            while len(retries) < 3:
                assert time.monotonic() < deadline, "no retries reported"
                await asyncio.sleep(0.01)
            assert conn.attempts >= 3
            errors = [r[0] for r in retries]
            delays = [r[1] for r in retries]
            assert all(isinstance(e, NetworkError) and "refused" in str(e) for e in errors)
            # the policy's delays: 0.25, 0.5, 1 s nominal, jittered down by at most half
            for nominal, delay in zip([0.25, 0.5, 1.0], delays, strict=False):
                assert nominal * (1 - policy.JITTER) <= delay <= nominal
            # the next attempt really waits the announced delay
            before = conn.attempts
            _, delay, at = retries[-1]
            while conn.attempts == before:
                await asyncio.sleep(0.005)
            assert time.monotonic() - at >= delay - 0.02
            unregister()
            seen = len(retries)
            while conn.attempts < before + 2:
                await asyncio.sleep(0.01)
            assert len(retries) == seen  # unregistered: no more calls
        finally:
            await conn.dispose()
