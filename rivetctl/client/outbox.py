"""A connection's outgoing side: actions awaiting answers (by id), frames awaiting the socket, and the writer."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rivetctl.client.handle import MAX_INCOMING_MESSAGE
from rivetctl.errors import ConnectionLostError, PayloadTooLargeError, RequestTimeoutError
from rivetctl.protocol.encoding import Encoding, encode_to_server
from rivetctl.protocol.messages import ActionRequest
from rivetctl.transport.websocket import WebSocketTransport

log = logging.getLogger("rivetctl.connection")


@dataclass(eq=False, slots=True)
class PendingAction:
    """An action from its call until its answer; ``sent`` once written to a socket (never re-sent)."""

    id: int
    name: str
    frame: bytes
    future: asyncio.Future[Any]
    sent: bool = False


class Outbox:
    """Actions waiting for an answer, and the queue of frames (actions, subscriptions) for the next socket.

    Actions queued while disconnected stay queued across sessions; subscription frames are ephemeral and
    dropped when a session ends (every new session starts with the current subscriptions).
    """

    def __init__(self) -> None:
        self._next_id = 0
        self._actions: dict[int, PendingAction] = {}
        self._queue: deque[PendingAction | bytes] = deque()
        self._wakeup = asyncio.Event()
        self._transport: WebSocketTransport | None = None
        """The live session's socket while its writer runs (callers may write to it directly)."""
        self._trace: Callable[[str, bytes | str], None] | None = None
        self._deadlines: list[tuple[float, int, float]] = []
        """``(deadline, action id, timeout)`` of actions with a timeout, a heap; answered ones go lazily."""
        self._timer: asyncio.TimerHandle | None = None

    @property
    def queued(self) -> int:
        """Actions not yet written to a socket."""
        return sum(1 for item in self._queue if isinstance(item, PendingAction) and not item.future.done())

    @property
    def in_flight(self) -> int:
        """Actions written to a socket and not yet answered."""
        return sum(1 for a in self._actions.values() if a.sent and not a.future.done())

    async def call(self, name: str, args: list[Any], *, encoding: Encoding, timeout: float | None) -> Any:
        """Queue action ``name`` for the writer (it sends once a session is live), and wait for the answer.

        On a live session with nothing queued ahead of it, the caller writes the frame itself (no hop through
        the writer task; the order of frames is the order of calls either way, since a frame reaches the
        socket's buffer before ``send`` can suspend). An action that times out or is cancelled while still
        queued is never sent; one written to a socket that then closes is never sent again.
        """
        action_id = self._next_id
        self._next_id += 1
        frame = encode_to_server(ActionRequest(action_id, name, args), encoding)
        if len(frame) > MAX_INCOMING_MESSAGE:
            raise PayloadTooLargeError(
                f"action {name!r} encodes to {len(frame)} bytes, over the server's "
                f"{MAX_INCOMING_MESSAGE}-byte message limit",
                size=len(frame),
                limit=MAX_INCOMING_MESSAGE,
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        act = PendingAction(action_id, name, frame, future)
        self._actions[action_id] = act
        if timeout is not None:
            self._add_deadline(loop, loop.time() + timeout, action_id, timeout)
        try:
            transport = self._transport
            if transport is not None and not self._queue and transport.writable:
                act.sent = True
                await self._send(transport, frame)
            else:
                self._queue.append(act)
                self._wakeup.set()
            return await future
        finally:
            self._actions.pop(action_id, None)
            if not act.sent and future.done():  # timed out or cancelled while queued: never send it
                with contextlib.suppress(ValueError):
                    self._queue.remove(act)

    # -- timeouts: one loop timer for the earliest deadline, not one per action ---------------------

    def _add_deadline(self, loop: asyncio.AbstractEventLoop, deadline: float, action_id: int, timeout: float) -> None:
        heap = self._deadlines
        if len(heap) > 64 and len(heap) > 2 * len(self._actions):  # mostly answered entries: rebuild
            heap[:] = [entry for entry in heap if entry[1] in self._actions]
            heapq.heapify(heap)
        heapq.heappush(heap, (deadline, action_id, timeout))
        if self._timer is None or deadline < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(deadline, self._expire_due)

    def _expire_due(self) -> None:
        self._timer = None
        heap = self._deadlines
        loop = asyncio.get_running_loop()
        now = loop.time() + 0.001  # the loop may run a timer up to its clock resolution early
        while heap and (heap[0][0] <= now or heap[0][1] not in self._actions):
            _, action_id, timeout = heapq.heappop(heap)
            act = self._actions.get(action_id)
            if act is not None and not act.future.done():
                act.future.set_exception(RequestTimeoutError(f"action {act.name!r} got no answer within {timeout:g} s"))
        if heap:
            self._timer = loop.call_at(heap[0][0], self._expire_due)

    def push(self, frame: bytes) -> None:
        """Queue a control frame (a subscription) on the live session."""
        self._queue.append(frame)
        self._wakeup.set()

    def restart(self, frames: list[bytes]) -> None:
        """A new session: ``frames`` first, then the actions that waited (still in call order)."""
        waiting = [a for a in self._queue if isinstance(a, PendingAction) and not a.future.done()]
        self._queue = deque([*frames, *waiting])
        self._wakeup.set()

    # -- answers -----------------------------------------------------------------------------------

    def resolve(self, action_id: int, output: Any) -> None:
        act = self._actions.pop(action_id, None)
        if act is not None and not act.future.done():
            act.future.set_result(output)

    def reject(self, action_id: int, error: BaseException) -> None:
        act = self._actions.pop(action_id, None)
        if act is not None and not act.future.done():
            act.future.set_exception(error)

    def reject_all(self, error: BaseException, *, only_sent: bool = False) -> None:
        for action_id, act in list(self._actions.items()):
            if only_sent and not act.sent:
                continue
            if not act.future.done():
                act.future.set_exception(error)
            del self._actions[action_id]

    def abandon(self, error: BaseException) -> None:
        """Reject every action with ``error`` and empty the queue (fatal error or dispose)."""
        self.reject_all(error)
        self._queue.clear()
        self._deadlines.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def lose_sent(self, code: int | None, reason: str) -> None:
        """The socket closed: reject the actions written to it; keep only the unsent actions queued."""
        detail = f"code {code}" + (f", reason {reason!r}" if reason else "")
        for act in [a for a in self._actions.values() if a.sent]:
            if not act.future.done():
                act.future.set_exception(
                    ConnectionLostError(
                        f"connection lost while action {act.name!r} was in flight ({detail}); "
                        "it may or may not have run",
                        code=code,
                        reason=reason,
                    )
                )
            self._actions.pop(act.id, None)
        self._queue = deque(a for a in self._queue if isinstance(a, PendingAction) and not a.future.done())

    # -- the writer --------------------------------------------------------------------------------

    async def write(self, transport: WebSocketTransport, trace: Callable[[str, bytes | str], None] | None) -> None:
        """Write queued frames to ``transport`` until it closes (one writer task per session).

        Each wake-up writes every queued frame: ``send`` returns without suspending while the socket's buffer
        is under its high-water mark, so a backlog goes out in one turn of the loop.
        """
        self._trace = trace
        self._transport = transport
        try:
            while True:
                while not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                while self._queue:
                    if not transport.writable:
                        return  # closing: what is still queued waits for the next session
                    item = self._queue.popleft()
                    if isinstance(item, PendingAction):
                        if item.future.done():
                            continue
                        item.sent = True
                        frame = item.frame
                    else:
                        frame = item
                    if not await self._send(transport, frame):
                        return  # the socket is gone: what is still queued waits for the next session
        finally:
            if self._transport is transport:
                self._transport = None

    async def _send(self, transport: WebSocketTransport, frame: bytes) -> bool:
        """Write one frame; False once the socket is unusable (the reader sees the close and cleans up).

        Called only while ``transport.writable``: the frame is then in the socket's buffer before ``send``
        first suspends (it suspends only to wait for a full buffer to drain), so an action counts as sent
        from here on, even if the connection drops or the caller is cancelled while it waits.
        """
        if self._trace is not None:
            self._trace("send", frame)
        try:
            await transport.send(frame)
        except ConnectionLostError:
            return False  # closed while writing: the frame may have gone out, so it counts as sent
        except Exception:
            log.exception("connection writer failed")
            transport.abort(1011)
            return False
        return True
