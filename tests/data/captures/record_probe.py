"""Re-record ``rivetctl-probe-2.3.19.jsonl``: rivetctl's own codecs against a live test server.

Not a test (needs a server): ``python tests/data/captures/record_probe.py http://127.0.0.1:27420``
with ``tests/server`` running. Each line is one frame or body: ``{"id", "enc", "dir", "hex"|"text", …}``;
``C>S`` entries are what rivetctl sent, ``S>C`` what the 2.3.19 server answered.
``test_protocol_live_facts.py`` checks that rivetctl still writes the same bytes and reads the answers.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import websockets

from rivetctl.protocol import encoding as codec
from rivetctl.protocol.messages import ActionRequest, HttpActionRequest, HttpQueueSendRequest, SubscriptionRequest
from rivetctl.protocol.query import GetOrCreateQuery, GetQuery, gateway_url, ws_url
from rivetctl.protocol.values import UNDEFINED, JsMap, Tagged

COMMON = [
    5,
    2**40,
    -(2**32) - 1,
    2**70,
    -(2**70),
    1.5,
    b"\x00\x01\xff",
    UNDEFINED,
    None,
    {1, 3},
    ["$fake", 1],
    ["$$x", 2],
    {"a": [1, {"b": None}]},
    "héllo 🎉",
    True,
    4294967295,
    -(2**32),
]
BARE_ONLY = [datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC), JsMap(a=1), {1: "x"}, Tagged(258, [1, 2])]
OUT = Path(__file__).with_name("rivetctl-probe-2.3.19.jsonl")


def entry(ident: str, enc: str, direction: str, data: bytes | str, **extra: object) -> dict[str, object]:
    if isinstance(data, str):
        return {"id": ident, "enc": enc, "dir": direction, "text": data, **extra}
    return {"id": ident, "enc": enc, "dir": direction, "hex": data.hex(), **extra}


def http(endpoint: str, lines: list[dict[str, object]]) -> None:
    query = GetOrCreateQuery("counter", ["probe-capture"])
    for enc in codec.ENCODINGS:
        calls = [
            ("describeArgs", HttpActionRequest(COMMON + (BARE_ONLY if enc == "bare" else []))),
            ("types", HttpActionRequest([])),
            ("jsonTypes", HttpActionRequest([])),
            ("throwUserMeta", HttpActionRequest([])),
        ]
        for name, msg in calls:
            body = codec.encode_http_request(msg, enc)
            url = gateway_url(endpoint, query, f"/action/{name}", namespace="default", token=None)
            resp = httpx.post(url, content=body, headers={"x-rivet-encoding": enc})
            lines.append(entry(f"http-{name}", enc, "C>S", body))
            lines.append(
                entry(
                    f"http-{name}",
                    enc,
                    "S>C",
                    resp.content,
                    status=resp.status_code,
                    content_type=resp.headers.get("content-type"),
                )
            )
        body = codec.encode_http_request(HttpQueueSendRequest({"x": 1}, name="jobs", wait=True, timeout=100), enc)
        resp = httpx.post(
            gateway_url(endpoint, query, "/queue/jobs", namespace="default", token=None),
            content=body,
            headers={"x-rivet-encoding": enc},
        )
        lines.append(entry("http-queue", enc, "C>S", body))
        lines.append(entry("http-queue", enc, "S>C", resp.content, status=resp.status_code))
        missing = GetQuery("counter", ["probe-missing"])
        resp = httpx.post(
            gateway_url(endpoint, missing, "/action/getCount", namespace="default", token=None),
            content=codec.encode_http_request(HttpActionRequest([]), enc),
            headers={"x-rivet-encoding": enc},
        )
        lines.append(
            entry(
                "http-missing",
                enc,
                "S>C",
                resp.content,
                status=resp.status_code,
                content_type=resp.headers.get("content-type"),
            )
        )


async def ws(endpoint: str, enc: str, lines: list[dict[str, object]]) -> None:
    url = ws_url(
        gateway_url(
            endpoint, GetOrCreateQuery("counter", ["probe-capture"]), "/connect", namespace="default", token=None
        )
    )
    async with websockets.connect(url, subprotocols=["rivet", f"rivet_encoding.{enc}"], max_size=None) as sock:

        async def send(ident: str, msg: object) -> None:
            data = codec.encode_to_server(msg, enc)  # type: ignore[arg-type]
            lines.append(entry(ident, enc, "C>S", data.decode() if codec.is_text(enc) else data))
            await sock.send(data.decode() if codec.is_text(enc) else data)

        async def recv(ident: str) -> None:
            lines.append(entry(ident, enc, "S>C", await asyncio.wait_for(sock.recv(), 5)))

        await recv("ws-init")
        await send("ws-subscribe", SubscriptionRequest("newCount", True))
        await send("ws-increment", ActionRequest(2**63 + 5, "increment", [1]))
        await recv("ws-event")
        await recv("ws-increment")
        await send("ws-describeArgs", ActionRequest(7, "describeArgs", COMMON + (BARE_ONLY if enc == "bare" else [])))
        await recv("ws-describeArgs")
        await send("ws-throwUserMeta", ActionRequest(8, "throwUserMeta", []))
        await recv("ws-throwUserMeta")
        await send("ws-types", ActionRequest(9, "jsonTypes" if enc == "json" else "types", []))
        await recv("ws-types")
    url = ws_url(
        gateway_url(
            endpoint, GetOrCreateQuery("secure", ["probe-capture"]), "/connect", namespace="default", token=None
        )
    )
    async with websockets.connect(url, subprotocols=["rivet", f"rivet_encoding.{enc}"]) as sock:
        lines.append(entry("ws-reject", enc, "S>C", await asyncio.wait_for(sock.recv(), 5)))


def main() -> None:
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:27420"
    lines: list[dict[str, object]] = []
    http(endpoint, lines)
    for enc in codec.ENCODINGS:
        asyncio.run(ws(endpoint, enc, lines))
    OUT.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} entries to {OUT}")


if __name__ == "__main__":
    main()
