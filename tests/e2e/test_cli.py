"""The CLI against the real server: every command, output mode and exit code; in-process and as a
real subprocess."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from rivetctl.cli.app import main
from rivetctl.devserver import DevServer
from tests.clirun import Run, in_process
from tests.envs import private_home


@pytest.fixture
def cli_env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    return {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}


@pytest.fixture
def rivetctl(cli_env: dict[str, str]) -> Run:
    """Run the CLI in-process with injected env and streams (stdout is not a TTY: JSON output)."""
    return in_process(cli_env)


def subprocess_env(cli_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVET")}
    env.update(cli_env)
    return env


RIVETCTL = [sys.executable, "-m", "rivetctl"]


# -- call ----------------------------------------------------------------------------------------------------


def test_call_prints_json_when_piped(rivetctl: Run, key: str) -> None:
    r = rivetctl("call", "counter", key, "increment", "5")
    assert (r.code, r.json()) == (0, 5)
    r = rivetctl("call", "counter", key, "increment", "-2")
    assert (r.code, r.json()) == (0, 3)


@pytest.mark.parametrize("encoding", ["json", "cbor", "bare"])
def test_call_each_encoding_and_arg_grammar(rivetctl: Run, key: str, encoding: str) -> None:
    r = rivetctl("--encoding", encoding, "call", "counter", key, "echo", "5", "true", '{"a":1}', '"5"', "plain text")
    assert r.code == 0, r.err
    assert r.json() == [5, True, {"a": 1}, "5", "plain text"]


def test_call_args_from_file_stdin_and_args_option(rivetctl: Run, key: str, tmp_path: Path) -> None:
    f = tmp_path / "arg.json"
    f.write_text('{"from": "file"}')
    r = rivetctl("call", "counter", key, "echo", f"@{f}", "-", "--args", "[0]", stdin='{"from": "stdin"}')
    assert r.json() == [0, {"from": "file"}, {"from": "stdin"}]


def test_call_output_modes(rivetctl: Run, key: str) -> None:
    rivetctl("call", "chatRoom", key, "sendMessage", "alice", "hi")
    r = rivetctl("-o", "jsonl", "call", "chatRoom", key, "getHistory")
    assert len(r.out.splitlines()) == 1 and json.loads(r.out)[0]["text"] == "hi"
    r = rivetctl("-o", "yaml", "call", "chatRoom", key, "getHistory")
    assert "sender: alice" in r.out and "text: hi" in r.out
    r = rivetctl("-o", "raw", "call", "counter", key, "echo", "x")
    assert r.out == '["x"]\n'
    r = rivetctl("-o", "table", "call", "counter", key, "increment", "7")
    assert r.out.strip() == "7"


def test_call_compound_key_and_by_id(rivetctl: Run, key: str) -> None:
    compound = json.dumps(["org", key])
    assert rivetctl("call", "counter", compound, "increment", "2").json() == 2
    info = rivetctl("get", "counter", compound).json()
    assert info["key"] == ["org", key]
    assert rivetctl("call", "counter", f"@{info['actor_id']}", "getCount").json() == 2


def test_call_repeat_prints_percentiles(rivetctl: Run, key: str) -> None:
    r = rivetctl("call", "counter", key, "getCount", "--repeat", "5")
    data = r.json()
    assert data["calls"] == 5 and data["p50_ms"] > 0 and data["max_ms"] >= data["p50_ms"]


def test_call_with_input_and_params(rivetctl: Run, key: str) -> None:
    r = rivetctl("call", "withInput", key, "getInput", "--input", '{"mode":"x"}')
    assert r.json() == {"mode": "x"}
    r = rivetctl("--param", "token=secret", "--param", "user=bob", "call", "secure", key, "whoami")
    assert r.json()["user"] == "bob"
    r = rivetctl("--params", '{"token":"secret"}', "call", "secure", key, "whoami")
    assert r.json()["user"] == "anonymous"
    r = rivetctl("call", "secure", key, "whoami", env={"RIVETCTL_PARAMS": '{"token":"secret","user":"env"}'})
    assert r.json()["user"] == "env"


# -- exit codes ------------------------------------------------------------------------------------------


def test_exit_codes(rivetctl: Run, key: str) -> None:
    r = rivetctl("call", "counter", key, "throwUserCode")
    assert r.code == 3 and "user.RATE_LIMITED: nope" in r.err and "Traceback" not in r.err
    r = rivetctl("call", "counter", key, "noSuchAction")
    assert r.code == 4 and "actor.action_not_found" in r.err
    r = rivetctl("call", "countr", key, "increment")
    assert r.code == 4 and "did you mean 'counter'" in r.err
    r = rivetctl("call", "counter", f"missing-{key}", "getCount", "--no-create")
    assert r.code == 4 and "actor.not_found" in r.err
    r = rivetctl("call", "secure", key, "whoami")
    assert r.code == 6 and "auth.forbidden" in r.err
    r = rivetctl("call", "timeouts", key, "slow", "2500")
    assert r.code == 8 and "action_timed_out" in r.err
    r = rivetctl("call", "counter", key, "echo", "x" * 70000)
    assert r.code == 2 and "65536" in r.err
    r = rivetctl("--encoding", "xml", "call", "counter", key, "getCount")
    assert r.code == 2 and "xml" in r.err
    r = rivetctl("-e", "http://:tok@host", "call", "counter", key, "getCount")
    assert r.code == 2 and "token without a namespace" in r.err and "tok@" not in r.err
    r = rivetctl("call", "counter")
    assert r.code == 2
    r = rivetctl("-o", "bogus", "call", "counter", key, "getCount")
    assert r.code == 2


def test_unreachable_exit_code_bounded(rivetctl: Run, key: str) -> None:
    started = time.monotonic()
    r = rivetctl("-e", "http://127.0.0.1:9", "--timeout", "2", "call", "counter", key, "getCount")
    assert r.code == 7 and "connection refused" in r.err
    assert time.monotonic() - started < 5


def test_json_error_document(rivetctl: Run, key: str) -> None:
    r = rivetctl("-o", "json", "call", "counter", key, "throwUserMeta")
    assert r.code == 3
    doc = json.loads(r.out)["error"]
    assert doc["group"] == "user" and doc["code"] == "custom_code" and doc["metadata"] == {"reason": "because", "n": 42}


# -- get / create / actors / destroy / sleep ----------------------------------------------------------------


def test_get_create_destroy(rivetctl: Run, key: str) -> None:
    assert rivetctl("get", "counter", key).code == 4
    r = rivetctl("create", "withInput", key, "--input", '{"x":1}')
    assert r.code == 0, r.err
    actor_id = r.json()["actor_id"]
    r = rivetctl("create", "withInput", key)
    assert r.code == 5 and actor_id in r.err
    info = rivetctl("get", "withInput", key).json()
    assert info["actor_id"] == actor_id and info["key"] == [key]
    assert rivetctl("call", "withInput", key, "getInput").json() == {"x": 1}
    assert rivetctl("sleep", "withInput", key).code == 0
    assert rivetctl("destroy", "withInput", key).json() == {"actor_id": actor_id, "destroyed": True}
    assert rivetctl("get", "withInput", key).code == 4
    r = rivetctl("get", "withInput", f"@{actor_id}")
    assert r.code == 0 and r.json()["status"] == "destroyed"


def test_actors_listing(rivetctl: Run, key: str) -> None:
    names = [row["name"] for row in rivetctl("actors").json()]
    assert {"counter", "chatRoom", "secure"} <= set(names)
    rivetctl("call", "counter", key, "increment")
    rows = rivetctl("actors", "counter", "--all").json()
    assert any(row["key"] == [key] for row in rows)
    assert len(rivetctl("actors", "counter", "--limit", "1").json()) == 1
    r = rivetctl("-o", "table", "actors")
    assert "counter" in r.out and "name" in r.out


# -- describe / state / inspect-id --------------------------------------------------------------------------


def test_describe_state_inspect(rivetctl: Run, key: str) -> None:
    rivetctl("call", "counter", key, "increment", "3")
    d = rivetctl("describe", "counter", key).json()
    assert "increment" in d["actions"] and d["state"] == {"count": 3}
    assert rivetctl("state", "counter", key).json() == {"count": 3}
    actor_id = d["actor_id"]
    i = rivetctl("inspect-id", actor_id).json()
    assert i["name"] == "counter" and i["key"] == [key] and i["decoded"]
    r = rivetctl("inspect-id", "not-an-id!")
    assert r.code == 2


# -- watch / connect -----------------------------------------------------------------------------------------


def _call_later(rivetctl: Run, delay: float, *args: str) -> threading.Thread:
    def go() -> None:
        time.sleep(delay)
        for _ in range(3):
            rivetctl("call", *args)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def test_watch_counts_events(rivetctl: Run, key: str) -> None:
    rivetctl("call", "counter", key, "getCount")
    thread = _call_later(rivetctl, 1.0, "counter", key, "increment", "1")
    r = rivetctl("--timeout", "20", "watch", "counter", key, "newCount", "--count", "3", "--no-state")
    thread.join()
    assert r.code == 0, r.err
    events = [json.loads(line) for line in r.out.splitlines()]
    assert [e["args"] for e in events] == [[1], [2], [3]]
    assert all(e["event"] == "newCount" and e["type"] == "event" for e in events)


def test_watch_state_diffs_and_until_timeout(rivetctl: Run, key: str) -> None:
    rivetctl("call", "counter", key, "getCount")
    thread = _call_later(rivetctl, 0.8, "counter", key, "increment", "2")
    r = rivetctl("--timeout", "3", "watch", "counter", key, "--until-timeout", "--state-interval", "0.2")
    thread.join()
    assert r.code == 0, r.err
    records = [json.loads(line) for line in r.out.splitlines()]
    assert records[0]["type"] == "state" and records[0]["args"] == {"count": 0}
    diffs = [rec for rec in records if rec["type"] == "state-diff"]
    assert diffs and diffs[-1]["args"][-1]["new"] == 6


def test_watch_timeout_without_until_is_exit_8(rivetctl: Run, key: str) -> None:
    r = rivetctl("--timeout", "1", "watch", "counter", key, "newCount", "--no-state")
    assert r.code == 8


def test_watch_nothing_to_watch(rivetctl: Run, key: str) -> None:
    r = rivetctl("watch", "counter", key, "--no-state")
    assert r.code == 2 and "wildcard" in r.err


def test_watch_remembers_event_names(rivetctl: Run, key: str) -> None:
    rivetctl("--timeout", "0.5", "watch", "chatRoom", key, "typing", "--no-state", "--until-timeout")
    d = rivetctl("describe", "chatRoom", key).json()
    assert "typing" in d["known_events"]


def test_connect_script_mode(rivetctl: Run, key: str) -> None:
    script = "increment 2\n.sub tick\nmultiEvent 2\ngetCount\nnoSuchAction\n"
    r = rivetctl("connect", "counter", key, "--sub", "newCount", stdin=script)
    assert r.code == 3, r.err
    records = [json.loads(line) for line in r.out.splitlines()]
    kinds = [rec["type"] for rec in records]
    assert kinds[0] == "open"
    results = [rec for rec in records if rec["type"] == "result"]
    assert [rec["output"] for rec in results] == [2, 2, 2]
    events = [(rec["event"], rec["args"]) for rec in records if rec["type"] == "event"]
    assert ("newCount", [2]) in events and ("tick", [0, "tick-0"]) in events and ("tick", [1, "tick-1"]) in events
    errors = [rec for rec in records if rec["type"] == "error"]
    assert len(errors) == 1 and errors[0]["error"]["code"] == "action_not_found"


# -- config and profiles -----------------------------------------------------------------------------------


def test_config_profiles(rivetctl: Run, key: str, endpoint: str, cli_env: dict[str, str]) -> None:
    env_without_endpoint = {"RIVET_ENDPOINT": ""}
    r = rivetctl(
        "config",
        "set",
        "local",
        "--endpoint",
        endpoint,
        "--secret-param",
        "token=MY_SECRET",
        "--events",
        "counter=newCount",
        "--use",
    )
    assert r.code == 0, r.err
    path = Path(cli_env["XDG_CONFIG_HOME"]) / "rivetctl" / "config.toml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    r = rivetctl("call", "secure", key, "whoami", env={**env_without_endpoint, "MY_SECRET": "secret"})
    assert r.code == 0, r.err
    r = rivetctl("call", "secure", key, "whoami", env=env_without_endpoint)
    assert r.code == 2 and "MY_SECRET" in r.err
    shown = rivetctl("config", "show").json()
    assert shown["params"] == {"token": "${MY_SECRET}"}
    assert rivetctl("config", "list").json()[0]["current"] == "*"
    assert rivetctl("config", "use", "nope").code == 2
    assert rivetctl("--profile", "nope", "call", "counter", key, "getCount").code == 2
    assert rivetctl("config", "delete", "local").code == 0
    assert rivetctl("config", "list").json() == []


# -- secrets, verbosity ----------------------------------------------------------------------------------


def test_secrets_never_printed(rivetctl: Run, key: str, endpoint: str) -> None:
    secret = f"S3CR3T-{uuid.uuid4().hex}"
    ep = endpoint.replace("http://", f"http://default:{secret}@")
    r = rivetctl("-vvv", "-e", ep, "--param", f"token={secret}", "call", "secure", key, "whoami")
    assert r.code == 6
    assert secret not in r.out + r.err
    assert "> POST" in r.err and "x-rivet-conn-params: ***" in r.err
    r = rivetctl("-vv", "--token", secret, "--param", f"pw={secret}", "connect", "counter", key, stdin="getCount\n")
    assert r.code == 0, r.err
    assert secret not in r.out + r.err


# -- as a real subprocess ------------------------------------------------------------------------------------


def test_subprocess_call_version_help(cli_env: dict[str, str], key: str) -> None:
    env = subprocess_env(cli_env)
    r = subprocess.run(
        [*RIVETCTL, "call", "counter", key, "increment", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (r.returncode, r.stdout.strip()) == (0, "5"), r.stderr
    r = subprocess.run([*RIVETCTL, "--version"], env=env, capture_output=True, text=True, timeout=30)
    assert r.stdout.startswith("rivetctl ")
    r = subprocess.run([*RIVETCTL, "--help"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "rivetctl call counter my-counter increment 5" in r.stdout


def test_subprocess_closed_pipe_is_quiet(cli_env: dict[str, str], key: str) -> None:
    env = subprocess_env(cli_env)
    cmd = (
        f"{sys.executable} -m rivetctl -o jsonl call counter {key} echo "
        + " ".join(str(i) for i in range(2000))
        + " | head -c 10"
    )
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in r.stderr and "Broken pipe" not in r.stderr


def test_subprocess_ctrl_c_exits_130(cli_env: dict[str, str], key: str) -> None:
    env = subprocess_env(cli_env)
    proc = subprocess.Popen(
        [*RIVETCTL, "call", "counter", key, "slow", "5000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_commands_feed_the_completion_cache(rivetctl: Run, key: str, cli_env: dict[str, str]) -> None:
    cache = Path(cli_env["XDG_CACHE_HOME"]) / "rivetctl"
    rivetctl("actors")
    assert "counter" in (cache / "names.txt").read_text().split()
    rivetctl("call", "chatRoom", key, "getHistory")
    assert (cache / "names.txt").read_text().split()[0] == "chatRoom"
    assert (cache / "actions" / "chatRoom.txt").read_text().split()[0] == "getHistory"
    rivetctl("call", "counter", key, "getCount")
    assert rivetctl("describe", "counter", key).code == 0
    assert "increment" in (cache / "actions" / "counter.txt").read_text().split()


def test_watch_rejected_connection_exits_with_auth_code(rivetctl: Run, key: str) -> None:
    started = time.monotonic()
    r = rivetctl("--timeout", "15", "watch", "secure", key, "anything", "--no-state")
    assert r.code == 6, r.err
    assert "auth.forbidden" in r.err
    assert time.monotonic() - started < 10


def test_watch_reports_gap_and_keeps_streaming(server: DevServer, cli_env: dict[str, str], key: str) -> None:
    """The proxy cuts the watch's connection: stderr reports the gap, events resume, none duplicated."""
    import asyncio

    from tests.faultproxy import FaultProxy

    async def scenario() -> tuple[int, str, str]:
        async with FaultProxy(server.endpoint) as proxy:
            out, err = io.StringIO(), io.StringIO()
            env = {**cli_env, "RIVET_ENDPOINT": proxy.endpoint}
            watch = asyncio.ensure_future(
                asyncio.to_thread(
                    main,
                    ["--timeout", "25", "watch", "counter", key, "newCount", "--count", "4", "--no-state"],
                    env=env,
                    stdout=out,
                    stderr=err,
                )
            )
            from rivetctl.client import Client

            async with Client(server.endpoint, env={}) as client:
                counter = client.counter.get_or_create(key)
                await counter.getCount()
                while "watching" not in err.getvalue():
                    await asyncio.sleep(0.05)
                await counter.increment(1)
                await counter.increment(1)
                while out.getvalue().count("\n") < 2:
                    await asyncio.sleep(0.05)
                await proxy.refuse_for(1.0)
                while "reconnected" not in err.getvalue():
                    await asyncio.sleep(0.05)
                await counter.increment(1)
                await counter.increment(1)
            code = await asyncio.wait_for(watch, 30)
            return code, out.getvalue(), err.getvalue()

    code, out, err = asyncio.run(scenario())
    assert code == 0, err
    assert [json.loads(line)["args"] for line in out.splitlines()] == [[1], [2], [3], [4]]
    assert "lost" in err and "reconnected" in err


