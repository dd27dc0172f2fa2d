"""Benchmark driver for rivetctl's client library (``rivetctl.client``): one workload, one JSON line.

Uses only the public API, the way a user would: ``Client(endpoint, encoding=...)``,
``client.counter.get_or_create(key)``, ``await handle.action(...)``, ``handle.connect()``,
``await conn.action(...)``, ``conn.on(name, cb)``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import STALL_S, Meter, emit, parse_args, split

from rivetctl.client import Client


async def main() -> None:
    a = parse_args()
    meter = Meter(a.server_pids)
    out: dict = {"client": "lib", "workload": a.workload, "encoding": a.encoding, "errors": 0}
    async with Client(a.endpoint, encoding=a.encoding, env={}) as client:
        handle = client.counter.get_or_create(a.key)
        if a.workload in ("http_seq", "http_conc"):
            for _ in range(a.warmup):
                await handle.action("increment", 1)
            lat: list[float] = []

            async def caller(count: int) -> None:
                for _ in range(count):
                    t = time.perf_counter()
                    try:
                        await handle.action("increment", 1)
                    except Exception:
                        out["errors"] += 1
                        continue
                    lat.append(time.perf_counter() - t)

            meter.start()
            await asyncio.gather(*(caller(c) for c in split(a.n, a.concurrency)))
            out.update(meter.stop(), ops=a.n, lat_ms=lat)
        elif a.workload in ("ws_seq", "ws_pipe"):
            conn = handle.connect()
            await conn.wait_open(timeout=30)
            for _ in range(a.warmup):
                await conn.action("increment", 1)
            lat = []

            async def worker(count: int) -> None:
                for _ in range(count):
                    t = time.perf_counter()
                    try:
                        await conn.action("increment", 1)
                    except Exception:
                        out["errors"] += 1
                        continue
                    lat.append(time.perf_counter() - t)

            meter.start()
            await asyncio.gather(*(worker(c) for c in split(a.n, a.concurrency)))
            out.update(meter.stop(), ops=a.n, lat_ms=lat)
            await conn.dispose()
        else:  # burst
            conn = handle.connect()
            await conn.wait_open(timeout=30)
            got = {"n": 0, "last": 0.0}

            def on_burst(i: int) -> None:
                got["n"] += 1
                got["last"] = time.perf_counter()

            conn.on("burst", on_burst)
            await conn.action("getCount")  # the subscription is on the wire before the burst
            meter.start()
            t0 = time.perf_counter()
            call = asyncio.ensure_future(conn.action("burst", a.n, timeout=a.timeout))
            while not call.done():  # a stalled stream means the server's runner link broke: stop waiting
                await asyncio.wait([call], timeout=0.5)
                if not call.done() and time.perf_counter() - max(got["last"], t0) > STALL_S:
                    call.cancel()
                    out["error"] = f"stalled: no event for {STALL_S:g} s"
                    break
            try:
                await call
                out["response"] = True
            except BaseException as exc:
                out["response"] = False
                out.setdefault("error", f"{type(exc).__name__}: {exc}")
            m = meter.stop()
            # Events precede the action's response; give stragglers a moment only if the response is missing.
            out.update(
                m, ops=got["n"], expected=a.n, received=got["n"], events_wall_s=(got["last"] - t0) if got["n"] else None
            )
            await conn.dispose()
    emit(out)


if __name__ == "__main__":
    asyncio.run(main())
