"""WebSocket transport: opens an actor's ``/connect`` socket and moves frames, mapping failures to our errors.

No protocol logic lives here: frames go in and out as bytes (JSON as text frames), and every failure of the
``websockets`` library becomes a rivetctl error — ``NetworkError`` (could not open: retryable),
``RequestTimeoutError``, ``ConnectionLostError`` (closed; carries the close code and reason),
``ProtocolError`` (the peer is not a RivetKit engine) or an ``ActorError`` decoded from a refused upgrade.
Messages name only the origin (scheme, host, port): the gateway URL may carry ``rvt-token``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import ssl
from collections import deque
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn
from urllib.parse import quote, urlsplit

from rivetctl.errors import (
    ConfigError,
    ConnectionLostError,
    NetworkError,
    ProtocolError,
    RequestTimeoutError,
    RivetctlError,
    actor_error,
)
from rivetctl.transport.http import USER_AGENT

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

SUBPROTOCOL = "rivet"
MAX_FRAME = 4 * 1024 * 1024
"""Incoming frame limit: the server caps action outputs at 1 MiB, and JSON or BARE add an envelope."""
MAX_QUEUE = 64
"""Received frames buffered before reading pauses (flow control); event bursts run faster with more."""
PING_INTERVAL = 20.0
"""Keepalive pings detect a dead TCP path; the engine answers pings (it never sends its own)."""
PING_TIMEOUT = 20.0
CLOSE_TIMEOUT = 2.0


_SECRET_IN_PATH = re.compile(r"(rvt-token=)[^&\s]*|(/gateway/[^/@?\s]+@)[^/?\s]*")


class _RedactTokens(logging.Filter):
    """websockets logs the request line at DEBUG; the gateway URL carries the token: mask it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _SECRET_IN_PATH.sub(lambda m: (m.group(1) or m.group(2)) + "***", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


ws_log = logging.getLogger("rivetctl.websockets")
"""The logger handed to ``websockets`` (enable DEBUG on it to see frames); tokens are masked."""
ws_log.addFilter(_RedactTokens())


def subprotocols(encoding: str, params: Any) -> list[str]:
    """The offered subprotocols: ``rivet``, ``rivet_encoding.<enc>`` and, with params, the params.

    Params travel as ``rivet_conn_params.<percent-encoded JSON>`` (never in a header or the URL: they may
    hold secrets). ``quote(safe="")`` escapes everything but ``A-Za-z0-9_.-~``, so the result is always a
    valid HTTP token, which ``encodeURIComponent`` (used by the official client) does not guarantee.
    ``params`` must already be JSON-compatible (``to_json_compat``).
    """
    offered = [SUBPROTOCOL, f"rivet_encoding.{encoding}"]
    if params is not None:
        text = json.dumps(params, separators=(",", ":"), ensure_ascii=False)
        offered.append("rivet_conn_params." + quote(text, safe=""))
    return offered


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _ssl_context(url: str, verify: bool | str) -> ssl.SSLContext | None:
    if not url.startswith("wss:"):
        return None
    if verify is True:
        return ssl.create_default_context()
    if verify is False:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=verify)


def _closed_error(exc: BaseException, display_url: str) -> ConnectionLostError:
    """A ``ConnectionLostError`` with the close code and reason the server sent (1006 if none)."""
    rcvd = getattr(exc, "rcvd", None)
    sent = getattr(exc, "sent", None)
    frame = rcvd or sent
    code = int(frame.code) if frame is not None else 1006
    reason = frame.reason if frame is not None else ""
    where = _origin(display_url)
    if rcvd is None and sent is None:
        text = f"connection to {where} lost (code 1006: no close frame)"
    elif rcvd is not None:
        text = f"connection closed by {where} (code {code}" + (f", reason {reason!r})" if reason else ")")
    else:
        text = f"connection to {where} closed (code {code}" + (f", reason {reason!r})" if reason else ")")
    return ConnectionLostError(text, code=code, reason=reason)


def _rejected_upgrade(exc: Any, display_url: str, encoding: str) -> RivetctlError:
    """Map a non-101 answer to the upgrade: a RivetKit error body becomes an ``ActorError``."""
    response = exc.response
    status = int(response.status_code)
    body = bytes(response.body or b"")
    ctype = response.headers.get("content-type")
    ray = response.headers.get("x-rivet-ray-id")
    try:
        from rivetctl.protocol import encoding as codec

        err = codec.decode_http_error(body, ctype, encoding)  # type: ignore[arg-type]
    except Exception:
        return NetworkError(
            f"{_origin(display_url)} refused the WebSocket upgrade with HTTP {status}"
            + (" (is the endpoint a RivetKit engine?)" if status < 500 else "")
        )
    return actor_error(
        err.group, err.code, err.message, metadata=err.metadata, actor=err.actor, ray_id=ray, status=status
    )


