"""Profiles of rivetctl's client library and CLI under the benchmark workloads (evidence for fixes).

``benchmarks/profile`` starts a server with Nagle off on both tunnel ends (as ``bench.py``'s ``nodelay``
mode; ``--mode shipped`` for the server as shipped), then records with py-spy (CPU samples, idle time
excluded) the library driver and the raw driver for chosen workloads, a ``rivetctl call`` one-shot, and
``rivetctl watch`` under a burst; plus
``-X importtime`` trees of the CLI.  For each profile it writes the collapsed stacks
(``results/profiles/NAME.txt``, readable by speedscope / flamegraph.pl) and a summary
(``NAME.summary.txt``): samples by package of the leaf frame, and the top functions by self and by
inclusive samples, with import-time stacks excluded for the steady-state workloads.

py-spy comes from PyPI into ``benchmarks/.tools`` (installed on first use).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import bench  # noqa: E402

TOOLS = BENCH / ".tools"
PYSPY = TOOLS / "bin" / "py-spy"
OUT = BENCH / "results" / "profiles"


def ensure_pyspy() -> Path:
    if not PYSPY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "-q", "py-spy"], check=True)
    return PYSPY


FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/rivetctl/", "/benchmarks/", "lib/python3.11/"):
        i = path.find(marker)
        if i >= 0:
            rest = path[i + len(marker) :]
            return ("rivetctl/" + rest) if marker == "/rivetctl/" else rest
    return path


def _is_ours(path: str) -> bool:
    return "/rivetctl/" in path or path.startswith("rivetctl/")


def _package(path: str) -> str:
    p = _short(path)
    if _is_ours(path) or p.startswith("rivetctl/"):
        return "rivetctl/" + p.split("/")[1] if p.count("/") >= 2 else "rivetctl"
    if "/benchmarks/" in path:
        return "driver"
    head = p.split("/")[0].removesuffix(".py")
    return head or "?"


def summarize(raw: Path, *, steady: bool, top: int = 25) -> str:
    total = 0
    by_pkg: collections.Counter[str] = collections.Counter()
    self_fn: collections.Counter[str] = collections.Counter()
    incl_fn: collections.Counter[str] = collections.Counter()
    incl_pkg: collections.Counter[str] = collections.Counter()
    deepest: collections.Counter[str] = collections.Counter()
    incl_rivetctl: collections.Counter[str] = collections.Counter()
    skipped = 0
    for line in raw.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_s)
        frames = stack.split(";")
        if steady and any("_find_and_load" in f for f in frames):
            skipped += count
            continue
        total += count
        parsed = []
        for f in frames:
            m = FRAME.match(f)
            parsed.append((m.group("func"), m.group("file")) if m else (f, "?"))
        leaf_func, leaf_file = parsed[-1]
        by_pkg[_package(leaf_file)] += count
        self_fn[f"{leaf_func} ({_short(leaf_file)})"] += count
        for name in {f"{fn} ({_short(fl)})" for fn, fl in parsed}:
            incl_fn[name] += count
        for pkg in {_package(fl) for _, fl in parsed}:
            incl_pkg[pkg] += count
        ours = [f"{fn} ({_short(fl)})" for fn, fl in parsed if _is_ours(fl)]
        deepest[ours[-1] if ours else "(no rivetctl frame)"] += count
        for name in set(ours):
            incl_rivetctl[name] += count
    if not total:
        return "no samples\n"
    pc = lambda n: f"{100 * n / total:5.1f}%"  # noqa: E731
    out = [f"{raw.name}: {total} samples" + (f" (+{skipped} import-time samples excluded)" if skipped else "")]
    out.append("\n-- samples by package of the leaf frame (self time)")
    out += [f"{pc(n)}  {k}" for k, n in by_pkg.most_common(20)]
    out.append("\n-- samples with a frame of the package anywhere on the stack (inclusive)")
    out += [f"{pc(n)}  {k}" for k, n in incl_pkg.most_common(20)]
    out.append(
        "\n-- samples charged to the deepest rivetctl frame on the stack (what rivetctl code causes, "
        "callees into other packages included)"
    )
    out += [f"{pc(n)}  {k}" for k, n in deepest.most_common(top)]
    out.append("\n-- rivetctl functions by inclusive samples")
    out += [f"{pc(n)}  {k}" for k, n in incl_rivetctl.most_common(top)]
    out.append(f"\n-- top {top} functions by self samples")
    out += [f"{pc(n)}  {k}" for k, n in self_fn.most_common(top)]
    out.append(f"\n-- top {top} functions by inclusive samples")
    out += [f"{pc(n)}  {k}" for k, n in incl_fn.most_common(top * 2) if "benchmarks/" not in k][:top]
    return "\n".join(out) + "\n"


def record(
    name: str, cmd: list[str], *, rate: int, steady: bool, env: dict[str, str] | None = None, during=None
) -> str:
    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / f"{name}.txt"
    spy = [str(PYSPY), "record", "--gil", "--format", "raw", "--rate", str(rate), "-o", str(raw), "--", *cmd]
    proc = subprocess.Popen(spy, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if during is not None:
        during(proc)
    stdout, stderr = proc.communicate(timeout=300)
    if not raw.exists():
        return f"{name}: py-spy wrote nothing: {stderr[-500:]}"
    text = summarize(raw, steady=steady)
    program = [ln for ln in stdout.strip().splitlines() if ln.strip() and not ln.startswith("py-spy>")]
    if program:
        text = f"program output (last line): {program[-1][:400]}\n\n" + text
    (OUT / f"{name}.summary.txt").write_text(text)
    return text


def importtime(name: str, cmd: list[str], env: dict[str, str]) -> str:
    """A ``-X importtime`` tree, top-level and second-level entries over 3 ms, cumulative."""
    proc = subprocess.run([str(bench.PY), "-X", "importtime", *cmd], cwd=ROOT, env=env, capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, mod = line[len("import time:") :].split("|")
        rows.append((int(self_us), int(cum_us), mod.rstrip()))
    total = sum(r[0] for r in rows)
    out = [f"{name}: {len(rows)} modules, {total / 1000:.1f} ms self total (cmd: {' '.join(cmd)})"]
    for _self_us, cum_us, mod in rows:
        depth = (len(mod) - len(mod.lstrip())) // 2
        if depth <= 2 and cum_us >= 3000:
            out.append(f"{cum_us / 1000:8.1f} ms cumulative  {mod}")
    text = "\n".join(out) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.importtime.txt").write_text(text + "\n-- full tree (stderr of -X importtime)\n" + proc.stderr)
    return text


def profile_watch(server: bench.BenchServer, home: Path) -> str:
    """py-spy attached to ``rivetctl watch -o jsonl > /dev/null`` while a 20,000-event burst streams in."""
    server.ensure_mode()
    key = f"prof-watch-{int(time.time())}"
    w = bench.Watch(server, key, home, count=20000, to_pipe=False)
    if not w.ready.wait(30):
        w.stop()
        return "cli-watch-burst: watch did not start"
    time.sleep(0.2)
    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / "cli-watch-burst.txt"
    spy = subprocess.Popen(
        [str(PYSPY), "record", "--gil", "--format", "raw", "--rate", "1000", "-o", str(raw), "--pid", str(w.proc.pid)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # py-spy attached
    t0 = time.perf_counter()
    status = bench._try_action(server.endpoint, key, "burst", [20000], 90)
    rc, _ = w.wait_exit(90)
    wall = time.perf_counter() - t0
    spy.communicate(timeout=60)
    w.stop()
    head = f"watch exit {rc}, burst answer {status}, {20000 / wall:.0f} events/s under py-spy\n\n"
    text = head + (summarize(raw, steady=True) if raw.exists() else "no samples\n")
    (OUT / "cli-watch-burst.summary.txt").write_text(text)
    return text


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoding", default="bare")
    p.add_argument("--workloads", default="http_seq,http_conc,ws_seq,ws_pipe,burst")
    p.add_argument("--clients", default="lib,raw")
    p.add_argument("--rate", type=int, default=1000, help="py-spy samples per second")
    p.add_argument("--skip", default="", help="comma list of: drivers,oneshot,watch,imports")
    p.add_argument("--mode", default="nodelay", choices=("nodelay", "shipped"), help="server mode (bench.py's)")
    args = p.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    ensure_pyspy()
    home = Path(tempfile.mkdtemp(prefix="rivetctl-profile-home-"))
    env = bench.cli_env(home)
    sizes = {"http_seq": 600, "http_conc": 2000, "ws_seq": 1500, "ws_pipe": 2048, "burst": 20000}
    server = bench.BenchServer(args.mode)
    server.start()
    report: list[str] = []
    try:
        if "drivers" not in skip:
            for wl in filter(None, args.workloads.split(",")):
                for client in filter(None, args.clients.split(",")):
                    for attempt in range(3):
                        if not server.healthy():
                            server.restart("unhealthy")
                        server.ensure_mode()
                        key = f"prof-{wl}-{client}-{attempt}" if wl == "burst" else f"prof-{client}"
                        cmd = bench.driver_cmd(client, server, args.encoding, wl, key, sizes[wl])
                        sz = server.log_sizes()
                        text = record(f"{client}-{wl}-{args.encoding}", cmd, rate=args.rate, steady=True, env=env)
                        if not server.link_broke_since(sz):
                            break
                        server.restart("the runner↔engine link broke during the profile")
                    report.append(text)
                    print(text.split("\n-- top")[0], file=sys.stderr)
        if "oneshot" not in skip:
            call = [str(bench.RIVETCTL), "-e", server.endpoint, "call", "counter", "prof-oneshot", "increment", "1"]
            subprocess.run(call, env=env, cwd=ROOT, capture_output=True)  # warm the bytecode cache
            text = record("cli-call-oneshot", call, rate=2000, steady=False, env=env)
            report.append(text)
        if "imports" not in skip:
            ep = server.endpoint
            for name, cmd in (
                ("cli-version", [str(bench.RIVETCTL), "--version"]),
                ("cli-help", [str(bench.RIVETCTL), "--help"]),
                ("cli-call", [str(bench.RIVETCTL), "-e", ep, "call", "counter", "prof-it", "increment", "1"]),
                ("lib-import", ["-c", "import rivetctl.client"]),
            ):
                if cmd[0] == str(bench.RIVETCTL):
                    cmd = [str(bench.RIVETCTL), *cmd[1:]]
                report.append(importtime(name, cmd, env))
        if "watch" not in skip:
            report.append(profile_watch(server, home))
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    (OUT / "README.txt").write_text(
        "Profiles written by benchmarks/profile (py-spy record --gil --format raw: samples of the thread\n"
        "holding the GIL).\n"
        "NAME.txt: collapsed stacks (speedscope.app or flamegraph.pl); NAME.summary.txt: summaries;\n"
        "NAME.importtime.txt: python -X importtime trees.\n"
    )
    print("\n\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
