"""Minimal raw Python client: the floor of what Python does against this server (no rivetctl import).

HTTP: one sync ``httpx.Client`` (threads for concurrent callers). WebSocket: ``websockets`` (asyncio)
with hand-rolled JSON / CBOR / BARE frames (protocol reference §3, §5, §9). Supports only what the
benchmark needs: ``increment``, ``getCount``, ``burst`` and the ``burst`` event. Errors are counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import cbor2
import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import STALL_S, Meter, emit, parse_args, split


# --- BARE ------------------------------------------------------------------------------------------
def uint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def rd_uint(b: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        if c < 0x80:
            return n, i
        shift += 7


def bstr(s: str) -> bytes:
    e = s.encode()
    return uint(len(e)) + e


# --- HTTP bodies -----------------------------------------------------------------------------------
def http_body(enc: str, args: list) -> bytes:
    if enc == "json":
        return json.dumps({"args": args}).encode()
    if enc == "cbor":
        return cbor2.dumps({"args": args})
    data = cbor2.dumps(args)
    return b"\x04\x00" + uint(len(data)) + data


def http_output(enc: str, body: bytes):
    if enc == "json":
        return json.loads(body)["output"]
    if enc == "cbor":
        return cbor2.loads(body)["output"]
    n, i = rd_uint(body, 2)
    return cbor2.loads(body[i : i + n])


# --- WebSocket frames ------------------------------------------------------------------------------
def ws_action(enc: str, action_id: int, name: str, args: list) -> bytes | str:
    if enc == "json":
        return (
            '{"body":{"tag":"ActionRequest","val":{"id":'
            + str(action_id)
            + ',"name":'
            + json.dumps(name)
            + ',"args":'
            + json.dumps(args)
            + "}}}"
        )
    if enc == "cbor":
        return cbor2.dumps({"body": {"tag": "ActionRequest", "val": {"id": action_id, "name": name, "args": args}}})
    data = cbor2.dumps(args)
    return b"\x04\x00\x00" + uint(action_id) + bstr(name) + uint(len(data)) + data


def ws_subscribe(enc: str, name: str) -> bytes | str:
    if enc == "json":
        return json.dumps({"body": {"tag": "SubscriptionRequest", "val": {"eventName": name, "subscribe": True}}})
    if enc == "cbor":
        return cbor2.dumps({"body": {"tag": "SubscriptionRequest", "val": {"eventName": name, "subscribe": True}}})
    return b"\x04\x00\x01" + bstr(name) + b"\x01"


def ws_decode(enc: str, frame: bytes | str) -> tuple[str, object, object]:
    """(kind, id-or-name, value): kind is init, error, response or event."""
    if enc == "bare":
        tag = frame[2]
        if tag == 2:
            action_id, i = rd_uint(frame, 3)
            n, i = rd_uint(frame, i)
            return "response", action_id, cbor2.loads(frame[i : i + n])
        if tag == 3:
            n, i = rd_uint(frame, 3)
            name = frame[i : i + n].decode()
            i += n
            n, i = rd_uint(frame, i)
            return "event", name, cbor2.loads(frame[i : i + n])
        return ("init" if tag == 0 else "error"), None, frame
    body = (json.loads(frame) if enc == "json" else cbor2.loads(frame))["body"]
    tag, val = body["tag"], body["val"]
    if tag == "ActionResponse":
        action_id = val["id"]
        return "response", int(action_id[1]) if isinstance(action_id, list) else action_id, val["output"]
    if tag == "Event":
        return "event", val["name"], val["args"]
    return ("init" if tag == "Init" else "error"), None, val


def query(endpoint: str, key: str, path: str) -> str:
    return (
        f"{endpoint}/gateway/counter{path}?rvt-namespace=default&rvt-method=getOrCreate"
        f"&rvt-runner=default&rvt-key={quote(key, safe='')}&rvt-crash-policy=sleep"
    )


def run_http(a, meter: Meter, out: dict) -> None:
    enc = a.encoding
    url = query(a.endpoint, a.key, "/action/increment")
    headers = {
        "x-rivet-encoding": enc,
        "content-type": "application/json" if enc == "json" else "application/octet-stream",
    }
    limits = httpx.Limits(max_connections=a.concurrency + 4, max_keepalive_connections=a.concurrency + 4)
    lat: list[float] = []
    # Read timeout as rivetctl's default (75 s); httpx's own default (5 s) is shorter than a slow server.
    with httpx.Client(limits=limits, trust_env=False, timeout=httpx.Timeout(75.0, connect=5.0)) as http:

        def call() -> None:
            r = http.post(url, content=http_body(enc, [1]), headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code}")
            http_output(enc, r.content)

        for _ in range(a.warmup):
            call()

        def caller(count: int) -> None:
            for _ in range(count):
                t = time.perf_counter()
                try:
                    call()
                except Exception:
                    out["errors"] += 1
                    continue
                lat.append(time.perf_counter() - t)

        if a.concurrency == 1:
            meter.start()
            caller(a.n)
        else:
            with ThreadPoolExecutor(a.concurrency) as pool:
                list(pool.map(lambda _: None, range(a.concurrency)))  # threads started before measuring
                meter.start()
                list(pool.map(caller, split(a.n, a.concurrency)))
        out.update(meter.stop(), ops=a.n, lat_ms=lat)


async def run_ws(a, meter: Meter, out: dict) -> None:
    from websockets.asyncio.client import connect

    enc = a.encoding
    url = query(a.endpoint, a.key, "/connect").replace("http", "ws", 1)
    ws = await connect(
        url, subprotocols=["rivet", f"rivet_encoding.{enc}"], compression=None, max_size=None, ping_interval=None
    )
    kind, _, val = ws_decode(enc, await ws.recv())
    assert kind == "init", val
    next_id = 0

    async def call(name: str, args: list) -> object:
        nonlocal next_id
        my_id = next_id
        next_id += 1
        await ws.send(ws_action(enc, my_id, name, args))
        while True:
            kind, ident, val = ws_decode(enc, await ws.recv())
            if kind == "response" and ident == my_id:
                return val
            if kind == "error":
                raise RuntimeError(str(val))

    for _ in range(a.warmup):
        await call("increment", [1])
    lat: list[float] = []
    if a.workload == "ws_seq":
        meter.start()
        for _ in range(a.n):
            t = time.perf_counter()
            await call("increment", [1])
            lat.append(time.perf_counter() - t)
        out.update(meter.stop(), ops=a.n, lat_ms=lat)
    elif a.workload == "ws_pipe":
        sent_at: dict[int, float] = {}
        meter.start()
        sent = 0
        while sent < min(a.concurrency, a.n):
            sent_at[next_id] = time.perf_counter()
            await ws.send(ws_action(enc, next_id, "increment", [1]))
            next_id += 1
            sent += 1
        done = 0
        while done < a.n:
            kind, ident, val = ws_decode(enc, await ws.recv())
            if kind == "response":
                lat.append(time.perf_counter() - sent_at.pop(ident))
                done += 1
                if sent < a.n:
                    sent_at[next_id] = time.perf_counter()
                    await ws.send(ws_action(enc, next_id, "increment", [1]))
                    next_id += 1
                    sent += 1
            elif kind == "error":
                out["errors"] += 1
                done += 1
        out.update(meter.stop(), ops=a.n, lat_ms=lat)
    else:  # burst
        await ws.send(ws_subscribe(enc, "burst"))
        await call("getCount", [])
        got = {"n": 0, "last": 0.0}
        meter.start()
        t0 = time.perf_counter()
        burst_id = next_id
        await ws.send(ws_action(enc, burst_id, "burst", [a.n]))
        out["response"] = False

        async def receive() -> None:
            while True:
                kind, ident, val = ws_decode(enc, await ws.recv())
                if kind == "event" and ident == "burst":
                    got["n"] += 1
                    got["last"] = time.perf_counter()
                elif kind == "response" and ident == burst_id:
                    out["response"] = True
                    return
                elif kind == "error":
                    out["error"] = str(val)
                    return

        task = asyncio.ensure_future(receive())
        while not task.done():  # a stalled stream means the server's runner link broke: stop waiting
            await asyncio.wait([task], timeout=0.5)
            idle = time.perf_counter() - max(got["last"], t0)
            if not task.done() and (idle > STALL_S or time.perf_counter() - t0 > a.timeout):
                task.cancel()
                out["error"] = f"stalled: no frame for {idle:.0f} s"
        try:
            await task
        except BaseException as exc:
            out.setdefault("error", f"{type(exc).__name__}: {exc}")
        received, last = got["n"], got["last"]
        out.update(
            meter.stop(), ops=received, expected=a.n, received=received, events_wall_s=(last - t0) if received else None
        )
    if out.get("error"):
        ws.transport.abort()
        return
    await ws.close()


def main() -> None:
    a = parse_args()
    meter = Meter(a.server_pids)
    out: dict = {"client": "raw", "workload": a.workload, "encoding": a.encoding, "errors": 0}
    if a.workload.startswith("http"):
        run_http(a, meter, out)
    else:
        asyncio.run(run_ws(a, meter, out))
    emit(out)


if __name__ == "__main__":
    main()