async def _tcp_connect(host: str, port: int) -> socket.socket:
    """A connected non-blocking TCP socket (first address that answers); the caller bounds the time."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise last


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    return exc.strerror or str(exc) or type(exc).__name__


def _open_error(exc: BaseException, shown: str, encoding: str) -> BaseException:
    """Map a failure of the WebSocket handshake (after TCP connected) to a rivetctl error."""
    from websockets import exceptions as wsx

    where = _origin(shown)
    if isinstance(exc, TimeoutError):
        return RequestTimeoutError(
            f"timed out waiting for {where} to accept the WebSocket (the gateway answers once the actor is ready)"
        )
    if isinstance(exc, wsx.InvalidStatus):
        return _rejected_upgrade(exc, shown, encoding)
    if isinstance(exc, wsx.NegotiationError):
        return ProtocolError(f"{where} did not accept the RivetKit subprotocol: {exc}")
    if isinstance(exc, wsx.InvalidHandshake):
        # A truncated or garbled answer: a failed attempt, retried like a refused connection.
        return NetworkError(f"WebSocket handshake with {where} failed: {exc}")
    if isinstance(exc, wsx.ConnectionClosed):
        return _closed_error(exc, shown)
    if isinstance(exc, OSError):
        return NetworkError(f"WebSocket handshake with {where} failed: {_os_reason(exc)}")
    if isinstance(exc, ValueError):  # e.g. a redirect, which rivetctl never follows
        return ProtocolError(f"{where} did not answer the WebSocket upgrade as a RivetKit engine: {exc}")
    return exc


Message = bytes | str
Sink = Callable[[Message], None]


@cache
def _routed_connection() -> type[ClientConnection]:
    """A websockets ``ClientConnection`` that hands each whole data message to ``sink`` as it is parsed.

    websockets' own ``recv()`` queues messages and wakes a reader task for each; here the message goes
    straight from ``data_received`` to the consumer, in arrival order, with no task switch. Control frames
    (ping, pong, close) are left to websockets.
    """
    from websockets.asyncio.client import ClientConnection
    from websockets.frames import Opcode

    data_opcodes = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
    text_opcode, cont_opcode = Opcode.TEXT, Opcode.CONT

    class RoutedConnection(ClientConnection):
        sink: Sink | None = None
        on_lost: Callable[[], None] | None = None
        lost = False
        _parts: list[bytes] | None = None
        _parts_text = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.pending: list[Message] = []

        def process_event(self, event: Any) -> None:
            if self.response is None or event.opcode not in data_opcodes:
                super().process_event(event)  # the handshake response, pings, pongs, close
                return
            data = event.data
            if event.opcode is cont_opcode:
                if self._parts is None:
                    return  # websockets' protocol refuses an unexpected continuation before it gets here
                self._parts.append(bytes(data))
                if not event.fin:
                    return
                data, text, self._parts = b"".join(self._parts), self._parts_text, None
            elif not event.fin:
                self._parts, self._parts_text = [bytes(data)], event.opcode is text_opcode
                return
            else:
                text = event.opcode is text_opcode
            message: Message = data if type(data) is bytes else bytes(data)
            if text:
                with contextlib.suppress(UnicodeDecodeError):  # the JSON decoder reports it as a protocol error
                    message = message.decode()  # type: ignore[union-attr]
            if self.sink is None:  # before the transport object takes over: keep for it
                self.pending.append(message)
            else:
                self.sink(message)

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            self.lost = True
            if self.on_lost is not None:
                self.on_lost()

    return RoutedConnection


class WebSocketTransport:
    """One open WebSocket; ``send`` and ``recv`` raise ``ConnectionLostError`` once it is closed.

    Keepalive: the library pings every ``ping_interval`` seconds and closes the socket (code 1011) when no
    pong arrives within ``ping_timeout``, so a dead TCP path is noticed even on a quiet connection.
    """

    ping_interval: ClassVar[float | None] = PING_INTERVAL
    ping_timeout: ClassVar[float | None] = PING_TIMEOUT

    def __init__(self, ws: ClientConnection, *, text: bool, display_url: str) -> None:
        from websockets.protocol import State

        self._ws = ws
        self._text = text
        self._open_state = State.OPEN
        self.display_url = display_url
        self._inbox: deque[Message] = deque()
        self._handler: Sink | None = None
        self._failure: BaseException | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._lost = False
        self._inbox.extend(ws.pending)  # type: ignore[attr-defined]  # came with the handshake answer
        ws.pending.clear()  # type: ignore[attr-defined]
        ws.sink = self._deliver  # type: ignore[attr-defined]
        ws.on_lost = self._on_lost  # type: ignore[attr-defined]
        if ws.lost:  # type: ignore[attr-defined]
            self._on_lost()

    @property
    def writable(self) -> bool:
        """False once the socket is closing or closed: a frame sent now would not be written."""
        return self._ws.protocol.state is self._open_state

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        encoding: str,
        params: Any = None,
        text: bool = False,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float | None = 5.0,
        handshake_timeout: float | None = 30.0,
        display_url: str | None = None,
        verify: bool | str = True,
    ) -> WebSocketTransport:
        """Open ``url`` (``ws://`` or ``wss://``) offering the RivetKit subprotocols.

        Two budgets: ``connect_timeout`` for the TCP connection (a dead host fails fast), and
        ``handshake_timeout`` for the HTTP upgrade, which the gateway answers only once the actor is
        ready (created, woken, or rescheduled: seconds on a loaded server).

        Raises:
            NetworkError: refused, reset, or a non-RivetKit HTTP answer (retryable).
            RequestTimeoutError: no TCP connection or no upgrade answer in time.
            ActorError: the upgrade was refused with a RivetKit error body.
            ProtocolError: the server answered the upgrade but not as a RivetKit engine.
            ConfigError: the URL is not a WebSocket URL.

        ``display_url`` is the redacted URL used in messages (the default shows only the origin).
        """
        from websockets.asyncio.client import connect
        from websockets.typing import Subprotocol

        shown = display_url or _origin(url)
        where = _origin(shown)
        offered = [Subprotocol(p) for p in subprotocols(encoding, params)]
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ConfigError(f"not a WebSocket URL: {shown}")
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            async with asyncio.timeout(connect_timeout):
                sock = await _tcp_connect(parts.hostname, port)
        except TimeoutError:
            raise RequestTimeoutError(f"timed out connecting to {where}") from None
        except OSError as exc:
            raise NetworkError(f"cannot connect to {where}: {_os_reason(exc)}") from None
        try:
            ws = await connect(
                url,
                sock=sock,
                subprotocols=offered,
                compression=None,
                additional_headers=dict(headers or {}),
                user_agent_header=USER_AGENT,
                proxy=None,
                open_timeout=handshake_timeout,
                ping_interval=cls.ping_interval,
                ping_timeout=cls.ping_timeout,
                close_timeout=CLOSE_TIMEOUT,
                max_size=MAX_FRAME,
                max_queue=MAX_QUEUE,
                ssl=_ssl_context(url, verify),
                logger=ws_log,
                create_connection=_routed_connection(),
            )
        except BaseException as exc:
            sock.close()  # no-op if websockets already owns and closed it
            raise _open_error(exc, shown, encoding) from None
        if ws.subprotocol != SUBPROTOCOL:
            await ws.close()
            raise ProtocolError(f"{where} answered subprotocol {ws.subprotocol!r}, not {SUBPROTOCOL!r}")
        return cls(ws, text=text, display_url=shown)

    async def send(self, data: bytes) -> None:
        """Send one frame (a text frame for JSON: ``data`` is UTF-8)."""
        try:
            await self._ws.send(data, text=self._text)
        except Exception as exc:
            raise self._map_closed(exc) from None

    async def recv(self) -> bytes | str:
        """The next message; ``ConnectionLostError`` with the close code and reason once closed."""
        while not self._inbox:
            if self._lost:
                raise self._lost_error()
            self._wakeup = asyncio.get_running_loop().create_future()
            await self._wakeup
        return self._inbox.popleft()

    async def serve(self, handler: Sink) -> NoReturn:
        """Call ``handler(message)`` for every message, in order, as it arrives, until the socket closes.

        Messages already received are handed over first. Always raises: ``ConnectionLostError`` once the
        socket is closed, or whatever ``handler`` raised (the socket is then aborted).
        """
        try:
            while self._inbox:
                handler(self._inbox.popleft())
        except BaseException:
            self.abort()
            raise
        self._handler = handler
        while not self._lost:
            self._wakeup = asyncio.get_running_loop().create_future()
            await self._wakeup
        if self._failure is not None:
            raise self._failure
        raise self._lost_error()

    def _deliver(self, message: Message) -> None:
        """Called by the connection in ``data_received`` for each whole message."""
        handler = self._handler
        if handler is None:
            self._inbox.append(message)
            self._wake()
            return
        if self._failure is not None:
            return
        try:
            handler(message)
        except BaseException as exc:  # end the session with it; data_received must not raise
            self._failure = exc
            self.abort()

    def _on_lost(self) -> None:
        self._lost = True
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def _lost_error(self) -> ConnectionLostError:
        return _closed_error(self._ws.protocol.close_exc, self.display_url)

    def _map_closed(self, exc: Exception) -> Exception:
        # Imported on the failure path only: a per-frame import through websockets' lazy module
        # attributes cost ~3 µs on every send and receive.
        from websockets.exceptions import ConnectionClosed

        return _closed_error(exc, self.display_url) if isinstance(exc, ConnectionClosed) else exc

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    @property
    def close_reason(self) -> str | None:
        return self._ws.close_reason

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code``/``reason``; waits at most ``CLOSE_TIMEOUT`` for the TCP connection to end."""
        await self._ws.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection at once, without a closing handshake."""
        transport = self._ws.transport
        if transport is not None:
            transport.abort()
