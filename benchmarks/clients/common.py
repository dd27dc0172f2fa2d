"""Shared by the Python drivers: argument parsing, server CPU sampling, and the JSON result line.

A driver runs ONE workload against a running server and prints one JSON object on stdout:
``ops`` (operations measured), ``wall_s``, ``cpu_s`` (this process, all threads: ``time.process_time``),
``server_cpu_s`` (engine + runner, from /proc), ``lat_ms`` (per-operation latencies, when meaningful),
``errors``, plus workload-specific fields (burst: ``expected``, ``received``, ``response``…).
Nothing here imports rivetctl: the raw driver must stay independent of the library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

WORKLOADS = ("http_seq", "http_conc", "ws_seq", "ws_pipe", "burst")
_TICK = os.sysconf("SC_CLK_TCK")
STALL_S = 8.0
"""A burst with no new frame for this long has stalled (the server's runner link broke): stop waiting."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--encoding", choices=("json", "cbor", "bare"), required=True)
    p.add_argument("--workload", choices=WORKLOADS, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--n", type=int, required=True, help="operations (burst: events)")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--server-pids", default="")
    return p.parse_args(argv)


def server_cpu(pids: str) -> float:
    """CPU seconds used so far by the server processes (all threads)."""
    total = 0
    for pid in filter(None, pids.split(",")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / _TICK


class Meter:
    """Wall, process CPU and server CPU between ``start()`` and ``stop()``."""

    def __init__(self, pids: str) -> None:
        self.pids = pids

    def start(self) -> None:
        self.s0 = server_cpu(self.pids)
        self.c0 = time.process_time()
        self.w0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.w0
        cpu = time.process_time() - self.c0
        srv = server_cpu(self.pids) - self.s0
        return {"wall_s": wall, "cpu_s": cpu, "server_cpu_s": srv}


def emit(result: dict[str, Any]) -> None:
    if "lat_ms" in result:
        result["lat_ms"] = [round(x * 1000, 3) for x in result["lat_ms"]]
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def split(n: int, parts: int) -> list[int]:
    """``n`` operations spread over ``parts`` workers."""
    base, extra = divmod(n, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
