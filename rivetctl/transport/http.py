"""HTTP transport: one pooled ``httpx.AsyncClient`` per client; rivetctl errors only, bounded in time and size."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from rivetctl.errors import (
    ConfigError,
    ConnectionLostError,
    NetworkError,
    PayloadTooLargeError,
    ProtocolError,
    RequestTimeoutError,
    RivetctlError,
)

if TYPE_CHECKING:
    import ssl

    import httpx

MAX_URL_LENGTH = 65_536
"""Longer URLs are refused before sending; the engine answers 414 well before twice that."""
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""A response larger than this is not a RivetKit answer (outputs are capped at 1 MiB server-side)."""
MAX_CONNECTIONS = 100
"""Requests in flight at once per transport; more callers wait for a free connection."""
MAX_IDLE = 64
"""Idle keep-alive connections kept open."""
KEEPALIVE_EXPIRY = 4.0
"""Seconds an idle connection is kept: below the common 5 s server idle timeouts (Node, uvicorn), so that a
request is not written on a connection the server is closing at that very moment (it would not be resent)."""

USER_AGENT = "rivetctl"

PROXY_VARIABLES = "HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY"
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
"""The characters of an HTTP header name (RFC 9110 token)."""
TLS_HINT = "pass --cacert FILE or set SSL_CERT_FILE (or --insecure to skip verification)"


class HttpResponse(NamedTuple):
    """A whole HTTP answer; ``headers`` has lowercase names (repeated headers joined with ``, ``)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class Tracer(Protocol):
    """Receives every HTTP exchange (for ``-v`` output); must redact secrets itself."""

    def http_request(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None: ...

    def http_response(self, url: str, response: HttpResponse, elapsed: float) -> None: ...


class HttpTransport:
    """HTTP/1.1 keep-alive connections through one ``httpx.AsyncClient``, created on the first request.

    The environment is honoured as httpx does (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``),
    and ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when ``verify`` is ``True``; ``verify`` may also be a CA bundle
    path or ``False``. Redirects are never followed (the token must not travel to another host).

    ``connect_timeout`` bounds opening a connection; ``timeout`` bounds the whole exchange from the moment the
    request starts being written (a server that drips its answer byte by byte is cut off too).

    A request that may have been written is never resent: when the connection is lost before the answer, the
    caller gets ``ConnectionLostError`` (the action may or may not have run).
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
        self._headers = {"user-agent": USER_AGENT, **(headers or {})}
        self._trust = _TrustStore(verify)
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._default_timeout: httpx.Timeout | None = None
        self.tracer = tracer

    def _client_for_loop(self) -> httpx.AsyncClient:
        import httpx

        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            # Connections belong to the event loop that opened them; a new loop gets a new pool.
            headers = encode_headers(self._headers)
            try:
                client = httpx.AsyncClient(
                    headers=headers,
                    verify=self._trust.context(),
                    timeout=self._timeouts(self._timeout),
                    limits=httpx.Limits(
                        max_connections=MAX_CONNECTIONS,
                        max_keepalive_connections=MAX_IDLE,
                        keepalive_expiry=KEEPALIVE_EXPIRY,
                    ),
                    follow_redirects=False,
                    trust_env=True,
                    cookies=_no_cookies(),
                )
            except (ImportError, ValueError, httpx.InvalidURL) as exc:
                raise ConfigError(f"cannot use the proxy set in the environment ({PROXY_VARIABLES}): {exc}") from None
            self._client, self._loop = client, loop
        return self._client

    def _timeouts(self, limit: float | None) -> httpx.Timeout:
        if limit == self._timeout and self._default_timeout is not None:
            return self._default_timeout
        import httpx

        made = httpx.Timeout(connect=self._connect_timeout, read=limit, write=limit, pool=None)
        if limit == self._timeout:
            self._default_timeout = made
        return made

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
        secure = _check_target(url, shown)
        import httpx

        client = self._client_for_loop()
        if secure:
            self._trust.load()
        limit: float | None = self._timeout if timeout is ... else timeout
        exchange = _Exchange(limit)
        try:
            req = client.build_request(
                method,
                url,
                headers=encode_headers(headers) if headers else None,
                content=content,
                timeout=self._timeouts(limit),
                extensions={"trace": exchange.event},
            )
        except httpx.InvalidURL as exc:
            raise ConfigError(f"cannot send a request to {_origin(shown)}: invalid URL ({_first_line(exc)})") from None
        if self.tracer is not None:
            self.tracer.http_request(method, shown, req.headers, content or b"")
        started = time.perf_counter()
        answered = False
        try:
            async with asyncio.timeout(None) as deadline:
                exchange.deadline = deadline
                resp = await client.send(req, stream=True)
                answered = True
                try:
                    result = await _read(resp, shown)
                finally:
                    await resp.aclose()
        except TimeoutError:
            raise RequestTimeoutError(f"{_origin(shown)} did not finish answering within {_seconds(limit)}") from None
        except httpx.HTTPError as exc:
            raise _failure(exc, req, shown, exchange, answered=answered) from None
        if self.tracer is not None:
            self.tracer.http_response(shown, result, time.perf_counter() - started)
        refuse_redirect(result, shown)
        return result

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()


