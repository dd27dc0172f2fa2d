"""Output to a pipe whose reader went away ends every command quietly with exit 0: one-shot commands,
``watch`` and script-mode ``connect``, as real subprocesses against the real server (no traceback, no
"Exception ignored … BrokenPipeError" at interpreter exit)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rivetctl.devserver import DevServer
from tests.envs import outside_world, private_home

pytestmark = [pytest.mark.server, pytest.mark.timeout(90)]

RIVETCTL = [sys.executable, "-m", "rivetctl"]


@pytest.fixture
def env(server: DevServer, tmp_path: Path) -> dict[str, str]:
    return {**outside_world(), **private_home(tmp_path), "RIVET_ENDPOINT": server.endpoint}


def rivetctl(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RIVETCTL, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def closed_pipe() -> Iterator[int]:
    """The write end of a pipe whose reader is already gone (``rivetctl … | true``)."""
    read, write = os.pipe()
    os.close(read)
    try:
        yield write
    finally:
        os.close(write)


def assert_quiet(code: int, err: str) -> None:
    assert code == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Broken pipe" not in err, err
    assert "Exception ignored" not in err, err


def run_into(closed: int, env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = subprocess.run([*RIVETCTL, *args], env=env, stdout=closed, stderr=subprocess.PIPE, text=True, timeout=60)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("mode", ["auto", "json", "jsonl", "yaml", "table"])
def test_actors_into_a_closed_pipe(env: dict[str, str], closed_pipe: int, mode: str) -> None:
    code, err = run_into(closed_pipe, env, "-o", mode, "actors")
    assert_quiet(code, err)


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["man"]], ids=" ".join)
def test_local_output_into_a_closed_pipe(env: dict[str, str], closed_pipe: int, args: list[str]) -> None:
    code, err = run_into(closed_pipe, env, *args)  # `python -m rivetctl` runs console_main: --version's fast path
    assert_quiet(code, err)


def test_call_into_a_closed_pipe_still_runs_the_action_once(env: dict[str, str], closed_pipe: int, key: str) -> None:
    code, err = run_into(closed_pipe, env, "call", "counter", key, "increment", "5")
    assert_quiet(code, err)
    after = rivetctl(env, "call", "counter", key, "getCount")
    assert after.stdout.strip() == "5", after.stderr


def test_a_failing_command_into_a_closed_pipe_keeps_its_exit_code(
    env: dict[str, str], closed_pipe: int, key: str
) -> None:
    # -o json writes the error document to stdout too: the closed pipe must not turn exit 4 into 0
    code, err = run_into(closed_pipe, env, "-o", "json", "call", "counter", f"missing-{key}", "getCount", "--no-create")
    assert code == 4, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_call_piped_into_head(env: dict[str, str], key: str) -> None:
    args = " ".join(str(i) for i in range(3000))
    cmd = f"{' '.join(RIVETCTL)} -o jsonl call counter {key} echo {args} | head -c 10; exit ${{PIPESTATUS[0]}}"
    r = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=60)
    assert len(r.stdout) == 10
    assert_quiet(r.returncode, r.stderr)


def test_watch_piped_into_head_ends_at_the_next_event(env: dict[str, str], key: str) -> None:
    assert rivetctl(env, "call", "counter", key, "getCount").returncode == 0
    proc = subprocess.Popen(
        [*RIVETCTL, "-o", "jsonl", "watch", "counter", key, "newCount", "--no-state"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        assert "watching" in proc.stderr.readline()
        assert rivetctl(env, "call", "counter", key, "increment", "1").returncode == 0
        first = proc.stdout.readline()
        assert '"newCount"' in first and '"args": [1]' in first
        proc.stdout.close()  # `| head -1` is done
        # the next events are written to the closed pipe: the watch ends there
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            rivetctl(env, "call", "counter", key, "increment", "1")
            time.sleep(0.2)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_quiet(proc.returncode, err)


def test_watch_burst_through_head_1_in_a_shell(env: dict[str, str], key: str) -> None:
    assert rivetctl(env, "call", "counter", key, "getCount").returncode == 0
    cmd = (
        f"{' '.join(RIVETCTL)} -o jsonl --timeout 40 watch counter {key} burst --no-state | head -1; "
        "exit ${PIPESTATUS[0]}"
    )
    proc = subprocess.Popen(["bash", "-c", cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            rivetctl(env, "call", "counter", key, "burst", "20")
            time.sleep(0.3)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.count("\n") == 1 and '"burst"' in out
    assert_quiet(proc.returncode, err)


@pytest.mark.parametrize(
    "events",
    [
        False,
        True,
    ],
    ids=["results", "results-and-events"],
)
def test_script_mode_connect_piped_into_head(env: dict[str, str], key: str, events: bool) -> None:
    """``printf 'increment 1\\n…' | rivetctl connect counter KEY [--sub newCount] | head -1``."""
    sub = ["--sub", "newCount"] if events else []
    proc = subprocess.Popen(
        [*RIVETCTL, "connect", "counter", key, *sub],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("increment 1\n")
        proc.stdin.flush()
        assert proc.stdout.readline()  # the first record
        proc.stdout.close()
        # more lines whose results (and events) go to the closed pipe
        for _ in range(20):
            try:
                proc.stdin.write("increment 1\n")
                proc.stdin.flush()
            except BrokenPipeError:  # rivetctl already ended (and closed its stdin)
                break
            time.sleep(0.05)
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        proc.wait(timeout=30)
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert_quiet(proc.returncode, err)
