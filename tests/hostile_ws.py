"""A WebSocket test peer that speaks the RivetKit connection protocol badly on purpose.

Each scenario is a coroutine ``(ws, peer) -> None`` run for every accepted connection; ``HostileWsPeer.accepted``
counts connections so tests can tell a retry loop from a storm, and ``HostileWsPeer.action_ids`` lists the ids
of the actions a scenario read, in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from rivetctl.protocol.encoding import decode_to_server, encode_to_client
from rivetctl.protocol.messages import ActionRequest, ActionResponse, Event, Init

Scenario = Callable[[Any, "HostileWsPeer"], Awaitable[None]]

INIT = Init(actor_id="a" * 30, connection_id="c0ffee00-0000-4000-8000-000000000000")


def _init() -> bytes:
    return encode_to_client(INIT, "bare")


async def _requests(ws: Any, peer: HostileWsPeer) -> Any:
    async for raw in ws:
        msg = decode_to_server(raw, "bare")
        if isinstance(msg, ActionRequest):
            peer.action_ids.append(msg.id)
        yield msg


async def garbage_after_init(ws: Any, peer: HostileWsPeer) -> None:
    await ws.send(_init())
    await ws.send(b"\x04\x00\xff\xff\xff garbage")
    await asyncio.sleep(30)


async def unknown_tag(ws: Any, peer: HostileWsPeer) -> None:
    await ws.send(_init())
    await ws.send(b"\x04\x00\x09\x00")
    await asyncio.sleep(30)


async def wrong_and_duplicate_ids(ws: Any, peer: HostileWsPeer) -> None:
    """Answers each action with a response for an id never sent, then twice with the right one."""
    await ws.send(_init())
    async for msg in _requests(ws, peer):
        if isinstance(msg, ActionRequest):
            await ws.send(encode_to_client(ActionResponse(id=msg.id + 1000, output="stray"), "bare"))
            await ws.send(encode_to_client(ActionResponse(id=msg.id, output=msg.args), "bare"))
            await ws.send(encode_to_client(ActionResponse(id=msg.id, output="duplicate"), "bare"))
            await ws.send(encode_to_client(Event(name="tick", args=[1]), "bare"))


async def huge_frame(ws: Any, peer: HostileWsPeer) -> None:
    await ws.send(_init())
    with contextlib.suppress(Exception):
        await ws.send(b"\x04\x00\x03" + b"x" * (20 * 1024 * 1024))
    await asyncio.sleep(30)


async def never_init(ws: Any, peer: HostileWsPeer) -> None:
    await asyncio.sleep(60)


async def json_text_garbage(ws: Any, peer: HostileWsPeer) -> None:
    await ws.send(_init())
    await ws.send(json.dumps({"body": {"tag": "Nope", "val": {}}}))
    await asyncio.sleep(30)


async def slow_reader(ws: Any, peer: HostileWsPeer) -> None:
    """Reads nothing for a while (the client's socket buffers fill up), then answers every action in order."""
    await ws.send(_init())
    await asyncio.sleep(1.5)
    async for msg in _requests(ws, peer):
        if isinstance(msg, ActionRequest):
            await ws.send(encode_to_client(ActionResponse(id=msg.id, output=msg.args), "bare"))


async def never_reads(ws: Any, peer: HostileWsPeer) -> None:
    """Sends ``Init`` and then never reads again (the client's writes back up) nor closes."""
    await ws.send(_init())
    await asyncio.sleep(60)


SCENARIOS: dict[str, Scenario] = {
    "garbage-after-init": garbage_after_init,
    "unknown-tag": unknown_tag,
    "wrong-and-duplicate-ids": wrong_and_duplicate_ids,
    "huge-frame": huge_frame,
    "never-init": never_init,
    "json-text-garbage": json_text_garbage,
    "slow-reader": slow_reader,
    "never-reads": never_reads,
}


class HostileWsPeer:
    """``async with HostileWsPeer("never-init") as peer: Client(peer.endpoint)``; with ``tls`` (a server-side
    context) it speaks ``wss://`` and ``endpoint`` is ``https://``."""

    def __init__(self, scenario: str, *, tls: ssl.SSLContext | None = None) -> None:
        self.scenario = SCENARIOS[scenario]
        self.tls = tls
        self.accepted = 0
        self.action_ids: list[int] = []
        self._server: Any = None

    @property
    def port(self) -> int:
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def _handler(self, ws: Any) -> None:
        self.accepted += 1
        with contextlib.suppress(Exception):
            await self.scenario(ws, self)

    async def __aenter__(self) -> HostileWsPeer:
        from websockets.asyncio.server import serve

        self._server = await serve(
            self._handler, "127.0.0.1", 0, subprotocols=["rivet"], max_size=None, compression=None, ssl=self.tls
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 3)


class SilentTcp:
    """Accepts TCP and never says a byte (a WebSocket handshake that never completes)."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self.accepted = 0

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        with contextlib.suppress(Exception, asyncio.CancelledError):  # cancelled when the test's loop ends
            await asyncio.sleep(120)
        writer.close()

    async def __aenter__(self) -> SilentTcp:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


class ConnectProxy:
    """An HTTP proxy that only tunnels (``CONNECT host:port``), as websockets uses one; ``tunnels`` lists the
    targets it opened. With ``status`` it answers every request with that status instead (e.g. 407)."""

    def __init__(self, status: int | None = None) -> None:
        self.status = status
        self.tunnels: list[str] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if self.status is not None or method != "CONNECT":
                writer.write(f"HTTP/1.1 {self.status or 405} Nope\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
                return
            host, port = target.rsplit(":", 1)
            up_reader, upstream = await asyncio.open_connection(host, int(port))
            self.tunnels.append(target)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
                dst.close()

            await asyncio.gather(pump(reader, upstream), pump(up_reader, writer))
        except Exception:
            pass
        finally:
            writer.close()
            if upstream is not None:
                upstream.close()

    async def __aenter__(self) -> ConnectProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
