"""The REPL's inspector commands for the current actor, in script mode against the real server: .state
(read, set, patch; edit needs a terminal), .conns, .queue (list, send, clear)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rivetctl.cli.app import main
from tests.envs import private_home


def _script(endpoint: str, tmp_path: Path, name: str, key: str, lines: list[str]) -> tuple[int, list[Any], str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}
    code = main(["connect", name, key], env=env, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def _values(records: list[Any]) -> list[Any]:
    return [r.get("value") for r in records if r.get("type") == "value"]


def test_state_read_set_patch(endpoint: str, key: str, tmp_path: Path) -> None:
    code, records, err = _script(
        endpoint,
        tmp_path,
        "counter",
        key,
        ["increment 2", ".state", '.state set {"count": 10, "note": "x"}', '.state patch {"note": null}', "getCount"],
    )
    assert code == 0, (records, err)
    assert _values(records) == [{"count": 2}, {"count": 10, "note": "x"}, {"count": 10}]
    assert [r["output"] for r in records if r.get("type") == "result"][-1] == 10


def test_state_edit_needs_a_terminal_and_bad_input_is_a_line_error(endpoint: str, key: str, tmp_path: Path) -> None:
    code, records, _ = _script(endpoint, tmp_path, "counter", key, [".state edit", ".state set {oops", ".state"])
    errors = [r for r in records if r.get("type") == "error"]
    assert len(errors) == 2 and "terminal" in errors[0]["error"]["message"]
    assert code == 3 and _values(records) == [{"count": 0}]


def test_conns_and_queue(endpoint: str, key: str, tmp_path: Path) -> None:
    code, records, err = _script(
        endpoint,
        tmp_path,
        "worker",
        key,
        ["enqueue 1", ".conns", '.queue send jobs {"n": 2}', ".queue clear", "work 5"],
    )
    assert code == 0, (records, err)
    tables = [r for r in records if r.get("type") == "table"]
    assert tables[0]["title"] == "connections" and len(tables[0]["rows"]) == 1
    assert [m["id"] for m in tables[1]["rows"]] == [1, 2] and tables[1]["title"].startswith("queue: 2 ")
    assert tables[2]["rows"] == [] and tables[2]["title"].startswith("queue: 0 ")
    assert [r["output"] for r in records if r.get("type") == "result"][-1] == []  # cleared: nothing to work on


def test_sql_in_script_mode_reads_and_refuses_writes(endpoint: str, key: str, tmp_path: Path) -> None:
    code, records, _ = _script(
        endpoint,
        tmp_path,
        "notes",
        key,
        ['addNote "one"', ".sql SELECT body FROM notes", ".sql DELETE FROM notes", ".sql", "countNotes"],
    )
    tables = [r for r in records if r.get("type") == "table"]
    assert tables[0]["rows"] == [{"body": "one"}]
    errors = [r["error"]["message"] for r in records if r.get("type") == "error"]
    assert len(errors) == 2 and "DELETE" in errors[0] and "terminal" in errors[1]
    assert [r["output"] for r in records if r.get("type") == "result"][-1] == 1  # nothing deleted
    assert code == 3


def test_workflow_in_script_mode(endpoint: str, key: str, tmp_path: Path) -> None:
    code, records, err = _script(endpoint, tmp_path, "payment", key, ["getPayment", ".workflow"])
    assert code == 0, (records, err)
    history = _values(records)[-1]
    assert history["workflow_state"] in ("failed", "running", "pending", "sleeping")
    code, records, _ = _script(endpoint, tmp_path, "counter", key, [".workflow"])
    assert code == 3 and "has no workflow" in next(r for r in records if r.get("type") == "error")["error"]["message"]
