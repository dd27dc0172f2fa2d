"""``-v`` traces on stderr: resolution and timing (-v), decoded frames (-vv), headers and raw bytes (-vvv).

Secrets are redacted here, whatever the caller passes: token headers, connection params, URL tokens.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import IO, Any

from rivetctl.client.options import redact_url
from rivetctl.output.jsonable import escape_control

SECRET_HEADERS = frozenset({"authorization", "x-rivet-token", "x-rivet-conn-params", "sec-websocket-protocol"})
MAX_HEX = 512


class StderrTracer:
    def __init__(self, level: int, stream: IO[str]) -> None:
        self.level = level
        self.stream = stream
        self._t0 = time.perf_counter()

    def _line(self, text: str) -> None:
        elapsed = (time.perf_counter() - self._t0) * 1000
        self.stream.write(f"[{elapsed:8.1f} ms] {escape_control(text)}\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        self._line(text)

    def http_request(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        self._line(f"> {method} {redact_url(url)} ({len(body)} B)")
        if self.level >= 3:
            for k, v in headers.items():
                self._line(f">   {k}: {redact_header(k, v)}")
            if body:
                self._line(">   " + _hex(body))

    def http_response(self, url: str, response: Any, elapsed: float) -> None:
        ray = response.headers.get("x-rivet-ray-id", "")
        self._line(
            f"< {response.status} {len(response.body)} B in {elapsed * 1000:.1f} ms" + (f" ray {ray}" if ray else "")
        )
        if self.level >= 3:
            for k, v in response.headers.items():
                self._line(f"<   {k}: {redact_header(k, v)}")
            if response.body:
                self._line("<   " + _hex(response.body))

    def frame(self, direction: str, message: Any, raw: bytes | str | None = None) -> None:
        """A decoded WebSocket message (``-vv``), with raw bytes at ``-vvv``."""
        if self.level < 2:
            return
        self._line(f"{direction} {message!r}"[:2000])
        if self.level >= 3 and raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
            self._line(f"{direction}   " + _hex(data))


def redact_header(name: str, value: str) -> str:
    if name.lower() == "sec-websocket-protocol":
        return ", ".join(
            "rivet_conn_params.***" if p.strip().startswith("rivet_conn_params.") else p.strip()
            for p in value.split(",")
        )
    return "***" if name.lower() in SECRET_HEADERS else value


def _hex(data: bytes) -> str:
    shown = data[:MAX_HEX].hex(" ")
    return shown + (f" … (+{len(data) - MAX_HEX} B)" if len(data) > MAX_HEX else "")
