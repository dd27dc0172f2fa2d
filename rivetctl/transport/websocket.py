"""WebSocket transport: opens an actor's ``/connect`` socket with websockets' asyncio client and moves frames.

No protocol logic lives here: frames go in and out as bytes (JSON as text frames), and every failure of the
``websockets`` library becomes a rivetctl error — ``NetworkError`` (could not open: retryable),
``RequestTimeoutError``, ``ConnectionLostError`` (closed; carries the close code and reason),
``ProtocolError`` (the peer is not a RivetKit engine) or an ``ActorError`` decoded from a refused upgrade.
Messages name only the origin (scheme, host, port): the gateway URL may carry ``rvt-token``.

Only websockets' documented API is used: ``connect()`` (proxies from the environment left on), ``recv()``,
``send()``, ``close()``, ``state``, and the ``ConnectionClosed`` exceptions for the close code and reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Protocol, cast
from urllib.parse import quote, urlsplit

from rivetctl.errors import ConfigError, ProtocolError
from rivetctl.transport.http import USER_AGENT
from rivetctl.transport.ws_errors import closed_error, open_error, origin, proxy_for

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

Message = bytes | str
Sink = Callable[[Message], None]

SUBPROTOCOL = "rivet"
MAX_FRAME = 4 * 1024 * 1024
"""Incoming frame limit: the server caps action outputs at 1 MiB, and JSON or BARE add an envelope."""
MAX_QUEUE = 4096
"""Frames websockets may hold for ``recv()`` before it stops reading the socket (it resumes at a quarter).
The reader empties the queue on every turn of the loop, so it only ever holds what one read of the socket
brought (at most 256 KiB); the mark is high enough that a burst of small events does not pause and resume
reading for each read (websockets' default is 16 frames)."""
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

_closing: set[asyncio.Task[None]] = set()
"""Closes started by ``abort()`` (kept referenced until they finish)."""


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


def ssl_context(url: str, verify: bool | str) -> ssl.SSLContext | None:
    """The TLS context for ``wss://``: the system store (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured, as
    OpenSSL reads them when the default paths load), a CA bundle file, or no verification.

    Loading a CA store takes tens of milliseconds: contexts are kept per setting (and per value of those
    two variables), so reconnecting does not pay it again.
    """
    if not url.startswith("wss:"):
        return None
    key = (verify, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    ctx = _contexts.get(key)
    if ctx is None:
        try:
            ctx = _contexts[key] = _new_context(verify)
        except OSError as exc:  # an unreadable or non-PEM --cacert file (ssl.SSLError is an OSError)
            raise ConfigError(f"cannot load CA certificates from --cacert {verify}: {exc.strerror or exc}") from None
    return ctx


_contexts: dict[tuple[bool | str, str | None, str | None], ssl.SSLContext] = {}


def _new_context(verify: bool | str) -> ssl.SSLContext:
    if verify is True:
        return ssl.create_default_context()
    if verify is False:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


class Connector(Protocol):
    """Opens one WebSocket: :meth:`WebSocketTransport.open`'s signature (every argument is passed by the
    caller). A live connection calls its connector once per attempt; a replacement may wrap the real one (to
    fail some attempts, delay them, or record them) and must return an open ``WebSocketTransport`` or raise
    as ``open`` does (``NetworkError`` for a failure worth retrying)."""

    def __call__(
        self,
        url: str,
        *,
        encoding: str,
        params: Any,
        text: bool,
        headers: Mapping[str, str] | None,
        connect_timeout: float | None,
        handshake_timeout: float | None,
        display_url: str | None,
        verify: bool | str,
    ) -> Awaitable[WebSocketTransport]: ...


class WebSocketTransport:
    """One open WebSocket; ``send`` and ``recv`` raise ``ConnectionLostError`` once it is closed.

    Keepalive: websockets pings every ``ping_interval`` seconds and closes the socket (code 1011) when no
    pong arrives within ``ping_timeout``, so a dead TCP path is noticed even on a quiet connection.
    """

    ping_interval: ClassVar[float | None] = PING_INTERVAL
    ping_timeout: ClassVar[float | None] = PING_TIMEOUT

    def __init__(self, ws: ClientConnection, *, text: bool, display_url: str) -> None:
        from websockets.protocol import State

        self._ws = ws
        self._text = text
        self._open_state = State.OPEN
        self._closer: asyncio.Task[None] | None = None
        self.display_url = display_url

    @property
    def writable(self) -> bool:
        """False once the socket is closing or closed: a frame sent now would not be written."""
        return self._ws.state is self._open_state

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

        Two budgets: ``connect_timeout`` until the TCP connection is up (through the proxy, if the
        environment names one: a dead host fails fast), then ``handshake_timeout`` for the TLS handshake
        and the HTTP upgrade, which the gateway answers only once the actor is ready (created, woken, or
        rescheduled: seconds on a loaded server). websockets builds its connection object the moment the
        TCP connection (or the proxy tunnel) is up: the ``create_connection`` factory below marks that
        moment and moves the deadline.

        Raises:
            NetworkError: refused, reset, a proxy or TLS failure, or a non-RivetKit HTTP answer (retryable).
            RequestTimeoutError: no TCP connection or no upgrade answer in time.
            ActorError: the upgrade was refused with a RivetKit error body.
            ProtocolError: the server answered the upgrade but not as a RivetKit engine.
            ConfigError: the URL is not a WebSocket URL, the proxy address is invalid, or --cacert unreadable.

        The error's ``__context__`` is websockets' (or the OS's) exception, its ``__cause__`` None.

        ``display_url`` is the redacted URL used in messages (the default shows only the origin).
        """
        from websockets.asyncio.client import ClientConnection, connect
        from websockets.typing import Subprotocol

        shown = display_url or origin(url)
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ConfigError(f"not a WebSocket URL: {shown}")
        proxy, proxy_arg = proxy_for(url)
        loop = asyncio.get_running_loop()
        connected = False

        def connection(*args: Any, **kwargs: Any) -> ClientConnection:
            nonlocal connected
            if not connected:
                connected = True
                with contextlib.suppress(RuntimeError):  # the connect budget ran out in this very turn
                    budget.reschedule(None if handshake_timeout is None else loop.time() + handshake_timeout)
            return ClientConnection(*args, **kwargs)

        try:
            async with asyncio.timeout(connect_timeout) as budget:
                ws = await connect(
                    url,
                    subprotocols=[Subprotocol(p) for p in subprotocols(encoding, params)],
                    compression=None,
                    additional_headers=dict(headers or {}),
                    user_agent_header=USER_AGENT,
                    proxy=proxy_arg,
                    open_timeout=None,
                    ping_interval=cls.ping_interval,
                    ping_timeout=cls.ping_timeout,
                    close_timeout=CLOSE_TIMEOUT,
                    max_size=MAX_FRAME,
                    max_queue=MAX_QUEUE,
                    ssl=ssl_context(url, verify),
                    logger=ws_log,
                    # Documented as "a wrapper or a subclass"; typed as a class.
                    create_connection=cast("type[ClientConnection]", connection),
                )
        except Exception as exc:
            raise open_error(exc, shown, encoding, connected=connected, proxy=proxy) from None
        if ws.subprotocol != SUBPROTOCOL:
            await _close(ws, 1002, "")
            raise ProtocolError(f"{origin(shown)} answered subprotocol {ws.subprotocol!r}, not {SUBPROTOCOL!r}")
        return cls(ws, text=text, display_url=shown)

    async def send(self, data: bytes) -> None:
        """Send one frame (a text frame for JSON: ``data`` is UTF-8).

        The frame is in the socket's buffer before the first suspension; ``send`` then waits only while the
        buffer is over its high-water mark (a peer that reads slowly).
        """
        try:
            await self._ws.send(data, text=self._text)
        except Exception as exc:
            raise self._map_closed(exc) from None

    async def recv(self) -> Message:
        """The next message; ``ConnectionLostError`` with the close code and reason once closed."""
        try:
            return await self._ws.recv()
        except Exception as exc:
            raise self._map_closed(exc) from None

    async def serve(self, handler: Sink) -> NoReturn:
        """Call ``handler(message)`` for every message, in order, as it arrives, until the socket closes.

        Always raises: ``ConnectionLostError`` once the socket is closed, or whatever ``handler`` raised
        (the socket is then closed: 1002 after a ``ProtocolError``, else 1011).
        """
        from websockets.exceptions import ConnectionClosed

        recv = self._ws.recv
        while True:
            try:
                message = await recv()
            except ConnectionClosed as exc:
                raise closed_error(exc, self.display_url) from None
            try:
                handler(message)
            except BaseException as exc:
                self.abort(1002 if isinstance(exc, ProtocolError) else 1011)
                raise

    def _map_closed(self, exc: Exception) -> Exception:
        # Imported on the failure path only: websockets' lazy module attributes cost microseconds per use.
        from websockets.exceptions import ConnectionClosed

        return closed_error(exc, self.display_url) if isinstance(exc, ConnectionClosed) else exc

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    @property
    def close_reason(self) -> str | None:
        return self._ws.close_reason

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code``/``reason``; the TCP connection is gone within about ``CLOSE_TIMEOUT``."""
        await _close(self._ws, code, reason)

    def abort(self, code: int = 1000, reason: str = "") -> None:
        """Start closing and return at once (later calls do nothing); the TCP connection is gone within about
        ``CLOSE_TIMEOUT`` even if the peer does not answer or stopped reading."""
        if self._closer is None:
            self._closer = task = asyncio.get_running_loop().create_task(_close(self._ws, code, reason))
            _closing.add(task)
            task.add_done_callback(_closing.discard)


async def _close(ws: ClientConnection, code: int, reason: str) -> None:
    """``ws.close()``, bounded even when the close frame waits behind a full write buffer.

    websockets bounds the closing handshake by ``close_timeout`` and then drops the TCP connection, but a
    close frame queued while flow control holds writes back first waits for the buffer to drain. A second
    ``close()`` finds the connection closing, waits for the same deadline, and then drops the connection
    (which also ends the first).
    """
    first = asyncio.ensure_future(ws.close(code, reason))
    first.add_done_callback(_retrieve)
    done, _ = await asyncio.wait({first}, timeout=CLOSE_TIMEOUT)
    if not done:
        await ws.close()


def _retrieve(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()
