"""``connect`` / ``repl`` in script mode when the server cannot be reached: one line and exit 7 at once, or
with ``--wait`` retry lines until the server (a proxy of ours in front of the real one, down at first) is
there, then the piped commands run. The REPL on a terminal is tested in test_repl_pty.py."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from rivetctl.devserver import DevServer
from tests.envs import outside_world, private_home
from tests.faultproxy import FaultProxy

RIVETCTL = [sys.executable, "-m", "rivetctl"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    return {**outside_world(), **private_home(tmp_path)}


def _run(tmp_path: Path, *args: str, stdin: str = "getCount\n") -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [*RIVETCTL, *args], input=stdin, env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    return proc, time.monotonic() - started


def test_script_mode_exits_7_at_the_first_failed_attempt(tmp_path: Path, key: str) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    commands = [("connect", "counter", key), ("connect", "counter", key, "--sub", "newCount"), ("repl", "counter", key)]
    for args in commands:
        proc, elapsed = _run(tmp_path, "-e", endpoint, *args)
        assert proc.returncode == 7, proc.stderr
        assert elapsed < 5, elapsed
        assert proc.stderr.splitlines() == [
            f"rivetctl: cannot connect to {endpoint}: connection refused (is the server running?)"
        ]
        assert proc.stdout == ""


def test_use_line_that_cannot_reach_is_that_lines_error(tmp_path: Path, key: str) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    proc, elapsed = _run(tmp_path, "-e", endpoint, "repl", stdin=f".use counter {key}\n.status\n")
    assert proc.returncode == 3, proc.stderr  # a line failed; the next ones still ran
    assert elapsed < 5, elapsed
    error, status = (json.loads(line) for line in proc.stdout.splitlines())
    assert error["type"] == "error" and error["line"] == 1 and error["error"]["exit_code"] == 7
    assert "connection refused" in error["error"]["message"]
    assert status == {"type": "table", "line": 2, "title": "", "rows": []}
    assert "Traceback" not in proc.stderr


def test_wait_gives_up_at_timeout(tmp_path: Path, key: str) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    proc, elapsed = _run(tmp_path, "-e", endpoint, "--timeout", "2", "connect", "counter", key, "--wait")
    assert proc.returncode == 8, proc.stderr
    assert 2 <= elapsed < 6, elapsed
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(f'counter/["{key}"]: cannot connect to {endpoint}: connection refused')
    assert lines[0].endswith(", Ctrl-C to stop") and "; retrying in " in lines[0]
    assert lines[-1].startswith("rivetctl: not connected after 2 s: last failure: cannot connect to")


def test_wait_interrupted_exits_130(tmp_path: Path, key: str) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    proc = subprocess.Popen(
        [*RIVETCTL, "-e", endpoint, "connect", "counter", key, "--wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path),
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert "retrying in" in first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "rivetctl: interrupted" and "Traceback" not in err


def test_wait_until_the_server_is_there_then_run(server: DevServer, tmp_path: Path, key: str) -> None:
    async def scenario() -> tuple[int, str, list[tuple[float, str]], float]:
        proxy = FaultProxy(server.endpoint)
        await proxy.start()
        try:
            await proxy.refuse_for(3.0)  # down at first, then forwarding to the real server
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                *RIVETCTL,
                "-e",
                proxy.endpoint,
                "connect",
                "counter",
                key,
                "--wait",
                "--sub",
                "newCount",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_env(tmp_path),
            )
            assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
            proc.stdin.write(b"increment 5\ngetCount\n")
            proc.stdin.close()
            err: list[tuple[float, str]] = []

            async def read_stderr() -> None:
                assert proc.stderr is not None
                while line := await proc.stderr.readline():
                    err.append((time.monotonic() - started, line.decode()))

            out, _, code = await asyncio.wait_for(
                asyncio.gather(proc.stdout.read(), read_stderr(), proc.wait()), timeout=90
            )
            return code, out.decode(), err, time.monotonic() - started
        finally:
            await proxy.stop()

    code, out, err, elapsed = asyncio.run(scenario())
    text = "".join(line for _, line in err)
    assert code == 0, text
    assert "Traceback" not in text
    first_at, first = err[0]
    assert first_at < 2.0, err
    assert first.startswith(f'counter/["{key}"]: cannot connect to http://127.0.0.1:')
    assert "connection refused" in first and first.rstrip().endswith(", Ctrl-C to stop")
    assert err[-1][1].rstrip() == f'counter/["{key}"]: connected'
    assert elapsed >= 3.0
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["type"] == "open"
    assert [r["output"] for r in records if r["type"] == "result"] == [5, 5]
    assert [r["args"] for r in records if r["type"] == "event"] == [[5]]


def test_a_refusal_is_not_retried_even_with_wait(server: DevServer, tmp_path: Path, key: str) -> None:
    """Reaching the server and being refused (``onBeforeConnect`` throws) is no reason to wait: the line fails
    with the refusal at once, and the actor is not left behind half-open."""
    script = f".use secure {key}\n.status\n.use counter {key}\ngetCount\n"
    proc, elapsed = _run(tmp_path, "-e", server.endpoint, "repl", "--wait", stdin=script)
    assert proc.returncode == 3, proc.stderr
    assert elapsed < 20, elapsed
    refused, status, opened, result = (json.loads(line) for line in proc.stdout.splitlines())
    assert refused["type"] == "error" and refused["error"]["exit_code"] == 6, refused
    assert status["rows"] == []
    assert opened["type"] == "open" and result["output"] == 0
    assert "retrying" not in proc.stderr
