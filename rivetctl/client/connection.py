"""Live actor connections: actions matched by id, events, observable status, and automatic reconnection.

One ``ActorConnection`` owns one background task that opens a WebSocket (``rivetctl.client.handshake``),
waits for ``Init``, then reads frames until the socket closes, and starts over with backoff (policy from
``rivetctl.protocol.backoff``). Pending actions and outgoing frames live in ``rivetctl.client.outbox``,
listeners and callbacks in ``rivetctl.client.listeners``; this module keeps the status and the sessions.

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
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rivetctl.client.actions import ActionMethods
from rivetctl.client.events import DEFAULT_MAX_BUFFERED_EVENTS, ConnEvent, EventStream
from rivetctl.client.handshake import check_transport, frame_error, open_session
from rivetctl.client.listeners import CloseInfo, Listener, Listeners
from rivetctl.client.outbox import Outbox
from rivetctl.errors import (
    ActorError,
    ConnectionDisposedError,
    ConnectionLostError,
    ListenerError,
    NetworkError,
    RequestTimeoutError,
    RivetctlError,
)
from rivetctl.protocol import backoff as policy
from rivetctl.protocol.encoding import decode_to_client, encode_to_server, is_text
from rivetctl.protocol.messages import ActionResponse, Error, Event, Init, SubscriptionRequest
from rivetctl.protocol.query import ForIdQuery, GetQuery
from rivetctl.transport.websocket import Connector, WebSocketTransport

if TYPE_CHECKING:
    from rivetctl.client.handle import ActorHandle

__all__ = [
    "DEFAULT_MAX_BUFFERED_EVENTS",
    "OPEN_TIMEOUT",
    "ActorConnection",
    "CloseInfo",
    "ConnEvent",
    "Connector",
    "EventStream",
    "ListenerError",
    "Status",
]

log = logging.getLogger("rivetctl.connection")

Status = Literal["idle", "connecting", "connected", "disconnected", "disposed"]
"""As in the official client: ``idle`` (not started, or stopped by a fatal error: see
``ActorConnection.error``) → ``connecting`` (attempts and the waits between them) → ``connected`` (``Init``
received) → ``disconnected`` (the session just ended; reconnection follows) → ``connecting`` … and finally
``disposed``. Each outage is exactly one ``disconnected``; failed attempts are reported to ``on_error``."""

OPEN_TIMEOUT = 30.0
"""Budget for one attempt from the upgrade request to ``Init`` (the gateway answers the upgrade only once
the actor is ready, which takes seconds on a loaded server); the TCP connect alone is bounded by the
client's ``connect_timeout``."""

_UNSET: Any = ...


@dataclass(eq=False)
class _Session:
    transport: WebSocketTransport
    opened_at: float
    error: RivetctlError | None = None
    writer: asyncio.Task[None] | None = field(default=None)


