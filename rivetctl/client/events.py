"""The ``events()`` iterator of a connection: ``ConnEvent``, ``EventStream`` and its drop-oldest overflow policy."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rivetctl.client.listeners import Listener
from rivetctl.errors import ConfigError

if TYPE_CHECKING:
    from rivetctl.client.connection import ActorConnection

DEFAULT_MAX_BUFFERED_EVENTS = 10_000


@dataclass(frozen=True, slots=True)
class ConnEvent:
    """One event as the ``events()`` iterator yields it.

    ``dropped_before`` is how many older events were discarded (buffer full) right before this one.
    """

    name: str
    args: list[Any]
    received_at: float
    """``time.time()`` when the frame was decoded."""
    dropped_before: int = 0


class EventStream:
    """An async iterator over a connection's events; ``async for ev in conn.events("newCount")``.

    The subscription starts when the stream is created (no event is missed between ``events()`` and the
    first ``__anext__``) and ends with ``close()`` / ``aclose()``, leaving an ``async with`` block, or
    disposing the connection, after which iteration stops once the buffered events are consumed. After a
    fatal connection error iteration raises that error.

    Overflow policy: at most ``maxsize`` undelivered events are buffered. When a new event arrives on a
    full buffer the *oldest* buffered event is dropped, so a slow consumer sees the most recent events and
    memory stays bounded. Drops are counted: ``dropped`` is the total, and the first event yielded after
    a run of drops carries the run's length in ``ConnEvent.dropped_before``.
    """

    def __init__(self, conn: ActorConnection, names: tuple[str, ...], maxsize: int) -> None:
        if not names:
            raise ConfigError("events() needs at least one event name")
        if maxsize < 1:
            raise ConfigError("maxsize must be at least 1")
        self.names = names
        self.maxsize = maxsize
        self.dropped = 0
        self._gap = 0
        self._buffer: deque[ConnEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._error: BaseException | None = None
        listener = Listener(self._push, stream=self)
        self._unsubscribe = [conn._add_listener(name, listener) for name in dict.fromkeys(names)]

    def __repr__(self) -> str:
        return f"EventStream({', '.join(self.names)}, buffered={len(self._buffer)}, dropped={self.dropped})"

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def _push(self, name: str, args: list[Any]) -> None:
        if self._closed:
            return
        if len(self._buffer) >= self.maxsize:
            self._buffer.popleft()
            self.dropped += 1
            self._gap += 1
        self._buffer.append(ConnEvent(name, args, time.time()))
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _finish(self, error: BaseException | None = None) -> None:
        self._closed = True
        self._error = error
        self._wake()

    def close(self) -> None:
        """Stop receiving and end iteration (the last listener of a name sends the unsubscribe)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self._finish(self._error)

    async def aclose(self) -> None:
        self.close()

    def __aiter__(self) -> AsyncIterator[ConnEvent]:
        return self

    async def __anext__(self) -> ConnEvent:
        while not self._buffer:
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        event = self._buffer.popleft()
        if self._gap:
            event, self._gap = replace(event, dropped_before=self._gap), 0
        return event

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
