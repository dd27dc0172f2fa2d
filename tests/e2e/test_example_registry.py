"""The example registry's SQLite, queue and workflow actors on the real server: their actions through the CLI,
and what the actor inspector shows of each (database rows, queued messages, workflow history)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.envs import outside_world, private_home

pytestmark = pytest.mark.server


@pytest.fixture
def rivetctl(endpoint: str, tmp_path: Path) -> Any:
    env = {**outside_world(), **private_home(tmp_path), "RIVET_ENDPOINT": endpoint}

    def run(*args: str) -> Any:
        r = subprocess.run(
            [sys.executable, "-m", "rivetctl", "-o", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert r.returncode == 0, f"rivetctl {' '.join(args)} (exit {r.returncode}): {r.stderr}"
        return json.loads(r.stdout)

    return run


def _json(url: str, *, headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def inspector(endpoint: str, name: str, key: str, route: str) -> Any:
    """GET an inspector route of the actor NAME/KEY with its own token (read from its KV, key byte 0x03)."""
    query = urllib.parse.urlencode({"namespace": "default", "name": name, "key": key})
    (actor,) = _json(f"{endpoint}/actors?{query}")["actors"]
    actor_id = actor["actor_id"]
    value = _json(f"{endpoint}/actors/{actor_id}/kv/keys/Aw==?namespace=default")["value"]
    token = base64.b64decode(value).decode()
    return _json(f"{endpoint}/gateway/{actor_id}/inspector/{route}", headers={"Authorization": f"Bearer {token}"})


def test_registry_has_the_sqlite_queue_and_workflow_actors(rivetctl: Any) -> None:
    names = {row["name"] for row in rivetctl("actors")}
    assert {"notes", "worker", "onboarding"} <= names


def test_notes_sqlite_actions_and_inspector_rows(rivetctl: Any, endpoint: str, key: str) -> None:
    first = rivetctl("call", "notes", key, "addNote", "hello world", "greeting")
    assert (first["id"], first["body"], first["tag"]) == (1, "hello world", "greeting")
    second = rivetctl("call", "notes", key, "addNote", "buy milk")
    assert (second["id"], second["tag"]) == (2, None)
    assert [n["body"] for n in rivetctl("call", "notes", key, "listNotes")] == ["hello world", "buy milk"]
    assert [n["id"] for n in rivetctl("call", "notes", key, "listNotes", "greeting")] == [1]
    assert rivetctl("call", "notes", key, "countNotes") == 2
    assert rivetctl("call", "notes", key, "deleteNote", "2") is True
    assert rivetctl("call", "notes", key, "deleteNote", "2") is False

    summary = inspector(endpoint, "notes", key, "summary")
    assert summary["isDatabaseEnabled"] is True
    tables = {t["table"]["name"]: t for t in inspector(endpoint, "notes", key, "database/schema")["schema"]["tables"]}
    assert [c["name"] for c in tables["notes"]["columns"]] == ["id", "body", "tag", "created_at"]
    rows = inspector(endpoint, "notes", key, "database/rows?table=notes&limit=10&offset=0")["rows"]
    assert [(r["id"], r["body"], r["tag"]) for r in rows] == [(1, "hello world", "greeting")]


def test_worker_queue_keeps_what_the_actor_has_not_taken(rivetctl: Any, endpoint: str, key: str) -> None:
    assert rivetctl("call", "worker", key, "enqueue", '{"task":"a"}', '{"task":"b"}', '"c"') == 3
    assert rivetctl("call", "worker", key, "work", "1") == [{"task": "a"}]

    queue = inspector(endpoint, "worker", key, "queue?limit=10")
    assert queue["size"] == 2
    assert [m["name"] for m in queue["messages"]] == ["jobs", "jobs"]
    assert inspector(endpoint, "worker", key, "summary")["queueSize"] == 2

    assert rivetctl("call", "worker", key, "work", "5") == [{"task": "b"}, "c"]
    assert [d["body"] for d in rivetctl("call", "worker", key, "getDone")] == [{"task": "a"}, {"task": "b"}, "c"]
    assert inspector(endpoint, "worker", key, "queue")["size"] == 0


def test_onboarding_workflow_runs_and_has_a_history(rivetctl: Any, endpoint: str, key: str) -> None:
    progress = rivetctl("call", "onboarding", key, "getProgress", "--input", '{"user":"ann"}')
    assert progress["user"] == "ann"
    deadline = time.monotonic() + 30
    while not progress["finished"] and time.monotonic() < deadline:
        time.sleep(0.2)
        progress = rivetctl("call", "onboarding", key, "getProgress")
    assert progress["log"] == ["createAccount", "email 1 to ann", "email 2 to ann", "email 3 to ann", "finish"]

    found = inspector(endpoint, "onboarding", key, "workflow-history")
    assert (found["isWorkflowEnabled"], found["workflowState"]) == (True, "completed")
    history = found["history"]
    assert set(history["nameRegistry"]) == {"createAccount", "sendEmails", "sendEmail", "cooldown", "finish"}
    kinds = sorted(entry["kind"]["tag"] for entry in history["entries"])
    assert kinds.count("WorkflowStepEntry") == 5  # createAccount, three sendEmail rounds, finish
    assert "WorkflowLoopEntry" in kinds and "WorkflowSleepEntry" in kinds


def test_a_registry_without_workflow_says_so(endpoint: str, key: str, rivetctl: Any) -> None:
    rivetctl("call", "counter", key, "increment", "1")
    found = inspector(endpoint, "counter", key, "workflow-history")
    assert found == {"history": None, "workflowState": None, "isWorkflowEnabled": False}


def test_example_project_is_one_copy(endpoint: str) -> None:
    """The checkout's server runs the package's project files (copied in when they differ), not a second copy."""
    from rivetctl.devserver import PROJECT_FILES, default_server_dir, project_files

    if os.environ.get("RIVETCTL_SERVER_DIR"):
        pytest.skip("RIVETCTL_SERVER_DIR names a project of its own")
    served = default_server_dir()
    shipped = project_files()
    assert {name: (served / name).read_bytes() for name in PROJECT_FILES} == shipped
