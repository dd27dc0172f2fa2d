"""Micro-benchmarks that price the costs the profiles point at (CPU µs per operation, in-process).

``benchmarks/micro`` (or ``.venv/bin/python benchmarks/micro.py [--endpoint URL]``):

- ``codec``   decoding one burst ``Event`` frame and encoding one ``ActionRequest``: rivetctl's codecs
              (``rivetctl.protocol.encoding``) vs the raw driver's (cbor2 + hand-rolled frames);
- ``watch``   the per-event output path of ``rivetctl watch -o jsonl``: timestamp + record → JSON line →
              write + flush, vs a minimal equivalent;
- ``http``    client CPU of one stateless call with several HTTP stacks against a live server (starts one
              with Nagle off on both tunnel ends unless ``--endpoint`` is given);
- ``imports`` fresh-interpreter import time of each dependency (min of N).

Writes ``results/micro-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH / "clients"))
sys.path.insert(0, str(BENCH))


def per_op(fn, n: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` CPU µs per call of ``fn()``."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - t) / n * 1e6)
    return round(best, 2)


def codec() -> dict[str, Any]:
    import py_raw

    from rivetctl.protocol.encoding import decode_to_client, encode_to_client, encode_to_server
    from rivetctl.protocol.messages import ActionRequest, Event

    out: dict[str, Any] = {}
    for enc in ("json", "cbor", "bare"):
        frame = encode_to_client(Event("burst", [12345]), enc)
        if enc == "json":
            frame = frame.decode()
        lib_dec = per_op(lambda f=frame, e=enc: decode_to_client(f, e), 20000)
        raw_dec = per_op(lambda f=frame, e=enc: py_raw.ws_decode(e, f), 20000)
        lib_enc = per_op(lambda e=enc: encode_to_server(ActionRequest(7, "increment", [1]), e), 20000)
        raw_enc = per_op(lambda e=enc: py_raw.ws_action(e, 7, "increment", [1]), 20000)
        out[enc] = {
            "decode_event_us": {"lib": lib_dec, "raw": raw_dec},
            "encode_action_us": {"lib": lib_enc, "raw": raw_enc},
        }
    try:
        import cbor2

        from rivetctl.protocol.values import dumps_cbor, loads_cbor

        data = cbor2.dumps([12345])
        out["cbor_item"] = {
            "loads_us": {
                "rivetctl.loads_cbor": per_op(lambda: loads_cbor(data), 50000),
                "cbor2.loads": per_op(lambda: cbor2.loads(data), 50000),
            },
            "dumps_us": {
                "rivetctl.dumps_cbor": per_op(lambda: dumps_cbor([1]), 50000),
                "cbor2.dumps": per_op(lambda: cbor2.dumps([1]), 50000),
            },
        }
    except ImportError as exc:
        out["cbor_item"] = str(exc)
    return out


def watch_output() -> dict[str, Any]:
    from datetime import UTC, datetime

    from rivetctl.output.render import Output, dumps

    devnull = open(os.devnull, "w")  # noqa: SIM115
    out = Output("jsonl", stdout=devnull, stderr=devnull, color=False)
    columns = ("time", "actor", "type", "event", "args")

    def lib_event() -> None:
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "actor": "counter/k",
            "type": "event",
            "event": "burst",
            "args": [12345],
        }
        out.stream(record, columns)

    def minimal_event() -> None:
        devnull.write(
            json.dumps({"time": time.time(), "actor": "counter/k", "type": "event", "event": "burst", "args": [12345]})
            + "\n"
        )

    res = {
        "record_to_devnull_us": {
            "rivetctl Output.stream (+ timestamp)": per_op(lib_event, 20000),
            "minimal json.dumps + write": per_op(minimal_event, 20000),
        },
        "parts_us": {
            "datetime.now(UTC).isoformat(ms)": per_op(
                lambda: datetime.now(UTC).isoformat(timespec="milliseconds"), 50000
            ),
            "render.dumps(record)": per_op(
                lambda: dumps({"time": "x", "actor": "counter/k", "type": "event", "event": "burst", "args": [12345]}),
                50000,
            ),
            "json.dumps(record)": per_op(
                lambda: json.dumps(
                    {"time": "x", "actor": "counter/k", "type": "event", "event": "burst", "args": [12345]}
                ),
                50000,
            ),
            "write+flush /dev/null": per_op(lambda: (devnull.write("x" * 90 + "\n"), devnull.flush()), 50000),
            "write /dev/null (no flush)": per_op(lambda: devnull.write("x" * 90 + "\n"), 50000),
        },
    }
    return res


async def _asyncio_http(url: str, body: bytes, headers: dict[str, str], n: int) -> float:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams (what an in-house transport could cost)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    target = parts.path + "?" + parts.query
    head = (
        f"POST {target} HTTP/1.1\r\nhost: {parts.netloc}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + f"content-length: {len(body)}\r\n\r\n"
    ).encode()

    async def call() -> bytes:
        writer.write(head + body)
        status = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        data = await reader.readexactly(length)
        assert status.split()[1] == b"200", status
        return data

    for _ in range(10):
        await call()
    t = time.process_time()
    for _ in range(n):
        await call()
    cpu = (time.process_time() - t) / n * 1e6
    writer.close()
    return cpu


def http(endpoint: str, n: int) -> dict[str, Any]:
    import httpx
    import py_raw

    url = py_raw.query(endpoint, "micro-http", "/action/increment")
    body = py_raw.http_body("bare", [1])
    headers = {"x-rivet-encoding": "bare", "content-type": "application/octet-stream"}
    res: dict[str, Any] = {}

    async def async_stream() -> float:
        async with httpx.AsyncClient(trust_env=False) as c:

            async def one() -> None:
                async with c.stream("POST", url, headers=headers, content=body) as r:
                    b"".join([chunk async for chunk in r.aiter_raw()])

            for _ in range(10):
                await one()
            t = time.process_time()
            for _ in range(n):
                await one()
            return (time.process_time() - t) / n * 1e6

    async def async_post() -> float:
        async with httpx.AsyncClient(trust_env=False) as c:
            for _ in range(10):
                await c.post(url, headers=headers, content=body)
            t = time.process_time()
            for _ in range(n):
                _ = (await c.post(url, headers=headers, content=body)).content
            return (time.process_time() - t) / n * 1e6

    def sync_post() -> float:
        with httpx.Client(trust_env=False) as c:
            for _ in range(10):
                c.post(url, headers=headers, content=body)
            t = time.process_time()
            for _ in range(n):
                _ = c.post(url, headers=headers, content=body).content
            return (time.process_time() - t) / n * 1e6

    async def lib_action() -> float:
        from rivetctl.client import Client

        async with Client(endpoint, encoding="bare", env={}) as client:
            h = client.counter.get_or_create("micro-http")
            for _ in range(10):
                await h.action("increment", 1)
            t = time.process_time()
            for _ in range(n):
                await h.action("increment", 1)
            return (time.process_time() - t) / n * 1e6

    for _ in range(2):  # interleave two rounds, keep the best of each
        for name, fn in (
            ("rivetctl handle.action (bare)", lambda: asyncio.run(lib_action())),
            ("httpx.AsyncClient.stream + aiter_raw", lambda: asyncio.run(async_stream())),
            ("httpx.AsyncClient.post", lambda: asyncio.run(async_post())),
            ("httpx.Client.post (sync; the raw driver)", sync_post),
            ("asyncio streams, hand-written HTTP/1.1", lambda: asyncio.run(_asyncio_http(url, body, headers, n))),
        ):
            v = round(fn(), 1)
            res[name] = min(v, res.get(name, v))
    return {"client_cpu_us_per_call": res, "calls": n}


def imports(runs: int) -> dict[str, Any]:
    py = str(ROOT / ".venv" / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path("/tmp") / "rivetctl-micro-pycache")
    mods = [
        "pass",
        "import cbor2",
        "import websockets.asyncio.client",
        "import httpx",
        "import rich.console",
        "import pydantic",
        "import typer",
        "import rivetctl.client",
        "import rivetctl.cli.app",
    ]
    out: dict[str, Any] = {}
    for stmt in mods:  # warm the bytecode cache
        subprocess.run([py, "-c", stmt], env=env, capture_output=True)
    for stmt in mods:
        walls = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([py, "-c", stmt], env=env, capture_output=True)
            walls.append(time.perf_counter() - t)
        out[stmt] = round(min(walls) * 1000, 1)
    base = out["pass"]
    return {"process_wall_ms_min": out, "over_bare_python_ms": {k: round(v - base, 1) for k, v in out.items()}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint")
    p.add_argument("--only", default="codec,watch,http,imports")
    p.add_argument("--calls", type=int, default=400)
    args = p.parse_args()
    only = set(args.only.split(","))
    res: dict[str, Any] = {}
    if "codec" in only:
        res["codec"] = codec()
    if "watch" in only:
        res["watch_output"] = watch_output()
    if "imports" in only:
        res["imports"] = imports(7)
    if "http" in only:
        if args.endpoint:
            res["http"] = http(args.endpoint, args.calls)
        else:
            import bench

            server = bench.BenchServer("nodelay")
            server.start()
            try:
                res["http"] = http(server.endpoint, args.calls)
            finally:
                server.stop()
    text = json.dumps(res, indent=1)
    print(text)
    out = BENCH / "results" / "micro-latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
