"""rivetctl benchmarks: rivetctl's client library vs the official TypeScript client vs a raw Python client.

Run it with ``benchmarks/run`` (``--quick`` for a few minutes, default: the full run). For each server mode
(``shipped``: RivetKit 2.3.19 as installed; ``nodelay``: Nagle switched off on both ends of the runner↔engine
tunnel) it starts a throw-away real server (``rivetctl.devserver.DevServer``, RUST_BACKTRACE stripped) and
measures, per encoding and client, in separate processes (``clients/``):

- ``http_seq``  stateless HTTP action, one caller: latency p50/p90/p99, calls/s, client CPU µs/call
- ``http_conc`` the same with 32 concurrent callers
- ``ws_seq``    actions over one WebSocket connection, one at a time
- ``ws_pipe``   actions over one connection with 256 in flight
- ``burst``     a 20,000-event ``burst`` broadcast: events/s, lost events, CPU µs/event

plus whole-process one-shot wall time (``rivetctl call`` vs the Node one-shot script vs curl), CLI start-up
(``--version``/``--help`` vs bare Python), ``rivetctl watch -o jsonl > /dev/null`` against a burst, the
memory of ``watch`` over a long stream, and a fan-out: ``rivetctl call fleet --keys-from FILE`` / ``--all``
over 1,000 and then 10,000 actors (2,000 with ``--quick``) at ``-j 16`` vs the official TypeScript client with
the same concurrency (``clients/ts_fanout.mjs``): calls/s and the rivetctl process's peak RSS at each size. It
prints the tables and writes ``results/<stamp>-<quick|full>.json``
and ``results/latest.json``. Timing is the check: nothing here asserts.

Server failures (the runner↔engine link pinging out under a burst, protocol reference §12.1) are detected
from the engine's log and the server's answers; they are reported as server failures, the server is
restarted, and the measurement is retried.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import nodelay  # noqa: E402

from rivetctl.devserver import DevServer  # noqa: E402

PY = ROOT / ".venv" / "bin" / "python"
RIVETCTL = ROOT / ".venv" / "bin" / "rivetctl"
CLIENTS = ("lib", "ts", "raw")
ENCODINGS = ("json", "cbor", "bare")
WORKLOADS = ("http_seq", "http_conc", "ws_seq", "ws_pipe", "burst")
MODES = ("shipped", "nodelay")
LINK_BROKE = re.compile(r"Ping timed out|envoy websocket closed|envoy disconnect|envoys/connect.*(failed|closed)")

# Operations per run: (quick, full).  Shipped mode is ~13× slower per sequential call (Nagle).
SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "nodelay": {
        "http_seq": (100, 500),
        "http_conc": (480, 2000),
        "ws_seq": (200, 1000),
        "ws_pipe": (1024, 2048),
        "burst": (20000, 20000),
    },
    "shipped": {
        "http_seq": (20, 100),
        "http_conc": (320, 960),
        "ws_seq": (30, 200),
        "ws_pipe": (1024, 2048),
        "burst": (20000, 20000),
    },
}
CONCURRENCY = {"http_seq": 1, "http_conc": 32, "ws_seq": 1, "ws_pipe": 256, "burst": 1}
LABELS = {
    "http_seq": "HTTP sequential",
    "http_conc": "HTTP 32 concurrent",
    "ws_seq": "WS sequential",
    "ws_pipe": "WS pipelined 256",
    "burst": "burst 20k events",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- the server ------------------------------------------------------------------------------------


class BenchServer:
    """One DevServer in one mode; re-applies TCP_NODELAY on the runner's tunnel socket when needed."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.restarts = 0
        self.failures: list[dict[str, Any]] = []
        self.srv: DevServer | None = None
        self.nodelay_log: list[dict[str, Any]] = []

    def start(self) -> None:
        env = {"RIVET__GUARD__TCP_NODELAY": "true"} if self.mode == "nodelay" else {}
        self.srv = DevServer(extra_env=env).start()
        self.ensure_mode()

    def stop(self) -> None:
        if self.srv is not None:
            self.srv.stop()
            self.srv = None

    def restart(self, why: str) -> None:
        log(f"  ! restarting the server ({why})")
        self.restarts += 1
        self.stop()
        self.start()

    @property
    def endpoint(self) -> str:
        assert self.srv is not None
        return self.srv.endpoint

    @property
    def pids(self) -> str:
        assert self.srv is not None and self.srv._node is not None
        return f"{self.srv._node.pid},{self.srv.engine_pid}"

    def ensure_mode(self) -> None:
        """In nodelay mode, set TCP_NODELAY on any runner→engine socket that does not have it yet."""
        if self.mode != "nodelay":
            return
        assert self.srv is not None and self.srv._node is not None
        switched = nodelay.set_nodelay(self.srv._node.pid, {self.srv.port, self.srv.port + 1})
        fresh = [s for s in switched if not s["before"]]
        if fresh:
            self.nodelay_log.append({"at": time.time(), "switched": fresh})
        if not switched:
            raise RuntimeError("no runner→engine socket found to switch Nagle off on")

    def log_sizes(self) -> tuple[int, int]:
        return (_size(self.srv.log_path), _size(self._engine_log()))  # type: ignore[union-attr]

    def _engine_log(self) -> Path | None:
        assert self.srv is not None
        logs = sorted((self.srv.storage / ".rivetkit" / "var" / "logs").glob("**/engine-*-stdout.log"))
        return logs[-1] if logs else None

    def link_broke_since(self, sizes: tuple[int, int]) -> str | None:
        """The first log line since ``sizes`` saying the runner's link to the engine broke, if any."""
        assert self.srv is not None
        hits: list[str] = []
        for path, offset in ((self._engine_log(), sizes[1]), (self.srv.log_path, sizes[0])):
            if path is None:
                continue
            with contextlib.suppress(OSError), open(path, "rb") as f:
                f.seek(offset)
                hits += [ln for ln in f.read().decode(errors="replace").splitlines() if LINK_BROKE.search(ln)]
        best = [h for h in hits if "Ping timed out" in h] or hits
        return best[0][:300] if best else None

    def log_excerpt(self, sizes: tuple[int, int], limit: int = 40) -> list[str]:
        """Warnings and errors the engine and runner logged since ``sizes`` (for failure reports)."""
        assert self.srv is not None
        lines: list[str] = []
        for path, offset in ((self._engine_log(), sizes[1]), (self.srv.log_path, sizes[0])):
            if path is None:
                continue
            with contextlib.suppress(OSError), open(path, "rb") as f:
                f.seek(offset)
                lines += [
                    ln[:400]
                    for ln in f.read().decode(errors="replace").splitlines()
                    if "level=warn" in ln or "level=error" in ln or "rror" in ln
                ]
        return [
            ln
            for ln in lines
            if "received HTTP tunnel message without request start" not in ln
            and "SQLite transaction is unnamed" not in ln
        ][:limit]

    def healthy(self) -> bool:
        try:
            return http_action(self.endpoint, "bench-health", "getCount", [], timeout=5)[0] == 200
        except Exception:
            return False

    def mode_check(self, calls: int = 20) -> dict[str, Any]:
        """HTTP p50 of a plain urllib client: ~95 ms as shipped, ~7 ms with Nagle off on both ends."""
        lat = []
        for _ in range(calls + 3):
            t = time.perf_counter()
            http_action(self.endpoint, "bench-modecheck", "increment", [1])
            lat.append(time.perf_counter() - t)
        lat = sorted(lat[3:])
        return {"http_p50_ms": round(lat[len(lat) // 2] * 1000, 2), "calls": calls}


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def http_action(endpoint: str, key: str, action: str, args: list, timeout: float = 30) -> tuple[int, Any]:
    url = (
        f"{endpoint}/gateway/counter/action/{action}?rvt-namespace=default&rvt-method=getOrCreate"
        f"&rvt-runner=default&rvt-key={key}&rvt-crash-policy=sleep"
    )
    req = urllib.request.Request(
        url,
        data=json.dumps({"args": args}).encode(),
        method="POST",
        headers={"x-rivet-encoding": "json", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())["output"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:200]


# --- one driver run --------------------------------------------------------------------------------


def driver_cmd(client: str, server: BenchServer, enc: str, workload: str, key: str, n: int) -> list[str]:
    args = [
        "--endpoint",
        server.endpoint,
        "--encoding",
        enc,
        "--workload",
        workload,
        "--key",
        key,
        "--n",
        str(n),
        "--concurrency",
        str(CONCURRENCY[workload]),
        "--server-pids",
        server.pids,
        "--timeout",
        "60",
    ]
    if client == "ts":
        assert server.srv is not None
        return [str(server.srv.node_binary), str(BENCH / "clients" / "ts_client.mjs"), *args]
    script = "py_lib.py" if client == "lib" else "py_raw.py"
    return [str(PY), str(BENCH / "clients" / script), *args]


def run_driver(client: str, server: BenchServer, enc: str, workload: str, key: str, n: int) -> dict[str, Any]:
    cmd = driver_cmd(client, server, enc, workload, key, n)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT, env=_client_env())
    except subprocess.TimeoutExpired:
        return {"client": client, "workload": workload, "encoding": enc, "failed": "driver timed out (240 s)"}
    except OSError as exc:
        return {"client": client, "workload": workload, "encoding": enc, "failed": f"cannot start: {exc}"}
    # The result is the last JSON object line (the official client logs warnings to stdout too).
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    try:
        return json.loads(lines[-1])
    except (ValueError, IndexError):
        tail = (proc.stderr or proc.stdout)[-600:]
        return {"client": client, "workload": workload, "encoding": enc, "failed": f"exit {proc.returncode}: {tail}"}


def _client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIVET_", "RIVETCTL_"))}
    env.pop("RUST_BACKTRACE", None)
    return env


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 3)


def summarize(r: dict[str, Any]) -> dict[str, Any]:
    """Per-run numbers: throughput, latency percentiles, CPU per operation, busy fractions."""
    if r.get("failed"):
        return {k: r[k] for k in ("client", "workload", "encoding", "failed")}
    s: dict[str, Any] = {k: r.get(k) for k in ("client", "workload", "encoding", "errors")}
    ops = r.get("ops") or 0
    wall = r["wall_s"]
    s.update(ops=ops, wall_s=round(wall, 3))
    s["cpu_us_per_op"] = round(r["cpu_s"] / ops * 1e6, 1) if ops else None
    s["server_cpu_us_per_op"] = round(r["server_cpu_s"] / ops * 1e6, 1) if ops else None
    s["client_cores"] = round(r["cpu_s"] / wall, 3) if wall else None
    s["server_cores"] = round(r["server_cpu_s"] / wall, 3) if wall else None
    if r["workload"] == "burst":
        ew = r.get("events_wall_s")
        s.update(
            expected=r["expected"],
            received=r["received"],
            lost=r["expected"] - r["received"],
            response=r.get("response"),
            error=r.get("error"),
        )
        s["ops_per_s"] = round(r["received"] / ew, 1) if ew else 0.0
    else:
        lat = r.get("lat_ms") or []
        s["ops_per_s"] = round(ops / wall, 1) if wall else None
        s.update(p50_ms=pct(lat, 50), p90_ms=pct(lat, 90), p99_ms=pct(lat, 99))
    return s


def measure(
    server: BenchServer, client: str, enc: str, workload: str, n: int, attempts: int, round_no: int
) -> dict[str, Any]:
    """One (client, encoding, workload) measurement; retried after a server failure."""
    tries = []
    for attempt in range(1, attempts + 1):
        if not server.healthy():
            server.restart("health check failed before the run")
        server.ensure_mode()
        # One actor per client and encoding (warm across rounds); bursts and retries get a fresh one.
        key = (
            f"{workload}-{client}-{enc}-r{round_no}-a{attempt}"
            if workload == "burst" or attempt > 1
            else f"b-{client}-{enc}"
        )
        sizes = server.log_sizes()
        raw = run_driver(client, server, enc, workload, key, n)
        s = summarize(raw)
        broke = server.link_broke_since(sizes)
        incomplete = bool(
            s.get("failed") or s.get("errors") or (workload == "burst" and (s.get("lost") or not s.get("response")))
        )
        if broke or (incomplete and not server.healthy()):
            s["server_failure"] = broke or "server unhealthy after the run"
            server.failures.append(
                {
                    "kind": "server failure",
                    "client": client,
                    "encoding": enc,
                    "workload": workload,
                    "attempt": attempt,
                    "evidence": s["server_failure"],
                    "received": s.get("received"),
                    "response": s.get("response"),
                    "client_error": s.get("error") or s.get("failed"),
                    "log": server.log_excerpt(sizes),
                }
            )
            tries.append(s)
            log(f"    {client:4} {enc:4} {workload}: SERVER FAILURE ({s['server_failure'][:120]})")
            server.restart("the runner↔engine link broke")
            continue
        if incomplete and workload != "burst" and attempt < attempts:
            server.failures.append(
                {
                    "kind": "run failed or had errors; server answers",
                    "client": client,
                    "encoding": enc,
                    "workload": workload,
                    "attempt": attempt,
                    "client_error": (s.get("failed") or f"{s.get('errors')} errors")[-300:],
                    "log": server.log_excerpt(sizes),
                }
            )
            tries.append(s)
            log(f"    {client:4} {enc:4} {workload}: failed or had errors; retrying on a fresh actor")
            continue
        if workload == "burst" and incomplete and attempt < attempts:
            # Events missing but no link failure logged and the server answers: keep the evidence, try again
            # on a fresh actor, and report the anomaly beside the result.
            server.failures.append(
                {
                    "kind": "events missing, no server error logged",
                    "client": client,
                    "encoding": enc,
                    "workload": workload,
                    "attempt": attempt,
                    "received": s.get("received"),
                    "response": s.get("response"),
                    "error": s.get("error"),
                    "log": server.log_excerpt(sizes),
                }
            )
            tries.append(s)
            log(
                f"    {client:4} {enc:4} {workload}: {s.get('lost')} events missing (response "
                f"{s.get('response')}), no server error logged; retrying"
            )
            continue
        s["attempts"] = attempt
        s["server_failures_before"] = len(tries)
        _print_run(s)
        return s
    last = dict(tries[-1])
    last["attempts"] = attempts
    last["server_failures_before"] = len(tries)
    last["outcome"] = "server failure"
    return last


def _print_run(s: dict[str, Any]) -> None:
    if s.get("failed"):
        log(f"    {s['client']:4} {s['encoding']:4} {s['workload']}: FAILED {s['failed'][:200]}")
        return
    extra = (
        f"lost {s['lost']}" if s["workload"] == "burst" else f"p50 {s['p50_ms']} p90 {s['p90_ms']} p99 {s['p99_ms']} ms"
    )
    log(
        f"    {s['client']:4} {s['encoding']:4} {s['workload']:9} {s['ops_per_s']:>9} ops/s  "
        f"cpu {s['cpu_us_per_op']:>7} µs/op  srv {s['server_cpu_us_per_op']:>7} µs/op  {extra}"
        + (f"  errors {s['errors']}" if s.get("errors") else "")
    )


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several rounds of one (client, encoding, workload): the median of each number."""
    ok = [r for r in runs if not r.get("failed") and not r.get("outcome")]
    if not ok:
        return dict(runs[-1], rounds=len(runs))
    out = dict(ok[0])
    for k in (
        "ops_per_s",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "cpu_us_per_op",
        "server_cpu_us_per_op",
        "client_cores",
        "server_cores",
        "wall_s",
    ):
        vals = [r[k] for r in ok if r.get(k) is not None]
        if vals:
            out[k] = round(statistics.median(vals), 3)
    if ok[0]["workload"] == "burst":
        out["lost"] = max(r["lost"] for r in ok)
    out["errors"] = sum(r.get("errors") or 0 for r in ok)
    out["rounds"] = len(ok)
    out["server_failures_before"] = sum(r.get("server_failures_before", 0) for r in runs)
    return out


# --- whole-process timings -------------------------------------------------------------------------


def timed(cmd: list[str], env: dict[str, str], stdout: Any = subprocess.DEVNULL) -> tuple[float, int]:
    t = time.perf_counter()
    rc = subprocess.run(cmd, env=env, stdout=stdout, stderr=subprocess.DEVNULL, cwd=ROOT).returncode
    return time.perf_counter() - t, rc


def stats_ms(samples: list[float]) -> dict[str, Any]:
    ms = [x * 1000 for x in samples]
    return {
        "runs": len(ms),
        "min_ms": round(min(ms), 1),
        "median_ms": round(statistics.median(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def cli_env(home: Path) -> dict[str, str]:
    """Environment for CLI processes: a private config/state dir, and a bytecode cache.

    This sandbox sets PYTHONDONTWRITEBYTECODE=1 and rivetctl is an editable install, so without this every
    run would compile rivetctl's sources (~80 ms); a user's ``pip install`` has its .pyc files.  The cache
    lives under ``home`` (PYTHONPYCACHEPREFIX), never in the source tree.
    """
    env = _client_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        PYTHONPYCACHEPREFIX=str(home / "pycache"),
        NO_COLOR="1",
    )
    return env


def oneshot(server: BenchServer, runs: int, home: Path) -> dict[str, Any]:
    """Wall time of a whole process doing one stateless call: rivetctl vs Node (official client) vs curl."""
    assert server.srv is not None
    env = cli_env(home)
    ep = server.endpoint
    url = (
        f"{ep}/gateway/counter/action/increment?rvt-namespace=default&rvt-method=getOrCreate"
        f"&rvt-runner=default&rvt-key=oneshot-curl&rvt-crash-policy=sleep"
    )
    tools = {
        "rivetctl": [str(RIVETCTL), "-e", ep, "call", "counter", "oneshot-cli", "increment", "1"],
        "node": [str(server.srv.node_binary), str(BENCH / "clients" / "oneshot.mjs"), ep, "oneshot-node"],
        "curl": [
            "curl",
            "-sS",
            "-X",
            "POST",
            "-H",
            "x-rivet-encoding: json",
            "-H",
            "content-type: application/json",
            "--data",
            '{"args":[1]}',
            url,
        ],
    }
    samples: dict[str, list[float]] = {k: [] for k in tools}
    failures: dict[str, int] = {k: 0 for k in tools}
    for cmd in tools.values():  # warm the actors and the page cache
        timed(cmd, env)
    for i in range(runs):
        names = list(tools)
        names = names[i % 3 :] + names[: i % 3]
        for name in names:
            server.ensure_mode()
            wall, rc = timed(tools[name], env)
            if rc != 0:
                failures[name] += 1
            samples[name].append(wall)
    out = {
        name: {**stats_ms(s), "failures": failures[name], "cmd": " ".join(tools[name])} for name, s in samples.items()
    }
    out["ratio_rivetctl_vs_node"] = round(out["rivetctl"]["median_ms"] / out["node"]["median_ms"], 3)
    log(
        f"    one-shot median: rivetctl {out['rivetctl']['median_ms']} ms, node {out['node']['median_ms']} ms, "
        f"curl {out['curl']['median_ms']} ms (ratio rivetctl/node {out['ratio_rivetctl_vs_node']})"
    )
    return out


def startup(runs: int, home: Path) -> dict[str, Any]:
    env = cli_env(home)
    tools = {
        "python": [str(PY), "-c", "pass"],
        "version": [str(RIVETCTL), "--version"],
        "help": [str(RIVETCTL), "--help"],
    }
    samples: dict[str, list[float]] = {k: [] for k in tools}
    for cmd in tools.values():
        timed(cmd, env)
    for i in range(runs):
        for name in list(tools)[i % 3 :] + list(tools)[: i % 3]:
            samples[name].append(timed(tools[name], env)[0])
    out: dict[str, Any] = {name: stats_ms(s) for name, s in samples.items()}
    budget = 1.5 * out["python"]["median_ms"] + 60
    out["budget_ms"] = round(budget, 1)
    out["version_ok"] = out["version"]["median_ms"] < budget
    out["help_ok"] = out["help"]["median_ms"] < budget
    log(
        f"    start-up median: python {out['python']['median_ms']} ms, --version {out['version']['median_ms']} ms, "
        f"--help {out['help']['median_ms']} ms (budget {out['budget_ms']} ms)"
    )
    return out


# --- watch -----------------------------------------------------------------------------------------


class Watch:
    """A ``rivetctl watch`` process; stdout to /dev/null or counted through a pipe."""

    def __init__(self, server: BenchServer, key: str, home: Path, *, count: int | None, to_pipe: bool) -> None:
        cmd = [
            str(RIVETCTL),
            "-e",
            server.endpoint,
            "-o",
            "jsonl",
            "--timeout",
            "600",
            "watch",
            "counter",
            key,
            "burst",
            "--no-state",
        ]
        if count:
            cmd += ["--count", str(count)]
        self.cmd = cmd
        self.lines = 0
        self.ready = threading.Event()
        self.stderr: list[str] = []
        self.proc = subprocess.Popen(
            cmd,
            env=cli_env(home),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if to_pipe else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        threading.Thread(target=self._read_err, daemon=True).start()
        if to_pipe:
            threading.Thread(target=self._count, daemon=True).start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.stderr.append(line)
            if "watching" in line:
                self.ready.set()

    def _count(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            self.lines += chunk.count(b"\n")

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_exit(self, timeout: float) -> tuple[int | None, float]:
        """Exit code (None on timeout) and the process's total CPU seconds (from wait4's rusage)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                return self.proc.returncode, usage.ru_utime + usage.ru_stime
            time.sleep(0.002)
        return None, 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def watch_burst(server: BenchServer, n: int, attempts: int, home: Path, server_max: float | None) -> dict[str, Any]:
    """``rivetctl watch ... -o jsonl > /dev/null`` with ``--count n``: does it get every event of a burst?"""
    tries: list[dict[str, Any]] = []
    for attempt in range(1, attempts + 1):
        if not server.healthy():
            server.restart("health check failed before the watch run")
        server.ensure_mode()
        key = f"watch-burst-{attempt}-{int(time.time())}"
        w = Watch(server, key, home, count=n, to_pipe=False)
        if not w.ready.wait(30):
            w.stop()
            return {"failed": "watch did not start", "stderr": w.stderr[-5:]}
        time.sleep(0.2)  # the subscription frame follows Init on the writer task
        sizes = server.log_sizes()
        cpu_before = w.cpu_s()
        t0 = time.perf_counter()
        status: list[Any] = []
        trig = threading.Thread(
            target=lambda st=status, k=key: st.append(_try_action(server.endpoint, k, "burst", [n], 90))
        )
        trig.start()
        rc, cpu_total = w.wait_exit(90)
        wall = time.perf_counter() - t0
        trig.join(95)
        broke = server.link_broke_since(sizes)
        w.stop()
        res = {
            "attempt": attempt,
            "events": n,
            "exit_code": rc,
            "wall_s": round(wall, 3),
            "events_per_s": round(n / wall, 1) if rc == 0 else None,
            "cpu_us_per_event": round((cpu_total - cpu_before) / n * 1e6, 1) if rc == 0 else None,
            "trigger": status[0] if status else "no answer",
            "all_received": rc == 0,
        }
        if rc != 0 and (broke or not server.healthy()):
            res["server_failure"] = broke or "server unhealthy"
            tries.append(res)
            log(f"    watch burst: SERVER FAILURE ({res['server_failure'][:120]})")
            server.restart("the runner↔engine link broke")
            continue
        res["server_failures_before"] = len(tries)
        if server_max:
            res["server_max_events_per_s"] = server_max
            res["vs_server_max"] = round(res["events_per_s"] / server_max, 3) if res["events_per_s"] else None
        log(
            f"    watch burst {n}: exit {rc}, {res['events_per_s']} events/s "
            f"(best client in the burst test: {server_max}), cpu {res['cpu_us_per_event']} µs/event"
        )
        return res
    return {"outcome": "server failure", "tries": tries}


def _try_action(endpoint: str, key: str, action: str, args: list, timeout: float) -> Any:
    try:
        return http_action(endpoint, key, action, args, timeout=timeout)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def watch_memory(server: BenchServer, total: int, per_burst: int, home: Path) -> dict[str, Any]:
    """RSS of a ``watch`` process as ``total`` events stream through it in bursts of ``per_burst``."""
    server.ensure_mode()
    key = f"watch-mem-{int(time.time())}"
    w = Watch(server, key, home, count=None, to_pipe=True)
    if not w.ready.wait(30):
        w.stop()
        return {"failed": "watch did not start", "stderr": w.stderr[-5:]}
    time.sleep(0.2)
    samples: list[tuple[int, int]] = [(0, w.rss_kb())]
    sent = 0
    failure = None
    t0 = time.perf_counter()
    sizes = server.log_sizes()
    while sent < total:
        status = _try_action(server.endpoint, key, "burst", [per_burst], 60)
        if not (isinstance(status, tuple) and status[0] == 200):
            failure = f"burst action failed: {status}"
            break
        sent += per_burst
        deadline = time.monotonic() + 30
        while w.lines < sent and time.monotonic() < deadline and w.proc.poll() is None:
            time.sleep(0.005)
        if w.lines < sent:
            failure = f"watch had {w.lines} of {sent} events after 30 s"
            break
        if sent % 10000 == 0:
            samples.append((sent, w.rss_kb()))
    wall = time.perf_counter() - t0
    broke = server.link_broke_since(sizes)
    w.stop()
    rss = dict(samples)
    out: dict[str, Any] = {
        "events_sent": sent,
        "events_received": w.lines,
        "per_burst": per_burst,
        "wall_s": round(wall, 2),
        "rss_kb": samples,
    }
    if 10000 in rss and total in rss:
        out["rss_10k_mb"] = round(rss[10000] / 1024, 1)
        out["rss_end_mb"] = round(rss[total] / 1024, 1)
        out["growth_mb"] = round((rss[total] - rss[10000]) / 1024, 2)
        out["flat"] = out["growth_mb"] <= 10
    if failure:
        out["failure"] = failure
        out["server_failure"] = broke
    log(
        f"    watch memory: {w.lines}/{sent} events, RSS {out.get('rss_10k_mb')} MB at 10k → "
        f"{out.get('rss_end_mb')} MB at {total} ({out.get('growth_mb')} MB)" + (f"; {failure}" if failure else "")
    )
    return out


# --- fan-out ---------------------------------------------------------------------------------------

FANOUT_ACTORS = (2000, 10000)
"""Actors of the fan-out at its large size (quick, full); the small size is FANOUT_SMALL."""
FANOUT_SMALL = 1000
FANOUT_CONCURRENCY = 16
FANOUT_ACTION = ("increment", "1")
_FANOUT_SUMMARY = re.compile(
    r"([\d,]+) calls: ([\d,]+) ok, ([\d,]+) failed(?: · p50 ([\d.]+) ms, p99 ([\d.]+) ms)?"
    r"(?: · ([\d,.]+) calls/s)? · ([\d.]+) s"
)


def _peak_rss_kb(pid: int) -> int:
    """VmHWM of a running process (its peak resident set so far), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class ServerStopped(Exception):
    """The server stopped answering (its engine wedged) during a fan-out stage."""


def _engine_answers(server: BenchServer) -> bool:
    try:
        with urllib.request.urlopen(f"{server.endpoint}/health", timeout=10) as resp:
            return resp.status == 200
    except Exception:
        return False


def _run_measured(
    cmd: list[str],
    env: dict[str, str],
    timeout: float,
    *,
    server: BenchServer | None = None,
    stdout: Any = subprocess.DEVNULL,
) -> dict[str, Any]:
    """Run a process (stdout to /dev/null unless given): exit code, stderr, wall and CPU seconds, and its peak RSS
    (VmHWM polled while it runs, and the kernel's ru_maxrss at exit: the same high-water mark). With ``server``,
    its engine's ``/health`` is probed every 30 s meanwhile: three probes in a row without an answer mean the
    server has stopped (the process is killed, ``ServerStopped`` raised)."""
    t0 = time.perf_counter()
    stopped = False
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        hwm = 0
        deadline = time.monotonic() + timeout
        next_probe = time.monotonic() + 30
        misses = 0
        status = usage = None
        exited = False
        while time.monotonic() < deadline:
            hwm = max(hwm, _peak_rss_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                exited = True
                break
            if server is not None and time.monotonic() >= next_probe:
                misses = 0 if _engine_answers(server) else misses + 1
                next_probe = time.monotonic() + 30
                if misses >= 3:
                    stopped = True
                    break
            time.sleep(0.02)
        if not exited:  # past its time, or the server stopped
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    if stopped:
        raise ServerStopped(f"the engine stopped answering /health while `{' '.join(cmd[:8])} …` ran")
    return {
        "exit_code": proc.returncode,
        "stderr": text,
        "process_wall_s": round(time.perf_counter() - t0, 3),
        "process_cpu_s": round(usage.ru_utime + usage.ru_stime, 3) if usage else None,
        "peak_rss_kb": max(hwm, usage.ru_maxrss if usage else 0),
        "vm_hwm_kb": hwm,
    }


def _fanout_cli(server: BenchServer, home: Path, source: list[str], timeout: float) -> dict[str, Any]:
    """``rivetctl -o jsonl call fleet SOURCE -j 16 increment 1 > /dev/null``: its summary line, peak RSS, CPU."""
    cmd = [
        str(RIVETCTL), "-e", server.endpoint, "--encoding", "bare", "-o", "jsonl",
        "call", "fleet", *source, "-j", str(FANOUT_CONCURRENCY), *FANOUT_ACTION,
    ]  # fmt: skip
    s0 = server_cpu_s(server)
    r = _run_measured(cmd, cli_env(home), timeout, server=server)
    r["server_cpu_s"] = round(server_cpu_s(server) - s0, 3)
    r["cmd"] = " ".join(cmd)
    m = _FANOUT_SUMMARY.search(r["stderr"])
    if m is None:
        r["failed"] = f"exit {r['exit_code']}: {r['stderr'][-400:]}"
        return r
    calls, ok, failed = (int(g.replace(",", "")) for g in m.group(1, 2, 3))
    wall = float(m.group(7))
    r.update(
        calls=calls,
        ok=ok,
        errors=failed,
        wall_s=wall,
        calls_per_s=round(calls / wall, 1) if wall else None,
        p50_ms=float(m.group(4)) if m.group(4) else None,
        p99_ms=float(m.group(5)) if m.group(5) else None,
    )
    return r


def _fanout_ts(server: BenchServer, home: Path, source: tuple[str, Path], timeout: float) -> dict[str, Any]:
    """The official TypeScript client over the same actors (``--keys FILE`` by key, ``--ids FILE`` by id)."""
    assert server.srv is not None
    cmd = [
        str(server.srv.node_binary), str(BENCH / "clients" / "ts_fanout.mjs"),
        "--endpoint", server.endpoint, "--encoding", "bare", "--name", "fleet",
        source[0], str(source[1]), "--action", FANOUT_ACTION[0], "--args", f"[{FANOUT_ACTION[1]}]",
        "--concurrency", str(FANOUT_CONCURRENCY), "--server-pids", server.pids,
    ]  # fmt: skip
    r = _run_measured(cmd, _client_env(), timeout, server=server)
    r["cmd"] = " ".join(cmd)
    lines = [ln for ln in r["stderr"].splitlines() if ln.startswith("{")]
    try:
        out = json.loads(lines[-1])
    except (ValueError, IndexError):
        r["failed"] = f"exit {r['exit_code']}: {r['stderr'][-400:]}"
        return r
    lat = out.pop("lat_ms")
    r.update(
        calls=out["calls"],
        ok=out["ok"],
        errors=out["failed"],
        error_samples=out["errors"],
        wall_s=round(out["wall_s"], 3),
        calls_per_s=round(out["calls"] / out["wall_s"], 1) if out["wall_s"] else None,
        p50_ms=pct(lat, 50),
        p99_ms=pct(lat, 99),
        server_cpu_s=round(out["server_cpu_s"], 3),
    )
    return r


def server_cpu_s(server: BenchServer) -> float:
    total = 0
    for pid in server.pids.split(","):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _create_fleet(server: BenchServer, home: Path, keys: list[str], work: Path) -> dict[str, Any]:
    """Create these actors with get-or-create calls (``rivetctl call fleet --keys-from FILE ping``), calling
    again the keys whose creation the engine failed (5 passes at most; ``ping`` changes nothing)."""
    todo = list(keys)
    t0 = time.perf_counter()
    passes = []
    for _ in range(5):
        if not todo:
            break
        path = work / "create.txt"
        path.write_text("".join(k + "\n" for k in todo))
        out = work / "create.jsonl"
        server.ensure_mode()
        cmd = [
            str(RIVETCTL), "-e", server.endpoint, "-o", "jsonl", "call", "fleet", "--keys-from", str(path),
            "-j", str(FANOUT_CONCURRENCY), "ping",
        ]  # fmt: skip
        with open(out, "w") as fh:
            ran = _run_measured(cmd, cli_env(home), max(900.0, len(todo) * 0.8), server=server, stdout=fh)
        failed = []
        codes: dict[str, int] = {}
        with open(out) as fh:
            for line in fh:
                rec = json.loads(line)
                if not rec["ok"]:
                    failed.append(rec["key"][0])
                    code = f"{rec['error']['group']}.{rec['error']['code']}"
                    codes[code] = codes.get(code, 0) + 1
        passes.append({"keys": len(todo), "failed": len(failed), "errors": codes, "exit_code": ran["exit_code"]})
        log(f"    created {len(todo) - len(failed):,} of {len(todo):,} actors ({codes or 'no errors'})")
        todo = failed
    wall = time.perf_counter() - t0
    return {
        "actors": len(keys),
        "wall_s": round(wall, 1),
        "per_s": round(len(keys) / wall, 1),
        "passes": passes,
        "missing": len(todo),
    }


def _list_ids(server: BenchServer, path: Path) -> int:
    import asyncio

    from rivetctl.client import Client

    async def go() -> int:
        n = 0
        async with Client(server.endpoint, env={}) as client:
            with open(path, "w") as fh:
                async for actor in client.engine.iter_actors("fleet"):
                    fh.write(actor.actor_id + "\n")
                    n += 1
        return n

    return asyncio.run(go())


def _fanout_pair(
    server: BenchServer, home: Path, size: int, key_file: Path, id_file: Path | None, label: str
) -> dict[str, Any]:
    """rivetctl and the TS client alternating over the same actors in the same state: by key (``--keys-from`` /
    ``--keys``), and, with ``id_file``, rivetctl ``--all`` (its listing included) / the TS client by id."""
    timeout = max(900.0, size * 0.8)
    runs: dict[str, Any] = {}
    names = ("ts_keys", "cli_keys", "ts_ids", "cli_all") if id_file is not None else ("ts_keys", "cli_keys")
    for name in names:
        server.ensure_mode()
        if name == "ts_keys":
            r = _fanout_ts(server, home, ("--keys", key_file), timeout)
        elif name == "cli_keys":
            r = _fanout_cli(server, home, ["--keys-from", str(key_file)], timeout)
        elif name == "ts_ids":
            assert id_file is not None
            r = _fanout_ts(server, home, ("--ids", id_file), timeout)
        else:
            r = _fanout_cli(server, home, ["--all"], timeout)
        runs[name] = r
        log(
            f"    {label} {size:>6,} {name:8}: {r.get('calls_per_s')} calls/s, ok {r.get('ok')}, "
            f"failed {r.get('errors')}, p50 {r.get('p50_ms')} p99 {r.get('p99_ms')} ms, "
            f"peak RSS {r['peak_rss_kb'] / 1024:.1f} MB" + (f"; FAILED {r['failed']}" if r.get("failed") else "")
        )
    return runs


FANOUT_AWAKE_ACTORS = 50
"""Few enough that the calls keep every one awake: this server wakes actors at 7–10 per second, so with 500
(each touched every ~60 s, past the 30 s sleep timeout) the stage measured wake-ups again."""
FANOUT_AWAKE_CALLS = (1000, 10000)


def fanout(server: BenchServer, n: int, home: Path, stages: set[str], attempts: int = 3) -> dict[str, Any]:
    """:func:`fanout_stages`, started again on a fresh server (and fresh actors) when the server stops answering
    (its engine wedged under the load: reported as a server failure, as for bursts)."""
    failures: list[dict[str, Any]] = []
    for attempt in range(1, attempts + 1):
        sizes = server.log_sizes()
        try:
            out = fanout_stages(server, n, home, stages)
        except ServerStopped as exc:
            failures.append({"attempt": attempt, "evidence": str(exc), "log": server.log_excerpt(sizes)})
            server.failures.append(
                {"kind": "server failure", "client": "-", "encoding": "bare", "workload": "fanout", **failures[-1]}
            )
            log(f"    fan-out: SERVER FAILURE ({exc}); a fresh server and fresh actors")
            server.restart("the engine stopped answering")
            continue
        out["server_failures_before"] = failures
        return out
    return {"outcome": "server failure", "tries": failures}


def fanout_stages(server: BenchServer, n: int, home: Path, stages: set[str]) -> dict[str, Any]:
    """The fan-out in two stages.

    ``fleet``: distinct actors, created for it, FANOUT_SMALL then up to ``n``; at each size four passes of
    ``increment(1)`` over every actor (rivetctl ``--keys-from`` / the TS client by key, rivetctl ``--all`` / the TS
    client by id), then a ``--all getCount`` comparing each actor's count with the passes made over it. A pass
    over a thousand actors takes longer than RivetKit's 30 s sleep timeout, so every call wakes its actor: the
    server's cost.

    ``awake``: 1,000 and 10,000 calls over FANOUT_AWAKE_ACTORS actors (each key listed 20 or 200 times), kept
    awake by the calls themselves: the clients' own cost shows, and the rivetctl process's peak RSS at 1,000
    and 10,000 calls.
    """
    work = home / "fanout"
    work.mkdir(exist_ok=True)
    stamp = int(time.time())
    out: dict[str, Any] = {"actors": n, "concurrency": FANOUT_CONCURRENCY, "action": " ".join(FANOUT_ACTION)}
    if "fleet" in stages:
        keys = [f"fan-{stamp}-{i:05d}" for i in range(n)]
        passes: dict[str, int] = {}
        done = 0
        for size in (FANOUT_SMALL, n):
            log(f"    creating actors {done:,}…{size:,}")
            out[f"create_{size}"] = _create_fleet(server, home, keys[done:size], work)
            done = size
            key_file = work / f"keys-{size}.txt"
            key_file.write_text("".join(k + "\n" for k in keys[:size]))
            id_file = work / f"ids-{size}.txt"
            listed = _list_ids(server, id_file)
            runs = _fanout_pair(server, home, size, key_file, id_file, "fleet")
            for k in keys[:size]:
                passes[k] = passes.get(k, 0) + len(runs)
            out[f"at_{size}"] = {"listed": listed, "runs": runs}
        out["check"] = _fanout_check(server, home, work, passes)
        small, large = out[f"at_{FANOUT_SMALL}"]["runs"], out[f"at_{n}"]["runs"]
        out["rss_growth_mb"] = {
            src: round((large[src]["peak_rss_kb"] - small[src]["peak_rss_kb"]) / 1024, 1)
            for src in ("cli_keys", "cli_all")
        }
    if "awake" in stages:
        keys = [f"awake-{stamp}-{i:03d}" for i in range(FANOUT_AWAKE_ACTORS)]
        log(f"    creating {len(keys)} actors to keep awake")
        out["awake_create"] = _create_fleet(server, home, keys, work)
        awake: dict[str, Any] = {"actors": len(keys)}
        warm = work / "awake-warm.txt"
        warm.write_text("".join(k + "\n" for k in keys))
        _fanout_cli(server, home, ["--keys-from", str(warm)], 900)  # wakes them all (not measured)
        for calls in FANOUT_AWAKE_CALLS:
            path = work / f"awake-{calls}.txt"
            path.write_text("".join(keys[i % len(keys)] + "\n" for i in range(calls)))
            awake[f"at_{calls}"] = {"runs": _fanout_pair(server, home, calls, path, None, "awake")}
        small, large = (awake[f"at_{c}"]["runs"]["cli_keys"] for c in FANOUT_AWAKE_CALLS)
        awake["rss_growth_mb"] = round((large["peak_rss_kb"] - small["peak_rss_kb"]) / 1024, 1)
        out["awake"] = awake
    growth = [*out.get("rss_growth_mb", {}).values()]
    if "awake" in out:
        growth.append(out["awake"]["rss_growth_mb"])
    out["rss_flat"] = all(v <= 10 for v in growth)
    return out


def _fanout_check(server: BenchServer, home: Path, work: Path, passes: dict[str, int]) -> dict[str, Any]:
    """Every actor's count against the passes made over it. A failed call may or may not have run, so fewer
    is possible; more would mean a call ran twice."""
    path = work / "counts.jsonl"
    cmd = [str(RIVETCTL), "-e", server.endpoint, "-o", "jsonl", "call", "fleet", "--all", "getCount", "-j", "16"]
    with open(path, "w") as fh:
        _run_measured(cmd, cli_env(home), 1800, server=server, stdout=fh)
    seen: dict[str, list[Any]] = {}
    with open(path) as fh:
        for line in fh:
            rec = json.loads(line)
            seen.setdefault(rec["key"][0] if rec["key"] else "?", []).append(rec["output"] if rec["ok"] else None)
    exact = fewer = more = unanswered = 0
    examples: dict[str, Any] = {}
    for key, want in passes.items():
        got = seen.get(key, [None])
        if len(got) != 1 or got[0] is None:
            unanswered += 1
            examples.setdefault(key, {"counts": got, "passes": want})
        elif got[0] == want:
            exact += 1
        elif got[0] < want:
            fewer += 1
        else:
            more += 1
            examples.setdefault(key, {"counts": got, "passes": want})
    return {
        "actors": len(passes),
        "exact": exact,
        "fewer": fewer,
        "more": more,
        "unanswered_or_several": unanswered,
        "examples": dict(list(examples.items())[:10]),
    }


def _fanout_rows(size: int, unit: str, runs: dict[str, Any]) -> list[str]:
    rows = []
    pairs = [("by key (`--keys-from` / `getOrCreate`)", "cli_keys", "ts_keys")]
    if "cli_all" in runs:
        pairs.append(("`--all` / `getForId`", "cli_all", "ts_ids"))
    for label, cli, ts in pairs:
        c, t = runs[cli], runs[ts]

        def cpu(r: dict[str, Any]) -> str:
            calls = r.get("calls") or 0
            return fmt(r["process_cpu_s"] / calls * 1e6, 0) if calls and r.get("process_cpu_s") else "–"

        srv = c.get("server_cpu_s")
        rows.append(
            f"| {size:,} {unit} | {label} | {fmt(c.get('calls_per_s'), 1)} | {fmt(t.get('calls_per_s'), 1)} | "
            f"**{fmt(ratio(c.get('calls_per_s'), t.get('calls_per_s')), 2)}×** | "
            f"{fmt(c.get('p50_ms'), 1)}/{fmt(c.get('p99_ms'), 1)} | "
            f"{fmt(t.get('p50_ms'), 1)}/{fmt(t.get('p99_ms'), 1)} | "
            f"{c.get('errors', '–')} / {t.get('errors', 'killed' if t.get('failed') else '–')} | {cpu(c)} | {cpu(t)} | "
            f"{fmt(srv / c['calls'] * 1e6, 0) if srv and c.get('calls') else '–'} | "
            f"{c['peak_rss_kb'] / 1024:.1f} | {t['peak_rss_kb'] / 1024:.1f} |"
        )
    return rows


def fanout_report(f: dict[str, Any]) -> list[str]:
    n = f["actors"]
    lines = [
        "",
        f"fan-out: `increment(1)` per actor, -j {f['concurrency']}, bare; rivetctl `-o jsonl > /dev/null` vs the "
        "official TS client (`clients/ts_fanout.mjs`, a JSON line per result); CPU is the whole process's",
        "",
        "| calls | over | calls/s rivetctl | calls/s TS | **rivetctl/TS** | p50/p99 ms rivetctl | p50/p99 ms TS "
        "| failed rivetctl / TS | CPU µs/call rivetctl | TS | server CPU µs/call | peak RSS MB rivetctl | TS |",
        "|" + "|".join(["---"] * 13) + "|",
    ]
    if "check" in f:
        for size in (FANOUT_SMALL, n):
            lines += _fanout_rows(size, "distinct actors", f[f"at_{size}"]["runs"])
    if "awake" in f:
        aw = f["awake"]
        for calls in FANOUT_AWAKE_CALLS:
            lines += _fanout_rows(calls, f"calls over {aw['actors']} awake actors", aw[f"at_{calls}"]["runs"])
    for name in [k for k in f if k.startswith("create_")] + (["awake_create"] if "awake_create" in f else []):
        cr = f[name]
        retried = sum(p["failed"] for p in cr["passes"])
        lines.append(
            f"creating {cr['actors']:,} actors (get-or-create calls, -j {f['concurrency']}): {cr['wall_s']} s, "
            f"{cr['per_s']}/s; {retried} creation calls failed and were called again"
            + (f"; {cr['missing']} never created" if cr["missing"] else "")
        )
    if "check" in f:
        ch = f["check"]
        lines.append(
            f"check (each actor's count vs the passes over it): {ch['exact']:,} of {ch['actors']:,} exact, "
            f"{ch['fewer']} fewer (failed or cut-off calls), {ch['more']} more, "
            f"{ch['unanswered_or_several']} unanswered or listed twice"
            + (f" (e.g. {ch['examples']})" if ch["examples"] else "")
        )
        g = f["rss_growth_mb"]
        lines.append(
            f"rivetctl peak RSS {FANOUT_SMALL:,} → {n:,} actors: --keys-from {g['cli_keys']:+} MB, "
            f"--all {g['cli_all']:+} MB"
        )
    if "awake" in f:
        a, b = FANOUT_AWAKE_CALLS
        lines.append(f"rivetctl peak RSS {a:,} → {b:,} calls: {f['awake']['rss_growth_mb']:+} MB")
    for failure in f.get("server_failures_before", []):
        lines.append(f"server failure before this run (started again on a fresh server): {failure['evidence']}")
    return lines


# --- reporting -------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 2)


def fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def mode_table(mode: str, results: dict[str, dict[str, dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    """Markdown table for one mode, plus the target checks it implies."""
    head = (
        "| workload | enc | ops/s lib | ops/s TS | ops/s raw | **lib/TS** | p50/p90/p99 ms lib"
        " | p50/p90/p99 ms TS | p50/p90/p99 ms raw | CPU µs/op lib | TS | raw | **lib/TS CPU** | lib/raw CPU"
        " | server CPU µs/op | limit (lib / server cores) |"
    )
    lines = [head, "|" + "|".join(["---"] * 16) + "|"]
    checks: list[dict[str, Any]] = []
    for wl in [w for w in WORKLOADS if w in results]:
        for enc in [e for e in ENCODINGS if e in results[wl]]:
            row = results[wl][enc]
            lib, ts, raw = (row.get(c, {}) for c in CLIENTS)

            def cell(r: dict[str, Any], wl: str = wl) -> str:
                if r.get("failed") or r.get("outcome"):
                    return "FAIL" if r.get("failed") else "server broke"
                v = fmt(r.get("ops_per_s"), 0)
                if wl == "burst" and r.get("lost"):
                    v += f" (lost {r['lost']})"
                return v

            def lat(r: dict[str, Any], wl: str = wl) -> str:
                if wl == "burst":
                    return f"lost {r.get('lost', '–')}" if r else "–"
                return "/".join(fmt(r.get(k), 1) for k in ("p50_ms", "p90_ms", "p99_ms")) if r else "–"

            thr = ratio(lib.get("ops_per_s"), ts.get("ops_per_s"))
            cpu = ratio(lib.get("cpu_us_per_op"), raw.get("cpu_us_per_op"))
            cpu_ts = ratio(lib.get("cpu_us_per_op"), ts.get("cpu_us_per_op"))
            limit = _limit(lib, ts, raw)
            srv = lib.get("server_cpu_us_per_op")
            lines.append(
                f"| {LABELS[wl]} | {enc} | {cell(lib)} | {cell(ts)} | {cell(raw)} | **{fmt(thr, 2)}×** | {lat(lib)} | "
                f"{lat(ts)} | {lat(raw)} | {fmt(lib.get('cpu_us_per_op'), 0)} | {fmt(ts.get('cpu_us_per_op'), 0)} | "
                f"{fmt(raw.get('cpu_us_per_op'), 0)} | **{fmt(cpu_ts, 2)}×** | {fmt(cpu, 2)}× | "
                f"{fmt(srv, 0)} | {limit} |"
            )
            checks.append(
                {
                    "mode": mode,
                    "workload": wl,
                    "encoding": enc,
                    "lib_vs_ts_throughput": thr,
                    "throughput_ok": thr is not None and thr >= 1.0,
                    "lib_vs_raw_cpu": cpu,
                    "lib_vs_ts_cpu": cpu_ts,
                    "cpu_ok": cpu_ts is not None and cpu_ts <= 1.0,
                    "limit": limit,
                    "lib_lost": lib.get("lost"),
                    "ts_lost": ts.get("lost"),
                    "raw_lost": raw.get("lost"),
                }
            )
    return "\n".join(lines), checks


def _limit(lib: dict[str, Any], ts: dict[str, Any], raw: dict[str, Any]) -> str:
    """What bounds the lib's number, from the cores the lib's process and the server used in the window.

    ``server``: the lib was busy < 10 % of the time (it only waited); ``shared CPU``: client + server used
    ≥ 1.6 of the 2 cores, so client CPU is taken from the server; ``round trip``: the client's CPU per
    operation sits on each operation's critical path (busy = the share of the wall time it computed).
    Bursts: the server's send rate, when every client got within 25 % of the same rate.
    """
    busy = lib.get("client_cores")
    srv = lib.get("server_cores")
    if busy is None or srv is None:
        return "–"
    cores = f"{busy:.2f} / {srv:.2f}"
    rates = [r.get("ops_per_s") for r in (lib, ts, raw) if r.get("ops_per_s")]
    if lib.get("workload") == "burst" and len(rates) == 3 and min(rates) >= 0.75 * max(rates):
        return f"server send rate ({cores})"
    if busy < 0.10:
        return f"server ({cores})"
    if busy + srv >= 1.6:
        return f"shared CPU ({cores})"
    return f"round trip ({cores})"


def report(data: dict[str, Any]) -> str:
    out: list[str] = []
    meta = data["meta"]
    out.append(
        f"rivetctl benchmarks — {meta['started']} — {meta['size']} run, {meta['cores']} cores, "
        f"rivetkit {meta['rivetkit']}, Node {meta['node']}, Python {meta['python']}"
    )
    out.append(f"command: {meta['command']}")
    all_checks: list[dict[str, Any]] = []
    for mode, md in data["modes"].items():
        desc = (
            "server as shipped (Nagle ON on the runner↔engine tunnel)"
            if mode == "shipped"
            else "Nagle OFF on both ends of the runner↔engine tunnel (RIVET__GUARD__TCP_NODELAY=true + "
            "TCP_NODELAY set on the runner's socket via pidfd_getfd)"
        )
        out.append("")
        out.append(f"### Mode `{mode}`: {desc}; RUST_BACKTRACE stripped")
        out.append(
            f"mode check: plain-client HTTP p50 {md['check']['http_p50_ms']} ms; server restarts "
            f"{md['restarts']}, server failures {len(md['failures'])}"
        )
        out.append("")
        table, checks = mode_table(mode, md["results"])
        all_checks += checks
        out.append(table)
        if md.get("oneshot"):
            o = md["oneshot"]
            out.append("")
            out.append("| one-shot process (wall ms) | min | median | max | runs |")
            out.append("|---|---|---|---|---|")
            for name in ("rivetctl", "node", "curl"):
                r = o[name]
                out.append(
                    f"| {name} | {r['min_ms']} | {r['median_ms']} | {r['max_ms']} | {r['runs']}"
                    + (f" ({r['failures']} failed)" if r["failures"] else "")
                    + " |"
                )
            out.append(f"| **rivetctl / node** | | **{o['ratio_rivetctl_vs_node']}×** | | |")
        if md.get("watch_burst"):
            wb = md["watch_burst"]
            out.append("")
            if wb.get("all_received") is not None:
                got = "all events received" if wb["all_received"] else f"EVENTS MISSING (exit {wb['exit_code']})"
                before = wb.get("server_failures_before")
                out.append(
                    f"watch (`-o jsonl > /dev/null`, {wb['events']}-event burst): {got}, "
                    f"{fmt(wb.get('events_per_s'), 0)} events/s vs "
                    f"{fmt(wb.get('server_max_events_per_s'), 0)} for the fastest client in the burst test, "
                    f"{fmt(wb.get('cpu_us_per_event'), 1)} µs CPU/event"
                    + (f", {before} server failure(s) before" if before else "")
                )
            else:
                out.append(f"watch burst: {wb}")
        if md.get("watch_memory"):
            m = md["watch_memory"]
            out.append(
                f"watch memory: {m['events_received']:,}/{m['events_sent']:,} events in bursts of "
                f"{m['per_burst']:,}: RSS {m.get('rss_10k_mb')} MB after 10,000 → {m.get('rss_end_mb')} MB "
                f"after {m['events_sent']:,} (growth {m.get('growth_mb')} MB)"
                + (f"; FAILURE: {m['failure']}" if m.get("failure") else "")
            )
        if md.get("fanout", {}).get("outcome"):
            out.append(f"\nfan-out: {md['fanout']['outcome']} ({len(md['fanout']['tries'])} tries)")
        elif md.get("fanout"):
            out += fanout_report(md["fanout"])
    anomalies = [(mode, f) for mode, md in data["modes"].items() for f in md.get("failures", [])]
    if anomalies:
        out.append("")
        out.append(
            "### Server failures and anomalies (each retried on a fresh actor; the server restarted after a "
            "failure; every case with its log excerpt is in the JSON)"
        )
        kinds: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for mode, f in anomalies:
            kinds.setdefault((mode, f["workload"], f["kind"]), []).append(f)
        for (mode, wl, kind), fs in kinds.items():
            who = ", ".join(sorted({f"{f['client']}/{f['encoding']}" for f in fs}))
            got = [f.get("received") for f in fs if f.get("received") is not None]
            ev = (
                next((f.get("evidence") for f in fs if f.get("evidence")), None)
                or next((f.get("client_error") for f in fs if f.get("client_error")), None)
                or "nothing logged"
            )
            ev = re.sub(r" (uri|req_id|ray_id|external_ray_id|namespace_id|envoy_key)=\S+", "", ev)
            out.append(
                f"- [{mode}] {wl}: {len(fs)} × {kind} ({who})"
                + (f"; events received before it: {min(got):,}–{max(got):,} of 20,000" if got else "")
                + f"; e.g. `{ev[:150]}`"
            )
    if data.get("startup"):
        s = data["startup"]
        out.append("")
        out.append("### CLI start-up (no server; wall ms)")
        out.append("| command | min | median | max |")
        out.append("|---|---|---|---|")
        for name, label in (
            ("python", "python -c pass"),
            ("version", "rivetctl --version"),
            ("help", "rivetctl --help"),
        ):
            r = s[name]
            out.append(f"| {label} | {r['min_ms']} | {r['median_ms']} | {r['max_ms']} |")
        out.append(f"budget (1.5 × python + 60 ms): {s['budget_ms']} ms")
    out.append("")
    out.append("### Targets")
    out += targets(data, all_checks)
    return "\n".join(out)


def targets(data: dict[str, Any], checks: list[dict[str, Any]]) -> list[str]:
    lines = []
    for mode in data["modes"]:
        mc = [c for c in checks if c["mode"] == mode]
        thr_bad = [c for c in mc if not c["throughput_ok"]]
        cpu_bad = [c for c in mc if not c["cpu_ok"]]
        lines.append(
            f"- [{mode}] lib throughput ≥ 1.0× TS: {len(mc) - len(thr_bad)}/{len(mc)} met"
            + (
                "; missed: "
                + ", ".join(
                    f"{c['workload']}/{c['encoding']} {c['lib_vs_ts_throughput']}× ({c['limit'].split(' (')[0]})"
                    for c in thr_bad
                )
                if thr_bad
                else ""
            )
        )
        lines.append(
            f"- [{mode}] lib CPU/op ≤ 1.0× TS: {len(mc) - len(cpu_bad)}/{len(mc)} met"
            + (
                "; missed: " + ", ".join(f"{c['workload']}/{c['encoding']} {c['lib_vs_ts_cpu']}×" for c in cpu_bad)
                if cpu_bad
                else ""
            )
        )
        lost = [c for c in mc if c["workload"] == "burst" and c["lib_lost"]]
        lines.append(
            f"- [{mode}] burst: lib lost events in {len(lost)} of "
            f"{len([c for c in mc if c['workload'] == 'burst'])} runs"
        )
        md = data["modes"][mode]
        if md.get("oneshot"):
            r = md["oneshot"]["ratio_rivetctl_vs_node"]
            lines.append(
                f"- [{mode}] one-shot `rivetctl call` ≤ 0.8× Node one-shot: {r}× — " + ("met" if r <= 0.8 else "MISSED")
            )
        if md.get("watch_burst", {}).get("all_received") is not None:
            wb = md["watch_burst"]
            lines.append(
                f"- [{mode}] watch keeps up with a {wb['events']}-event burst, no loss: "
                + ("met" if wb["all_received"] else "MISSED")
                + f" ({fmt(wb.get('vs_server_max'), 2)}× the fastest client's burst rate)"
            )
        if md.get("fanout") and not md["fanout"].get("outcome"):
            f = md["fanout"]
            pairs: list[tuple[str, dict[str, Any]]] = []
            if "check" in f:
                pairs += [(f"{size:,} actors", f[f"at_{size}"]["runs"]) for size in (FANOUT_SMALL, f["actors"])]
            if "awake" in f:
                pairs += [(f"{c:,} calls (awake)", f["awake"][f"at_{c}"]["runs"]) for c in FANOUT_AWAKE_CALLS]
            for what, runs in pairs:
                for cli, ts, how in (("cli_keys", "ts_keys", "--keys-from"), ("cli_all", "ts_ids", "--all")):
                    if cli not in runs:
                        continue
                    r = ratio(runs[cli].get("calls_per_s"), runs[ts].get("calls_per_s"))
                    lines.append(
                        f"- [{mode}] fan-out {how} over {what} ≥ 1.0× TS calls/s: {fmt(r, 2)}× — "
                        + ("met" if r is not None and r >= 1.0 else "MISSED")
                    )
            flags = {"cli_keys": "--keys-from", "cli_all": "--all"}
            growth = [
                f"{flags[k]} {FANOUT_SMALL:,} → {f['actors']:,} actors {v:+} MB"
                for k, v in f.get("rss_growth_mb", {}).items()
            ]
            if "awake" in f:
                a, b = FANOUT_AWAKE_CALLS
                growth.append(f"{a:,} → {b:,} calls {f['awake']['rss_growth_mb']:+} MB")
            lines.append(
                f"- [{mode}] fan-out peak RSS flat (within 10 MB) as actors/calls grow: {', '.join(growth)} — "
                + ("met" if f["rss_flat"] else "MISSED")
            )
        if md.get("watch_memory", {}).get("growth_mb") is not None:
            m = md["watch_memory"]
            lines.append(
                f"- [{mode}] watch RSS flat over {m['events_sent']:,} events (≤ 10 MB growth after 10k): "
                f"{m['growth_mb']} MB — " + ("met" if m["flat"] else "MISSED")
            )
    if data.get("startup"):
        s = data["startup"]
        lines.append(
            f"- `rivetctl --version` < {s['budget_ms']} ms: {s['version']['median_ms']} ms — "
            + ("met" if s["version_ok"] else "MISSED")
        )
        lines.append(
            f"- `rivetctl --help` < {s['budget_ms']} ms: {s['help']['median_ms']} ms — "
            + ("met" if s["help_ok"] else "MISSED")
        )
    return lines


# --- main ------------------------------------------------------------------------------------------


def meta(args: argparse.Namespace, node: Path) -> dict[str, Any]:
    def out(cmd: list[str]) -> str:
        with contextlib.suppress(Exception):
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=10).stdout.strip()
        return "?"

    rk = json.loads((DevServer().server_dir / "node_modules" / "rivetkit" / "package.json").read_text())["version"]
    pkgs = out(
        [
            str(PY),
            "-c",
            "import importlib.metadata as m; print(' '.join(f'{p}=={m.version(p)}' for p in "
            "('httpx','websockets','cbor2','typer','rich')))",
        ]
    )
    return {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "size": "quick" if args.quick else "full",
        "command": "benchmarks/run " + " ".join(sys.argv[1:]),
        "cores": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "node": out([str(node), "--version"]),
        "rivetkit": rk,
        "python_packages": pkgs,
        "git_commit": out(["git", "rev-parse", "--short", "HEAD"]),
        "git_dirty_files": len(out(["git", "status", "--porcelain"]).splitlines()),
    }


def _stop_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: servers are stopped


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)  # also when started in the background (SIGINT ignored)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a few minutes: fewer operations, one round")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--encodings", default=",".join(ENCODINGS))
    p.add_argument("--clients", default=",".join(CLIENTS))
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--rounds", type=int, help="repeat each measurement and keep medians (default quick 1, full 2)")
    p.add_argument("--skip", default="", help="comma list of: oneshot,startup,watch,memory,fanout")
    p.add_argument(
        "--fanout-stages",
        default="fleet,awake",
        help="fan-out stages: fleet (distinct actors, asleep between passes), awake (calls over actors kept awake)",
    )
    p.add_argument(
        "--fanout-actors",
        type=int,
        help=f"actors of the fan-out's large size (default: full {FANOUT_ACTORS[1]:,}, quick {FANOUT_ACTORS[0]:,})",
    )
    p.add_argument(
        "--memory-events",
        type=int,
        help="events through `watch` for the memory check (default: full 200,000, quick 100,000)",
    )
    p.add_argument("--out", help="JSON file (default results/<stamp>-<size>.json and results/latest.json)")
    p.add_argument("--report", metavar="JSON", help="only print the report of an earlier run's JSON")
    args = p.parse_args()
    if args.report:
        print(report(json.loads(Path(args.report).read_text())))
        return 0
    modes = [m for m in args.modes.split(",") if m]
    encs = [e for e in args.encodings.split(",") if e]
    clients = [c for c in args.clients.split(",") if c]
    workloads = [w for w in args.workloads.split(",") if w]
    skip = set(filter(None, args.skip.split(",")))
    rounds = args.rounds or (1 if args.quick else 2)
    memory_events = args.memory_events or (100_000 if args.quick else 200_000)
    size_idx = 0 if args.quick else 1
    attempts = 3
    if shutil.which("curl") is None:
        skip.add("oneshot")
        log("curl not found: skipping the one-shot comparison")

    node = DevServer().node_binary
    data: dict[str, Any] = {"meta": meta(args, node), "modes": {}}
    home = Path(tempfile.mkdtemp(prefix="rivetctl-bench-home-"))
    started = time.monotonic()
    try:
        if "startup" not in skip:
            log("== CLI start-up")
            data["startup"] = startup(10 if args.quick else 30, home)
        for mode in modes:
            log(f"== mode {mode}: starting the server")
            server = BenchServer(mode)
            server.start()
            try:
                md: dict[str, Any] = {"check": server.mode_check(), "results": {}, "runs": []}
                log(f"   mode check: HTTP p50 {md['check']['http_p50_ms']} ms")
                for wl in workloads:
                    n = SIZES[mode][wl][size_idx]
                    log(f"  -- {LABELS[wl]} (n={n}, concurrency {CONCURRENCY[wl]})")
                    for enc in encs:
                        per_client: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
                        for rnd in range(rounds):
                            order = clients[rnd % len(clients) :] + clients[: rnd % len(clients)]
                            for c in order:
                                s = measure(server, c, enc, wl, n, attempts, rnd)
                                s["mode"] = mode
                                md["runs"].append(s)
                                per_client[c].append(s)
                        md["results"].setdefault(wl, {})[enc] = {c: combine(v) for c, v in per_client.items()}
                if "oneshot" not in skip:
                    log("  -- one-shot processes")
                    md["oneshot"] = oneshot(server, 10 if args.quick else 20, home)
                if "watch" not in skip:
                    log("  -- rivetctl watch vs a burst")
                    bursts = [
                        r.get("ops_per_s")
                        for per_enc in md["results"].get("burst", {}).values()
                        for r in per_enc.values()
                        if r.get("ops_per_s") and not r.get("lost")
                    ]
                    md["watch_burst"] = watch_burst(server, 20000, attempts, home, max(bursts) if bursts else None)
                if "fanout" not in skip and mode == modes[-1]:
                    size = args.fanout_actors or FANOUT_ACTORS[size_idx]
                    log(f"  -- fan-out over {FANOUT_SMALL:,} and {size:,} actors (-j {FANOUT_CONCURRENCY})")
                    md["fanout"] = fanout(server, size, home, set(args.fanout_stages.split(",")))
                if "memory" not in skip and mode == modes[-1]:
                    log(f"  -- rivetctl watch memory over {memory_events:,} events")
                    md["watch_memory"] = watch_memory(server, memory_events, 5000, home)
                md["restarts"] = server.restarts
                md["failures"] = server.failures
                md["nodelay_switches"] = server.nodelay_log
                data["modes"][mode] = md
            finally:
                server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    data["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    text = report(data)
    data["report_markdown"] = text
    print(text)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(args.out) if args.out else results / f"{stamp}-{data['meta']['size']}.json"
    for target in {path, results / "latest.json"} if not args.out else {path}:
        target.write_text(json.dumps(data, indent=1) + "\n")
    log(f"\nwrote {path} ({data['meta']['duration_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
