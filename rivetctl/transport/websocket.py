"""WebSocket transport: opens an actor's ``/connect`` socket and moves frames, mapping failures to our errors.

No protocol logic lives here: frames go in and out as bytes (JSON as text frames), and every failure of the
``websockets`` library becomes a rivetctl error — ``NetworkError`` (could not open: retryable),
``RequestTimeoutError``, ``ConnectionLostError`` (closed; carries the close code and reason),
``ProtocolError`` (the peer is not a RivetKit engine) or an ``ActorError`` decoded from a refused upgrade.
Messages name only the origin (scheme, host, port): the gateway URL may carry ``rvt-token``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import ssl
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn
from urllib.parse import quote, urlsplit

from rivetctl.errors import (
    ConfigError,
    ConnectionLostError,
    NetworkError,
    ProtocolError,
    RequestTimeoutError,
)
from rivetctl.transport.http import USER_AGENT
from rivetctl.transport.ws_errors import closed_error, open_error, origin, os_reason
from rivetctl.transport.ws_routing import Message, Sink, routed_connection

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

SUBPROTOCOL = "rivet"
MAX_FRAME = 4 * 1024 * 1024
"""Incoming frame limit: the server caps action outputs at 1 MiB, and JSON or BARE add an envelope."""
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

        shown = display_url or origin(url)
        where = origin(shown)
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
            raise NetworkError(f"cannot connect to {where}: {os_reason(exc)}") from None
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
                ssl=_ssl_context(url, verify),
                logger=ws_log,
                create_connection=routed_connection(),
            )
        except BaseException as exc:
            sock.close()  # no-op if websockets already owns and closed it
            raise open_error(exc, shown, encoding) from None
        if ws.subprotocol != SUBPROTOCOL:
            await ws.close()
            raise ProtocolError(f"{where} answered subprotocol {ws.subprotocol!r}, not {SUBPROTOCOL!r}")
        return cls(ws, text=text, display_url=shown)

    def send_nowait(self, data: bytes) -> bool:
        """Write one frame at once if the socket takes it without waiting; False (nothing written) when the
        caller must ``await send(data)`` instead: the socket is closing, or its write buffer is full."""
        try:
            return self._ws.send_now(data, self._text)  # type: ignore[attr-defined,no-any-return]
        except Exception as exc:
            raise self._map_closed(exc) from None

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
        return closed_error(self._ws.protocol.close_exc, self.display_url)

    def _map_closed(self, exc: Exception) -> Exception:
        # Imported on the failure path only: a per-frame import through websockets' lazy module
        # attributes cost ~3 µs on every send and receive.
        from websockets.exceptions import ConnectionClosed

        return closed_error(exc, self.display_url) if isinstance(exc, ConnectionClosed) else exc

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
