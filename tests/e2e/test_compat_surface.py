"""What rivetctl offers on every server of the compatibility matrix (``scripts/test-compat``): RivetKit 2.0–2.2
in file-system mode and as runners behind a 2.3 engine, and 2.3.x. Each test runs in the default suite too
(against the pinned 2.3 server); where a server legitimately lacks a feature, the test asserts the one-line
refusal instead."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from rivetctl.client import Client
from rivetctl.errors import ActorError, ActorNotFoundError, AuthError, UnknownActorNameError
from rivetctl.protocol.server_info import parse_version
from tests.clirun import Run, in_process
from tests.envs import private_home

pytestmark = pytest.mark.compat

ENCODINGS = ["json", "cbor", "bare"]


@pytest.fixture
def cli(endpoint: str, tmp_path: Path) -> Run:
    return in_process({"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)})


def file_system(kind: tuple[str, str]) -> bool:
    return kind[1] == "file-system"


def older_than(kind: tuple[str, str], version: tuple[int, ...]) -> bool:
    parsed = parse_version(kind[0])
    assert parsed is not None
    return parsed < version


# -- know the server --------------------------------------------------------------------------------------


def test_ping_names_runtime_version_and_mode(cli: Run, server_kind: tuple[str, str]) -> None:
    version, shape = server_kind
    r = cli("-o", "json", "ping")
    assert r.code == 0, r.err
    info = r.json()
    assert isinstance(info, dict) and info["supported"] is True and info["status"] == "ok"
    if shape == "file-system":
        assert (info["runtime"], info["version"], info["mode"]) == ("rivetkit", version, "file-system")
        assert info["server"] == f"RivetKit {version} (file-system mode)"
    elif shape == "runner":
        assert (info["runtime"], info["mode"]) == ("engine", "runner-behind-engine")
        reported = version if version >= "2.1" else "2.0"  # 2.0 runners do not report their version
        assert info["rivetkit"] == [reported] and f"RivetKit {reported} runners" in info["server"]
    else:
        assert (info["runtime"], info["mode"]) == ("engine", "engine") and version in info["rivetkit"]


def test_verbose_notes_the_server_once(cli: Run, key: str, server_kind: tuple[str, str]) -> None:
    r = cli("-v", "call", "counter", key, "getCount")
    assert r.code == 0, r.err
    notes = [line for line in r.err.splitlines() if "] server: " in line]
    reported = server_kind[0] if server_kind[0] >= "2.1" else "2.0"  # 2.0 runners do not report their version
    assert len(notes) == 1 and reported in notes[0], r.err


# -- the CLI ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_call_in_every_encoding(cli: Run, key: str, encoding: str) -> None:
    assert cli("--encoding", encoding, "call", "counter", key, "increment", "5").json() == 5
    assert cli("--encoding", encoding, "call", "counter", key, "increment", "2").json() == 7
    assert cli("--encoding", encoding, "call", "counter", key, "getCount").json() == 7


def test_compound_key_comma_key_and_by_id(cli: Run, key: str, server_kind: tuple[str, str]) -> None:
    compound = json.dumps(["org", key])
    if file_system(server_kind) and older_than(server_kind, (2, 1)):
        # 2.0's REST API takes a key as one string, and a file-system server has no query URLs
        r = cli("call", "counter", compound, "increment", "2")
        assert r.code == 2 and "does not support keys of 2 elements" in r.err, r.err
        compound = json.dumps([f"org/{key}"])
    assert cli("call", "counter", compound, "increment", "2").json() == 2
    info = cli("get", "counter", compound).json()
    assert isinstance(info, dict) and info["key"] == json.loads(compound)
    assert cli("call", "counter", f"@{info['actor_id']}", "getCount").json() == 2
    comma = json.dumps([f"a,b-{key}"])  # no query URL can carry it: resolved through REST
    assert cli("call", "counter", comma, "increment", "3").json() == 3
    assert cli("call", "counter", comma, "getCount").json() == 3


def test_errors_and_exit_codes(cli: Run, key: str) -> None:
    r = cli("call", "counter", key, "throwUserCode")
    assert r.code == 3 and "user.RATE_LIMITED: nope" in r.err and "Traceback" not in r.err
    r = cli("call", "counter", key, "noSuchAction")
    assert r.code == 4 and "not_found" in r.err and "noSuchAction" in r.err
    r = cli("call", "countr", key, "increment")
    assert r.code == 4 and "did you mean 'counter'" in r.err
    r = cli("call", "counter", f"missing-{key}", "getCount", "--no-create")
    assert r.code == 4 and "actor.not_found" in r.err
    r = cli("call", "counter", key, "echo", "x" * 70000)
    assert r.code == 2 and "65536" in r.err
    r = cli("-o", "json", "call", "counter", key, "throwUserMeta")
    assert r.code == 3
    doc = json.loads(r.out)["error"]
    assert doc["code"] == "custom_code" and doc["metadata"] == {"reason": "because", "n": 42}


def test_get_create_input_and_duplicates(cli: Run, key: str) -> None:
    assert cli("get", "withInput", key).code == 4
    r = cli("create", "withInput", key, "--input", '{"x":1}')
    assert r.code == 0, r.err
    actor_id = r.json()["actor_id"]  # type: ignore[index]
    r = cli("create", "withInput", key)
    assert r.code == 5
    info = cli("get", "withInput", key).json()
    assert isinstance(info, dict) and info["actor_id"] == actor_id and info["key"] == [key]
    assert cli("call", "withInput", key, "getInput").json() == {"x": 1}
    r = cli("call", "withInput", f"other-{key}", "getInput", "--input", '{"mode":"y"}')
    assert r.json() == {"mode": "y"}


def test_destroy_and_sleep_or_a_clear_refusal(cli: Run, key: str, server_kind: tuple[str, str]) -> None:
    version, _ = server_kind
    assert cli("call", "counter", key, "increment").code == 0
    if file_system(server_kind):
        for command in ("destroy", "sleep"):
            r = cli(command, "counter", key)
            assert r.code == 2, r.err
            assert r.err.startswith(f"rivetctl: RivetKit {version} (file-system mode) does not support"), r.err
            assert len(r.err.strip().splitlines()) == 1
        assert cli("call", "counter", key, "getCount").json() == 1  # nothing happened to it
        return
    assert cli("sleep", "counter", key).code == 0
    assert cli("call", "counter", key, "getCount").json() == 1  # woke with its state
    r = cli("destroy", "counter", key)
    assert r.code == 0, r.err
    assert cli("get", "counter", key).code == 4


def test_actors_listing_describe_state_and_inspect_id(cli: Run, key: str, server_kind: tuple[str, str]) -> None:
    assert cli("call", "counter", key, "increment", "4").json() == 4
    names = {row["name"] for row in cli("actors").json()}  # type: ignore[union-attr]
    assert {"counter", "chatRoom", "withInput"} <= names
    rows = cli("actors", "counter", "--all").json()
    assert isinstance(rows, list) and any(row["key"] == [key] for row in rows)
    if older_than(server_kind, (2, 1)):  # RivetKit 2.0 has no inspector HTTP routes
        r = cli("state", "counter", key)
        assert r.code == 2 and "RivetKit 2.0" in r.err and "inspector" in r.err, r.err
        assert len(r.err.strip().splitlines()) == 1
        described = cli("describe", "counter", key).json()  # what the engine knows, and why no more
        assert isinstance(described, dict) and described["key"] == [key]
        assert "RivetKit 2.0" in json.dumps(described)
        return
    assert cli("state", "counter", key).json() == {"count": 4}
    described = cli("describe", "counter", key).json()
    assert isinstance(described, dict) and "increment" in described["actions"]
    actor_id = described["actor_id"]
    r = cli("-o", "json", "inspect-id", actor_id)
    assert r.code == 0, r.err
    doc = r.json()
    assert isinstance(doc, dict) and doc["name"] == "counter" and doc["key"] == [key]


def test_fan_out_over_keys(cli: Run, key: str) -> None:
    keys = [f"{key}-{i}" for i in range(3)]
    r = cli("-o", "jsonl", "call", "counter", "--keys", ",".join(keys), "increment", "2")
    assert r.code == 0, r.err
    lines = r.lines()
    assert sorted(str(line["key"]) for line in lines) == sorted(str([k]) for k in keys)
    assert all(line["ok"] is True and line["output"] == 2 for line in lines)


def test_watch_streams_events(cli: Run, key: str) -> None:
    assert cli("call", "counter", key, "getCount").code == 0

    def later() -> None:
        time.sleep(1.5)
        for _ in range(3):
            cli("call", "counter", key, "increment", "1")

    thread = threading.Thread(target=later)
    thread.start()
    r = cli("--timeout", "30", "watch", "counter", key, "newCount", "--count", "3", "--no-state")
    thread.join()
    assert r.code == 0, r.err
    assert [e["args"] for e in r.lines()] == [[1], [2], [3]]


def test_connect_script_mode(cli: Run, key: str) -> None:
    r = cli("connect", "counter", key, "--sub", "newCount", stdin="increment 2\nmultiEvent 2\ngetCount\nnoSuchAction\n")
    assert r.code == 3, r.err
    records = r.lines()
    assert records[0]["type"] == "open"
    assert [rec["output"] for rec in records if rec["type"] == "result"] == [2, 2, 2]
    assert ("newCount", [2]) in [(rec["event"], rec["args"]) for rec in records if rec["type"] == "event"]
    errors = [rec for rec in records if rec["type"] == "error"]
    assert len(errors) == 1


def test_connection_params_accepted_and_refused(cli: Run, key: str) -> None:
    r = cli("--param", "token=secret", "--param", "user=bob", "call", "secure", key, "whoami")
    assert r.code == 0, r.err
    assert r.json() == {"user": "bob", "visits": 1}
    r = cli("--param", "user=banned", "watch", "secure", key, "x", "--no-state", "--count", "1")
    assert r.code == 6, r.err
    assert "unauthorized" in r.err and "Traceback" not in r.err


# -- the library -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_library_queries_and_values(endpoint: str, key: str, encoding: str) -> None:
    async with Client(endpoint, encoding=encoding, env={}) as client:
        handle = client.counter.get_or_create(f"{key}-{encoding}")
        assert await handle.increment(3) == 3
        actor_id = await handle.resolve()
        assert await client.counter.get_for_id(actor_id).getCount() == 3
        assert await client.counter.get(f"{key}-{encoding}").getCount() == 3
        with pytest.raises(ActorNotFoundError):
            await client.counter.get([f"missing-{key}"]).getCount()
        with pytest.raises(UnknownActorNameError):
            await client.nosuch.get_or_create(key).x()
        with pytest.raises(ActorError) as user:
            await handle.throwUser()
        assert (user.value.group, user.value.code) == ("user", "user_error")
        big = 2**53 + 11
        assert await handle.echo(big, "héllo ✓", [1, {"a": None}], 2.5) == [big, "héllo ✓", [1, {"a": None}], 2.5]


async def test_bare_is_lossless(endpoint: str, key: str) -> None:
    async with Client(endpoint, encoding="bare", env={}) as client:
        out = await client.counter.get_or_create(key).types()
    assert out["bigint"] == 12345678901234567890
    assert out["bytes"] == bytes([0, 1, 2, 253, 254, 255])
    assert out["set"] == {1, "two", 3}


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_connection_actions_and_events(endpoint: str, key: str, encoding: str) -> None:
    async with Client(endpoint, encoding=encoding, env={}) as client:
        seen: list[int] = []
        got = asyncio.Event()
        async with client.counter.get_or_create(key).connect() as conn:

            def on_count(n: int) -> None:
                seen.append(n)
                if len(seen) == 3:
                    got.set()

            conn.on("newCount", on_count)
            results = await asyncio.gather(conn.increment(1), conn.increment(1), conn.increment(1))
            await asyncio.wait_for(got.wait(), 10)
            assert sorted(results) == [1, 2, 3] and sorted(seen) == [1, 2, 3]
            with pytest.raises(ActorError):
                await conn.throwUser()
            assert await conn.getCount() == 3  # an action error does not break the connection


async def test_connection_refused_by_on_before_connect(endpoint: str, key: str) -> None:
    async with Client(endpoint, encoding="bare", env={}) as client:
        conn = client.secure.get_or_create(key).connect({"user": "banned"})
        with pytest.raises(AuthError):
            async with conn:
                await conn.whoami()
