"""A test peer that speaks the RivetKit HTTP protocol badly on purpose (one behaviour per scenario).

It answers ``GET /actors/names`` correctly (so the client gets as far as calling an action) and then
misbehaves on every gateway request according to ``scenario``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]

NAMES = json.dumps({"names": {"counter": {"metadata": {}}}, "pagination": {"cursor": None}}).encode()


def response(status: int, body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n{extra}"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


SCENARIOS: dict[str, Callable[[asyncio.StreamWriter], Awaitable[None]]] = {}


def scenario(name: str) -> Callable[[Callable[[asyncio.StreamWriter], Awaitable[None]]], None]:
    def register(fn: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> None:
        SCENARIOS[name] = fn

    return register


@scenario("html-200")
async def _html(w: asyncio.StreamWriter) -> None:
    await _send(w, response(200, b"<html><body>Welcome to nginx!</body></html>", "text/html"))


@scenario("malformed-json")
async def _bad_json(w: asyncio.StreamWriter) -> None:
    await _send(w, response(200, b'{"output": [1, 2', "application/json"))


@scenario("malformed-cbor")
async def _bad_cbor(w: asyncio.StreamWriter) -> None:
    await _send(w, response(200, b"\xa1\x66output\x7f\xff\xff", "application/octet-stream"))


@scenario("malformed-bare")
async def _bad_bare(w: asyncio.StreamWriter) -> None:
    await _send(w, response(200, b"\x04\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "application/octet-stream"))


@scenario("bare-unknown-version")
async def _bare_version(w: asyncio.StreamWriter) -> None:
    await _send(w, response(200, b"\x09\x00\x01\x05", "application/octet-stream"))


@scenario("error-without-shape")
async def _error_shape(w: asyncio.StreamWriter) -> None:
    await _send(w, response(500, b'{"oops": true}', "application/json"))


@scenario("redirect-other-host")
async def _redirect(w: asyncio.StreamWriter) -> None:
    await _send(w, response(302, b"", "text/plain", "location: http://evil.example/steal\r\n"))


@scenario("never-answers")
async def _silent(w: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


@scenario("slow-drip")
async def _drip(w: asyncio.StreamWriter) -> None:
    body = b'{"output": "' + b"x" * 200 + b'"}'
    data = response(200, body)
    for i in range(len(data)):
        await _send(w, data[i : i + 1])
        await asyncio.sleep(0.2)


@scenario("huge-body")
async def _huge(w: asyncio.StreamWriter) -> None:
    size = 100 * 1024 * 1024
    w.write(f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n".encode())
    chunk = b"x" * 65536
    with contextlib.suppress(ConnectionError):
        for _ in range(size // len(chunk)):
            await _send(w, chunk)


@scenario("truncated")
async def _truncated(w: asyncio.StreamWriter) -> None:
    w.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"output":')
    await w.drain()
    w.close()


@scenario("hang-up")
async def _hang_up(w: asyncio.StreamWriter) -> None:
    """The request was read in full; the connection is closed without a byte of answer."""


@scenario("garbage-status-line")
async def _garbage(w: asyncio.StreamWriter) -> None:
    await _send(w, b"\x00\x01\x02 not http at all\r\n\r\n")


class HostilePeer:
    """``async with HostilePeer("html-200") as peer: Client(peer.endpoint)``."""

    def __init__(self, scenario_name: str) -> None:
        self.scenario = SCENARIOS[scenario_name]
        self._server: asyncio.Server | None = None
        self.requests: list[str] = []

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> HostilePeer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            self.requests.append(line)
            length = 0
            for header in head.split(b"\r\n")[1:]:
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            if line.startswith("GET /actors/names"):
                await _send(writer, response(200, NAMES))
            else:
                await self.scenario(writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
