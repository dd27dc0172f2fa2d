"""``--dry-run`` and :mod:`rivetctl.frontend.curl`: the printed curl commands, run by bash against the real
server, do what rivetctl does (same answer), nothing is sent by rivetctl itself, and no secret is printed."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rivetctl.cli.app import main
from rivetctl.client import Client
from rivetctl.frontend.args import parse_address, parse_args
from rivetctl.frontend.curl import Curl, create_body, curl_for_handle, secret_param_vars
from rivetctl.frontend.exits import Exit
from rivetctl.frontend.runner import handle_for
from rivetctl.frontend.settings import GlobalOptions, Settings
from tests.envs import outside_world, private_home

pytestmark = pytest.mark.server

TOKEN = "planted-token-5f3a9c"
PASSWORD = "planted-password-77e1"
SECURE = "secret"  # the example registry's secure actor accepts this token param


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), env=env, stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def bash(command: str, env: dict[str, str]) -> Any:
    """Run a printed command with bash as a user would paste it; its answer as JSON."""
    r = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env={**outside_world(), **env}, timeout=60
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    return {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}


def call_curl(env: dict[str, str], name: str, key: str, action: str, *args: str, **given: Any) -> Curl:
    """The curl command for ``rivetctl [given options] call NAME KEY ACTION ARGS...`` (what ``call --dry-run``
    prints), built as the command line builds its handle: no request is made."""
    settings = Settings(GlobalOptions(**given), env=env, stdout=io.StringIO(), stderr=io.StringIO())
    client = Client(options=settings.client_options())
    handle = handle_for(client, parse_address(name, key), params=settings.params())
    return curl_for_handle(handle, action, parse_args(list(args)), param_vars=secret_param_vars(settings))


def count(env: dict[str, str], key: str) -> int:
    code, out, err = run(env, "call", "counter", key, "getCount")
    assert code == 0, err
    return int(out)


def test_call_curl_gives_the_same_output(env: dict[str, str], key: str) -> None:
    assert run(env, "call", "counter", key, "setCount", "3")[0] == 0
    curl = call_curl(env, "counter", key, "increment", "5")
    assert count(env, key) == 3  # building it sent nothing
    assert "rvt-method=getOrCreate" in curl.command and "'x-rivet-encoding: json'" in curl.command
    assert bash(curl.command, {}) == {"output": 8}
    code, out, _ = run(env, "call", "counter", key, "increment", "5")
    assert (code, json.loads(out)) == (0, 13)
    args = ("echo", "it's", '{"a": [1, "$x"], "b": "\\"q\\""}', "-3", "héllo", "$HOME", "`id`")
    curl = call_curl(env, "counter", key, *args)
    code, out, _ = run(env, "call", "counter", key, *args)
    assert bash(curl.command, {})["output"] == json.loads(out)


def test_call_curl_by_id_and_tagged_values(env: dict[str, str], key: str) -> None:
    assert run(env, "call", "counter", key, "setCount", "1")[0] == 0
    code, out, _ = run(env, "-o", "json", "get", "counter", key)
    actor_id = json.loads(out)["actor_id"]
    args = ("describeArgs", '["$BigInt","12345678901234567890"]', '["$Uint8Array","AAEC"]', '["$$fake",1]')
    curl = call_curl(env, "counter", f"@{actor_id}", *args)
    assert f"/gateway/{actor_id}/action/describeArgs" in curl.command
    code, out, err = run(env, "call", "counter", f"@{actor_id}", *args)
    assert code == 0, err
    assert bash(curl.command, {})["output"] == json.loads(out)


def test_call_curl_carries_the_token_and_secret_params_as_references(env: dict[str, str], key: str) -> None:
    curl = call_curl(env, "counter", key, "connInfo", token=TOKEN, param=["user=alice", f"password={PASSWORD}"])
    assert TOKEN not in curl.command and PASSWORD not in curl.command
    assert '"x-rivet-token: $RIVET_TOKEN"' in curl.command and "rvt-token=" in curl.command
    assert curl.variables == ("RIVET_TOKEN", "RIVETCTL_PARAM_PASSWORD")
    now = bash(curl.command, {"RIVET_TOKEN": TOKEN, "RIVETCTL_PARAM_PASSWORD": PASSWORD})["output"]
    given = ["--token", TOKEN, "--param", "user=alice", "--param", f"password={PASSWORD}"]
    code, out, err = run(env, *given, "call", "counter", key, "connInfo")
    assert code == 0, err
    assert now["params"] == json.loads(out)["params"] == {"user": "alice", "password": PASSWORD}


def test_profile_secret_params_use_the_profile_variable(env: dict[str, str], key: str) -> None:
    env = {**env, "SECURE_TOKEN": SECURE}
    code, _, err = run(
        env, "config", "set", "sec", "--param", "user=alice", "--secret-param", "token=SECURE_TOKEN", "--use"
    )
    assert code == 0, err
    curl = call_curl(env, "secure", key, "whoami")
    assert SECURE not in curl.command.replace("secure", "")
    assert '"${SECURE_TOKEN}"' in curl.command and curl.variables == ("SECURE_TOKEN",)
    code, out, err = run(env, "call", "secure", key, "whoami")
    assert (code, json.loads(out)) == (0, {"user": "alice", "visits": 1}), err
    assert bash(curl.command, {"SECURE_TOKEN": SECURE})["output"] == {"user": "alice", "visits": 2}
    # the actor refuses a wrong token: the reference is really what reaches it
    refused = bash(curl.command, {"SECURE_TOKEN": "wrong"})
    assert refused["group"] == "auth" and refused["code"] == "forbidden"


def test_get_dry_run_sends_nothing_and_its_curl_finds_the_actor(env: dict[str, str], key: str) -> None:
    code, out, err = run(env, "-e", "http://127.0.0.1:9", "get", "counter", key, "--dry-run")
    assert code == 0 and out.startswith("curl ") and err == ""  # the server was never reached: nothing sent
    code, out, _ = run(env, "get", "counter", key, "--dry-run")
    assert bash(out, {}) == {"actors": [], "pagination": {"cursor": None}}  # no such actor (yet)
    assert run(env, "call", "counter", key, "getCount")[0] == 0
    code, out, _ = run(env, "get", "counter", key, "--dry-run")
    found = bash(out, {})["actors"]
    code, mine, _ = run(env, "-o", "json", "get", "counter", key)
    assert [a["actor_id"] for a in found] == [json.loads(mine)["actor_id"]]
    code, out, _ = run(env, "get", "counter", f"@{found[0]['actor_id']}", "--dry-run")
    assert [a["actor_id"] for a in bash(out, {})["actors"]] == [found[0]["actor_id"]]


def test_create_dry_run_then_its_curl_creates_the_actor(env: dict[str, str], key: str) -> None:
    code, out, err = run(env, "--token", TOKEN, "create", "withInput", key, "--input", '{"mode":"casual"}', "--dry-run")
    assert code == 0 and TOKEN not in out + err
    assert "export RIVET_TOKEN=" in err and '"authorization: Bearer $RIVET_TOKEN"' in out
    assert run(env, "get", "withInput", key)[0] == Exit.NOT_FOUND  # nothing sent
    created = bash(out, {"RIVET_TOKEN": TOKEN})["actor"]
    code, mine, _ = run(env, "-o", "json", "get", "withInput", key)
    assert created["actor_id"] == json.loads(mine)["actor_id"]
    code, got, _ = run(env, "call", "withInput", key, "getInput")
    assert json.loads(got) == {"mode": "casual"}
    duplicate = bash(out, {"RIVET_TOKEN": TOKEN})  # as rivetctl create: an existing key is refused
    assert "actor" not in duplicate and duplicate["group"] == "actor"  # duplicate_key (or, under load, the
    # engine's destroyed_during_creation, which rivetctl words as duplicate_key after a lookup)
    assert run(env, "create", "withInput", key)[0] == Exit.ALREADY_EXISTS


async def test_create_body_is_the_engine_clients(env: dict[str, str]) -> None:
    options = Settings(GlobalOptions(), env=env).client_options()
    async with Client(options=options) as client:
        for key, value, has_input, region in ((["a", "b/c"], {"x": 1}, True, None), (None, None, False, "default")):
            mine = create_body(options, "withInput", key, input=value, has_input=has_input, region=region)
            assert mine == await client.engine._create_body("withInput", key, value, has_input, region)


def test_destroy_dry_run_then_its_curl_destroys(env: dict[str, str], key: str) -> None:
    assert run(env, "call", "counter", key, "setCount", "2")[0] == 0
    code, out, _ = run(env, "destroy", "counter", key, "--dry-run")
    assert code == 0 and "grep -o" in out
    assert count(env, key) == 2  # still there: nothing sent
    assert bash(out, {}) == {}
    assert run(env, "get", "counter", key)[0] == Exit.NOT_FOUND
    missing = subprocess.run(["bash", "-c", out], capture_output=True, text=True, env=outside_world(), timeout=60)
    assert missing.returncode != 0 and missing.stdout == ""  # no such actor: the DELETE is not run
    other = f"{key}-id"
    assert run(env, "call", "counter", other, "getCount")[0] == 0
    code, got, _ = run(env, "-o", "json", "get", "counter", other)
    actor_id = json.loads(got)["actor_id"]
    code, out, _ = run(env, "destroy", "counter", f"@{actor_id}", "--dry-run")
    assert "grep" not in out and f"/actors/{actor_id}?" in out
    assert bash(out, {}) == {}
    assert run(env, "get", "counter", f"@{actor_id}", "-o", "json")[1].count('"destroyed"') >= 1


def test_secrets_are_never_printed(env: dict[str, str], key: str) -> None:
    """A token and secret params planted every way rivetctl takes them: none is in any output of --dry-run."""
    env = {**env, "RIVET_TOKEN": TOKEN, "SECURE_TOKEN": SECURE, "RIVETCTL_PARAMS": json.dumps({"apiKey": PASSWORD})}
    outputs = []
    for argv in (
        ["get", "counter", key, "--dry-run"],
        ["create", "counter", key, "--dry-run"],
        ["destroy", "counter", key, "--dry-run"],
        ["--token", TOKEN, "-v", "get", "counter", key, "--dry-run"],
    ):
        code, out, err = run(env, *argv)
        assert code == 0, err
        outputs.append(out + err)
    curl = call_curl(env, "counter", key, "connInfo")
    outputs.append(curl.command)
    assert "RIVETCTL_PARAM_APIKEY" in curl.variables
    for text in outputs:
        assert TOKEN not in text and PASSWORD not in text
    assert asyncio.run(_exists(env, key)) is False


async def _exists(env: dict[str, str], key: str) -> bool:
    async with Client(env["RIVET_ENDPOINT"], env={}) as client:
        return await client.engine.find_actor("counter", [key]) is not None
