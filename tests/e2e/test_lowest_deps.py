"""The lowest allowed version of every runtime dependency, in a venv of its own, against the real server.

pyproject.toml's floors are pinned exactly (``name==floor``; pip resolves only what they depend on), the
project's wheel is installed beside them without dependencies, and the installed ``rivetctl`` runs a smoke
that reaches each dependency: typer (every command, completion scripts, man page), httpx (call, get, state),
websockets (connect, watch), both over TLS and through proxies, cbor2 (``--encoding cbor``), rich
(``-o table``), PyYAML (``-o yaml``), jmespath (``--query``, ``wait --until``) and prompt-toolkit (the REPL on a
pseudo-terminal); then the unit suite
runs with the same versions. The venv is cached by the floors' hash under ``$XDG_CACHE_HOME/rivetctl-tests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.envs import outside_world, private_home
from tests.httpproxy import HttpProxy
from tests.tlsproxy import TlsProxy

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 900
STALE_AFTER = 14 * 86_400
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "node_modules", "__pycache__", ".*_cache", ".hypothesis")
UNIT_TOOLS = {"pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "pexpect"}
ENVIRONMENT_BOUND = [
    # runs scripts/generate, which uses the checkout's .venv rather than the interpreter running the test
    "tests/unit/test_generated.py::test_generate_script_check_mode",
]


def floors(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Each runtime dependency's floor (its ``>=`` bound); a dependency without exactly one floor is an error."""
    found: dict[str, str] = {}
    for spec in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        req = Requirement(spec)
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lows) == 1, f"{spec!r}: every runtime dependency needs one '>=' floor"
        found[canonicalize_name(req.name)] = lows[0]
    return found


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rivetctl-tests"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (one venv build at a time across concurrent test runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run an install step; its failure fails the test with pip's own words (never a skip)."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-30:])
        pytest.fail(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}\n{tail}", pytrace=False)
    return r


def unit_tools(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The dev extras that the unit suite runs with, as pyproject.toml states them (not pinned)."""
    dev = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["dev"]
    return sorted(spec for spec in dev if canonicalize_name(Requirement(spec).name) in UNIT_TOOLS)


def floors_venv(pins: dict[str, str], tools: list[str]) -> Path:
    """A venv holding exactly ``name==version`` for each pin (and what they need) beside the test ``tools``,
    built once per set."""
    requirements = sorted(f"{name}=={version}" for name, version in pins.items())
    key = json.dumps([list(sys.version_info[:2]), requirements, tools])
    venv = cache_root() / f"lowest-deps-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    python = venv / "bin" / "python"
    done = venv / "installed.json"
    with locked(cache_root() / "lowest-deps.lock"):
        for old in cache_root().glob("lowest-deps-*"):
            marker = old / "installed.json"
            if old != venv and (not marker.exists() or time.time() - marker.stat().st_mtime > STALE_AFTER):
                shutil.rmtree(old, ignore_errors=True)  # built for floors unused for weeks, or never finished
        if done.exists() and subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0:
            done.touch()
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)], "creating the venv", timeout=INSTALL_TIMEOUT)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
        _run([*pip, "install", "-q", *requirements, *tools], "installing the floors", timeout=INSTALL_TIMEOUT)
        _run([*pip, "check"], "pip check of the floors venv", timeout=120)
        freeze = _run([*pip, "freeze", "--all"], "pip freeze", timeout=120).stdout
        done.write_text(json.dumps({"requirements": requirements, "tools": tools, "freeze": freeze.splitlines()}))
    return venv


def installed_versions(python: Path, names: list[str], env: dict[str, str]) -> dict[str, str]:
    code = "import json, sys, importlib.metadata as m; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    r = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return {canonicalize_name(k): v for k, v in json.loads(r.stdout).items()}


def install_rivetctl(python: Path, work: Path) -> Path:
    """Build this checkout's wheel and install it for ``python`` without dependencies; returns its directory."""
    dist, source = work / "dist", work / "source"
    # A copy, so that a build/ left in the checkout by an earlier build cannot add modules that are gone.
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(source)],
        "building the rivetctl wheel",
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    wheel = next(dist.glob("rivetctl-*.whl"))
    site = work / "site"
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "--no-deps", "-q", "-t", str(site), str(wheel)], "installing rivetctl", timeout=300)
    return site


