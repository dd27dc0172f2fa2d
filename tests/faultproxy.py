"""A TCP fault proxy for tests: sits between a client and the real server and breaks things on demand.

    async with FaultProxy("http://127.0.0.1:6420") as proxy:
        client = Client(proxy.endpoint)
        ...
        proxy.cut_all()                 # reset every open connection (both sides)
        await proxy.refuse_for(3.0)     # listener closed: new connections get ECONNREFUSED for 3 s
        proxy.set_delay(0.2)            # every chunk, both directions, arrives 200 ms late (order kept)
        proxy.set_delay(3600)           # a black hole: the path stays open but nothing gets through
        proxy.truncate_next(5)          # the next server→client chunk: forward 5 bytes, then reset
        proxy.drop_answer_to(b"/action/increment")  # forward that request, never relay its answer: reset
        proxy.close_all()               # close every connection cleanly (FIN), as a server closing idle ones

It runs in the caller's event loop (start it from an async fixture or test). It never interprets the bytes
it forwards, so it works for HTTP, WebSocket or anything else over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

CHUNK = 65_536


@dataclass(eq=False)
class _Pipe:
    """One proxied connection: the client-facing and server-facing streams and their pumps."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    drop_answer: Literal["reset", "close"] | None = None

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()
            else:
                with contextlib.suppress(Exception):
                    transport.abort()

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if not writer.transport.is_closing():
                writer.close()


class FaultProxy:
    """An asyncio TCP proxy on a free loopback port in front of ``target`` (``http://host:port``).

    Attributes:
        accepted: connections accepted so far (refused ones are not counted; reset ones are).
        reset_on_accept: connections accepted and immediately reset during ``refuse_for(mode="reset")``.
        answers_dropped: answers not relayed because of ``drop_answer_to``.
    """

    def __init__(self, target: str) -> None:
        parts = urlsplit(target if "://" in target else f"http://{target}")
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"target needs host and port: {target!r}")
        self.target_host = parts.hostname
        self.target_port = parts.port
        self.host = "127.0.0.1"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._delay = 0.0
        self._truncate: int | None = None
        self._reset_until = 0.0
        self._reopen: asyncio.Task[None] | None = None
        self._drop: tuple[bytes, Literal["reset", "close"]] | None = None
        self.accepted = 0
        self.reset_on_accept = 0
        self.answers_dropped = 0

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._pipes)

    async def start(self) -> FaultProxy:
        await self._listen()
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True, backlog=512)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            # wait_closed() waits for handler tasks in 3.12+; the listener itself is closed at once.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 0.05)

    async def stop(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reopen
            self._reopen = None
        await self._unlisten()
        self.cut_all()
        await asyncio.sleep(0)

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- faults ------------------------------------------------------------------------------------

    def cut_all(self) -> int:
        """Reset every open connection, both sides (the client sees ECONNRESET / close 1006).

        Returns how many connections were cut.
        """
        pipes = list(self._pipes)
        for pipe in pipes:
            pipe.abort()
            for task in pipe.tasks:
                task.cancel()
        self._pipes.clear()
        return len(pipes)

    async def refuse_for(self, seconds: float, *, mode: Literal["close", "reset"] = "close", cut: bool = True) -> None:
        """Refuse new connections for ``seconds``, then accept again (returns at once).

        ``mode="close"`` closes the listening socket, so connects fail with ECONNREFUSED (the case that
        wedges the official client); ``mode="reset"`` accepts and resets each connection at once, counting
        them in ``reset_on_accept``. With ``cut`` (default) open connections are cut first.
        """
        if cut:
            self.cut_all()
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if mode == "reset":
            self._reset_until = time.monotonic() + seconds
            return
        await self._unlisten()

        async def reopen() -> None:
            await asyncio.sleep(seconds)
            await self._listen()

        self._reopen = asyncio.get_running_loop().create_task(reopen())

    async def wait_accepting(self) -> None:
        """Wait until a ``refuse_for`` in "close" mode has reopened the listener."""
        if self._reopen is not None:
            await self._reopen

    def set_delay(self, seconds: float) -> None:
        """Delay every chunk forwarded from now on by ``seconds`` in both directions (order is kept)."""
        self._delay = max(0.0, seconds)

    def truncate_next(self, n_bytes: int) -> None:
        """Forward only the first ``n_bytes`` of the next server→client chunk, then reset the connection."""
        self._truncate = max(0, n_bytes)

    def drop_answer_to(self, marker: bytes, *, how: Literal["reset", "close"] = "reset") -> None:
        """The next client→server chunk containing ``marker`` is forwarded to the server, but the answer is not:
        when the server's first bytes come back on that connection, both sides are reset (``how="reset"``), or
        the client side is closed cleanly and the server side reset (``how="close"``). One request only."""
        self._drop = (marker, how)

    def close_all(self) -> int:
        """Close every open connection cleanly, both sides (the client reads end-of-stream, as when a server
        closes an idle keep-alive connection). Returns how many were closed."""
        pipes = list(self._pipes)
        for pipe in pipes:
            pipe.close()
        return len(pipes)

    # -- plumbing ----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if time.monotonic() < self._reset_until:
            self.reset_on_accept += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pipe = _Pipe(writer, up_writer)
        self._pipes.add(pipe)
        try:
            loop = asyncio.get_running_loop()
            pipe.tasks = [
                loop.create_task(self._pump(reader, up_writer, pipe, downstream=False)),
                loop.create_task(self._pump(up_reader, writer, pipe, downstream=True)),
            ]
            await asyncio.gather(*pipe.tasks, return_exceptions=True)
        except asyncio.CancelledError:
            pass  # the loop is shutting down; asyncio would log a cancelled connection callback as an error
        finally:
            pipe.abort()
            self._pipes.discard(pipe)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pipe: _Pipe, *, downstream: bool
    ) -> None:
        # Chunks go through a queue so that a delay postpones delivery without reordering or stalling reads.
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not chunk:
                    with contextlib.suppress(OSError, RuntimeError):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return
                if downstream and pipe.drop_answer is not None:
                    self.answers_dropped += 1
                    if pipe.drop_answer == "close":
                        pipe.upstream.transport.abort()
                        pipe.client.close()
                    else:
                        pipe.abort()
                    return
                if downstream and self._truncate is not None:
                    keep, self._truncate = self._truncate, None
                    writer.write(chunk[:keep])
                    with contextlib.suppress(OSError):
                        await writer.drain()
                    pipe.abort()
                    return
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.get_running_loop().create_task(deliver())

        def on_sent(task: asyncio.Task[None]) -> None:
            # A write failure (peer reset) breaks the whole pipe, as a real network path would.
            if not task.cancelled() and task.exception() is not None:
                pipe.abort()

        sender.add_done_callback(on_sent)
        try:
            while True:
                chunk = await reader.read(CHUNK)
                if not downstream and self._drop is not None and self._drop[0] in chunk:
                    pipe.drop_answer, self._drop = self._drop[1], None
                await queue.put((time.monotonic() + self._delay, chunk))
                if not chunk:
                    break
            await sender
        except (OSError, asyncio.IncompleteReadError):
            pipe.abort()
        finally:
            if not sender.done():
                # On EOF we waited for the sender above; here we are cancelled or failed.
                sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
