"""HTTP transport: a keep-alive HTTP/1.1 pool on asyncio streams; rivetctl errors only, bounded in time and size."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from rivetctl.errors import NetworkError, PayloadTooLargeError, ProtocolError, RequestTimeoutError
from rivetctl.transport.http1 import BodyTooLarge, PeerClosed, read_response, request_head
from rivetctl.transport.http1 import HttpResponse as HttpResponse  # the transport's answer type

if TYPE_CHECKING:
    import ssl

MAX_URL_LENGTH = 65_536
"""Longer URLs are refused before sending; the engine answers 414 well before twice that."""
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""A response larger than this is not a RivetKit answer (outputs are capped at 1 MiB server-side)."""
MAX_CONNECTIONS = 100
"""Requests in flight at once per transport; more callers wait for a free slot."""
MAX_IDLE = 64
"""Idle keep-alive connections kept per origin."""

USER_AGENT = "rivetctl"

Origin = tuple[str, str, int]


class Tracer(Protocol):
    """Receives every HTTP exchange (for ``-v`` output); must redact secrets itself."""

    def http_request(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None: ...

    def http_response(self, url: str, response: HttpResponse, elapsed: float) -> None: ...


class _Conn:
    __slots__ = ("loop", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.loop = asyncio.get_running_loop()

    def usable(self) -> bool:
        return (
            self.loop is asyncio.get_running_loop()
            and not self.reader.at_eof()
            and self.reader.exception() is None
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class HttpTransport:
    """Pooled keep-alive connections per origin (http and https); one request per connection at a time.

    ``connect_timeout`` bounds opening a connection; ``timeout`` bounds the whole exchange after that (a server
    that drips its answer byte by byte is cut off too). A kept-alive connection the server closed meanwhile is
    retried once on a new one, only when no byte of the answer came back.
    """

    def __init__(
        self,
        *,
        timeout: float | None,
        connect_timeout: float,
        verify: bool | str = True,
        headers: Mapping[str, str] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._verify = verify
        self._headers = {"user-agent": USER_AGENT, **(headers or {})}
        self._idle: dict[Origin, list[_Conn]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._ssl: ssl.SSLContext | None = None
        self.tracer = tracer

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        display_url: str | None = None,
        timeout: float | Any | None = ...,
    ) -> HttpResponse:
        """Send one request; ``display_url`` is the redacted URL used in errors and traces."""
        shown = display_url or url
        check_url(url)
        parts = urlsplit(url)
        scheme = parts.scheme
        if scheme not in ("http", "https") or not parts.hostname:
            raise NetworkError(f"cannot send a request to {_origin(shown)}: only http:// and https:// URLs")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise NetworkError(f"cannot send a request to {_origin(shown)}: invalid port") from None
        origin: Origin = (scheme, parts.hostname, port)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        if parts.port:
            host = f"{host}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        all_headers = {**self._headers, **headers} if headers else self._headers
        body = content or b""
        length = len(body) if content is not None or method in ("POST", "PUT", "PATCH") else None
        head = request_head(method, target, host, all_headers, length)
        if self.tracer is not None:
            self.tracer.http_request(method, shown, all_headers, body)
        started = time.perf_counter()
        limit = self._timeout if timeout is ... else timeout
        if self._slots is None:
            self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        async with self._slots:
            result = await self._exchange(origin, method, head + body, limit, shown)
        if self.tracer is not None:
            self.tracer.http_response(shown, result, time.perf_counter() - started)
        refuse_redirect(result, shown)
        return result

    async def _exchange(
        self, origin: Origin, method: str, data: bytes, limit: float | None, shown: str
    ) -> HttpResponse:
        for attempt in (0, 1):
            conn = self._checkout(origin)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, shown)
            keep = False
            try:
                async with asyncio.timeout(limit):
                    try:
                        conn.writer.write(data)
                        await conn.writer.drain()
                    except (ConnectionResetError, BrokenPipeError):
                        raise PeerClosed from None
                    resp, keep = await read_response(conn.reader, method, MAX_RESPONSE_BYTES)
                return resp
            except TimeoutError:
                raise RequestTimeoutError(f"{_origin(shown)} did not finish answering within {limit:g} s") from None
            except PeerClosed:
                if reused and attempt == 0:
                    continue
                raise NetworkError(f"{_origin(shown)} closed the connection without answering") from None
            except BodyTooLarge:
                raise ProtocolError(
                    f"response from {_origin(shown)} exceeds {MAX_RESPONSE_BYTES} bytes; not RivetKit"
                ) from None
            except OSError as exc:
                raise NetworkError(f"HTTP request to {_origin(shown)} failed: {_reason(exc)}") from None
            finally:
                if keep:
                    self._checkin(origin, conn)
                else:
                    conn.close()
        raise AssertionError("unreachable")

    def _checkout(self, origin: Origin) -> _Conn | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _checkin(self, origin: Origin, conn: _Conn) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) < MAX_IDLE:
            idle.append(conn)
        else:
            conn.close()

    async def _connect(self, origin: Origin, shown: str) -> _Conn:
        scheme, host, port = origin
        ctx = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=ctx, server_hostname=host if ctx else None
                )
        except TimeoutError:
            raise RequestTimeoutError(f"timed out waiting to connect to {_origin(shown)}") from None
        except socket.gaierror:
            raise NetworkError(f"cannot connect to {_origin(shown)}: unknown host") from None
        except OSError as exc:  # ssl.SSLError is an OSError
            raise NetworkError(f"cannot connect to {_origin(shown)}: {_reason(exc)}") from None
        return _Conn(reader, writer)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            import ssl

            if self._verify is False:
                self._ssl = ssl._create_unverified_context()
            else:
                self._ssl = ssl.create_default_context(cafile=self._verify if isinstance(self._verify, str) else None)
        return self._ssl

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def check_url(url: str) -> None:
    """Refuse, before sending, a URL longer than HTTP clients and the engine accept."""
    if len(url) > MAX_URL_LENGTH:
        raise PayloadTooLargeError(
            f"request URL is {len(url)} characters, over the {MAX_URL_LENGTH}-character limit",
            size=len(url),
            limit=MAX_URL_LENGTH,
        )


def refuse_redirect(result: HttpResponse, shown: str) -> None:
    """A redirect is never followed (it could carry the token elsewhere): it is an error."""
    if 300 <= result.status < 400:
        where = result.headers.get("location", "?")
        raise ProtocolError(
            f"{_origin(shown)} answered a redirect ({result.status}) to {where!r}; "
            "rivetctl does not follow redirects: point the endpoint at the engine itself"
        )


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _reason(exc: BaseException) -> str:
    # A failed connect to several addresses is one OSError naming each attempt; the causes say what happened.
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 5:
        parts.append(str(seen) or type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    text = " / ".join(parts)
    if "Connection refused" in text or "[Errno 111]" in text:
        return "connection refused (is the server running?)"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]
