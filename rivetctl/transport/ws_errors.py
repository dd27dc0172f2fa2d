"""What a failed WebSocket open or a closed socket means, as rivetctl errors naming only the origin.

The gateway URL may carry ``rvt-token``: messages show scheme, host and port, nothing else (and a proxy's
address without its credentials).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any, Literal
from urllib.parse import urlsplit

from rivetctl.errors import (
    ConfigError,
    ConnectionLostError,
    NetworkError,
    ProtocolError,
    RequestTimeoutError,
    RivetctlError,
    actor_error_from,
)

TLS_HINT = "pass --cacert FILE or set SSL_CERT_FILE (or --insecure to skip verification)"
PROXY_VARIABLES = "HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def proxy_for(url: str) -> tuple[str | None, str | Literal[True]]:
    """The proxy a connection to ``url`` goes through (None: direct), and the ``proxy`` argument for
    websockets' ``connect``.

    websockets' own rules (its proxy guide): a host matched by ``no_proxy`` is reached directly; otherwise
    ``wss_proxy``/``ws_proxy``, then a SOCKS proxy of the system, then ``https_proxy``, then (``ws://``
    only) ``http_proxy``. The argument is ``True`` (websockets applies those rules itself) except when only
    ``all_proxy`` is set, which websockets does not read and httpx does: it is then passed explicitly, so
    that WebSocket and HTTP go the same way.
    """
    import urllib.request

    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    if urllib.request.proxy_bypass(f"{parts.hostname}:{port}"):
        return None, True
    proxies = urllib.request.getproxies()
    for scheme in ("wss", "socks", "https") if secure else ("ws", "socks", "https", "http"):
        found = proxies.get(scheme)
        if found:
            if scheme == "socks" and found.startswith("http://"):
                found = "socks5h://" + found[len("http://") :]
            return found, True
    found = proxies.get("all")
    return (found, found) if found else (None, True)


def _proxy_address(proxy: str) -> str:
    """A proxy's ``host:port`` (never its credentials), even for an address that does not parse."""
    try:
        parts = urlsplit(proxy)
        port = parts.port or (443 if parts.scheme == "https" else 1080 if parts.scheme.startswith("socks") else 80)
    except ValueError:
        return "(unparsable address)"
    return f"{parts.hostname}:{port}"


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
    if isinstance(exc, socket.gaierror):
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return "unknown host"
        return f"cannot resolve the host name ({exc.strerror or exc})"
    return exc.strerror or str(exc) or type(exc).__name__


def tls_error(exc: ssl.SSLError, peer: str) -> NetworkError:
    """A failed TLS handshake; a verification failure says how to trust the server's certificate."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or exc.reason or "untrusted certificate"
        return NetworkError(f"cannot connect to {peer}: certificate verify failed: {why}; {TLS_HINT}", permanent=True)
    hint = "; is it a wss:// server?" if exc.reason == "WRONG_VERSION_NUMBER" else ""
    return NetworkError(f"cannot connect to {peer}: TLS handshake failed ({exc.reason or exc}){hint}")


def open_error(
    exc: BaseException, shown: str, encoding: str, *, connected: bool = True, proxy: str | None = None
) -> BaseException:
    """Map a failure to open a WebSocket to a rivetctl error.

    ``connected``: the TCP connection (or the proxy's tunnel) was up, so the failure is in the TLS
    handshake or the upgrade. ``proxy``: the proxy the connection went through, if any.
    """
    from websockets import exceptions as wsx

    where = origin(shown)
    via = f"the proxy {_proxy_address(proxy)}" if proxy else None
    target = f"{via} (for {where}; set by {PROXY_VARIABLES})" if via else where
    if isinstance(exc, TimeoutError):
        if not connected:
            return RequestTimeoutError(f"timed out connecting to {target}")
        return RequestTimeoutError(
            f"timed out waiting for {where} to accept the WebSocket (the gateway answers once the actor is ready)"
        )
    if isinstance(exc, wsx.InvalidURI):  # its message holds the URL, which may carry the token
        return ConfigError(f"not a valid WebSocket URL: {shown}")
    if isinstance(exc, wsx.InvalidProxy):
        return ConfigError(f"invalid proxy address in the environment ({PROXY_VARIABLES}): {exc.msg}")
    if isinstance(exc, ImportError) and proxy and proxy.startswith("socks"):
        return ConfigError(f"{via} is a SOCKS proxy, which needs the python-socks package")
    if isinstance(exc, wsx.InvalidProxyStatus):
        status = int(exc.response.status_code)
        hint = " (proxy authentication required: put user:password in the proxy URL)" if status == 407 else ""
        return NetworkError(
            f"{via} refused to connect to {where}: HTTP {status}{hint} (check {PROXY_VARIABLES})",
            permanent=400 <= status < 500,
        )
    if isinstance(exc, wsx.ProxyError):
        return NetworkError(f"{via} failed to connect to {where}: {exc} (check {PROXY_VARIABLES})")
    if isinstance(exc, wsx.InvalidStatus):
        return rejected_upgrade(exc, shown, encoding)
    if isinstance(exc, wsx.NegotiationError):
        return ProtocolError(f"{where} did not accept the RivetKit subprotocol: {exc}")
    if isinstance(exc, wsx.SecurityError):  # e.g. a redirect from wss:// to ws://, or too many redirects
        return ProtocolError(
            f"{where} redirected the WebSocket upgrade where websockets will not follow "
            "(from wss:// to ws://, or more than 10 redirects)"
        )
    if isinstance(exc, wsx.InvalidHandshake):
        # A truncated or garbled answer: a failed attempt, retried like a refused connection.
        return NetworkError(f"WebSocket handshake with {where} failed: {exc}")
    if isinstance(exc, wsx.ConnectionClosed):
        return closed_error(exc, shown)
    if isinstance(exc, ssl.SSLError):
        return tls_error(exc, target if not connected else where)
    if isinstance(exc, OSError):
        if not connected:
            return NetworkError(f"cannot connect to {target}: {os_reason(exc)}")
        return NetworkError(f"WebSocket handshake with {where} failed: {os_reason(exc)}")
    if isinstance(exc, ValueError) and not connected:  # e.g. a proxy address with a port out of range
        if via:
            return ConfigError(f"invalid proxy address in the environment ({PROXY_VARIABLES}): {exc}")
        return ConfigError(f"cannot connect to {where}: {exc}")
    if isinstance(exc, ValueError):
        return ProtocolError(f"{where} did not answer the WebSocket upgrade as a RivetKit engine: {exc}")
    return exc