def test_repl_script_mode_runs_dot_commands(rivetctl: Run, key: str, tmp_path: Path) -> None:
    transcript = tmp_path / "session.jsonl"
    script = "\n".join(
        [
            f".use counter {key}",
            ".sub newCount",
            "increment 3",
            ".state",
            ".http getCount",
            ".events 5",
            f".use chatRoom {key}",
            "sendMessage bob hi",
            ".status",
            f".save {transcript}",
            ".quit",
            "neverRuns",
        ]
    )
    r = rivetctl("repl", stdin=script + "\n")
    assert r.code == 0, r.out + r.err
    records = [json.loads(line) for line in r.out.splitlines()]
    by_type: dict[str, list[dict[str, object]]] = {}
    for rec in records:
        by_type.setdefault(str(rec["type"]), []).append(rec)
    assert [o["actor"] for o in by_type["open"]] == [f'counter/["{key}"]', f'chatRoom/["{key}"]']
    assert [res["output"] for res in by_type["result"]][:2] == [3, 3]
    assert by_type["value"][0]["value"] == {"count": 3}
    assert any(ev["event"] == "newCount" and ev["args"] == [3] for ev in by_type["event"])
    statuses = by_type["table"][-1]["rows"]
    assert {row["status"] for row in statuses} == {"connected"}  # type: ignore[index]
    saved = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [rec["type"] for rec in saved if rec["type"] == "result"] == ["result", "result"]
    assert not any(rec.get("action") == "neverRuns" for rec in records)