class _Exchange:
    """One request's progress, from httpx's ``trace`` extension: which peer it connected to, whether the
    request started being written, and the whole-exchange deadline (armed when writing starts)."""

    __slots__ = ("deadline", "limit", "peer", "written")

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.deadline: asyncio.Timeout | None = None
        self.peer: tuple[str, int] | None = None
        self.written = False

    async def event(self, name: str, info: dict[str, Any]) -> None:
        if name == "connection.connect_tcp.started":
            self.peer = (str(info.get("host")), int(info.get("port") or 0))
        elif name == "http11.send_request_headers.started":
            if getattr(info.get("request"), "method", None) == b"CONNECT":
                return  # the tunnel through a proxy, not the request itself
            self.written = True
            if self.limit is not None and self.deadline is not None:
                self.deadline.reschedule(asyncio.get_running_loop().time() + self.limit)


async def _read(resp: httpx.Response, shown: str) -> HttpResponse:
    """The whole body, refused past ``MAX_RESPONSE_BYTES`` without reading the rest."""
    cap = MAX_RESPONSE_BYTES
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise ProtocolError(f"response from {_origin(shown)} exceeds {cap} bytes; not RivetKit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise ProtocolError(f"response from {_origin(shown)} exceeds {cap} bytes; not RivetKit")
        chunks.append(chunk)
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return HttpResponse(resp.status_code, dict(resp.headers.items()), body)


def _failure(exc: Exception, req: httpx.Request, shown: str, exchange: _Exchange, *, answered: bool) -> RivetctlError:
    """The rivetctl error for an httpx failure; messages name the origin only (URLs may carry a token)."""
    import httpx

    where = _origin(shown)
    proxy = _proxy_used(req, exchange)
    target = f"the proxy {proxy} (for {where}; set by {PROXY_VARIABLES})" if proxy else where
    detail = _first_line(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return RequestTimeoutError(f"timed out waiting to connect to {target}")
    if isinstance(exc, httpx.ReadTimeout):
        return RequestTimeoutError(f"{where} did not finish answering within {_seconds(exchange.limit)}")
    if isinstance(exc, httpx.WriteTimeout):
        return RequestTimeoutError(f"timed out sending the request to {where} (over {_seconds(exchange.limit)})")
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(f"timed out waiting for a connection to {where}")
    if isinstance(exc, httpx.ProxyError):
        named = f"the proxy {proxy}" if proxy else "the proxy"
        status = detail.split(" ", 1)[0]  # httpx words a refused tunnel as "403 Forbidden"
        return NetworkError(
            f"{named} refused to connect to {where}: {detail} (check {PROXY_VARIABLES})",
            permanent=status.isdigit() and 400 <= int(status) < 500,
        )
    if isinstance(exc, httpx.ConnectError):
        reason = _connect_reason(exc)
        return NetworkError(
            f"cannot connect to {target}: {reason}", permanent=reason.startswith("certificate verify failed")
        )
    if isinstance(exc, httpx.DecodingError):
        return ProtocolError(f"cannot decode the response body from {where}: {detail}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return NetworkError(f"cannot send a request to {where}: only http:// and https:// URLs")
    if isinstance(exc, httpx.LocalProtocolError):
        return ConfigError(f"cannot send the request to {where}: {detail}")
    if isinstance(exc, httpx.RemoteProtocolError):
        # "Server disconnected without sending a response": the connection ended before a whole answer head;
        # "peer closed connection without sending complete message body": a truncated body. Else: malformed.
        closed_early = "disconnected" in detail
        if not closed_early and not (answered and "closed connection" in detail):
            what = "its answer" if answered else "an answer"
            return ProtocolError(f"{where} sent {what} that is not valid HTTP/1.1 ({detail})")
    elif not isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return NetworkError(f"HTTP request to {where} failed: {detail}")
    if answered:
        return NetworkError(f"{where} closed the connection in the middle of its answer (truncated response)")
    if not exchange.written:
        return NetworkError(f"{target} closed the connection before the request was sent")
    if req.method in ("GET", "HEAD"):
        return ConnectionLostError(f"{where} closed the connection before answering")
    return ConnectionLostError(f"{where} closed the connection before answering; the action may or may not have run")


def _proxy_used(req: httpx.Request, exchange: _Exchange) -> str | None:
    """``host:port`` of the proxy the request went to, if its connection went to a host other than the URL's."""
    if exchange.peer is None:
        return None
    url = req.url
    port = url.port or (443 if url.scheme == "https" else 80)
    host, peer_port = exchange.peer
    if (host.lower(), peer_port) == (url.host.lower(), port):
        return None
    return f"{host}:{peer_port}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what caused it, and the members of exception groups on the way (bounded)."""
    todo = [exc]
    seen = 0
    while todo and seen < 20:
        cur = todo.pop(0)
        seen += 1
        yield cur
        if isinstance(cur, BaseExceptionGroup):
            todo.extend(cur.exceptions)
        nxt = cur.__cause__ or cur.__context__
        if nxt is not None:
            todo.append(nxt)


def _connect_reason(exc: BaseException) -> str:
    import socket
    import ssl

    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            why = cause.verify_message or cause.reason or "untrusted certificate"
            return f"certificate verify failed: {why}; {TLS_HINT}"
        if isinstance(cause, ssl.SSLError):
            hint = "; is it an https:// server?" if cause.reason == "WRONG_VERSION_NUMBER" else ""
            return f"TLS handshake failed ({cause.reason or _first_line(cause)}){hint}"
        if isinstance(cause, socket.gaierror):
            if cause.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
                return "unknown host"
            return f"cannot resolve the host name ({cause.strerror or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is the server running?)"
    text = " / ".join(_first_line(c) for c in _causes(exc))
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"certificate verify failed; {TLS_HINT}"
    if "Connection refused" in text or "[Errno 111]" in text:
        return "connection refused (is the server running?)"
    return _first_line(exc)


def _seconds(limit: float | None) -> str:
    return "the timeout" if limit is None else f"{limit:g} s"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


class _TrustStore:
    """The SSL context handed to httpx. Its CA certificates are loaded on the first https request: loading
    them costs tens of milliseconds that plain-http calls never need to pay."""

    def __init__(self, verify: bool | str) -> None:
        self.verify = verify
        self._context: ssl.SSLContext | None = None
        self._loaded = False

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names
            if self.verify is False:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                self._loaded = True
            self._context = ctx
        return self._context

    def load(self) -> None:
        """Load the CA certificates: ``--cacert``, else ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, else the system's."""
        if self._loaded:
            return
        import ssl

        ctx = self.context()
        source = "the system CA certificates"
        try:
            if isinstance(self.verify, str):
                source = f"--cacert {self.verify}"
                if os.path.isdir(self.verify):
                    ctx.load_verify_locations(capath=self.verify)
                else:
                    ctx.load_verify_locations(cafile=self.verify)
            elif (cafile := os.environ.get("SSL_CERT_FILE")) or os.environ.get("SSL_CERT_DIR"):
                # As OpenSSL's default paths do: the bundle and the directory both, when both are set.
                capath = os.environ.get("SSL_CERT_DIR")
                source = " and ".join(
                    f"{name}={value}" for name, value in (("SSL_CERT_FILE", cafile), ("SSL_CERT_DIR", capath)) if value
                )
                ctx.load_verify_locations(cafile=cafile or None, capath=capath or None)
            else:
                ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _first_line(exc)
            raise ConfigError(f"cannot load CA certificates from {source}: {reason}") from None
        self._loaded = True


def _no_cookies() -> Any:
    """A cookie jar that keeps nothing: every request stands alone, as the official client's do."""
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def encode_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """Header lines as bytes; refuses, before anything is sent, what would not be one Latin-1 header line."""
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers.items():
        if not name or not _TOKEN.issuperset(name):
            raise ConfigError(f"invalid HTTP header name {name[:40]!r}: names are tokens")
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            raise ConfigError(
                f"cannot send {bad!r} in the HTTP header {name!r}: header values are Latin-1 text"
            ) from None
        if b"\r" in raw or b"\n" in raw or b"\0" in raw:
            raise ConfigError(f"invalid HTTP header {name[:40]!r}: values are one line")
        out.append((name.encode("ascii"), raw))
    return out


def _check_target(url: str, shown: str) -> bool:
    """Refuse what is not an http(s) URL with a host and a valid port; True for https."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NetworkError(f"cannot send a request to {_origin(shown)}: only http:// and https:// URLs")
    try:
        _ = parts.port  # ValueError unless a number from 0 to 65535
    except ValueError:
        raise ConfigError(f"cannot send a request to {_origin(shown)}: invalid port") from None
    return parts.scheme == "https"


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
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
