"""HTTP/1.1 framing over asyncio streams: one request written, one response read, with hard size limits."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import NamedTuple

from rivetctl.errors import ConfigError, NetworkError, ProtocolError

MAX_HEADER_LINES = 200
MAX_HEADER_BYTES = 256 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


class PeerClosed(Exception):
    """The peer closed or reset the connection before the first byte of a response (a stale keep-alive one)."""


class BodyTooLarge(Exception):
    """The response body is over the caller's cap."""


class HttpResponse(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


def request_head(method: str, target: str, host: str, headers: dict[str, str], length: int | None) -> bytes:
    """The request line and headers; refuses anything that would let a value start a new header or request."""
    if not target.startswith("/") or any(c <= " " or c == "\x7f" for c in target):
        raise ConfigError(f"cannot send a request for path {target[:80]!r}: it has spaces or control characters")
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    for name, value in headers.items():
        if not name or any(c in name for c in " \t\r\n:") or "\r" in value or "\n" in value:
            raise ConfigError(f"invalid HTTP header {name[:40]!r}: names are tokens, values are one line")
        lines.append(f"{name}: {value}")
    if length is not None:
        lines.append(f"content-length: {length}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise ConfigError(f"cannot send {bad!r} in an HTTP header: header values are Latin-1 text") from None


async def read_response(reader: asyncio.StreamReader, method: str, max_body: int) -> tuple[HttpResponse, bool]:
    """Read one whole response and whether the connection may carry another; ``PeerClosed`` if the connection
    ended before the response started."""
    while True:
        first = await _line(reader, first=True)
        status, version = _status_line(first)
        headers = await _headers(reader)
        if 100 <= status < 200 and status != 101:
            continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        break
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    if method == "HEAD" or status in _NO_BODY_STATUSES or 100 <= status < 200:
        return HttpResponse(status, headers, b""), keep_alive
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _chunked(reader, max_body)
    elif "content-length" in headers:
        length = _length(headers["content-length"])
        if length > max_body:
            raise BodyTooLarge
        body = await _exactly(reader, length)
    else:
        body = await _until_close(reader, max_body)
        keep_alive = False
    return HttpResponse(status, headers, body), keep_alive


async def _line(reader: asyncio.StreamReader, *, first: bool = False) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except ConnectionResetError:
        if first:
            raise PeerClosed from None
        raise
    except asyncio.IncompleteReadError as exc:
        if first and not exc.partial:
            raise PeerClosed from None
        raise NetworkError("the server closed the connection in the middle of a response") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError("the server sent an over-long line in a response head; not HTTP/1.1") from None
    return line


def _status_line(line: bytes) -> tuple[int, str]:
    parts = line.split(None, 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0") or not parts[1].isdigit() or len(parts[1]) != 3:
        shown = line[:60].decode("latin-1").strip()
        raise ProtocolError(f"the server did not answer in HTTP/1.1 (status line {shown!r})")
    return int(parts[1]), parts[0].decode()


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    total = 0
    for _ in range(MAX_HEADER_LINES):
        line = await _line(reader)
        total += len(line)
        if total > MAX_HEADER_BYTES:
            break
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise ProtocolError(f"the server sent a malformed header line {line[:60]!r}")
        low = name.lower()
        text = value.strip()
        headers[low] = f"{headers[low]}, {text}" if low in headers else text
    raise ProtocolError("the server sent too many header lines; not a RivetKit answer")


def _length(value: str) -> int:
    first = value.split(",")[0].strip()
    if not first.isdigit() or any(v.strip() != first for v in value.split(",")):
        raise ProtocolError(f"the server sent an invalid content-length {value[:40]!r}")
    return int(first)


async def _exactly(reader: asyncio.StreamReader, n: int) -> bytes:
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError as exc:
        raise NetworkError(
            f"the server closed the connection after {len(exc.partial)} of {n} body bytes (truncated response)"
        ) from None


async def _chunked(reader: asyncio.StreamReader, max_body: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        line = (await _line(reader)).split(b";", 1)[0].strip()
        try:
            n = int(line, 16)
        except ValueError:
            raise ProtocolError(f"the server sent a malformed chunk size {line[:20]!r}") from None
        if n < 0:
            raise ProtocolError("the server sent a negative chunk size")
        if n == 0:
            await _headers(reader)  # trailers, then the blank line
            return b"".join(chunks)
        size += n
        if size > max_body:
            raise BodyTooLarge
        chunks.append(await _exactly(reader, n))
        if await _line(reader) not in (b"\r\n", b"\n"):
            raise ProtocolError("the server sent a chunk without its line end")


async def _until_close(reader: asyncio.StreamReader, max_body: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await reader.read(64 * 1024):
        size += len(chunk)
        if size > max_body:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