@pytest.mark.timeout(INSTALL_TIMEOUT + 600)
def test_lowest_dependency_versions_against_the_real_server(endpoint: str, key: str, tmp_path: Path) -> None:
    pins = floors()
    python = floors_venv(pins, unit_tools()) / "bin" / "python"
    site = install_rivetctl(python, tmp_path / "install")
    smoke(python, site, pins, endpoint, key, tmp_path)
    unit_suite(python, tmp_path)


def unit_suite(python: Path, tmp_path: Path) -> None:
    """The server-less unit suite (codecs, CLI tree, completion and man generators, ...) with the floors."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIVET", "PYTEST_"))}
    env.update({"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "unit-cache")})
    deselect = [arg for test in ENVIRONMENT_BOUND for arg in ("--deselect", test)]
    cmd = [str(python), "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider", *deselect]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    tail = "\n".join(r.stdout.strip().splitlines()[-40:])
    assert r.returncode == 0, f"the unit suite fails with the lowest versions:\n{tail}\n{r.stderr[-2000:]}"


def smoke(python: Path, site: Path, pins: dict[str, str], endpoint: str, key: str, tmp_path: Path) -> None:
    """The installed ``rivetctl`` (``site``) run by ``python`` against the real server, reaching each dependency."""
    env = {**outside_world(), **private_home(tmp_path), "PYTHONPATH": str(site), "RIVET_ENDPOINT": endpoint}
    versions = installed_versions(python, sorted(pins), env)
    assert {n: Version(v) for n, v in versions.items()} == {n: Version(v) for n, v in pins.items()}
    exe = str(site / "bin" / "rivetctl")

    def rivetctl(*args: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([exe, *args], input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        if check:
            assert r.returncode == 0, f"rivetctl {' '.join(args)} (exit {r.returncode}): {r.stderr}"
        return r

    def events(out: str) -> list[tuple[object, object]]:
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [(x["event"], x["args"]) for x in lines if x["type"] == "event"]

    where = subprocess.run(
        [str(python), "-c", "import rivetctl; print(rivetctl.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    imports = (
        "import importlib, pkgutil, rivetctl\n"
        "for m in pkgutil.walk_packages(rivetctl.__path__, 'rivetctl.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
    )
    r = subprocess.run([str(python), "-c", imports], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, f"a rivetctl module does not import with the floors:\n{r.stderr}"

    assert rivetctl("--version").stdout.startswith("rivetctl ")
    assert "Usage" in rivetctl("--help").stdout
    for shell, name in (("bash", "rivetctl.bash"), ("zsh", "_rivetctl"), ("fish", "rivetctl.fish")):
        assert rivetctl("completions", shell).stdout == (ROOT / "completions" / name).read_text(), shell
    assert rivetctl("man").stdout == (ROOT / "man" / "rivetctl.1").read_text()

    assert rivetctl("call", "counter", key, "increment", "5").stdout.strip() == "5"
    assert rivetctl("--encoding", "cbor", "call", "counter", key, "increment", "1").stdout.strip() == "6"

    r = rivetctl("connect", "counter", key, "--sub", "newCount", stdin="increment 2\n")
    assert events(r.stdout) == [("newCount", [8])]
    r = rivetctl("--encoding", "cbor", "connect", "counter", key, "--sub", "newCount", stdin="increment 1\n")
    assert events(r.stdout) == [("newCount", [9])]

    watch = subprocess.Popen(
        [exe, "--timeout", "30", "-o", "jsonl", "watch", "counter", key, "newCount", "--count", "1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert watch.stderr is not None
    err = ""
    try:
        while "watching" not in err:
            line = watch.stderr.readline()
            if not line:
                break
            err += line
        assert "watching" in err, err
        assert rivetctl("call", "counter", key, "increment", "3").stdout.strip() == "12"
        out, rest = watch.communicate(timeout=40)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    assert watch.returncode == 0, err + rest
    assert events(out) == [("newCount", [12])]

    got = yaml.safe_load(rivetctl("-o", "yaml", "get", "counter", key).stdout)
    assert got["key"] == [key] and got["name"] == "counter"
    table = rivetctl("-o", "table", "state", "counter", key).stdout
    assert "count" in table and "12" in table
    assert rivetctl("-o", "raw", "--query", "count", "state", "counter", key).stdout == "12\n"
    assert rivetctl("-o", "raw", "--query", "[?name=='counter'].name", "actors").stdout == "counter\n"
    waited = rivetctl("--timeout", "30", "-o", "raw", "wait", "counter", key, "--until", "count >= `12` && count")
    assert waited.stdout == "12\n"
    assert rivetctl("wait", "counter", key, "--until", "count[", check=False).returncode == 2

    repl_on_a_terminal(exe, key, env, tmp_path)
    asyncio.run(through_proxies(exe, endpoint, f"{key}-p", env, tmp_path))


async def through_proxies(exe: str, endpoint: str, key: str, env: dict[str, str], tmp_path: Path) -> None:
    """https:// and wss:// behind a TLS-terminating proxy, through an HTTP proxy, with the CA given each way;
    plain http:// through the proxy (absolute-form), ALL_PROXY, and NO_PROXY bypassing it."""

    async def rivetctl(*args: str, stdin: str = "", fails: bool = False, **extra: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            exe,
            *args,
            env={**env, **extra},
            cwd=tmp_path,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"rivetctl {' '.join(args)} did not finish") from None
        if fails:
            lines = err.decode().strip().splitlines()
            assert proc.returncode != 0 and len(lines) == 1 and "Traceback" not in lines[0], err.decode()
            return lines[0]
        assert proc.returncode == 0, f"rivetctl {' '.join(args)} {extra} (exit {proc.returncode}): {err.decode()}"
        return out.decode()

    def events(out: str) -> list[tuple[object, object]]:
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [(x["event"], x["args"]) for x in lines if x["type"] == "event"]

    async with TlsProxy(endpoint) as tls, HttpProxy() as proxy:
        ca = str(tls.write_ca(tmp_path / "ca.pem"))
        secure = {"RIVET_ENDPOINT": tls.endpoint, "HTTPS_PROXY": proxy.url}
        out = await rivetctl("--cacert", ca, "call", "counter", key, "increment", "5", **secure)
        assert out.strip() == "5"
        out = await rivetctl(
            "connect", "counter", key, "--sub", "newCount", stdin="increment 1\n", **secure, SSL_CERT_FILE=ca
        )
        assert events(out) == [("newCount", [6])]
        assert set(proxy.tunnels) == {f"127.0.0.1:{tls.port}"} and len(proxy.tunnels) >= 2
        assert proxy.requests == []
        for command in (["call", "counter", key, "getCount"], ["--timeout", "5", "connect", "counter", key]):
            line = await rivetctl(*command, stdin="getCount\n", fails=True, RIVET_ENDPOINT=tls.endpoint)
            assert "certificate" in line and "--cacert" in line and "internal error" not in line, line

        out = await rivetctl("call", "counter", key, "increment", "1", HTTP_PROXY=proxy.url)
        assert out.strip() == "7" and proxy.requests
        tunnels = len(proxy.tunnels)
        out = await rivetctl("connect", "counter", key, "--sub", "newCount", stdin="increment 1\n", ALL_PROXY=proxy.url)
        assert events(out) == [("newCount", [8])] and len(proxy.tunnels) > tunnels

        before = proxy.forwarded
        bypass = {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url, "ALL_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"}
        out = await rivetctl("connect", "counter", key, "--sub", "newCount", stdin="increment 1\n", **bypass)
        assert events(out) == [("newCount", [9])]
        out = await rivetctl(
            "--insecure", "call", "counter", key, "increment", "1", **bypass, RIVET_ENDPOINT=tls.endpoint
        )
        assert out.strip() == "10"
        assert proxy.forwarded == before


