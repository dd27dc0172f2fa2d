"""``rivetctl replay`` against the real server: a REPL session saved in script mode with ``.save`` replays
matching (exit 0); after the actor's behaviour changed it differs (exit 1, a diff); ``--update`` rewrites the
file, which then matches; replayed against another actor with NAME KEY."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rivetctl.cli.app import main
from rivetctl.frontend.exits import Exit
from tests.envs import private_home

pytestmark = pytest.mark.server


def run(env: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    return {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}


def record_session(env: dict[str, str], key: str, path: Path) -> list[dict[str, object]]:
    """A REPL session in script mode: set the count, read it, increment, echo, an action that throws, .save."""
    script = "\n".join(
        [
            f".use counter {key}",
            "setCount 3",
            "getCount",
            "increment 2",
            'echo hello 42 \'{"a":[1,2]}\' \'["$Uint8Array","AAEC"]\'',
            "throwUser",
            f".save {path}",
        ]
    )
    code, _, err = run(env, "repl", stdin=script + "\n")
    assert code == Exit.ACTOR_ERROR, err  # throwUser's error is the session's exit code
    return [json.loads(line) for line in path.read_text().splitlines()]


def calls(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_a_saved_session_replays_matching(env: dict[str, str], key: str, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    saved = record_session(env, key, path)
    assert [r["action"] for r in saved if r["type"] in ("result", "error")] == [
        "setCount",
        "getCount",
        "increment",
        "echo",
        "throwUser",
    ]
    assert not any("params" in r for r in saved)
    code, out, err = run(env, "replay", str(path))
    assert code == 0, err
    rows = calls(out)
    assert [r["match"] for r in rows] == [True] * 5
    assert [r["now"] for r in rows][:3] == [3, 3, 5]
    assert rows[3]["now"] == ["hello", 42, {"a": [1, 2]}, ["$Uint8Array", "AAEC"]]
    assert rows[3]["args"] == rows[3]["now"]  # printed as the transcript has them
    assert rows[4]["now"] == {"error": "user.user_error: Something went wrong"}
    assert "all 5 calls match" in err


def test_changed_behaviour_differs_with_a_diff_and_update_rewrites(
    env: dict[str, str], key: str, tmp_path: Path
) -> None:
    path = tmp_path / "counts.jsonl"
    script = f".use counter {key}\ngetCount\nincrement 1\n.save {path}\n"
    assert run(env, "repl", stdin=script)[0] == 0
    original = path.read_text()
    assert run(env, "call", "counter", key, "setCount", "40")[0] == 0  # the actor now answers differently
    code, out, err = run(env, "replay", str(path))
    assert code == 1
    assert [(r["recorded"], r["now"], r["match"]) for r in calls(out)] == [(0, 40, False), (1, 41, False)]
    assert "--- recorded (call 1 getCount)" in err and '-  "output": 0' in err and '+  "output": 40' in err
    assert "2 of 2 calls differ" in err
    assert path.read_text() == original  # not without --update

    assert run(env, "call", "counter", key, "setCount", "40")[0] == 0
    code, out, err = run(env, "replay", str(path), "--update")
    assert code == 0, err
    updated = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["output"] for r in updated if r["type"] == "result"] == [40, 41]
    assert run(env, "call", "counter", key, "setCount", "40")[0] == 0
    code, out, err = run(env, "replay", str(path))
    assert code == 0 and all(r["match"] for r in calls(out)), err


def test_replay_against_another_actor(env: dict[str, str], key: str, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    record_session(env, key, path)
    other = f"{key}-other"
    code, out, err = run(env, "replay", str(path), "counter", other)
    assert code == 0, err
    rows = calls(out)
    assert {r["actor"] for r in rows} == {f'counter/["{other}"]'}
    code, out, _ = run(env, "call", "counter", other, "getCount")
    assert json.loads(out) == 5  # the calls ran there: setCount 3, increment 2
    code, out, _ = run(env, "call", "counter", key, "getCount")
    assert json.loads(out) == 5  # and the recorded actor was left alone (still 5 from the session)
    assert run(env, "call", "counter", other, "setCount", "9")[0] == 0
    code, out, err = run(env, "replay", str(path), "counter", other)
    assert code == 0  # setCount comes first: the session is self-contained


def test_table_on_a_terminal(env: dict[str, str], key: str, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    record_session(env, key, path)
    code, out, err = run({**env, "COLUMNS": "200"}, "-o", "table", "replay", str(path))
    assert code == 0, err
    assert "recorded" in out and "now" in out and "setCount" in out and "throwUser" in out


def test_bad_transcripts_are_refused(env: dict[str, str], key: str, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    cases = {
        "missing file": None,
        "not json": "nope\n",
        "no calls": '{"type": "event", "actor": "counter/[\\"k\\"]", "event": "x", "args": []}\n',
        "params": '{"type": "result", "actor": "counter/[\\"k\\"]", "action": "getCount", "args": [], "output": 1,'
        ' "params": {"token": "x"}}\n',
        "no args": '{"type": "result", "actor": "counter/[\\"k\\"]", "action": "getCount", "output": 1}\n',
    }
    for what, text in cases.items():
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text)
        code, out, err = run(env, "replay", str(path))
        assert (code, out) == (Exit.USAGE, ""), what
        assert err.count("\n") == 1, (what, err)
    two = tmp_path / "two.jsonl"
    script = f".use counter {key}\ngetCount\n.use chatRoom {key}\ngetHistory\n.save {two}\n"
    assert run(env, "repl", stdin=script)[0] == 0
    code, _, err = run(env, "replay", str(two), "counter", "x")
    assert code == Exit.USAGE and "2 actors" in err
    code, _, err = run(env, "replay", str(two), "counter")
    assert code == Exit.USAGE
    code, out, err = run(env, "replay", str(two))
    assert code == 0, err
