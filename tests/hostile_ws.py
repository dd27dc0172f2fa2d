"""A WebSocket test peer that speaks the RivetKit connection protocol badly on purpose.

Each scenario is a coroutine ``(ws) -> None`` run for every accepted connection; ``HostileWsPeer.accepted``
counts connections so tests can tell a retry loop from a storm.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from rivetctl.protocol.encoding import decode_to_server, encode_to_client
from rivetctl.protocol.messages import ActionRequest, ActionResponse, Event, Init

Scenario = Callable[[Any], Awaitable[None]]

INIT = Init(actor_id="a" * 30, connection_id="c0ffee00-0000-4000-8000-000000000000")


def _init() -> bytes:
    return encode_to_client(INIT, "bare")


async def _requests(ws: Any) -> Any:
    async for raw in ws:
        yield decode_to_server(raw, "bare")


async def garbage_after_init(ws: Any) -> None:
    await ws.send(_init())
    await ws.send(b"\x04\x00\xff\xff\xff garbage")
    await asyncio.sleep(30)


async def unknown_tag(ws: Any) -> None:
    await ws.send(_init())
    await ws.send(b"\x04\x00\x09\x00")
    await asyncio.sleep(30)


async def wrong_and_duplicate_ids(ws: Any) -> None:
    """Answers each action with a response for an id never sent, then twice with the right one."""
    await ws.send(_init())
    async for msg in _requests(ws):
        if isinstance(msg, ActionRequest):
            await ws.send(encode_to_client(ActionResponse(id=msg.id + 1000, output="stray"), "bare"))
            await ws.send(encode_to_client(ActionResponse(id=msg.id, output=msg.args), "bare"))
            await ws.send(encode_to_client(ActionResponse(id=msg.id, output="duplicate"), "bare"))
            await ws.send(encode_to_client(Event(name="tick", args=[1]), "bare"))


async def huge_frame(ws: Any) -> None:
    await ws.send(_init())
    with contextlib.suppress(Exception):
        await ws.send(b"\x04\x00\x03" + b"x" * (20 * 1024 * 1024))
    await asyncio.sleep(30)


async def never_init(ws: Any) -> None:
    await asyncio.sleep(60)


async def json_text_garbage(ws: Any) -> None:
    await ws.send(_init())
    await ws.send(json.dumps({"body": {"tag": "Nope", "val": {}}}))
    await asyncio.sleep(30)


async def slow_reader(ws: Any) -> None:
    """Reads nothing for a while (the client's socket buffers fill up), then answers every action in order."""
    await ws.send(_init())
    await asyncio.sleep(1.5)
    async for msg in _requests(ws):
        if isinstance(msg, ActionRequest):
            await ws.send(encode_to_client(ActionResponse(id=msg.id, output=msg.args), "bare"))


SCENARIOS: dict[str, Scenario] = {
    "garbage-after-init": garbage_after_init,
    "unknown-tag": unknown_tag,
    "wrong-and-duplicate-ids": wrong_and_duplicate_ids,
    "huge-frame": huge_frame,
    "never-init": never_init,
    "json-text-garbage": json_text_garbage,
    "slow-reader": slow_reader,
}


class HostileWsPeer:
    """``async with HostileWsPeer("never-init") as peer: Client(peer.endpoint)``."""

    def __init__(self, scenario: str) -> None:
        self.scenario = SCENARIOS[scenario]
        self.accepted = 0
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _handler(self, ws: Any) -> None:
        self.accepted += 1
        with contextlib.suppress(Exception):
            await self.scenario(ws)

    async def __aenter__(self) -> HostileWsPeer:
        from websockets.asyncio.server import serve

        self._server = await serve(
            self._handler, "127.0.0.1", 0, subprotocols=["rivet"], max_size=None, compression=None
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
        with contextlib.suppress(Exception):
            await asyncio.sleep(120)
        writer.close()

    async def __aenter__(self) -> SilentTcp:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
