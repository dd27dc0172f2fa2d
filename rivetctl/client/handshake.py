"""Opening one connection attempt: the WebSocket upgrade, the wait for ``Init``, and early rejections as errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from rivetctl.client.options import ClientOptions, redact_url
from rivetctl.errors import (
    ActorError,
    ConfigError,
    ConnectionLostError,
    ProtocolError,
    RequestTimeoutError,
    RivetctlError,
    UnsupportedError,
    actor_error,
    actor_error_from,
)
from rivetctl.protocol import backoff as policy
from rivetctl.protocol.encoding import Encoding
from rivetctl.protocol.messages import Error, Init
from rivetctl.protocol.values import to_json_compat
from rivetctl.transport.http import Tracer
from rivetctl.transport.websocket import Connector, WebSocketTransport

ERROR_CLOSE_WAIT = 2.0
"""After a connection-level ``Error`` frame, how long to wait for the close frame that carries the ray id."""


def check_transport(transport: str) -> None:
    """Refuse every transport but ``websocket`` (naming why SSE is gone)."""
    if transport == "sse":
        raise UnsupportedError(
            "the SSE transport was removed from RivetKit servers in 2.0.24 (this client speaks the 2.3 "
            "protocol, whose servers only accept WebSocket connections); use transport='websocket'"
        )
    if transport != "websocket":
        raise ConfigError(f"unknown transport {transport!r}: use 'websocket'")


async def open_session(
    url: str,
    *,
    options: ClientOptions,
    tracer: Tracer | None,
    params: Any,
    encoding: Encoding,
    text: bool,
    decode: Callable[[bytes | str], Any],
    timeout: float,
    connector: Connector = WebSocketTransport.open,
) -> tuple[WebSocketTransport, Init]:
    """Upgrade to a WebSocket at ``url`` (opened by ``connector``) and wait for ``Init``, all within
    ``timeout`` seconds.

    Raises the server's rejection as an ``ActorError`` (from an ``Error`` frame or a coded close),
    ``RequestTimeoutError``, ``ProtocolError`` or the transport's ``NetworkError``; the socket is closed
    on every failure.
    """
    shown = redact_url(url)
    if tracer is not None and hasattr(tracer, "ws_open"):
        with contextlib.suppress(Exception):
            tracer.ws_open(shown)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    transport = await connector(
        url,
        encoding=encoding,
        params=None if params is None else to_json_compat(params),
        text=text,
        headers=options.headers,
        connect_timeout=options.connect_timeout,
        handshake_timeout=timeout,
        verify=options.verify,
        display_url=shown,
    )
    try:
        async with asyncio.timeout_at(deadline):
            message = decode(await transport.recv())
        if isinstance(message, Init):
            return transport, message
        if isinstance(message, Error) and message.action_id is None:
            raise await _opening_rejected(transport, message)
        raise ProtocolError(f"expected Init as the first message, got {type(message).__name__}")
    except ConnectionLostError as exc:
        raise _coded_close(exc) from None
    except TimeoutError:
        transport.abort()
        raise RequestTimeoutError(f"no Init within {timeout:g} s of opening the connection") from None
    except BaseException:
        transport.abort()
        raise


async def _opening_rejected(transport: WebSocketTransport, message: Error) -> ActorError:
    """The connection-level Error before Init; the close frame that follows carries the ray id."""
    ray: str | None = None
    try:
        async with asyncio.timeout(ERROR_CLOSE_WAIT):
            while True:
                await transport.recv()
    except ConnectionLostError as exc:
        ray = policy.parse_close_reason(exc.close_reason).ray_id
    except TimeoutError:
        transport.abort()
    return frame_error(message, ray)


def frame_error(message: Error, ray_id: str | None) -> ActorError:
    """The ``ActorError`` an ``Error`` frame stands for."""
    return actor_error_from(message, ray_id=ray_id, action_id=message.action_id)


def _coded_close(exc: ConnectionLostError) -> RivetctlError:
    """A close before Init whose reason is ``group.code#ray`` becomes that ``ActorError``."""
    parsed = policy.parse_close_reason(exc.close_reason)
    if parsed.group is None and exc.close_code == 1011 and policy.bare_code(exc.close_reason):
        # RivetKit 2.0 closes with the bare code (``unauthorized``, ``internal_error``), no group, no ray id.
        return actor_error(
            "rivetkit",
            exc.close_reason,
            f"the server closed the connection before it was established (close code 1011, {exc.close_reason})",
        )
    if parsed.group is None or parsed.code is None:
        return exc
    return actor_error(
        parsed.group,
        parsed.code,
        f"the server closed the connection before it was established (close code {exc.close_code})",
        ray_id=parsed.ray_id,
    )
