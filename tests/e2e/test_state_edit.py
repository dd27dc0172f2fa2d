"""``rivetctl state`` writing through the real server's inspector: --set, --patch, --edit with a scripted
editor (unchanged, changed, invalid JSON, a conflict, --force), plain-JSON limits, tokens."""

from __future__ import annotations

import io
import json
import stat
import sys
from pathlib import Path

import pytest

from rivetctl.cli.app import main
from rivetctl.frontend.exits import Exit
from tests.envs import private_home

RIVETCTL = str(Path(sys.executable).with_name("rivetctl"))


class Cli:
    def __init__(self, endpoint: str, tmp_path: Path) -> None:
        self.env = {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}
        self.tmp = tmp_path
        self.endpoint = endpoint

    def __call__(self, *args: str, stdin: str = "", **env: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env={**self.env, **env}, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def editor(self, body: str) -> str:
        path = self.tmp / f"editor-{len(list(self.tmp.glob('editor-*')))}.sh"
        path.write_text("#!/bin/sh\nset -e\n" + body + "\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return str(path)


@pytest.fixture
def cli(endpoint: str, tmp_path: Path) -> Cli:
    return Cli(endpoint, tmp_path)


def _state(cli: Cli, key: str) -> object:
    code, out, err = cli("state", "counter", key, "-o", "json")
    assert code == 0, err
    return json.loads(out)


def test_set_and_patch_write_and_print_the_new_state(cli: Cli, key: str) -> None:
    assert cli("call", "counter", key, "increment", "2")[0] == 0
    code, out, err = cli("state", "counter", key, "--set", '{"count": 7}', "-o", "json")
    assert code == 0, err
    assert json.loads(out) == {"count": 7}
    assert cli("call", "counter", key, "getCount", "-o", "raw")[1] == "7\n"  # the actor sees it
    code, out, _ = cli("state", "counter", key, "--patch", '{"extra": {"a": 1, "b": 2}}', "-o", "json")
    assert json.loads(out) == {"count": 7, "extra": {"a": 1, "b": 2}}
    code, out, _ = cli("state", "counter", key, "--patch", "-", "-o", "json", stdin='{"extra": {"a": null}}')
    assert code == 0 and json.loads(out) == {"count": 7, "extra": {"b": 2}}
    patch_file = cli.tmp / "patch.json"
    patch_file.write_text('{"extra": null, "count": 1}')
    code, out, _ = cli("state", "counter", key, "--patch", f"@{patch_file}", "-o", "json")
    assert code == 0 and json.loads(out) == {"count": 1}


def test_values_the_inspector_cannot_carry_are_refused_before_anything_is_sent(cli: Cli, key: str) -> None:
    assert cli("call", "counter", key, "increment", "3")[0] == 0
    for value in ('["$BigInt", "5"]', '{"count": 9007199254740993}', "{not json"):
        code, _, err = cli("state", "counter", key, "--set", value)
        assert code == Exit.USAGE, err
        assert len(err.strip().splitlines()) == 1
    assert _state(cli, key) == {"count": 3}


def test_a_bigint_in_the_state_is_explained(cli: Cli, key: str) -> None:
    code, _, err = cli("--encoding", "cbor", "call", "counter", key, "setCount", '["$BigInt", "12345678901234567890"]')
    assert code == 0, err
    code, _, err = cli("state", "counter", key)
    assert code != 0 and "BigInt" in err and "plain JSON" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_edit_unchanged_writes_nothing(cli: Cli, key: str) -> None:
    assert cli("call", "counter", key, "increment", "4")[0] == 0
    code, out, err = cli("state", "counter", key, "--edit", "-o", "json", EDITOR="true")
    assert code == 0 and "no change" in err and json.loads(out) == {"count": 4}
    assert not list(Path(cli.tmp).glob("rivetctl-state-*"))


def test_edit_writes_the_change(cli: Cli, key: str, tmp_path: Path) -> None:
    assert cli("call", "counter", key, "increment", "4")[0] == 0
    editor = cli.editor('sed -i "s/4/40/" "$1"')
    code, out, err = cli("state", "counter", key, "--edit", "-o", "json", VISUAL=editor, EDITOR="false")
    assert code == 0, err
    assert json.loads(out) == {"count": 40} and _state(cli, key) == {"count": 40}


def test_edit_invalid_json_keeps_the_file_and_writes_nothing(cli: Cli, key: str, tmp_path: Path) -> None:
    assert cli("call", "counter", key, "increment", "5")[0] == 0
    editor = cli.editor('echo "{broken" > "$1"')
    code, _, err = cli("state", "counter", key, "--edit", EDITOR=editor, TMPDIR=str(tmp_path))
    assert code == Exit.USAGE and "not valid JSON" in err
    kept = err.split("your edit: ", 1)[1].split(")")[0]
    assert Path(kept).read_text().strip() == "{broken"
    assert _state(cli, key) == {"count": 5}


def test_edit_conflict_writes_nothing_and_exits_5_unless_forced(cli: Cli, key: str, tmp_path: Path) -> None:
    assert cli("call", "counter", key, "increment", "6")[0] == 0
    meanwhile = (
        f'RIVET_ENDPOINT={cli.endpoint} {RIVETCTL} call counter {key} increment 1 >/dev/null\nsed -i "s/6/60/" "$1"'
    )
    editor = cli.editor(meanwhile)
    code, _, err = cli("state", "counter", key, "--edit", EDITOR=editor, TMPDIR=str(tmp_path))
    assert code == Exit.ALREADY_EXISTS == 5, err
    assert "changed on the server" in err
    mine = err.split("your edit: ", 1)[1].split(";")[0]
    theirs = err.split("the server's state: ", 1)[1].split(";")[0]
    assert json.loads(Path(mine).read_text()) == {"count": 60}
    assert json.loads(Path(theirs).read_text()) == {"count": 7}
    assert _state(cli, key) == {"count": 7}
    editor = cli.editor(meanwhile.replace('"s/6/60/"', '"s/7/70/"'))
    code, out, err = cli("state", "counter", key, "--edit", "--force", "-o", "json", EDITOR=editor)
    assert code == 0, err
    assert json.loads(out) == {"count": 70}  # written over the server's 8


def test_only_one_way_of_writing(cli: Cli, key: str) -> None:
    code, _, err = cli("state", "counter", key, "--set", "{}", "--edit")
    assert code == Exit.USAGE and "one of" in err
    code, _, err = cli("state", "counter", key, "--force")
    assert code == Exit.USAGE


def test_a_refused_inspector_token_names_where_it_came_from(cli: Cli, key: str) -> None:
    assert cli("call", "counter", key, "increment", "1")[0] == 0
    code, _, err = cli("state", "counter", key, RIVET_INSPECTOR_TOKEN="not-the-token")
    assert code == Exit.AUTH and "RIVET_INSPECTOR_TOKEN" in err and "not-the-token" not in err


def test_missing_actor_is_exit_4(cli: Cli, key: str) -> None:
    code, _, err = cli("state", "counter", key, "--set", "{}", "-o", "json")
    assert code == Exit.NOT_FOUND, err


def test_a_given_inspector_token_is_used(cli: Cli, key: str) -> None:
    import asyncio

    from rivetctl.client import Client

    assert cli("call", "counter", key, "increment", "3")[0] == 0

    async def own_token() -> str:
        async with Client(cli.endpoint, env={}) as client:
            actor_id = await client.counter.get(key).resolve()
            token = await client.engine.inspector_token(actor_id)
            assert token
            return token

    token = asyncio.run(own_token())
    code, out, err = cli("--inspector-token", token, "state", "counter", key, "-o", "json")
    assert code == 0 and json.loads(out) == {"count": 3}, err
    code, out, err = cli("state", "counter", key, "-o", "json", RIVET_INSPECTOR_TOKEN=token)
    assert code == 0 and json.loads(out) == {"count": 3}, err
    code, _, err = cli("--inspector-token", "wrong", "state", "counter", key)
    assert code == Exit.AUTH and "--inspector-token" in err
    profile = ("config", "set", "insp", "--endpoint", cli.endpoint, "--inspector-token-env", "MY_INSPECTOR_TOKEN")
    assert cli(*profile, "--use")[0] == 0
    code, out, err = cli("state", "counter", key, "-o", "json", MY_INSPECTOR_TOKEN=token)
    assert code == 0 and json.loads(out) == {"count": 3}, err
    code, out, err = cli("state", "counter", key, "-o", "json", MY_INSPECTOR_TOKEN="nope")
    assert code == Exit.AUTH and "MY_INSPECTOR_TOKEN" in err and "nope" not in err
