"""The keep-alive HTTP/1.1 transport against scripted local peers: reuse, stale connections, framing, limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from rivetctl.errors import ConfigError, NetworkError, ProtocolError, RequestTimeoutError
from rivetctl.transport.http import HttpTransport

Reply = Callable[[int, bytes, asyncio.StreamWriter], Awaitable[bool]]
"""Answers request number N (over all connections) with body; returns False to close the connection."""


class Peer:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                if not await self.reply(len(self.requests), body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.asynccontextmanager
async def peer(reply: Reply) -> AsyncIterator[Peer]:
    p = Peer(reply)
    p.server = await asyncio.start_server(p.handle, "127.0.0.1", 0)
    try:
        yield p
    finally:
        p.server.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body


async def echo(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
    w.write(ok(body))
    await w.drain()
    return True


def transport(timeout: float = 5) -> HttpTransport:
    return HttpTransport(timeout=timeout, connect_timeout=2)


async def test_one_connection_serves_sequential_requests() -> None:
    async with peer(echo) as p:
        t = transport()
        for i in range(20):
            resp = await t.request("POST", f"{p.url}/x", content=str(i).encode())
            assert (resp.status, resp.body) == (200, str(i).encode())
        await t.aclose()
    assert p.connections == 1


async def test_concurrent_callers_get_their_own_answers_and_connections_are_reused() -> None:
    async with peer(echo) as p:
        t = transport()
        for _ in range(3):
            bodies = await asyncio.gather(
                *(t.request("POST", f"{p.url}/x", content=str(i).encode()) for i in range(32))
            )
            assert [r.body for r in bodies] == [str(i).encode() for i in range(32)]
        await t.aclose()
    assert p.connections <= 32


async def test_server_closing_an_idle_connection_is_retried_once_transparently() -> None:
    async def close_after_each(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(ok(body))  # no "connection: close": the client believes it may reuse it
        await w.drain()
        return False

    async with peer(close_after_each) as p:
        t = transport()
        assert (await t.request("POST", f"{p.url}/a", content=b"1")).body == b"1"
        await asyncio.sleep(0.05)
        assert (await t.request("POST", f"{p.url}/a", content=b"2")).body == b"2"
        await t.aclose()
    assert len(p.requests) == 2  # each request reached the server once
    assert p.connections == 2


async def test_kept_alive_connection_dropped_without_an_answer_is_retried_on_a_new_one() -> None:
    async def drop_second(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        if n == 2:
            return False  # read, then closed without a byte of answer (the keep-alive race)
        w.write(ok(body))
        await w.drain()
        return True

    async with peer(drop_second) as p:
        t = transport()
        assert (await t.request("POST", f"{p.url}/a", content=b"1")).body == b"1"
        assert (await t.request("POST", f"{p.url}/a", content=b"2")).body == b"2"
        await t.aclose()
    assert [r.endswith(b"2") for r in p.requests] == [False, True, True]
    assert p.connections == 2


async def test_fresh_connection_dropped_without_an_answer_is_not_retried() -> None:
    async def drop(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        return False

    async with peer(drop) as p:
        t = transport()
        with pytest.raises(NetworkError, match="closed the connection without answering"):
            await t.request("POST", f"{p.url}/a", content=b"1")
        await t.aclose()
    assert len(p.requests) == 1


async def test_no_retry_once_part_of_the_answer_came() -> None:
    async def partial(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await w.drain()
        return False

    async with peer(partial) as p:
        t = transport()
        with pytest.raises(NetworkError, match="3 of 10"):
            await t.request("POST", f"{p.url}/a", content=b"x")
        await t.aclose()
    assert len(p.requests) == 1


async def test_chunked_body_with_trailers_and_interim_answer() -> None:
    async def chunked(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\nX-A: 2\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ntrailer: x\r\n\r\n"
        )
        await w.drain()
        return True

    async with peer(chunked) as p:
        t = transport()
        for _ in range(2):
            resp = await t.request("GET", f"{p.url}/c")
            assert resp.body == b"hello world"
            assert resp.headers["x-a"] == "1, 2"
        await t.aclose()
    assert p.connections == 1


async def test_http10_body_until_close() -> None:
    async def old(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it")
        await w.drain()
        return False

    async with peer(old) as p:
        t = transport()
        assert (await t.request("GET", f"{p.url}/")).body == b"all of it"
        assert (await t.request("GET", f"{p.url}/")).body == b"all of it"
        await t.aclose()
    assert p.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"x-h: 1\r\n" * 500 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nx-long: " + b"a" * 200_000 + b"\r\n\r\n",
    ],
    ids=["bad-length", "two-lengths", "bad-chunk", "bad-header", "bad-status", "not-http", "many-headers", "long-line"],
)
async def test_malformed_answers_are_protocol_errors(answer: bytes) -> None:
    async def bad(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(answer)
        await w.drain()
        return False

    async with peer(bad) as p:
        t = transport()
        with pytest.raises(ProtocolError) as info:
            await t.request("GET", f"{p.url}/")
        assert "\n" not in str(info.value)
        await t.aclose()


async def test_chunked_body_over_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rivetctl.transport.http.MAX_RESPONSE_BYTES", 1000)

    async def big(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(10):
            w.write(b"200\r\n" + b"x" * 512 + b"\r\n")
        await w.drain()
        return False

    async with peer(big) as p:
        t = transport()
        with pytest.raises(ProtocolError, match="exceeds 1000 bytes"):
            await t.request("GET", f"{p.url}/")
        await t.aclose()


@pytest.mark.parametrize(
    ("headers", "path"),
    [({"x-a": "1\r\nx-injected: 1"}, "/ok"), ({"bad name": "1"}, "/ok"), ({}, "/a b"), ({"x-a": "snow☃"}, "/ok")],
)
async def test_header_and_path_injection_is_refused_before_sending(headers: dict[str, str], path: str) -> None:
    async with peer(echo) as p:
        t = transport()
        with pytest.raises(ConfigError):
            await t.request("GET", f"{p.url}{path}", headers=headers)
        await t.aclose()
    assert p.requests == []


async def test_cancelled_request_does_not_leave_its_connection_in_the_pool() -> None:
    async def slow_then_fast(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        if n == 1:
            await asyncio.sleep(0.5)
        w.write(ok(str(n).encode()))
        await w.drain()
        return True

    async with peer(slow_then_fast) as p:
        t = transport()
        task = asyncio.create_task(t.request("GET", f"{p.url}/"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The late answer to request 1 must not be read as the answer to request 2.
        assert (await t.request("GET", f"{p.url}/")).body == b"2"
        await t.aclose()
    assert p.connections == 2


async def test_timeout_bounds_the_exchange_and_the_connection_is_dropped() -> None:
    async def silent(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(3600 if n == 1 else 0)
        w.write(ok(b"late" if n == 1 else b"fresh"))
        await w.drain()
        return True

    async with peer(silent) as p:
        t = transport(timeout=0.3)
        with pytest.raises(RequestTimeoutError, match=r"within 0\.3 s"):
            await t.request("GET", f"{p.url}/")
        assert (await t.request("GET", f"{p.url}/")).body == b"fresh"
        await t.aclose()


async def test_refused_and_unknown_host_are_one_line_network_errors() -> None:
    t = transport()
    with pytest.raises(NetworkError, match="connection refused"):
        await t.request("GET", "http://127.0.0.1:9/")
    with pytest.raises(NetworkError, match="unknown host"):
        await t.request("GET", "http://no-such-host.invalid/")
    with pytest.raises(NetworkError, match="only http"):
        await t.request("GET", "ftp://example.com/")
    await t.aclose()