def repl_on_a_terminal(exe: str, key: str, env: dict[str, str], cwd: Path) -> None:
    """``rivetctl connect`` on a pseudo-terminal (prompt-toolkit): one call, its result, Ctrl-D leaves."""
    child = pexpect.spawn(
        exe,
        ["connect", "counter", key],
        env={**env, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"},
        cwd=str(cwd),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
    )
    cpr = re.escape("\x1b[6n")

    def expect(pattern: str) -> str:
        seen = ""
        deadline = time.monotonic() + 30
        while True:
            index = child.expect([pattern, cpr, pexpect.EOF], timeout=max(0.1, deadline - time.monotonic()))
            seen += str(child.before)
            if index == 1:
                child.send("\x1b[20;1R")  # a terminal's answer to prompt-toolkit's cursor position request
                continue
            assert index == 0, f"rivetctl connect ended before {pattern!r}: {seen!r}"
            return seen

    try:
        expect(re.escape(f'counter/["{key}"]>'))
        child.sendline("increment 1")
        assert "13" in expect(r"increment · [0-9.]+ ms")
        expect(re.escape(f'counter/["{key}"]>'))
        child.sendcontrol("d")
        while child.expect([pexpect.EOF, cpr], timeout=30) == 1:
            child.send("\x1b[20;1R")
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.exitstatus
