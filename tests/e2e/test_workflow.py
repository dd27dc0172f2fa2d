"""``workflow`` and ``traces`` against the real server's inspector: the example registry's workflows (onboarding:
steps, a loop, a sleep; payment: a step failing every attempt; reminder: asleep for a day; fanout: a join and a
race) as trees and as JSON, followed until they end, replayed from a step (only with consent), and the
trace spans RivetKit 2.3.19 does not record."""

from __future__ import annotations

import io
import itertools
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

from rivetctl.cli.app import main
from rivetctl.frontend.exits import Exit
from tests.envs import outside_world, private_home

pytestmark = pytest.mark.server

Cli = Callable[..., tuple[int, str, str]]
DEADLINE = 30.0


@pytest.fixture
def env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    return {**outside_world(), **private_home(tmp_path), "RIVET_ENDPOINT": endpoint, "COLUMNS": "200"}


@pytest.fixture
def cli(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "200")  # rich's width off a terminal: trees unwrapped

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    return run


def _history(cli: Cli, name: str, key: str) -> dict[str, Any]:
    code, out, err = cli("workflow", name, key, "-o", "json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def _until(cli: Cli, name: str, key: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The history once ``done`` holds for it (polled, with a deadline)."""
    deadline = time.monotonic() + DEADLINE
    doc = _history(cli, name, key)
    while not done(doc):
        assert time.monotonic() < deadline, f"workflow of {name} {key} not there in {DEADLINE:g} s: {doc}"
        time.sleep(0.2)
        doc = _history(cli, name, key)
    return doc


def _start(cli: Cli, name: str, key: str) -> None:
    code, _, err = cli("create", name, key)
    assert code == 0, err


def _nodes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of the decoded history, depth first."""
    found: list[dict[str, Any]] = []

    def visit(node: dict[str, Any]) -> None:
        found.append(node)
        for child in node["children"]:
            visit(child)

    for node in doc["history"]:
        visit(node)
    return found


def _by_location(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["location"]: n for n in _nodes(doc)}


def _completed(doc: dict[str, Any]) -> bool:
    return doc["workflow_state"] == "completed" and any(n["name"] == "finish" for n in doc["history"])


def test_onboarding_tree_has_steps_a_loop_with_iterations_and_a_sleep(cli: Cli, key: str) -> None:
    _start(cli, "onboarding", key)
    doc = _until(cli, "onboarding", key, _completed)
    assert (doc["workflow_state"], doc["workflow_enabled"], doc["entries"]) == ("completed", True, 7)
    assert [(n["name"], n["kind"], n["status"]) for n in doc["history"]] == [
        ("createAccount", "step", "completed"),
        ("sendEmails", "loop", "completed"),
        ("cooldown", "sleep", "completed"),
        ("finish", "step", "completed"),
    ]
    nodes = _by_location(doc)
    assert nodes["createAccount"]["output"] == "guest" and nodes["createAccount"]["attempts"] == 1
    assert nodes["sendEmails"]["iterations"] == 3
    assert [c["name"] for c in nodes["sendEmails"]["children"]] == ["iteration 0", "iteration 1", "iteration 2"]
    for n in range(3):
        step = nodes[f"sendEmails/~{n}/sendEmail"]
        assert (step["kind"], step["status"], len(step["id"])) == ("step", "completed", 36)
    assert nodes["cooldown"]["deadline_ms"] > nodes["createAccount"]["started_at_ms"]
    assert isinstance(nodes["finish"]["duration_ms"], int)

    code, out, err = cli("-o", "table", "workflow", "onboarding", key)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f'onboarding ["{key}"]  workflow completed · 7 entries · started ')
    assert "✓ createAccount  step " in lines[1] and '→ "guest"' in lines[1]
    assert "sendEmails  loop" in out and "3 iterations" in out and "✓ iteration 2 · completed" in out
    assert "cooldown  sleep" in out and "until " in out
    assert lines[-1].startswith("└── ✓ finish  step ")


def test_a_failing_step_shows_attempts_and_its_error(cli: Cli, key: str) -> None:
    _start(cli, "payment", key)
    doc = _until(cli, "payment", key, lambda d: d["workflow_state"] == "failed" and d["entries"] == 2)
    reserve, charge = doc["history"]
    assert (reserve["name"], reserve["status"], reserve["output"]) == ("reserveFunds", "completed", 42)
    assert (charge["name"], charge["status"], charge["attempts"]) == ("chargeCard", "exhausted", 3)
    assert charge["error"] == "Error: card declined (attempt 3)"
    code, out, _ = cli("-o", "table", "workflow", "payment", key)
    assert code == 0
    assert "workflow failed" in out.splitlines()[0]
    assert "✗ chargeCard  step" in out and "exhausted · 3 attempts" in out
    assert "error: Error: card declined (attempt 3)" in out


def test_a_sleeping_workflow_has_a_pending_sleep(cli: Cli, key: str) -> None:
    _start(cli, "reminder", key)
    doc = _until(cli, "reminder", key, lambda d: d["workflow_state"] == "sleeping" and d["entries"] == 2)
    schedule, wait = doc["history"]
    assert (schedule["name"], schedule["status"], schedule["output"]) == ("schedule", "completed", "water the plants")
    assert (wait["name"], wait["kind"], wait["status"]) == ("waitADay", "sleep", "pending")
    assert wait["deadline_ms"] - schedule["started_at_ms"] >= 24 * 3600 * 1000 - 1000
    code, out, _ = cli("-o", "table", "workflow", "reminder", key)
    assert code == 0
    assert "workflow sleeping" in out.splitlines()[0]
    assert "○ waitADay  sleep" in out and "pending · until " in out and "(in 23 h" in out


def test_joins_and_races_show_their_branches(cli: Cli, key: str) -> None:
    _start(cli, "fanout", key)
    doc = _until(cli, "fanout", key, lambda d: d["workflow_state"] == "completed" and len(d["history"]) == 3)
    gather, race, record = doc["history"]
    assert (gather["kind"], race["kind"], record["name"]) == ("join", "race", "record")
    assert [(b["name"], b["kind"], b["status"], b["output"]) for b in gather["children"]] == [
        ("left", "branch", "completed", "left data"),
        ("right", "branch", "completed", {"rows": 3}),
    ]
    assert [c["name"] for c in gather["children"][0]["children"]] == ["fetchLeft"]
    assert race["winner"] == "quick" and race["status"] == "completed"
    quick, slow = race["children"]
    assert (quick["name"], quick["winner"], quick["output"]) == ("quick", True, 42)
    assert [c["name"] for c in quick["children"]] == ["quickAnswer"]
    assert (slow["name"], slow["winner"], slow["children"]) == ("slow", False, [])  # the loser's entries dropped
    code, out, _ = cli("-o", "table", "workflow", "fanout", key)
    assert code == 0
    assert "gather  join" in out and "left  branch · completed" in out
    assert "fastest  race" in out and "winner quick" in out and "slow  branch" in out


def test_replay_needs_consent_off_a_terminal_and_sends_nothing_without(cli: Cli, key: str) -> None:
    _start(cli, "onboarding", key)
    before = _until(cli, "onboarding", key, _completed)
    finish = _by_location(before)["finish"]
    code, _, err = cli("workflow", "onboarding", key, "--replay", finish["id"])
    assert code == Exit.USAGE and "--yes" in err and "nothing was sent" in err
    code, _, err = cli("workflow", "onboarding", key, "--replay", "", "--yes")
    assert code == Exit.USAGE and "empty" in err
    code, _, err = cli("workflow", "onboarding", key, "--replay", "cooldown-is-no-id", "--yes")
    assert code == Exit.NOT_FOUND and "no entry 'cooldown-is-no-id'" in err
    sleep_id = _by_location(before)["cooldown"]["id"]
    code, _, err = cli("workflow", "onboarding", key, "--replay", sleep_id, "--yes")
    assert code == Exit.USAGE and "is a sleep" in err
    time.sleep(0.5)
    assert _history(cli, "onboarding", key) == before


def test_replay_with_yes_reruns_the_step_under_a_new_id(cli: Cli, key: str) -> None:
    _start(cli, "onboarding", key)
    before = _until(cli, "onboarding", key, _completed)
    old_finish = _by_location(before)["finish"]["id"]
    code, out, err = cli("workflow", "onboarding", key, "--replay", old_finish[:8], "--yes", "-o", "json")
    assert code == 0, err
    # RivetKit orders entries by creation time, which a sleep lacks: the cooldown sleep is dropped as well.
    assert "replaying the workflow of onboarding" in err and "2 entries dropped" in err
    answered = json.loads(out)
    assert [n["name"] for n in answered["history"]] == ["createAccount", "sendEmails"]
    assert (answered["entries"], answered["workflow_state"]) == (5, "sleeping")
    after = _until(cli, "onboarding", key, _completed)
    new_finish = _by_location(after)["finish"]
    assert new_finish["id"] != old_finish and new_finish["status"] == "completed"
    assert _by_location(after)["createAccount"]["id"] == _by_location(before)["createAccount"]["id"]


def test_no_workflow_or_no_actor_exits_4(cli: Cli, key: str) -> None:
    assert cli("call", "counter", key, "increment", "1")[0] == 0
    code, out, err = cli("workflow", "counter", key)
    assert code == Exit.NOT_FOUND and f'counter ["{key}"] has no workflow' in err and out == ""
    code, _, err = cli("workflow", "counter", key, "--replay", "abc", "--yes")
    assert code == Exit.NOT_FOUND and "has no workflow" in err
    code, _, err = cli("workflow", "onboarding", f"{key}-missing")
    assert code == Exit.NOT_FOUND and "no 'onboarding' actor" in err


def test_follow_prints_each_change_as_a_json_line_and_ends_when_completed(env: dict[str, str], key: str) -> None:
    code = main(["create", "onboarding", key], env=env, stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 0
    cmd = [
        sys.executable,
        "-m",
        "rivetctl",
        "-o",
        "jsonl",
        "workflow",
        "onboarding",
        key,
        "--follow",
        "--interval",
        "0.1",
    ]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert docs and _completed(docs[-1])
    assert all(a != b for a, b in itertools.pairwise(docs))  # a line per change, none repeated
    assert all(d["workflow_state"] != "completed" for d in docs[:-1])


def test_replay_then_follow_shows_the_rerun_to_its_end(cli: Cli, env: dict[str, str], key: str) -> None:
    _start(cli, "onboarding", key)
    before = _until(cli, "onboarding", key, _completed)
    first = before["history"][0]["id"]
    cmd = [sys.executable, "-m", "rivetctl", "-o", "jsonl", "workflow", "onboarding", key]
    cmd += ["--replay", first, "--yes", "--follow", "--interval", "0.1"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert _completed(docs[-1]) and docs[-1]["history"][0]["id"] != first  # every entry ran again
    assert "7 entries dropped" in r.stderr


def test_ctrl_c_ends_a_follow_with_130(env: dict[str, str], cli: Cli, key: str) -> None:
    _start(cli, "reminder", key)
    _until(cli, "reminder", key, lambda d: d["workflow_state"] == "sleeping")
    cmd = [sys.executable, "-m", "rivetctl", "-o", "jsonl", "workflow", "reminder", key, "--follow"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["workflow_state"] == "sleeping"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == Exit.INTERRUPTED and "Traceback" not in err


def test_follow_on_a_terminal_redraws_the_tree_and_ctrl_c_leaves(env: dict[str, str], cli: Cli, key: str) -> None:
    _start(cli, "reminder", key)
    _until(cli, "reminder", key, lambda d: d["workflow_state"] == "sleeping")
    args = ["-m", "rivetctl", "workflow", "reminder", key, "--follow", "--interval", "0.2"]
    child = pexpect.spawn(sys.executable, args, env=env, encoding="utf-8", timeout=30, dimensions=(40, 200))
    child.expect(r"reminder \[\"" + key + r"\"\]  workflow sleeping · 2 entries")
    child.expect(r"waitADay  sleep \w+ · pending · until ")
    child.expect(r"\(in 23 h")
    child.sendintr()
    child.expect("interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == Exit.INTERRUPTED


def test_replay_on_a_terminal_asks_first(env: dict[str, str], cli: Cli, key: str) -> None:
    _start(cli, "onboarding", key)
    before = _until(cli, "onboarding", key, _completed)
    step = _by_location(before)["sendEmails/~1/sendEmail"]["id"]
    args = ["-m", "rivetctl", "workflow", "onboarding", key, "--replay", step[:8]]
    child = pexpect.spawn(sys.executable, args, env=env, encoding="utf-8", timeout=30, dimensions=(40, 200))
    child.expect(r"replay the workflow of onboarding .* from step 'sendEmails/~1/sendEmail'")
    child.expect(r"inside loop 'sendEmails', which re-runs from its start\? It drops 6 entries \(sendEmails, ")
    child.expect(r"sendEmails/~2/sendEmail, cooldown, finish; .*\[y/N\] ")
    child.sendline("n")
    child.expect("nothing replayed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert _history(cli, "onboarding", key) == before

    child = pexpect.spawn(sys.executable, args, env=env, encoding="utf-8", timeout=30, dimensions=(40, 200))
    child.expect(r"\[y/N\] ")
    child.sendline("y")
    child.expect("6 entries dropped")
    child.expect(r"workflow sleeping · 1 entry")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    after = _until(cli, "onboarding", key, _completed)
    assert _by_location(after)["sendEmails/~1/sendEmail"]["id"] != step


def test_traces_says_in_one_line_that_there_are_none(cli: Cli, key: str) -> None:
    _start(cli, "onboarding", key)
    code, out, err = cli("-o", "table", "traces", "onboarding", key)
    assert (code, out) == (0, "")
    assert err == f'rivetctl: no trace spans recorded for onboarding ["{key}"] (the server records none)\n'
    code, out, err = cli("traces", "onboarding", key, "-o", "json")
    assert code == 0 and json.loads(out) == {"otlp": [], "clamped": False}
    code, _, err = cli("traces", "onboarding", f"{key}-missing")
    assert code == Exit.NOT_FOUND
