"""Live actor connections: actions matched by id, events, observable status, and automatic reconnection.

One ``ActorConnection`` owns one background task that opens a WebSocket, waits for ``Init``, then reads
frames until the socket closes, and starts over with backoff. Policy (delays, retry-or-fatal) comes from
``rivetctl.protocol.backoff``; bytes come from ``rivetctl.transport.websocket``; this module only keeps the
state: actions waiting for an answer, the outbox, listeners, and the status.

Delivery guarantees:

- An action is sent at most once. Actions called while disconnected wait in the outbox and go out after
  the next ``Init`` (after the re-subscriptions). An action already written to a socket that then closes
  is rejected with ``ConnectionLostError`` (the server may or may not have run it); it is never re-sent.
- Events are delivered to callbacks and iterators in arrival order; a broadcast sent while the connection
  is down is lost (the server does not buffer for a closed socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from rivetctl.client.handle import MAX_INCOMING_MESSAGE
from rivetctl.client.options import redact_url
from rivetctl.errors import (
    ActorError,
    ConfigError,
    ConnectionDisposedError,
    ConnectionLostError,
    NetworkError,
    PayloadTooLargeError,
    ProtocolError,
    RequestTimeoutError,
    RivetctlError,
    UnsupportedError,
    actor_error,
)
from rivetctl.protocol import backoff as policy
from rivetctl.protocol.encoding import decode_to_client, encode_to_server, is_text
from rivetctl.protocol.messages import ActionRequest, ActionResponse, Error, Event, Init, SubscriptionRequest
from rivetctl.protocol.query import ForIdQuery, GetQuery, ws_url
from rivetctl.protocol.values import to_json_compat
from rivetctl.transport.websocket import WebSocketTransport

if TYPE_CHECKING:
    from rivetctl.client.handle import ActorHandle

log = logging.getLogger("rivetctl.connection")

Status = Literal["idle", "connecting", "connected", "disconnected", "disposed"]
"""As in the official client: ``idle`` (not started, or stopped by a fatal error: see
``ActorConnection.error``) → ``connecting`` (attempts and the waits between them) → ``connected`` (``Init``
received) → ``disconnected`` (the session just ended; reconnection follows) → ``connecting`` … and finally
``disposed``. Each outage is exactly one ``disconnected``; failed attempts are reported to ``on_error``."""

DEFAULT_MAX_BUFFERED_EVENTS = 10_000
OPEN_TIMEOUT = 30.0
"""Budget for one attempt from the upgrade request to ``Init`` (the gateway answers the upgrade only once
the actor is ready, which takes seconds on a loaded server); the TCP connect alone is bounded by the
client's ``connect_timeout``."""
ERROR_CLOSE_WAIT = 2.0
"""After a connection-level ``Error`` frame, how long to wait for the close frame that carries the ray id."""

_UNSET: Any = ...


class ListenerError(RivetctlError):
    """An event, status, open or close callback raised; reported to ``on_error``, never fatal.

    The callback's exception is ``__cause__``; ``callback`` is the function that raised.
    """

    def __init__(self, message: str, callback: Callable[..., Any]) -> None:
        super().__init__(message)
        self.callback = callback


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


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """Why a connected session ended (given to ``on_close`` callbacks)."""

    code: int | None
    reason: str
    error: RivetctlError | None = None
    """The connection-level error of the session, if the server sent one before closing."""
    reconnecting: bool = True


@dataclass(eq=False, slots=True)
class _Action:
    id: int
    name: str
    frame: bytes
    future: asyncio.Future[Any]
    sent: bool = False


@dataclass(eq=False, slots=True)
class _Listener:
    callback: Callable[..., Any]
    once: bool = False
    stream: EventStream | None = None


@dataclass(eq=False)
class _Session:
    transport: WebSocketTransport
    opened_at: float
    error: RivetctlError | None = None
    writer: asyncio.Task[None] | None = field(default=None)


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
        listener = _Listener(self._push, stream=self)
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