class ActorConnection(ActionMethods):
    """A live connection to one actor over WebSocket, shaped like the JavaScript client's ``connect()``.

    ``conn = handle.connect(params)`` starts connecting at once (inside a running event loop; otherwise on
    first use). ``async with handle.connect() as conn:`` also waits until the first ``Init`` (or raises the
    fatal error) and disposes on exit.

    - Actions: ``await conn.action("increment", 1)`` or ``await conn.increment(1)``; many may be in flight
      at once, answers are matched by id. While disconnected, actions wait in the outbox (``queued``).
    - Events: ``conn.on(name, cb)`` (returns an unsubscribe function), ``conn.once``, ``conn.off``, or
      ``async for ev in conn.events(name, ...)``. Callbacks get the event's arguments (``cb(*args)``), may
      be sync or async; one that raises is reported to ``on_error`` (or logged) and changes nothing else.
    - Lifecycle: ``status`` and ``on_status`` / ``on_open`` / ``on_close`` / ``on_error`` / ``on_retry``
      callbacks (each returns an unsubscribe function), ``await wait_open()``, ``await dispose()``.
    - Attempts: each resolves the route first (``ActorHandle.route()``: it may check the actor name or
      resolve the actor's id over HTTP, and a failure there is a failed attempt like any other), then opens
      the WebSocket with ``connector`` (default ``WebSocketTransport.open``; see ``Connector``).
    - Reconnection: any failure before ``Init`` is a failed attempt, retried after 0.25 s, 0.5 s, 1 s, …
      30 s (jittered) forever, unless the failure is fatal (a rejection by ``onBeforeConnect``, an
      unknown actor, an untrusted TLS certificate, a proxy refusing the tunnel): then the status becomes
      ``idle``, ``error`` holds the error, waiting actions are rejected with it and later calls raise it.
      Every failed attempt is also reported to ``on_error``, and, when another attempt follows, to
      ``on_retry`` with the delay before it.
    """

    def __init__(
        self,
        handle: ActorHandle,
        *,
        params: Any = None,
        transport: str = "websocket",
        connector: Connector | None = None,
    ) -> None:
        check_transport(transport)
        self._target = target = handle.connect_target()
        self._params = params
        self.connector: Connector = connector or WebSocketTransport.open
        """Opens the WebSocket of each attempt (default ``WebSocketTransport.open``); replace it to observe or
        fail attempts (read at every attempt). The route is resolved first, so a connector sees the URL."""
        self._options = options = target.options
        self._encoding = options.encoding
        self._text = is_text(self._encoding)
        self._status: Status = "idle"
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: _Session | None = None
        self._outbox = Outbox()
        self._listeners = Listeners(self._subscription)
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
        tracer = target.tracer
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
        return self._outbox.queued

    @property
    def in_flight(self) -> int:
        """Actions written to the current socket and not yet answered."""
        return self._outbox.in_flight

    @property
    def params(self) -> Any:
        return self._params

    def __repr__(self) -> str:
        return f"ActorConnection({self._target.query!r}, status={self._status!r})"

    # -- actions -----------------------------------------------------------------------------------

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
        limit = self._options.timeout if timeout is _UNSET else timeout
        return await self._outbox.call(name, list(args), encoding=self._encoding, timeout=limit)

    def _check_usable(self) -> None:
        if self._status == "disposed":
            raise ConnectionDisposedError("the connection was disposed")
        if self._error is not None:
            raise self._error.with_traceback(None)

    # -- events ------------------------------------------------------------------------------------

    def on(self, name: str, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback(*args)`` for every ``name`` event; returns a function that unsubscribes."""
        return self._add_listener(name, Listener(callback))

    def once(self, name: str, callback: Callable[..., Any]) -> Callable[[], None]:
        """Like ``on`` but only for the next ``name`` event."""
        return self._add_listener(name, Listener(callback, once=True))

    def off(self, name: str, callback: Callable[..., Any] | None = None) -> None:
        """Remove ``callback`` (every registration of it) from ``name``, or all callbacks of ``name``.

        Iterators from ``events()`` are not affected: close them instead.
        """
        self._listeners.off(name, callback)

    def events(self, *names: str, maxsize: int = DEFAULT_MAX_BUFFERED_EVENTS) -> EventStream:
        """An async iterator of ``ConnEvent`` for the given names (see ``EventStream`` for overflow)."""
        self._start()
        if self._status == "disposed":
            raise ConnectionDisposedError("the connection was disposed")
        stream = EventStream(self, names, maxsize)
        if self._error is not None:
            stream._finish(self._error)
        return stream

    def _add_listener(self, name: str, listener: Listener) -> Callable[[], None]:
        if self._status == "disposed":
            raise ConnectionDisposedError("the connection was disposed")
        return self._listeners.add(name, listener)

    def _subscription(self, name: str, subscribe: bool) -> None:
        # Subscriptions are ephemeral: sent only on a live socket; every Init re-sends the current set.
        if self._session is not None:
            self._outbox.push(encode_to_server(SubscriptionRequest(name, subscribe), self._encoding))

    # -- lifecycle callbacks -----------------------------------------------------------------------

    def on_status(self, callback: Callable[[Status], Any]) -> Callable[[], None]:
        """``callback(status)`` on every status change."""
        return self._listeners.add_callback("status", callback)

    def on_open(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """``callback()`` after every ``Init`` (first connect and each reconnect)."""
        return self._listeners.add_callback("open", callback)

    def on_close(self, callback: Callable[[CloseInfo], Any]) -> Callable[[], None]:
        """``callback(CloseInfo)`` when a connected session ends (server close, network loss, dispose)."""
        return self._listeners.add_callback("close", callback)

    def on_error(self, callback: Callable[[RivetctlError], Any]) -> Callable[[], None]:
        """``callback(error)`` for connection-level errors: failed attempts, the fatal error, server
        ``Error`` frames without an action id, and ``ListenerError`` for callbacks that raised."""
        return self._listeners.add_callback("error", callback)

    def on_retry(self, callback: Callable[[RivetctlError, float], Any]) -> Callable[[], None]:
        """``callback(error, delay_seconds)`` after every failed attempt that will be retried: ``error`` is why
        the attempt failed (e.g. a ``NetworkError`` for a refused connection), ``delay_seconds`` how long the
        connection waits before the next attempt. Not called for a fatal error (that is ``on_error`` with
        status ``idle``), nor when a connected session ends (that is ``on_close``; the attempts that follow
        report here if they fail). Returns a function that unregisters the callback."""
        return self._listeners.add_callback("retry", callback)

    def _set_status(self, status: Status) -> None:
        if status == self._status:
            return
        self._status = status
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        self._listeners.fire("status", status)

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
        self._outbox.abandon(ConnectionDisposedError("the connection was disposed"))
        self._listeners.finish_streams()
        self._listeners.clear_listeners()
        if was_connected:
            self._listeners.fire("close", CloseInfo(1000, "Disposed", None, reconnecting=False))
        self._listeners.clear_callbacks()

    async def __aenter__(self) -> ActorConnection:
        limit = self._options.timeout
        try:
            await self.wait_open(limit)
        except BaseException:
            await self.dispose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispose()

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
        delay = 0.0
        while True:
            if delay > 0:
                await asyncio.sleep(delay)
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
                delay = next(delays)
                self._listeners.report(error)
                self._listeners.fire("retry", error, delay)
                continue
            opened = time.monotonic()
            if not await self._serve(transport, init):
                return
            if time.monotonic() - opened >= policy.STABLE_AFTER:
                delays = policy.backoff()
                delay = 0.0
            else:
                delay = next(delays)

    def _verdict(self, error: RivetctlError) -> policy.Verdict:
        kind = self._kind
        if isinstance(error, ActorError):
            return policy.classify_code(error.full_code, query=kind)
        if isinstance(error, ConnectionLostError):
            return policy.classify(error.close_code, error.close_reason, query=kind)
        if isinstance(error, NetworkError):  # e.g. an untrusted certificate or a proxy's refusal will not heal
            return policy.Verdict.FATAL if error.permanent else policy.Verdict.RETRY
        return policy.Verdict.FATAL  # ProtocolError, ConfigError, UnknownActorNameError, bugs

    async def _attempt(self) -> tuple[WebSocketTransport, Init]:
        target = self._target
        query = target.query
        self._kind = "get" if isinstance(query, GetQuery) else "get_or_create"
        if isinstance(query, ForIdQuery):
            self._kind = "id"
        route = await target.resolve_route()  # re-resolved every attempt: key queries follow the actor
        if route.by_id:
            self._kind = "id"  # a key pinned to an id (it cannot travel in a URL): the id will not come back
        return await open_session(
            route.ws_url("/connect"),
            options=target.options,
            tracer=target.tracer,
            params=self._params,
            encoding=self._encoding,
            text=self._text,
            decode=self._decode,
            timeout=OPEN_TIMEOUT,  # read at every attempt (tests shorten it)
            connector=self.connector,
        )

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
        self._outbox.restart([encode_to_server(SubscriptionRequest(n, True), enc) for n in self._listeners.names()])
        trace = self._trace if self._trace_msg is not None else None
        writer = self._outbox.write(transport, trace)
        session.writer = asyncio.get_running_loop().create_task(writer, name="rivetctl-writer")
        self._set_status("connected")
        self._listeners.fire("open")
        try:
            await transport.serve(lambda data: self._dispatch(self._decode(data), session))
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
            self._outbox.reject_all(ConnectionLostError(f"connection dropped: {error}", code=1002), only_sent=True)
            self._fail(error)
            return False
        finally:
            session.writer.cancel()

    def _init(self, init: Init) -> None:
        self.actor_id = init.actor_id
        self.connection_id = init.connection_id

    def _dispatch(self, message: Any, session: _Session) -> None:
        if isinstance(message, ActionResponse):
            self._outbox.resolve(message.id, message.output)
        elif isinstance(message, Event):
            self._listeners.emit(message.name, message.args)
        elif isinstance(message, Error):
            if message.action_id is not None:
                self._outbox.reject(message.action_id, frame_error(message, None))
            else:
                session.error = frame_error(message, None)
                self._listeners.report(session.error)
        elif isinstance(message, Init):
            # A second Init on the same socket: adopt the ids; re-subscribe if the server forgot us.
            changed = message.connection_id != self.connection_id
            self._init(message)
            if changed:
                for name in self._listeners.names():
                    self._subscription(name, True)

    def _lost(self, lost: ConnectionLostError, session: _Session) -> None:
        code, reason = lost.close_code, lost.close_reason
        self._last_failure = lost
        self._outbox.lose_sent(code, reason)
        self.connection_id = None
        self._set_status("disconnected")
        self._listeners.fire("close", CloseInfo(code, reason, session.error))

    def _fail(self, error: RivetctlError) -> None:
        """A fatal error: stop reconnecting, reject everything with it, end iterators with it."""
        self._error = error
        self._task = None
        self._outbox.abandon(error)
        self._listeners.finish_streams(error)
        self._set_status("idle")
        self._listeners.report(error)


def _wrap(exc: Exception) -> RivetctlError:
    if isinstance(exc, RivetctlError):
        return exc
    error = RivetctlError(f"internal error in the connection: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