def test_dev_server_starts_serves_and_stops_completely(cli_env: dict[str, str], tmp_path: Path) -> None:
    from rivetctl.devserver import _alive, find_free_port_triple

    port = find_free_port_triple()
    data = tmp_path / "data"
    env = subprocess_env(cli_env)
    proc = subprocess.Popen(
        [*RIVETCTL, "dev-server", "--port", str(port), "--data", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"ready at http://127.0.0.1:{port}" in line, line
        engine_pid = json.loads((data / ".rivetkit" / "var" / "engine" / "runtime.json").read_text())["pid"]
        r = subprocess.run(
            [*RIVETCTL, "-e", f"http://127.0.0.1:{port}", "call", "counter", "k", "increment", "2"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.stdout.strip() == "2", r.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while _alive(engine_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(engine_pid)


def test_registry_names_are_cached_between_runs(rivetctl: Run, key: str) -> None:
    first = rivetctl("-v", "call", "counter", key, "getCount")
    assert "/actors/names" in first.err
    second = rivetctl("-v", "call", "counter", key, "getCount")
    assert second.code == 0 and "/actors/names" not in second.err
    # A name not in the cache is still checked against the registry (no junk actor).
    typo = rivetctl("-v", "call", "countr", key, "getCount")
    assert typo.code == 4 and "/actors/names" in typo.err
