"""A light HTTP transport on the standard library (``http.client`` in a worker thread) for one-shot commands.

It has ``HttpTransport``'s interface and guarantees (rivetctl errors only, whole-exchange deadline, response
size cap, no redirects) but skips importing httpx, which costs a one-shot ``rivetctl call`` more than the call
itself. One connection per origin, reused, requests serialized: right for a CLI command, not for a library
serving many concurrent callers (use ``HttpTransport`` there).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rivetctl.errors import NetworkError, ProtocolError, RequestTimeoutError, RivetctlError
from rivetctl.transport.http import (
    MAX_RESPONSE_BYTES,
    USER_AGENT,
    HttpResponse,
    Tracer,
    _origin,
    check_url,
    refuse_redirect,
)

if TYPE_CHECKING:
    import http.client

_CHUNK = 64 * 1024


class StdlibHttpTransport:
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
        self._conns: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._lock = asyncio.Lock()
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
        shown = display_url or url
        check_url(url)
        read_timeout = self._timeout if timeout is ... else timeout
        all_headers = {**self._headers, **(headers or {})}
        if self.tracer is not None:
            self.tracer.http_request(method, shown, all_headers, content or b"")
        started = time.perf_counter()
        async with self._lock:
            parts = urlsplit(url)
            key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
            future = asyncio.get_running_loop().run_in_executor(
                None, self._exchange, key, method, parts, all_headers, content, read_timeout, shown
            )
            future.add_done_callback(_consume)
            # Socket timeouts are per read; a server dripping bytes would never trip them: bound the whole
            # exchange here, as HttpTransport does.
            total = None if read_timeout is None else read_timeout + self._connect_timeout
            try:
                result = await asyncio.wait_for(asyncio.shield(future), total)
            except TimeoutError:
                self._abort(key)
                raise RequestTimeoutError(f"{_origin(shown)} did not finish answering within {total:g} s") from None
            except asyncio.CancelledError:
                self._abort(key)  # unblock the worker thread so the process can exit at once
                raise
        if self.tracer is not None:
            self.tracer.http_response(shown, result, time.perf_counter() - started)
        refuse_redirect(result, shown)
        return result

    def _connection(self, key: tuple[str, str, int]) -> http.client.HTTPConnection:
        import http.client

        conn = self._conns.get(key)
        if conn is None:
            scheme, host, port = key
            if scheme == "https":
                import ssl

                if self._verify is False:
                    ctx = ssl._create_unverified_context()
                else:
                    ctx = ssl.create_default_context(cafile=self._verify if isinstance(self._verify, str) else None)
                conn = http.client.HTTPSConnection(host, port, timeout=self._connect_timeout, context=ctx)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
            self._conns[key] = conn
        return conn

    def _exchange(
        self,
        key: tuple[str, str, int],
        method: str,
        parts: Any,
        headers: dict[str, str],
        content: bytes | None,
        read_timeout: float | None,
        shown: str,
    ) -> HttpResponse:
        import http.client

        target = parts.path + (f"?{parts.query}" if parts.query else "")
        deadline = None if read_timeout is None else time.monotonic() + read_timeout + self._connect_timeout
        for attempt in (0, 1):
            conn = self._connection(key)
            fresh = conn.sock is None
            try:
                if fresh:
                    conn.connect()
                assert conn.sock is not None
                conn.sock.settimeout(read_timeout)
                conn.request(method, target, body=content, headers=headers)
                resp = conn.getresponse()
                body = _read_body(resp, deadline, shown)
                result = HttpResponse(resp.status, _headers(resp), body)
                if resp.will_close:
                    self._drop(key)
                return result
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop(key)
                if attempt == 0 and not fresh:
                    continue  # a kept-alive connection the server closed meanwhile: retry once on a new one
                raise NetworkError(f"HTTP request to {_origin(shown)} failed: {exc or type(exc).__name__}") from None
            except TimeoutError:
                self._drop(key)
                what = "connect to" if fresh and conn.sock is None else "answer from"
                raise RequestTimeoutError(f"timed out waiting to {what} {_origin(shown)}") from None
            except ConnectionRefusedError:
                self._drop(key)
                raise NetworkError(
                    f"cannot connect to {_origin(shown)}: connection refused (is the server running?)"
                ) from None
            except socket.gaierror:
                self._drop(key)
                raise NetworkError(f"cannot connect to {_origin(shown)}: unknown host") from None
            except RivetctlError:
                self._drop(key)
                raise
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                text = str(exc) or type(exc).__name__
                raise NetworkError(f"HTTP request to {_origin(shown)} failed: {text.splitlines()[0][:200]}") from None
        raise AssertionError("unreachable")

    def _drop(self, key: tuple[str, str, int]) -> None:
        conn = self._conns.pop(key, None)
        if conn is not None:
            conn.close()

    def _abort(self, key: tuple[str, str, int]) -> None:
        """Called from the event loop: break the worker's blocking read and never reuse the connection."""
        conn = self._conns.pop(key, None)
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    async def aclose(self) -> None:
        for key in list(self._conns):
            self._drop(key)


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a late worker's exception (after a timeout or cancel) so it is not reported as lost."""
    if not future.cancelled():
        future.exception()


def _read_body(resp: http.client.HTTPResponse, deadline: float | None, shown: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise RequestTimeoutError(f"{_origin(shown)} did not finish answering in time")
        chunk = resp.read(_CHUNK)  # not read1: it never marks a content-length response finished
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ProtocolError(f"response from {_origin(shown)} exceeds {MAX_RESPONSE_BYTES} bytes; not RivetKit")
        chunks.append(chunk)
    return b"".join(chunks)


def _headers(resp: http.client.HTTPResponse) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in resp.getheaders():
        low = name.lower()
        out[low] = f"{out[low]}, {value}" if low in out else value
    return out
