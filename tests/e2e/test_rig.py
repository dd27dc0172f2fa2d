"""The real-server rig itself: readiness, registry contents, teardown of node and engine."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from rivetctl.devserver import DevServer, _alive


def test_server_lists_registry_names(server: DevServer) -> None:
    names = server.actor_names()
    assert {"counter", "chatRoom", "withInput", "secure", "timeouts"} <= set(names)


def test_engine_health(server: DevServer) -> None:
    with urllib.request.urlopen(f"{server.endpoint}/health", timeout=5) as resp:
        body = json.load(resp)
    assert body["runtime"] == "engine"
    assert body["status"] == "ok"


def test_server_env_has_no_rust_backtrace(server: DevServer) -> None:
    pid = server.engine_pid
    assert pid is not None
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert not any(e.startswith(b"RUST_BACKTRACE=") for e in environ)


def test_second_server_starts_and_stops_completely() -> None:
    srv = DevServer()
    srv.start(timeout=90)
    engine = srv.engine_pid
    node = srv._node.pid if srv._node else None
    assert engine is not None and node is not None
    assert srv.actor_names()
    srv.stop()
    assert not _alive(engine)
    assert not os.path.exists(srv.storage)


def test_wait_ready_waits_for_the_restarted_runner() -> None:
    import time

    srv = DevServer()
    srv.start(timeout=90)
    try:
        srv.kill_runner()
        srv.start_runner()
        srv.wait_ready(90)
        # Ready means an action is served now, not 20 s later.
        started = time.monotonic()
        req = urllib.request.Request(
            f"{srv.endpoint}/gateway/counter/action/increment?rvt-namespace=default&rvt-method=getOrCreate"
            "&rvt-runner=default&rvt-key=after-restart&rvt-crash-policy=sleep",
            data=b'{"args":[1]}',
            headers={"x-rivet-encoding": "json", "content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert json.load(resp) == {"output": 1}
        assert time.monotonic() - started < 10
    finally:
        srv.stop()
