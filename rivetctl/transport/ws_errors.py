"""What a failed WebSocket open or a closed socket means, as rivetctl errors naming only the origin.

The gateway URL may carry ``rvt-token``: messages show scheme, host and port, nothing else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rivetctl.errors import (
    ConnectionLostError,
    NetworkError,
    ProtocolError,
    RequestTimeoutError,
    RivetctlError,
    actor_error_from,
)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def closed_error(exc: BaseException, display_url: str) -> ConnectionLostError:
    """A ``ConnectionLostError`` with the close code and reason the server sent (1006 if none)."""
    rcvd = getattr(exc, "rcvd", None)
    sent = getattr(exc, "sent", None)
    frame = rcvd or sent
    code = int(frame.code) if frame is not None else 1006
    reason = frame.reason if frame is not None else ""
    where = origin(display_url)
    if rcvd is None and sent is None:
        text = f"connection to {where} lost (code 1006: no close frame)"
    elif rcvd is not None:
        text = f"connection closed by {where} (code {code}" + (f", reason {reason!r})" if reason else ")")
    else:
        text = f"connection to {where} closed (code {code}" + (f", reason {reason!r})" if reason else ")")
    return ConnectionLostError(text, code=code, reason=reason)


def rejected_upgrade(exc: Any, display_url: str, encoding: str) -> RivetctlError:
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
            f"{origin(display_url)} refused the WebSocket upgrade with HTTP {status}"
            + (" (is the endpoint a RivetKit engine?)" if status < 500 else "")
        )
    return actor_error_from(err, ray_id=ray, status=status)


def os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    return exc.strerror or str(exc) or type(exc).__name__


def open_error(exc: BaseException, shown: str, encoding: str) -> BaseException:
    """Map a failure of the WebSocket handshake (after TCP connected) to a rivetctl error."""
    from websockets import exceptions as wsx

    where = origin(shown)
    if isinstance(exc, TimeoutError):
        return RequestTimeoutError(
            f"timed out waiting for {where} to accept the WebSocket (the gateway answers once the actor is ready)"
        )
    if isinstance(exc, wsx.InvalidStatus):
        return rejected_upgrade(exc, shown, encoding)
    if isinstance(exc, wsx.NegotiationError):
        return ProtocolError(f"{where} did not accept the RivetKit subprotocol: {exc}")
    if isinstance(exc, wsx.InvalidHandshake):
        # A truncated or garbled answer: a failed attempt, retried like a refused connection.
        return NetworkError(f"WebSocket handshake with {where} failed: {exc}")
    if isinstance(exc, wsx.ConnectionClosed):
        return closed_error(exc, shown)
    if isinstance(exc, OSError):
        return NetworkError(f"WebSocket handshake with {where} failed: {os_reason(exc)}")
    if isinstance(exc, ValueError):  # e.g. a redirect, which rivetctl never follows
        return ProtocolError(f"{where} did not answer the WebSocket upgrade as a RivetKit engine: {exc}")
    return exc
