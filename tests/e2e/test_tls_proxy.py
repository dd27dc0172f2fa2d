"""TLS and HTTP proxies in front of the real server: https:// and wss:// with each way of trusting a certificate,
and every command kind through HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, with NO_PROXY bypassing them; the CLI as a
real subprocess and the library in-process."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from rivetctl.client import Client
from rivetctl.devserver import DevServer
from rivetctl.errors import RivetctlError
from tests.envs import outside_world, private_home
from tests.httpproxy import HttpProxy
from tests.tlsproxy import TlsProxy

pytestmark = pytest.mark.server

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "WS_PROXY", "WSS_PROXY", "SOCKS_PROXY")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    return {**outside_world(), **private_home(tmp_path)}


@pytest.fixture
def clean_proxy_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process library tests start from an environment with no proxy and no CA variables."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def tls(server: DevServer) -> AsyncIterator[TlsProxy]:
    async with TlsProxy(server.endpoint) as proxy:
        yield proxy


@pytest.fixture
def ca_file(tls: TlsProxy, tmp_path: Path) -> Path:
    return tls.write_ca(tmp_path / "ca.pem")


@pytest.fixture
async def http_proxy() -> AsyncIterator[HttpProxy]:
    async with HttpProxy() as proxy:
        yield proxy


async def rivetctl(*args: str, env: dict[str, str], stdin: str = "", timeout: float = 60) -> Result:
    """Run ``python -m rivetctl ARGS`` as a subprocess in ``env`` (stdout is a pipe: JSON output)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rivetctl",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        pytest.fail(f"rivetctl {' '.join(args)} did not finish in {timeout} s; stderr: {err.decode()!r}")
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def watch_one_increment(key: str, flags: list[str], env: dict[str, str], expect: int) -> Result:
    """``rivetctl watch counter KEY newCount --count 1 -o jsonl`` while another rivetctl increments by 3 (to
    ``expect``)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rivetctl",
        *flags,
        "--timeout",
        "30",
        "-o",
        "jsonl",
        "watch",
        "counter",
        key,
        "newCount",
        "--count",
        "1",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None and proc.stdout is not None
    err_lines: list[str] = []
    try:
        async with asyncio.timeout(40):
            while not any("watching" in line for line in err_lines):
                line = (await proc.stderr.readline()).decode()
                if not line:
                    break
                err_lines.append(line)
            if proc.returncode is None and any("watching" in line for line in err_lines):
                r = await rivetctl(*flags, "call", "counter", key, "increment", "3", env=env)
                assert (r.code, r.out.strip()) == (0, str(expect)), r.err
            out = await proc.stdout.read()
            err_lines.append((await proc.stderr.read()).decode())
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"watch did not finish; stderr so far: {''.join(err_lines)!r}")
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), "".join(err_lines))


async def every_command(key: str, flags: list[str], env: dict[str, str], counter: HttpProxy | None = None) -> None:
    """call, get, state, connect with an event and watch, each checked; with ``counter``, each must have gone
    through that proxy (absolute-form requests for HTTP over http://, tunnels for the rest)."""

    def seen() -> int:
        return 0 if counter is None else counter.forwarded

    async def command(*args: str, stdin: str = "") -> Result:
        before = seen()
        r = await rivetctl(*flags, *args, env=env, stdin=stdin)
        assert r.code == 0, f"rivetctl {' '.join(args)}: {r.err}"
        if counter is not None:
            assert seen() > before, f"rivetctl {' '.join(args)} did not go through the proxy"
        return r

    r = await command("call", "counter", key, "increment", "5")
    assert r.out.strip() == "5"

    r = await command("get", "counter", key)
    assert json.loads(r.out)["key"] == [key]

    r = await command("state", "counter", key)
    assert json.loads(r.out) == {"count": 5}

    r = await command("connect", "counter", key, "--sub", "newCount", stdin="increment 2\n")
    lines = r.lines()
    assert [(x["event"], x["args"]) for x in lines if x["type"] == "event"] == [("newCount", [7])]
    assert [x["output"] for x in lines if x["type"] == "result"] == [7]

    before = seen()
    r = await watch_one_increment(key, flags, env, 10)
    assert r.code == 0, r.err
    assert [(x["event"], x["args"]) for x in r.lines() if x["type"] == "event"] == [("newCount", [10])]
    if counter is not None:
        assert seen() >= before + 2, "the watch and the call that fed it did not both go through the proxy"


def assert_one_line_error(r: Result, *, code: int | None = None) -> str:
    """A failed command: non-zero exit (``code`` if given), a single ``rivetctl: ...`` line, no traceback."""
    assert r.code != 0, r.out
    if code is not None:
        assert r.code == code, r.err
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert "Traceback" not in r.err, r.err
    assert len(lines) == 1 and lines[0].startswith("rivetctl: "), r.err
    return lines[0]


def free_port() -> int:
    """A loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- TLS ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trust", ["--cacert", "SSL_CERT_FILE", "--insecure"])
async def test_https_and_wss_through_tls_terminating_proxy(
    tls: TlsProxy, ca_file: Path, base_env: dict[str, str], key: str, trust: str
) -> None:
    env = {**base_env, "RIVET_ENDPOINT": tls.endpoint}
    flags: list[str] = []
    if trust == "--cacert":
        flags = ["--cacert", str(ca_file)]
    elif trust == "SSL_CERT_FILE":
        env["SSL_CERT_FILE"] = str(ca_file)
    else:
        flags = ["--insecure"]
    await every_command(key, flags, env)
    assert tls.accepted >= 6


def hashed_ca_dir(ca_file: Path, where: Path) -> Path:
    """A directory in OpenSSL's ``capath`` layout (``<subject hash>.0``) holding ``ca_file``."""
    digest = subprocess.run(
        ["openssl", "x509", "-subject_hash", "-noout", "-in", str(ca_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    where.mkdir()
    (where / f"{digest}.0").write_bytes(ca_file.read_bytes())
    return where


@pytest.mark.parametrize("trust", ["--cacert DIR", "SSL_CERT_DIR beside SSL_CERT_FILE"])
async def test_ca_directories_are_trusted_over_https_and_wss(
    tls: TlsProxy, ca_file: Path, base_env: dict[str, str], key: str, trust: str, tmp_path: Path
) -> None:
    ca_dir = hashed_ca_dir(ca_file, tmp_path / "certs")
    env = {**base_env, "RIVET_ENDPOINT": tls.endpoint}
    flags: list[str] = []
    if trust == "--cacert DIR":
        flags = ["--cacert", str(ca_dir)]
    else:
        # The bundle trusts some other CA; the server's CA is only in the directory: both must be read.
        other = trustme.CA()
        other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
        env["SSL_CERT_FILE"] = str(tmp_path / "other.pem")
        env["SSL_CERT_DIR"] = str(ca_dir)
    await every_command(key, flags, env)
    assert tls.accepted >= 6


@pytest.mark.parametrize(
    "command", [("call", "counter", "K", "increment", "1"), ("connect", "counter", "K"), ("get", "counter", "K")]
)
async def test_untrusted_certificate_says_how_to_trust_it(
    tls: TlsProxy, base_env: dict[str, str], key: str, command: tuple[str, ...]
) -> None:
    env = {**base_env, "RIVET_ENDPOINT": tls.endpoint}
    args = [key if a == "K" else a for a in command]
    r = await rivetctl("--timeout", "5", *args, env=env, stdin="increment 1\n")
    line = assert_one_line_error(r)
    assert "--cacert" in line and "SSL_CERT_FILE" in line, line
    assert "certificate" in line.lower(), line


@pytest.mark.parametrize("command", [("connect", "counter", "K"), ("watch", "counter", "K", "newCount", "--no-state")])
async def test_untrusted_certificate_is_not_retried(
    tls: TlsProxy, base_env: dict[str, str], key: str, command: tuple[str, ...]
) -> None:
    """Live connections retry what may heal (a server restarting); a certificate that is not trusted does not."""
    env = {**base_env, "RIVET_ENDPOINT": tls.endpoint}
    args = [key if a == "K" else a for a in command]
    started = time.monotonic()
    r = await rivetctl("--timeout", "30", *args, env=env, stdin="increment 1\n")
    elapsed = time.monotonic() - started
    line = assert_one_line_error(r)
    assert "--cacert" in line and "SSL_CERT_FILE" in line, line
    assert elapsed < 10, f"the certificate failure was retried for {elapsed:.0f} s: {line}"


async def test_wrong_ca_is_refused_too(tls: TlsProxy, base_env: dict[str, str], key: str, tmp_path: Path) -> None:
    other = TlsProxy("http://127.0.0.1:1").write_ca(tmp_path / "other-ca.pem")
    env = {**base_env, "RIVET_ENDPOINT": tls.endpoint}
    r = await rivetctl("--cacert", str(other), "call", "counter", key, "increment", "1", env=env)
    line = assert_one_line_error(r)
    assert "--cacert" in line and "SSL_CERT_FILE" in line, line


@pytest.mark.usefixtures("clean_proxy_environ")
@pytest.mark.parametrize("trust", ["cafile", "SSL_CERT_FILE", "insecure"])
async def test_library_over_tls(
    tls: TlsProxy, ca_file: Path, key: str, trust: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    verify: bool | str = True
    if trust == "cafile":
        verify = str(ca_file)
    elif trust == "SSL_CERT_FILE":
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    else:
        verify = False
    async with Client(tls.endpoint, verify=verify, env={}) as client:
        counter = client.counter.get_or_create(key)
        assert await counter.increment(4) == 4
        got: asyncio.Queue[object] = asyncio.Queue()
        async with counter.connect() as conn:
            conn.on("newCount", got.put_nowait)
            assert await conn.increment(1) == 5
            assert await asyncio.wait_for(got.get(), 10) == 5
    assert tls.accepted >= 2


@pytest.mark.usefixtures("clean_proxy_environ")
async def test_library_refuses_an_untrusted_certificate(tls: TlsProxy, key: str) -> None:
    async with Client(tls.endpoint, env={}) as client:
        with pytest.raises(RivetctlError, match="certificate"):
            await client.counter.get_or_create(key).increment(1)


# -- HTTP proxy --------------------------------------------------------------------------------------------


async def test_every_command_through_http_proxy(
    server: DevServer, http_proxy: HttpProxy, base_env: dict[str, str], key: str
) -> None:
    env = {**base_env, "RIVET_ENDPOINT": server.endpoint, "HTTP_PROXY": http_proxy.url}
    await every_command(key, [], env, counter=http_proxy)
    target = server.endpoint.removeprefix("http://")
    assert http_proxy.requests and all(r.split(" ")[1].startswith(server.endpoint) for r in http_proxy.requests)
    assert http_proxy.tunnels and set(http_proxy.tunnels) == {target}


async def test_every_command_through_https_proxy_over_tls(
    tls: TlsProxy, ca_file: Path, http_proxy: HttpProxy, base_env: dict[str, str], key: str
) -> None:
    env = {**base_env, "RIVET_ENDPOINT": tls.endpoint, "HTTPS_PROXY": http_proxy.url}
    await every_command(key, ["--cacert", str(ca_file)], env, counter=http_proxy)
    assert http_proxy.requests == []
    assert set(http_proxy.tunnels) == {f"127.0.0.1:{tls.port}"}
    assert tls.accepted >= len(http_proxy.tunnels)


async def test_every_command_through_all_proxy(
    server: DevServer, http_proxy: HttpProxy, base_env: dict[str, str], key: str
) -> None:
    env = {**base_env, "RIVET_ENDPOINT": server.endpoint, "ALL_PROXY": http_proxy.url}
    await every_command(key, [], env, counter=http_proxy)


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
async def test_no_proxy_bypasses_the_proxy(
    server: DevServer, http_proxy: HttpProxy, base_env: dict[str, str], key: str, no_proxy: str
) -> None:
    env = {
        **base_env,
        "RIVET_ENDPOINT": server.endpoint,
        "HTTP_PROXY": http_proxy.url,
        "HTTPS_PROXY": http_proxy.url,
        "ALL_PROXY": http_proxy.url,
        "NO_PROXY": no_proxy,
    }
    await every_command(key, [], env)
    assert http_proxy.forwarded == 0, (http_proxy.requests, http_proxy.tunnels)


async def test_lowercase_proxy_variables_are_honoured(
    server: DevServer, http_proxy: HttpProxy, base_env: dict[str, str], key: str
) -> None:
    env = {**base_env, "RIVET_ENDPOINT": server.endpoint, "http_proxy": http_proxy.url}
    r = await rivetctl("call", "counter", key, "increment", "2", env=env)
    assert (r.code, r.out.strip()) == (0, "2"), r.err
    r = await rivetctl("connect", "counter", key, env=env, stdin="increment 1\n")
    assert r.code == 0, r.err
    assert len(http_proxy.requests) >= 1 and len(http_proxy.tunnels) >= 1


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (("call", "counter", "K", "increment", "1"), 7),
        # connect's script mode gives up at the first failed attempt, as it does without a proxy (unless --wait)
        (("connect", "counter", "K"), 7),
    ],
)
async def test_proxy_that_is_not_there(
    server: DevServer, base_env: dict[str, str], key: str, command: tuple[str, ...], code: int
) -> None:
    proxy = f"127.0.0.1:{free_port()}"
    env = {**base_env, "RIVET_ENDPOINT": server.endpoint, "HTTP_PROXY": f"http://{proxy}"}
    args = [key if a == "K" else a for a in command]
    r = await rivetctl("--timeout", "5", *args, env=env, stdin="increment 1\n")
    line = assert_one_line_error(r, code=code)
    assert f"proxy {proxy}" in line, line


@pytest.mark.parametrize("command", [("call", "counter", "K", "increment", "1"), ("connect", "counter", "K")])
async def test_proxy_that_refuses_the_tunnel(
    tls: TlsProxy, ca_file: Path, base_env: dict[str, str], key: str, command: tuple[str, ...]
) -> None:
    async with HttpProxy(refuse=403) as proxy:
        env = {**base_env, "RIVET_ENDPOINT": tls.endpoint, "HTTPS_PROXY": proxy.url}
        args = [key if a == "K" else a for a in command]
        r = await rivetctl("--timeout", "20", "--cacert", str(ca_file), *args, env=env, stdin="increment 1\n")
    assert proxy.refused >= 1 and tls.accepted == 0
    line = assert_one_line_error(r, code=7)
    assert f"proxy 127.0.0.1:{proxy.port}" in line and "403" in line, line


async def test_proxy_answering_a_plain_request_with_an_error(
    server: DevServer, base_env: dict[str, str], key: str
) -> None:
    """Over http:// the proxy's own answer is all there is: reported as an answer that is not RivetKit's."""
    async with HttpProxy(refuse=403) as proxy:
        env = {**base_env, "RIVET_ENDPOINT": server.endpoint, "HTTP_PROXY": proxy.url}
        r = await rivetctl("call", "counter", key, "increment", "1", env=env)
    assert proxy.refused >= 1
    line = assert_one_line_error(r, code=9)
    assert "403" in line, line


@pytest.mark.usefixtures("clean_proxy_environ")
async def test_library_through_http_proxy(
    server: DevServer, http_proxy: HttpProxy, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", http_proxy.url)
    async with Client(server.endpoint, env={}) as client:
        counter = client.counter.get_or_create(key)
        assert await counter.increment(4) == 4
        assert http_proxy.requests
        got: asyncio.Queue[object] = asyncio.Queue()
        async with counter.connect() as conn:
            conn.on("newCount", got.put_nowait)
            assert await conn.increment(1) == 5
            assert await asyncio.wait_for(got.get(), 10) == 5
    assert http_proxy.tunnels == [server.endpoint.removeprefix("http://")] * len(http_proxy.tunnels)
    assert http_proxy.tunnels
