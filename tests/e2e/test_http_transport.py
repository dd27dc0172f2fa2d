"""The HTTP transport against scripted local peers, TLS and proxy peers, and the real server behind a fault proxy."""

from __future__ import annotations

import asyncio
import contextlib
import io
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest
import trustme

from rivetctl.cli.app import main
from rivetctl.client import Client
from rivetctl.errors import (
    ConfigError,
    ConnectionLostError,
    NetworkError,
    ProtocolError,
    RequestTimeoutError,
)
from rivetctl.transport.http import HttpTransport
from tests.faultproxy import FaultProxy

Reply = Callable[[int, bytes, asyncio.StreamWriter], Awaitable[bool]]
"""Answers request number N (over all connections) with body; returns False to close the connection."""

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")
CLI_ENV = {"HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent", "XDG_CACHE_HOME": "/nonexistent"}


class Peer:
    def __init__(self, reply: Reply, scheme: str = "http") -> None:
        self.reply = reply
        self.scheme = scheme
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"{self.scheme}://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                if not await self.reply(len(self.requests), body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # still waiting when the event loop ends; asyncio would log a cancelled handler as an error
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.asynccontextmanager
async def peer(reply: Reply, tls: ssl.SSLContext | None = None) -> AsyncIterator[Peer]:
    p = Peer(reply, "https" if tls else "http")
    p.server = await asyncio.start_server(p.handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield p
    finally:
        p.server.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body


async def echo(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
    w.write(ok(body))
    await w.drain()
    return True


def transport(timeout: float = 5, verify: bool | str = True) -> HttpTransport:
    return HttpTransport(timeout=timeout, connect_timeout=2, verify=verify)


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without proxies from the outer environment (httpx reads them, upper and lower case)."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# -- keep-alive, and nothing ever sent twice ------------------------------------------------------------


async def test_one_connection_serves_sequential_requests() -> None:
    async with peer(echo) as p:
        t = transport()
        for i in range(20):
            resp = await t.request("POST", f"{p.url}/x", content=str(i).encode())
            assert (resp.status, resp.body) == (200, str(i).encode())
        await t.aclose()
    assert p.connections == 1


async def test_concurrent_callers_get_their_own_answers_and_connections_are_reused() -> None:
    async with peer(echo) as p:
        t = transport()
        for _ in range(3):
            bodies = await asyncio.gather(
                *(t.request("POST", f"{p.url}/x", content=str(i).encode()) for i in range(32))
            )
            assert [r.body for r in bodies] == [str(i).encode() for i in range(32)]
        await t.aclose()
    assert p.connections <= 32


async def test_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def close_after_each(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(ok(body))  # no "connection: close": the client believes it may reuse it
        await w.drain()
        return False

    async with peer(close_after_each) as p:
        t = transport()
        assert (await t.request("POST", f"{p.url}/a", content=b"1")).body == b"1"
        await asyncio.sleep(0.05)
        assert (await t.request("POST", f"{p.url}/a", content=b"2")).body == b"2"
        await t.aclose()
    assert len(p.requests) == 2  # each request reached the server once
    assert p.connections == 2


async def test_kept_alive_connection_dropped_without_an_answer_is_an_error_and_never_resent() -> None:
    async def drop_second(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        if n == 2:
            return False  # read, then closed without a byte of answer
        w.write(ok(body))
        await w.drain()
        return True

    async with peer(drop_second) as p:
        t = transport()
        assert (await t.request("POST", f"{p.url}/a", content=b"1")).body == b"1"
        with pytest.raises(ConnectionLostError, match="before answering; the action may or may not have run"):
            await t.request("POST", f"{p.url}/a", content=b"2")
        assert (await t.request("POST", f"{p.url}/a", content=b"3")).body == b"3"
        await t.aclose()
    assert [r[-1:] for r in p.requests] == [b"1", b"2", b"3"]  # "2" reached the server once, and only once
    assert p.connections == 2


async def test_fresh_connection_dropped_without_an_answer_is_not_retried() -> None:
    async def drop(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        return False

    async with peer(drop) as p:
        t = transport()
        with pytest.raises(ConnectionLostError, match="may or may not have run"):
            await t.request("POST", f"{p.url}/a", content=b"1")
        with pytest.raises(ConnectionLostError, match=r"closed the connection before answering$"):
            await t.request("GET", f"{p.url}/a")
        await t.aclose()
    assert len(p.requests) == 2


async def test_no_retry_once_part_of_the_answer_came() -> None:
    async def partial(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await w.drain()
        return False

    async with peer(partial) as p:
        t = transport()
        with pytest.raises(NetworkError, match="truncated response"):
            await t.request("POST", f"{p.url}/a", content=b"x")
        await t.aclose()
    assert len(p.requests) == 1


async def test_real_server_calls_share_one_kept_alive_connection(endpoint: str, key: str) -> None:
    async with FaultProxy(endpoint) as proxy, Client(proxy.endpoint, env={}) as client:
        counter = client.counter.get_or_create(key)
        for i in range(1, 21):
            assert await counter.increment(1) == i
        assert proxy.accepted == 1


@pytest.mark.parametrize("how", ["reset", "close"])
async def test_action_whose_answer_is_lost_ran_once_and_is_not_resent(
    endpoint: str, key: str, how: Literal["reset", "close"]
) -> None:
    """The proxy forwards the action to the real server, then drops the connection instead of relaying the
    answer: the caller is told, and the actor's state (read directly from the server) shows a single run."""
    async with (
        FaultProxy(endpoint) as proxy,
        Client(proxy.endpoint, env={}) as via_proxy,
        Client(endpoint, env={}) as direct,
    ):
        counter = via_proxy.counter.get_or_create(key)
        assert await counter.increment(1) == 1  # the connection is now kept alive
        proxy.drop_answer_to(b"/action/increment", how=how)
        with pytest.raises(ConnectionLostError, match="the action may or may not have run"):
            await counter.increment(10)
        assert proxy.answers_dropped == 1
        assert await direct.counter.get_or_create(key).getCount() == 11  # it ran, exactly once
        assert await counter.increment(100) == 111  # and the client goes on, on a new connection
        assert proxy.accepted == 2


async def test_cli_reports_a_lost_answer_with_exit_7_and_the_action_ran_once(endpoint: str, key: str) -> None:
    async with FaultProxy(endpoint) as proxy:
        proxy.drop_answer_to(b"/action/increment")
        out, err = io.StringIO(), io.StringIO()
        argv = ["-e", proxy.endpoint, "call", "counter", key, "increment", "5"]
        rc = await asyncio.to_thread(main, argv, env=CLI_ENV, stdout=out, stderr=err)
    assert rc == 7, err.getvalue()
    assert "may or may not have run" in err.getvalue()
    assert "Traceback" not in err.getvalue() and err.getvalue().count("\n") == 1
    assert out.getvalue() == ""
    async with Client(endpoint, env={}) as direct:
        assert await direct.counter.get_or_create(key).getCount() == 5


@pytest.mark.parametrize("fault", ["close_all", "cut_all"])
async def test_stale_kept_alive_connection_to_the_real_server_is_replaced_without_a_resend(
    endpoint: str, key: str, fault: str
) -> None:
    async with (
        FaultProxy(endpoint) as proxy,
        Client(proxy.endpoint, env={}) as via_proxy,
        Client(endpoint, env={}) as direct,
    ):
        counter = via_proxy.counter.get_or_create(key)
        assert await counter.increment(1) == 1
        assert getattr(proxy, fault)() == 1  # the idle kept-alive connection goes away under the client
        await asyncio.sleep(0.1)
        assert await counter.increment(1) == 2
        assert proxy.accepted == 2
        assert await direct.counter.get_or_create(key).getCount() == 2


# -- framing and limits -------------------------------------------------------------------------------


async def test_chunked_body_with_trailers_and_interim_answer() -> None:
    async def chunked(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\nX-A: 2\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ntrailer: x\r\n\r\n"
        )
        await w.drain()
        return True

    async with peer(chunked) as p:
        t = transport()
        for _ in range(2):
            resp = await t.request("GET", f"{p.url}/c")
            assert resp.body == b"hello world"
            assert resp.headers["x-a"] == "1, 2"
        await t.aclose()
    assert p.connections == 1


async def test_http10_body_until_close() -> None:
    async def old(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it")
        await w.drain()
        return False

    async with peer(old) as p:
        t = transport()
        resp = await t.request("GET", f"{p.url}/")
        assert (resp.body, resp.content_type) == (b"all of it", "text/plain")
        assert (await t.request("GET", f"{p.url}/")).body == b"all of it"
        await t.aclose()
    assert p.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx-long: " + b"a" * 200_000 + b"\r\n\r\n",
    ],
    ids=["bad-length", "two-lengths", "bad-chunk", "bad-header", "bad-status", "not-http", "long-head"],
)
async def test_malformed_answers_are_protocol_errors(answer: bytes) -> None:
    async def bad(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(answer)
        await w.drain()
        await asyncio.sleep(0.2)  # the client reads the bytes before the end of the stream
        return False

    async with peer(bad) as p:
        t = transport()
        with pytest.raises(ProtocolError) as info:
            await t.request("GET", f"{p.url}/")
        assert "\n" not in str(info.value)
        await t.aclose()


async def test_chunked_body_over_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rivetctl.transport.http.MAX_RESPONSE_BYTES", 1000)

    async def big(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(10):
            w.write(b"200\r\n" + b"x" * 512 + b"\r\n")
        await w.drain()
        return False

    async with peer(big) as p:
        t = transport()
        with pytest.raises(ProtocolError, match="exceeds 1000 bytes"):
            await t.request("GET", f"{p.url}/")
        await t.aclose()


@pytest.mark.parametrize(
    "headers", [{"x-a": "1\r\nx-injected: 1"}, {"bad name": "1"}, {"x-a": "snow☃"}, {"": "1"}, {"x-a": "a\0b"}]
)
async def test_header_injection_is_refused_before_sending(headers: dict[str, str]) -> None:
    async with peer(echo) as p:
        t = transport()
        with pytest.raises(ConfigError):
            await t.request("GET", f"{p.url}/ok", headers=headers)
        await t.aclose()
    assert p.requests == []


async def test_latin1_header_values_are_sent_as_latin1_and_control_characters_in_paths_refused() -> None:
    async with peer(echo) as p:
        t = transport()
        await t.request("GET", f"{p.url}/a b", headers={"x-name": "café"})
        with pytest.raises(ConfigError, match="invalid URL"):
            await t.request("GET", f"{p.url}/ok\r\nx-injected: 1")
        with pytest.raises(ConfigError, match="invalid port"):
            await t.request("GET", "http://127.0.0.1:99999/")
        await t.aclose()
    assert len(p.requests) == 1
    assert p.requests[0].startswith(b"GET /a%20b HTTP/1.1\r\n")
    assert b"\r\nx-name: caf\xe9\r\n" in p.requests[0]


async def test_cancelled_request_does_not_leave_its_connection_in_the_pool() -> None:
    async def slow_then_fast(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        if n == 1:
            await asyncio.sleep(0.5)
        w.write(ok(str(n).encode()))
        await w.drain()
        return True

    async with peer(slow_then_fast) as p:
        t = transport()
        task = asyncio.create_task(t.request("GET", f"{p.url}/"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The late answer to request 1 must not be read as the answer to request 2.
        assert (await t.request("GET", f"{p.url}/")).body == b"2"
        await t.aclose()
    assert p.connections == 2


async def test_timeout_bounds_the_exchange_and_the_connection_is_dropped() -> None:
    async def silent(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(2 if n == 1 else 0)
        w.write(ok(b"late" if n == 1 else b"fresh"))
        await w.drain()
        return True

    async with peer(silent) as p:
        t = transport(timeout=0.3)
        with pytest.raises(RequestTimeoutError, match=r"within 0\.3 s"):
            await t.request("GET", f"{p.url}/")
        assert (await t.request("GET", f"{p.url}/")).body == b"fresh"
        await t.aclose()


async def test_a_dripping_answer_is_cut_off_by_the_whole_exchange_timeout() -> None:
    async def drip(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        for byte in ok(b"x" * 100):
            w.write(bytes([byte]))
            await w.drain()
            await asyncio.sleep(0.05)
        return False

    async with peer(drip) as p:
        t = transport(timeout=0.5)
        started = asyncio.get_running_loop().time()
        with pytest.raises(RequestTimeoutError, match=r"did not finish answering within 0\.5 s"):
            await t.request("GET", f"{p.url}/")
        assert asyncio.get_running_loop().time() - started < 2
        await t.aclose()


async def test_redirect_is_refused() -> None:
    async def redirect(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://evil.invalid/steal\r\ncontent-length: 0\r\n\r\n")
        await w.drain()
        return True

    async with peer(redirect) as p:
        t = transport()
        with pytest.raises(ProtocolError, match="does not follow redirects"):
            await t.request("POST", f"{p.url}/a?rvt-token=secret", content=b"x", display_url=f"{p.url}/a")
        await t.aclose()
    assert len(p.requests) == 1


async def test_refused_and_unknown_host_are_one_line_network_errors() -> None:
    t = transport()
    with pytest.raises(NetworkError, match=r"connection refused \(is the server running\?\)"):
        await t.request("GET", "http://127.0.0.1:9/")
    with pytest.raises(NetworkError, match="unknown host"):
        await t.request("GET", "http://no-such-host.invalid/")
    with pytest.raises(NetworkError, match="only http"):
        await t.request("GET", "ftp://example.com/")
    await t.aclose()


# -- TLS ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture
def ca_file(ca: trustme.CA) -> Iterator[str]:
    with ca.cert_pem.tempfile() as path:
        yield path


@pytest.fixture
def system_trust_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.mark.usefixtures("system_trust_only")
async def test_tls_verification_failure_says_what_to_do(server_tls: ssl.SSLContext) -> None:
    async with peer(echo, server_tls) as p:
        t = transport()
        with pytest.raises(NetworkError) as info:
            await t.request("GET", f"{p.url}/")
        await t.aclose()
    text = str(info.value)
    assert "certificate verify failed" in text and "--cacert" in text and "SSL_CERT_FILE" in text
    assert "--insecure" in text and "\n" not in text
    assert p.requests == []


@pytest.mark.usefixtures("system_trust_only")
async def test_tls_with_cacert_with_ssl_cert_file_and_insecure(
    server_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with peer(echo, server_tls) as p:
        for verify in (ca_file, False):
            t = transport(verify=verify)
            assert (await t.request("POST", f"{p.url}/x", content=b"hi")).body == b"hi"
            await t.aclose()
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)
        t = transport()
        assert (await t.request("POST", f"{p.url}/x", content=b"env")).body == b"env"
        await t.aclose()
    assert len(p.requests) == 3


async def test_tls_host_name_is_checked(ca: trustme.CA, ca_file: str) -> None:
    other_host = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("rivet.example").configure_cert(other_host)
    async with peer(echo, other_host) as p:
        t = transport(verify=ca_file)
        with pytest.raises(NetworkError, match=r"certificate verify failed.*--cacert"):
            await t.request("GET", f"{p.url}/")
        await t.aclose()


async def test_unreadable_ca_bundle_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = transport(verify=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="cannot load CA certificates from --cacert"):
        await t.request("GET", "https://127.0.0.1:9/")
    await t.aclose()
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    t = transport()
    with pytest.raises(ConfigError, match="SSL_CERT_FILE="):
        await t.request("GET", "https://127.0.0.1:9/")
    await t.aclose()


async def test_https_to_a_plain_http_server_is_a_clear_tls_error() -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # a TLS ClientHello is not a request: answered as a plain HTTP server would
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain_http, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        t = transport()
        with pytest.raises(NetworkError, match=r"TLS handshake failed .*https:// server"):
            await t.request("GET", f"https://127.0.0.1:{port}/")
        await t.aclose()


# -- proxies from the environment ---------------------------------------------------------------------


async def test_http_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async with peer(echo) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        t = transport()
        resp = await t.request("POST", "http://rivet.invalid:6420/x?rvt-token=s", content=b"via")
        assert resp.body == b"via"
        await t.aclose()
    assert proxy.requests[0].startswith(b"POST http://rivet.invalid:6420/x?rvt-token=s HTTP/1.1\r\n")


async def test_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async with peer(echo) as p:
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        t = transport()
        assert (await t.request("POST", f"{p.url}/x", content=b"direct")).body == b"direct"
        await t.aclose()


async def test_unreachable_proxy_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    t = transport()
    with pytest.raises(NetworkError, match=r"cannot connect to the proxy 127\.0\.0\.1:9 .*HTTP_PROXY.*refused"):
        await t.request("GET", "http://rivet.invalid/x")
    await t.aclose()


async def test_proxy_refusing_the_tunnel_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    async def forbid(n: int, body: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
        await w.drain()
        return False

    async with peer(forbid) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        t = transport()
        with pytest.raises(
            NetworkError, match=r"proxy 127\.0\.0\.1:\d+ refused to connect to https://rivet\.invalid.*403"
        ):
            await t.request("GET", "https://rivet.invalid/x?rvt-token=s")
        await t.aclose()
    assert proxy.requests[0].startswith(b"CONNECT rivet.invalid:443 HTTP/1.1\r\n")


async def test_unusable_proxy_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "gopher://127.0.0.1:9")
    t = transport()
    with pytest.raises(ConfigError, match="proxy set in the environment"):
        await t.request("GET", "http://rivet.invalid/")
    await t.aclose()