class ActorConnection:
    """A live connection to one actor over WebSocket, shaped like the JavaScript client's ``connect()``.

    ``conn = handle.connect(params)`` starts connecting at once (inside a running event loop; otherwise on
    first use). ``async with handle.connect() as conn:`` also waits until the first ``Init`` (or raises the
    fatal error) and disposes on exit.

    - Actions: ``await conn.action("increment", 1)`` or ``await conn.increment(1)``; many may be in flight
      at once, answers are matched by id. While disconnected, actions wait in the outbox (``queued``).
    - Events: ``conn.on(name, cb)`` (returns an unsubscribe function), ``conn.once``, ``conn.off``, or
      ``async for ev in conn.events(name, ...)``. Callbacks get the event's arguments (``cb(*args)``), may
      be sync or async; one that raises is reported to ``on_error`` (or logged) and changes nothing else.
    - Lifecycle: ``status`` and ``on_status`` / ``on_open`` / ``on_close`` / ``on_error`` callbacks (each
      returns an unsubscribe function), ``await wait_open()``, ``await dispose()``.
    - Reconnection: any failure before ``Init`` is a failed attempt, retried after 0.25 s, 0.5 s, 1 s, …
      30 s (jittered) forever, unless the failure is fatal (a rejection by ``onBeforeConnect``, an
      unknown actor): then the status becomes ``idle``, ``error`` holds the error, waiting actions are
      rejected with it and later calls raise it. Every failed attempt is also reported to ``on_error``.
    """

    def __init__(self, handle: ActorHandle, *, params: Any = None, transport: str = "websocket") -> None:
        if transport == "sse":
            raise UnsupportedError(
                "the SSE transport was removed from RivetKit servers in 2.0.24 (this client speaks the 2.3 "
                "protocol, whose servers only accept WebSocket connections); use transport='websocket'"
            )
        if transport != "websocket":
            raise ConfigError(f"unknown transport {transport!r}: use 'websocket'")
        self._handle = handle
        self._params = params
        options = handle._client.options
        self._encoding = options.encoding
        self._text = is_text(self._encoding)
        self._status: Status = "idle"
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: _Session | None = None
        self._next_id = 0
        self._actions: dict[int, _Action] = {}
        self._outbox: deque[_Action | bytes] = deque()
        self._wakeup = asyncio.Event()
        self._listeners: dict[str, list[_Listener]] = {}
        self._callbacks: dict[str, list[Callable[..., Any]]] = {
            "status": [],
            "open": [],
            "close": [],
            "error": [],
        }
        self._tasks: set[asyncio.Task[Any]] = set()
        self._error: RivetctlError | None = None
        self._last_failure: RivetctlError | None = None
        self.actor_id: str | None = None
        """The actor's id, from the last ``Init``."""
        self.connection_id: str | None = None
        """This connection's id on the server while connected (a new one after every reconnect)."""
        self._kind: policy.QueryKind = "get_or_create"
        self._ever_connected = False
        self.attempts = 0
        """Connection attempts made so far (successful or not)."""
        self.reconnects = 0
        """Times a new ``Init`` arrived after the first one."""
        tracer = handle._client.tracer
        self._trace_msg: Callable[[str, bytes | str], None] | None = getattr(tracer, "ws_message", None)
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            self._start()

    # -- public state ------------------------------------------------------------------------------

    @property
    def status(self) -> Status:
        return self._status

    @property
    def is_connected(self) -> bool:
        return self._status == "connected"

    @property
    def error(self) -> RivetctlError | None:
        """The fatal error that stopped reconnection (status ``idle``), if any."""
        return self._error

    @property
    def last_failure(self) -> RivetctlError | None:
        """The error of the most recent failed attempt or lost connection (for "retrying because …")."""
        return self._last_failure

    @property
    def queued(self) -> int:
        """Actions waiting in the outbox (not yet written to a socket)."""
        return sum(1 for item in self._outbox if isinstance(item, _Action) and not item.future.done())

    @property
    def in_flight(self) -> int:
        """Actions written to the current socket and not yet answered."""
        return sum(1 for a in self._actions.values() if a.sent and not a.future.done())

    @property
    def params(self) -> Any:
        return self._params

    def __repr__(self) -> str:
        return f"ActorConnection({self._handle.query!r}, status={self._status!r})"

    # -- actions -----------------------------------------------------------------------------------

    def __getattr__(self, action: str) -> Callable[..., Awaitable[Any]]:
        if action.startswith("_"):
            raise AttributeError(action)

        async def call(*args: Any) -> Any:
            return await self.action(action, *args)

        call.__name__ = action
        return call

    async def action(self, name: str, *args: Any, timeout: float | None = _UNSET) -> Any:
        """Run an action over the connection and return its output.

        Sent at once when connected, else after the next ``Init``. ``timeout`` (default: the client's
        request timeout) counts from this call, including time spent queued; a timed-out action still in
        the outbox is never sent.

        Raises:
            ActorError: the actor answered with an error (the connection stays open).
            ConnectionLostError: the socket closed after the action was sent; it may or may not have run.
            ConnectionDisposedError: the connection was disposed before an answer arrived.
            RequestTimeoutError: no answer within ``timeout``.
            PayloadTooLargeError: the request is over the server's 64 KiB message limit (nothing sent).
        """
        self._start()
        self._check_usable()
        action_id = self._next_id
        self._next_id += 1
        frame = encode_to_server(ActionRequest(action_id, name, list(args)), self._encoding)
        if len(frame) > MAX_INCOMING_MESSAGE:
            raise PayloadTooLargeError(
                f"action {name!r} encodes to {len(frame)} bytes, over the server's "
                f"{MAX_INCOMING_MESSAGE}-byte message limit",
                size=len(frame),
                limit=MAX_INCOMING_MESSAGE,
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        act = _Action(action_id, name, frame, future)
        self._actions[action_id] = act
        self._outbox.append(act)
        if self._session is not None:
            self._wakeup.set()
        limit = self._handle._client.options.timeout if timeout is _UNSET else timeout
        try:
            if limit is None:
                return await future
            async with asyncio.timeout(limit):
                return await future
        except TimeoutError:
            raise RequestTimeoutError(f"action {name!r} got no answer within {limit:g} s") from None
        finally:
            self._actions.pop(action_id, None)
            if not act.sent and future.done():  # timed out or cancelled while queued: never send it
                with contextlib.suppress(ValueError):
                    self._outbox.remove(act)

    def _check_usable(self) -> None:
        if self._status == "disposed":
            raise ConnectionDisposedError("the connection was disposed")
        if self._error is not None:
            raise self._error.with_traceback(None)

    # -- events ------------------------------------------------------------------------------------

    def on(self, name: str, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback(*args)`` for every ``name`` event; returns a function that unsubscribes."""
        return self._add_listener(name, _Listener(callback))

    def once(self, name: str, callback: Callable[..., Any]) -> Callable[[], None]:
        """Like ``on`` but only for the next ``name`` event."""
        return self._add_listener(name, _Listener(callback, once=True))

    def off(self, name: str, callback: Callable[..., Any] | None = None) -> None:
        """Remove ``callback`` (every registration of it) from ``name``, or all callbacks of ``name``.

        Iterators from ``events()`` are not affected: close them instead.
        """
        for listener in list(self._listeners.get(name, ())):
            if listener.stream is None and (callback is None or listener.callback == callback):
                self._remove_listener(name, listener)

    def events(self, *names: str, maxsize: int = DEFAULT_MAX_BUFFERED_EVENTS) -> EventStream:
        """An async iterator of ``ConnEvent`` for the given names (see ``EventStream`` for overflow)."""
        self._start()
        if self._status == "disposed":
            raise ConnectionDisposedError("the connection was disposed")
        stream = EventStream(self, names, maxsize)
        if self._error is not None:
            stream._finish(self._error)
        return stream

    def _add_listener(self, name: str, listener: _Listener) -> Callable[[], None]:
        if self._status == "disposed":
            raise ConnectionDisposedError("the connection was disposed")
        listeners = self._listeners.setdefault(name, [])
        listeners.append(listener)
        if len(listeners) == 1:
            self._send_control(SubscriptionRequest(name, True))

        def unsubscribe() -> None:
            self._remove_listener(name, listener)

        return unsubscribe

    def _remove_listener(self, name: str, listener: _Listener) -> None:
        listeners = self._listeners.get(name)
        if not listeners or not any(item is listener for item in listeners):
            return
        listeners[:] = [item for item in listeners if item is not listener]
        if not listeners:
            del self._listeners[name]
            self._send_control(SubscriptionRequest(name, False))

    def _send_control(self, message: SubscriptionRequest) -> None:
        # Subscriptions are ephemeral: sent only on a live socket; every Init re-sends the current set.
        if self._session is not None:
            self._outbox.append(encode_to_server(message, self._encoding))
            self._wakeup.set()

    def _emit(self, name: str, args: list[Any]) -> None:
        for listener in list(self._listeners.get(name, ())):
            if listener.stream is not None:
                listener.stream._push(name, args)
                continue
            if listener.once:
                self._remove_listener(name, listener)
            self._invoke(listener.callback, *args)

    # -- lifecycle callbacks -----------------------------------------------------------------------

    def on_status(self, callback: Callable[[Status], Any]) -> Callable[[], None]:
        """``callback(status)`` on every status change."""
        return self._add_callback("status", callback)

    def on_open(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """``callback()`` after every ``Init`` (first connect and each reconnect)."""
        return self._add_callback("open", callback)

    def on_close(self, callback: Callable[[CloseInfo], Any]) -> Callable[[], None]:
        """``callback(CloseInfo)`` when a connected session ends (server close, network loss, dispose)."""
        return self._add_callback("close", callback)

    def on_error(self, callback: Callable[[RivetctlError], Any]) -> Callable[[], None]:
        """``callback(error)`` for connection-level errors: failed attempts, the fatal error, server
        ``Error`` frames without an action id, and ``ListenerError`` for callbacks that raised."""
        return self._add_callback("error", callback)

    def _add_callback(self, kind: str, callback: Callable[..., Any]) -> Callable[[], None]:
        callbacks = self._callbacks[kind]
        callbacks.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                callbacks.remove(callback)

        return remove

    def _fire(self, kind: str, *args: Any) -> None:
        for callback in list(self._callbacks[kind]):
            self._invoke(callback, *args, report=kind != "error")

    def _invoke(self, callback: Callable[..., Any], *args: Any, report: bool = True) -> None:
        try:
            result = callback(*args)
        except Exception as exc:
            self._listener_failed(callback, exc, report)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)

            def done(t: asyncio.Future[Any]) -> None:
                self._tasks.discard(task)
                if not t.cancelled() and t.exception() is not None:
                    self._listener_failed(callback, t.exception(), report)  # type: ignore[arg-type]

            task.add_done_callback(done)

    def _listener_failed(self, callback: Callable[..., Any], exc: BaseException, report: bool) -> None:
        name = getattr(callback, "__qualname__", None) or repr(callback)
        if report and self._callbacks["error"]:
            err = ListenerError(f"callback {name} raised {type(exc).__name__}: {exc}", callback)
            err.__cause__ = exc
            self._fire("error", err)
        else:
            log.error("rivetctl connection callback %s raised", name, exc_info=exc)

    def _report(self, error: RivetctlError) -> None:
        if self._callbacks["error"]:
            self._fire("error", error)
        else:
            log.debug("connection error: %s", error)

    def _set_status(self, status: Status) -> None:
        if status == self._status:
            return
        self._status = status
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        self._fire("status", status)

    # -- waiting, disposing ------------------------------------------------------------------------

    async def wait_open(self, timeout: float | None = None) -> None:
        """Return once connected; raise the fatal error, ``ConnectionDisposedError``, or
        ``RequestTimeoutError`` after ``timeout`` seconds (naming the last failure)."""
        self._start()
        try:
            async with asyncio.timeout(timeout):
                while self._status != "connected":
                    self._check_usable()
                    await self._changed.wait()
        except TimeoutError:
            why = f": last failure: {self._last_failure}" if self._last_failure else ""
            raise RequestTimeoutError(f"not connected after {timeout:g} s{why}") from None

    async def dispose(self) -> None:
        """Close with ``1000 "Disposed"``, reject everything pending, drop listeners, stop reconnecting.

        Idempotent; the connection cannot be used afterwards.
        """
        if self._status == "disposed":
            return
        was_connected = self._status == "connected"
        session, self._session = self._session, None
        self._set_status("disposed")
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if session is not None:
            if session.writer is not None:
                session.writer.cancel()
            with contextlib.suppress(RivetctlError, OSError):
                await session.transport.close(1000, "Disposed")
        error = ConnectionDisposedError("the connection was disposed")
        self._reject_all(error)
        self._outbox.clear()
        for listeners in self._listeners.values():
            for listener in listeners:
                if listener.stream is not None:
                    listener.stream._finish()
        self._listeners.clear()
        if was_connected:
            self._fire("close", CloseInfo(1000, "Disposed", None, reconnecting=False))
        for callbacks in self._callbacks.values():
            callbacks.clear()

    async def __aenter__(self) -> ActorConnection:
        limit = self._handle._client.options.timeout
        try:
            await self.wait_open(limit)
        except BaseException:
            await self.dispose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispose()

    def _reject_all(self, error: BaseException, *, only_sent: bool = False) -> None:
        for action_id, act in list(self._actions.items()):
            if only_sent and not act.sent:
                continue
            if not act.future.done():
                act.future.set_exception(error)
            del self._actions[action_id]

    # -- the connection loop -----------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None and self._status == "idle" and self._error is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rivetctl-connection")

    async def _run(self) -> None:
        try:
            await self._reconnect_loop()
        except Exception as exc:  # a bug: fail loudly instead of leaving a dead task behind
            log.exception("rivetctl connection loop failed")
            self._fail(_wrap(exc))

    async def _reconnect_loop(self) -> None:
        delays = policy.backoff()
        immediate = True
        while True:
            if not immediate:
                await asyncio.sleep(next(delays))
            immediate = False
            self._set_status("connecting")
            self.attempts += 1
            try:
                transport, init = await self._attempt()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = _wrap(exc)  # not a RivetctlError: a bug, fatal rather than retried forever
                self._last_failure = error
                if self._verdict(error) is policy.Verdict.FATAL:
                    self._fail(error)
                    return
                self._report(error)
                continue
            opened = time.monotonic()
            if not await self._serve(transport, init):
                return
            if time.monotonic() - opened >= policy.STABLE_AFTER:
                delays = policy.backoff()
                immediate = True

    def _verdict(self, error: RivetctlError) -> policy.Verdict:
        kind = self._kind
        if isinstance(error, ActorError):
            return policy.classify_code(error.full_code, query=kind)
        if isinstance(error, ConnectionLostError):
            return policy.classify(error.close_code, error.close_reason, query=kind)
        if isinstance(error, NetworkError):
            return policy.Verdict.RETRY
        return policy.Verdict.FATAL  # ProtocolError, ConfigError, UnknownActorNameError, bugs

    async def _attempt(self) -> tuple[WebSocketTransport, Init]:
        handle = self._handle
        options = handle._client.options
        query = handle.query
        self._kind = "get" if isinstance(query, GetQuery) else "get_or_create"
        if isinstance(query, ForIdQuery):
            self._kind = "id"
        route = await handle._route()  # re-resolved every attempt: key queries follow the actor
        if isinstance(route, ForIdQuery):
            self._kind = "id"  # a key pinned to an id (it cannot travel in a URL): the id will not come back
        url = ws_url(handle._url(route, "/connect"))
        shown = redact_url(url)
        tracer = handle._client.tracer
        if tracer is not None and hasattr(tracer, "ws_open"):
            with contextlib.suppress(Exception):
                tracer.ws_open(shown)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + OPEN_TIMEOUT
        transport = await WebSocketTransport.open(
            url,
            encoding=self._encoding,
            params=None if self._params is None else to_json_compat(self._params),
            text=self._text,
            headers=options.headers,
            connect_timeout=options.connect_timeout,
            handshake_timeout=OPEN_TIMEOUT,
            verify=options.verify,
            display_url=shown,
        )
        try:
            async with asyncio.timeout_at(deadline):
                message = self._decode(await transport.recv())
            if isinstance(message, Init):
                return transport, message
            if isinstance(message, Error) and message.action_id is None:
                raise await self._opening_rejected(transport, message)
            raise ProtocolError(f"expected Init as the first message, got {type(message).__name__}")
        except ConnectionLostError as exc:
            raise _coded_close(exc) from None
        except TimeoutError:
            transport.abort()
            raise RequestTimeoutError(f"no Init within {OPEN_TIMEOUT:g} s of opening the connection") from None
        except BaseException:
            transport.abort()
            raise

    async def _opening_rejected(self, transport: WebSocketTransport, message: Error) -> ActorError:
        """The connection-level Error before Init; the close frame that follows carries the ray id."""
        ray: str | None = None
        try:
            async with asyncio.timeout(ERROR_CLOSE_WAIT):
                while True:
                    await transport.recv()
        except ConnectionLostError as exc:
            ray = policy.parse_close_reason(exc.close_reason).ray_id
        except TimeoutError:
            transport.abort()
        return _frame_error(message, ray)

    def _decode(self, data: bytes | str) -> Any:
        if self._trace_msg is not None:
            self._trace("recv", data)
        return decode_to_client(data, self._encoding)

    def _trace(self, direction: str, data: bytes | str) -> None:
        try:
            self._trace_msg(direction, data)  # type: ignore[misc]
        except Exception:  # a tracer must never break the connection
            log.exception("tracer ws_message failed")

    async def _serve(self, transport: WebSocketTransport, init: Init) -> bool:
        """Run one connected session until its socket closes; False after a fatal error."""
        session = _Session(transport, time.monotonic())
        self._session = session
        self._init(init)
        if self._ever_connected:
            self.reconnects += 1
        self._ever_connected = True
        # Re-subscribe everything first, then the actions that waited (still in call order).
        enc = self._encoding
        subscriptions = [encode_to_server(SubscriptionRequest(n, True), enc) for n in self._listeners]
        waiting = [a for a in self._outbox if isinstance(a, _Action) and not a.future.done()]
        self._outbox = deque([*subscriptions, *waiting])
        session.writer = asyncio.get_running_loop().create_task(self._write(session), name="rivetctl-writer")
        self._wakeup.set()
        self._set_status("connected")
        self._fire("open")
        try:
            while True:
                message = self._decode(await transport.recv())
                self._dispatch(message, session)
        except ConnectionLostError as exc:
            session.writer.cancel()
            self._session = None
            self._lost(exc, session)
            return True
        except Exception as exc:
            # ProtocolError: the peer is not speaking RivetKit, and reconnecting to the same thing would
            # not help. Anything else is a bug here: stop loudly rather than loop or hang.
            transport.abort()
            self._session = None
            error = _wrap(exc)
            self._reject_all(ConnectionLostError(f"connection dropped: {error}", code=1002), only_sent=True)
            self._fail(error)
            return False
        finally:
            session.writer.cancel()

    def _init(self, init: Init) -> None:
        self.actor_id = init.actor_id
        self.connection_id = init.connection_id

    def _dispatch(self, message: Any, session: _Session) -> None:
        if isinstance(message, ActionResponse):
            act = self._actions.pop(message.id, None)
            if act is not None and not act.future.done():
                act.future.set_result(message.output)
        elif isinstance(message, Event):
            self._emit(message.name, list(message.args))
        elif isinstance(message, Error):
            if message.action_id is not None:
                act = self._actions.pop(message.action_id, None)
                if act is not None and not act.future.done():
                    act.future.set_exception(_frame_error(message, None))
            else:
                session.error = _frame_error(message, None)
                self._report(session.error)
        elif isinstance(message, Init):
            # A second Init on the same socket: adopt the ids; re-subscribe if the server forgot us.
            changed = message.connection_id != self.connection_id
            self._init(message)
            if changed:
                for name in self._listeners:
                    self._send_control(SubscriptionRequest(name, True))

    async def _write(self, session: _Session) -> None:
        transport = session.transport
        trace = self._trace if self._trace_msg is not None else None
        try:
            while True:
                while not self._outbox:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                item = self._outbox.popleft()
                if isinstance(item, _Action):
                    if item.future.done():
                        continue
                    item.sent = True
                    frame = item.frame
                else:
                    frame = item
                if trace is not None:
                    trace("send", frame)
                await transport.send(frame)
        except ConnectionLostError:
            return  # the reader sees the close too
        except Exception:
            log.exception("connection writer failed")
            transport.abort()

    def _lost(self, lost: ConnectionLostError, session: _Session) -> None:
        code, reason = lost.close_code, lost.close_reason
        detail = f"code {code}" + (f", reason {reason!r}" if reason else "")
        self._last_failure = lost
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
        self._outbox = deque(a for a in self._outbox if isinstance(a, _Action) and not a.future.done())
        self.connection_id = None
        self._set_status("disconnected")
        self._fire("close", CloseInfo(code, reason, session.error))

    def _fail(self, error: RivetctlError) -> None:
        """A fatal error: stop reconnecting, reject everything with it, end iterators with it."""
        self._error = error
        self._task = None
        self._reject_all(error)
        self._outbox.clear()
        for listeners in self._listeners.values():
            for listener in listeners:
                if listener.stream is not None:
                    listener.stream._finish(error)
        self._set_status("idle")
        self._report(error)


def _frame_error(message: Error, ray_id: str | None) -> ActorError:
    return actor_error(
        message.group,
        message.code,
        message.message,
        metadata=message.metadata,
        actor=message.actor,
        ray_id=ray_id,
        action_id=message.action_id,
    )


def _coded_close(exc: ConnectionLostError) -> RivetctlError:
    """A close before Init whose reason is ``group.code#ray`` becomes that ``ActorError``."""
    parsed = policy.parse_close_reason(exc.close_reason)
    if parsed.group is None or parsed.code is None:
        return exc
    return actor_error(
        parsed.group,
        parsed.code,
        f"the server closed the connection before it was established (close code {exc.close_code})",
        ray_id=parsed.ray_id,
    )


def _wrap(exc: Exception) -> RivetctlError:
    if isinstance(exc, RivetctlError):
        return exc
    error = RivetctlError(f"internal error in the connection: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
