"""HTTP transport: moves request bytes to the engine and response bytes back, mapping httpx failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rivetctl.errors import NetworkError, PayloadTooLargeError, ProtocolError, RequestTimeoutError

if TYPE_CHECKING:
    import httpx

MAX_URL_LENGTH = 65_536
"""httpx refuses longer URLs; the engine answers 414 well before twice that."""
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""A response larger than this is not a RivetKit answer (outputs are capped at 1 MiB server-side)."""

USER_AGENT = "rivetctl"


@dataclass(frozen=True, slots=True)
class HttpResponse:
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
    """One pooled ``httpx.AsyncClient``; raises only rivetctl errors."""

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
        self._client: httpx.AsyncClient | None = None
        self.tracer = tracer

    def _get_client(self, url: str) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            # Building an SSL context costs tens of milliseconds; plain-http endpoints never use it.
            verify = self._verify if url.startswith("https:") else False

            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout, connect=self._connect_timeout),
                verify=verify,
                headers=self._headers,
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

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
        import httpx

        shown = display_url or url
        check_url(url)
        client = self._get_client(url)
        if self.tracer is not None:
            self.tracer.http_request(method, shown, headers or {}, content or b"")
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        if timeout is not ...:
            extra["timeout"] = httpx.Timeout(timeout, connect=self._connect_timeout)
        # httpx's timeouts are per read; a server that drips bytes would never trip them. Bound the whole
        # exchange too: connect + the read timeout.
        read_timeout = self._timeout if timeout is ... else timeout
        total = None if read_timeout is None else read_timeout + self._connect_timeout
        try:
            async with (
                asyncio.timeout(total),
                client.stream(method, url, headers=headers, content=content, **extra) as resp,
            ):
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.aiter_raw():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise ProtocolError(
                            f"response from {_origin(shown)} exceeds {MAX_RESPONSE_BYTES} bytes; not RivetKit"
                        )
                    chunks.append(chunk)
                result = HttpResponse(resp.status_code, resp.headers, b"".join(chunks))
        except httpx.TimeoutException as exc:
            kind = "connect to" if isinstance(exc, httpx.ConnectTimeout) else "answer from"
            raise RequestTimeoutError(f"timed out waiting to {kind} {_origin(shown)}") from None
        except TimeoutError:
            raise RequestTimeoutError(f"{_origin(shown)} did not finish answering within {total:g} s") from None
        except httpx.ConnectError as exc:
            raise NetworkError(f"cannot connect to {_origin(shown)}: {_reason(exc)}") from None
        except httpx.HTTPError as exc:
            raise NetworkError(f"HTTP request to {_origin(shown)} failed: {_reason(exc)}") from None
        if self.tracer is not None:
            self.tracer.http_response(shown, result, time.perf_counter() - started)
        refuse_redirect(result, shown)
        return result

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


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
    # httpx wraps the OS error ("All connection attempts failed"); the cause says what happened.
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
