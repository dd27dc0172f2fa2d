"""A TLS-terminating proxy for tests: a trustme CA's certificate on a free loopback port, plain bytes upstream.

    async with TlsProxy("http://127.0.0.1:6420") as tls:
        tls.write_ca(tmp_path / "ca.pem")
        Client(tls.endpoint, verify=str(tmp_path / "ca.pem"))     # https://127.0.0.1:PORT, wss:// alike
        tls.accepted                                               # TLS connections that completed a handshake

It runs in the caller's event loop and never interprets the bytes it forwards, so HTTP requests and
WebSocket upgrades reach the real server unchanged. The certificate is valid for 127.0.0.1, ::1 and
localhost, signed by a CA that no system trust store holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import trustme

from tests.httpproxy import LoopbackServer, close, join


class TlsProxy(LoopbackServer):
    """TLS on the outside, the plain ``target`` (``http://host:port``) on the inside.

    Attributes:
        ca: the trustme CA that signed the server certificate.
        accepted: connections whose TLS handshake completed.
    """

    def __init__(self, target: str) -> None:
        parts = urlsplit(target if "://" in target else f"http://{target}")
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"target needs host and port: {target!r}")
        self.target_host = parts.hostname
        self.target_port = parts.port
        super().__init__()
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert("127.0.0.1", "::1", "localhost")
        self.accepted = 0

    @property
    def endpoint(self) -> str:
        return f"https://{self.host}:{self.port}"

    def write_ca(self, path: Path) -> Path:
        """Write the CA certificate (PEM) to ``path`` and return it."""
        self.ca.cert_pem.write_to_path(str(path))
        return path

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(ctx)
        return ctx

    async def start(self) -> Self:
        return await self._listen(ssl=self._context())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.accepted += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream = await asyncio.open_connection(self.target_host, self.target_port)
            self._writers.add(upstream)
            await join((reader, writer), (up_reader, upstream))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    with contextlib.suppress(Exception):
                        await close(w)
            self._tasks.discard(task)
