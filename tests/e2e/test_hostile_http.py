"""Hostile HTTP peers: every misbehaviour ends in a clean rivetctl error, in bounded time and memory."""

from __future__ import annotations

import io
import time
import tracemalloc

import pytest

from rivetctl.cli.app import main
from rivetctl.client import Client
from rivetctl.errors import ConnectionLostError, NetworkError, ProtocolError, RequestTimeoutError, RivetctlError
from tests.hostile import HostilePeer

CASES = [
    ("html-200", ProtocolError, "text/html"),
    ("malformed-json", ProtocolError, "invalid response"),
    ("malformed-cbor", ProtocolError, "invalid response"),
    ("malformed-bare", ProtocolError, "invalid response"),
    ("bare-unknown-version", ProtocolError, "invalid response"),
    ("error-without-shape", ProtocolError, "500"),
    ("redirect-other-host", ProtocolError, "redirect"),
    ("truncated", NetworkError, ""),
    ("garbage-status-line", NetworkError, ""),
    ("hang-up", ConnectionLostError, "the action may or may not have run"),
]


@pytest.mark.parametrize(
    ("scenario", "error", "text", "encoding"),
    [(*case, enc) for case in CASES for enc in ("json", "cbor", "bare")],
)
async def test_bad_answers_raise_clean_errors(scenario: str, error: type[Exception], text: str, encoding: str) -> None:
    async with (
        HostilePeer(scenario) as peer,
        Client(peer.endpoint, encoding=encoding, timeout=5, env={}) as client,
    ):
        started = time.monotonic()
        with pytest.raises(RivetctlError) as info:
            await client.counter.get_or_create("k").increment(1)
    assert time.monotonic() - started < 6
    assert isinstance(info.value, error | ProtocolError), repr(info.value)
    assert text.lower() in str(info.value).lower()
    assert "\n" not in str(info.value)


async def test_unknown_bare_version_is_named() -> None:
    async with (
        HostilePeer("bare-unknown-version") as peer,
        Client(peer.endpoint, encoding="bare", env={}) as client,
    ):
        with pytest.raises(ProtocolError, match="version"):
            await client.counter.get_or_create("k").increment(1)


async def test_redirect_is_not_followed() -> None:
    async with HostilePeer("redirect-other-host") as peer, Client(peer.endpoint, env={}) as client:
        with pytest.raises(ProtocolError, match="does not follow redirects"):
            await client.counter.get_or_create("k").increment(1)
        assert all("evil" not in r for r in peer.requests)


async def test_server_that_never_answers_times_out() -> None:
    async with (
        HostilePeer("never-answers") as peer,
        Client(peer.endpoint, timeout=1.5, env={}) as client,
    ):
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError):
            await client.counter.get_or_create("k").increment(1)
    assert time.monotonic() - started < 4


async def test_slow_drip_is_bounded_by_timeout() -> None:
    async with HostilePeer("slow-drip") as peer, Client(peer.endpoint, timeout=1.0, env={}) as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError, match="did not finish"):
            await client.counter.get_or_create("k").increment(1)
    # Each byte comes within the read timeout; the whole exchange is still bounded.
    assert time.monotonic() - started < 10


async def test_huge_body_is_refused_with_bounded_memory() -> None:
    tracemalloc.start()
    try:
        async with (
            HostilePeer("huge-body") as peer,
            Client(peer.endpoint, timeout=30, env={}) as client,
        ):
            with pytest.raises(ProtocolError, match="exceeds"):
                await client.counter.get_or_create("k").increment(1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 1024 * 1024


@pytest.mark.parametrize(
    ("scenario", "code"), [("html-200", 9), ("redirect-other-host", 9), ("never-answers", 8), ("hang-up", 7)]
)
async def test_cli_exit_codes_for_hostile_peers(scenario: str, code: int) -> None:
    async with HostilePeer(scenario) as peer:
        out, err = io.StringIO(), io.StringIO()
        import asyncio

        rc = await asyncio.to_thread(
            main,
            ["-e", peer.endpoint, "--timeout", "1.5", "call", "counter", "k", "increment", "1"],
            env={"HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"},
            stdout=out,
            stderr=err,
        )
    assert rc == code, err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert err.getvalue().count("\n") == 1
