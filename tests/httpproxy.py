"""An HTTP forward proxy for tests: CONNECT tunnels and absolute-form requests, counting what it forwarded.

    async with HttpProxy() as proxy:
        env["HTTP_PROXY"] = proxy.url
        ...                              # run the client
        proxy.tunnels                    # ["127.0.0.1:6420", ...]: one per CONNECT (https, wss, and ws)
        proxy.requests                   # ["POST http://127.0.0.1:6420/gateway/...", ...]: absolute-form

It runs in the caller's event loop. Absolute-form requests are forwarded one per client connection (the
request goes upstream with ``Connection: close`` and the answer comes back with it), the way an HTTP/1.0
proxy behaves; tunnels carry bytes untouched. Only loopback targets are forwarded (anything else gets 403).
``HttpProxy(refuse=403)`` answers every request with that status instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Self
from urllib.parse import urlsplit

CHUNK = 65_536
HEAD_LIMIT = 65_536
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HOP_BY_HOP = {b"connection", b"proxy-connection", b"keep-alive", b"proxy-authorization", b"te", b"trailer"}


async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy ``reader`` into ``writer`` until end of stream or a connection error."""
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()


async def join(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter], b: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    """Relay both ways until either side ends, then close both."""
    tasks = [asyncio.ensure_future(relay(a[0], b[1])), asyncio.ensure_future(relay(b[0], a[1]))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def abort(writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()


async def close(writer: asyncio.StreamWriter) -> None:
    """Close after what is buffered has been sent (reset if that takes more than a second)."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (TimeoutError, asyncio.CancelledError, ConnectionError, OSError):
        abort(writer)


class LoopbackServer:
    """A server of ours on a free loopback port: the connections it handles, aborted and cancelled on ``stop``."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def start(self) -> Self:
        raise NotImplementedError

    async def _listen(self, **kwargs: Any) -> Self:
        self._server = await asyncio.start_server(self._handle, self.host, 0, **kwargs)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            abort(writer)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class HttpProxy(LoopbackServer):
    """An HTTP/1.1 forward proxy on a free loopback port.

    Attributes:
        tunnels: ``host:port`` of every CONNECT tunnel opened, in order.
        requests: ``METHOD URL`` of every absolute-form request forwarded, in order.
        refused: requests answered with the ``refuse`` status.
    """

    def __init__(self, *, refuse: int | None = None) -> None:
        super().__init__()
        self.refuse = refuse
        self.tunnels: list[str] = []
        self.requests: list[str] = []
        self.refused = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def forwarded(self) -> int:
        """Tunnels plus absolute-form requests: everything that went through."""
        return len(self.tunnels) + len(self.requests)

    async def start(self) -> Self:
        return await self._listen(limit=HEAD_LIMIT)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, header_block = head.partition(b"\r\n")
            method, target, _version = request_line.decode("latin-1").split(" ", 2)
            if self.refuse is not None:
                self.refused += 1
                await self._answer(writer, self.refuse)
                return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                host = host.strip("[]")
                if host not in LOOPBACK:
                    await self._answer(writer, 403)
                    return
                try:
                    up_reader, upstream = await asyncio.open_connection(host, int(port))
                except OSError:
                    await self._answer(writer, 502)
                    return
                self._writers.add(upstream)
                self.tunnels.append(target)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await join((reader, writer), (up_reader, upstream))
                return
            parts = urlsplit(target)
            if parts.scheme != "http" or parts.hostname not in LOOPBACK:
                await self._answer(writer, 403)
                return
            try:
                up_reader, upstream = await asyncio.open_connection(parts.hostname, parts.port or 80)
            except OSError:
                await self._answer(writer, 502)
                return
            self._writers.add(upstream)
            self.requests.append(f"{method} {target}")
            origin = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            upstream.write(f"{method} {origin} HTTP/1.1\r\n".encode("latin-1"))
            upstream.write(_headers(header_block) + b"Connection: close\r\n\r\n")
            answer = asyncio.ensure_future(self._answer_from(up_reader, writer))
            sending = asyncio.ensure_future(relay(reader, upstream))
            try:
                # Done when the answer has been passed on, or when the client has gone (nobody to answer).
                await asyncio.wait({answer, sending}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for part in (answer, sending):
                    part.cancel()
                await asyncio.gather(answer, sending, return_exceptions=True)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    await close(w)
            self._tasks.discard(task)

    async def _answer_from(self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward the upstream's response with ``Connection: close``, then its body until upstream ends."""
        head = await up_reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        writer.write(status_line + b"\r\n" + _headers(header_block) + b"Connection: close\r\n\r\n")
        await writer.drain()
        await relay(up_reader, writer)
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int) -> None:
        reason = {403: "Forbidden", 407: "Proxy Authentication Required", 502: "Bad Gateway"}.get(status, "Refused")
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()


def _headers(block: bytes) -> bytes:
    """The header lines of a head (without its blank line), hop-by-hop headers removed."""
    lines = [line for line in block.split(b"\r\n") if line]
    kept = [line for line in lines if line.partition(b":")[0].strip().lower() not in HOP_BY_HOP]
    return b"".join(line + b"\r\n" for line in kept)
