"""The files kept between runs: atomic replacement, unique temporary names, merges under a lock."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from rivetctl.frontend import store


def _remember(home: str, n: int) -> None:
    env = {"XDG_STATE_HOME": home}
    for i in range(25):
        store.remember_events(env, f"actor{n}", [f"e{i}"])


def test_concurrent_writers_lose_nothing_and_leave_no_temporary_file(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_remember, args=(str(tmp_path), n)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for n in range(4):  # each process merged into the same file: without the lock, updates get lost
        events = store.remembered_events({"XDG_STATE_HOME": str(tmp_path)}, f"actor{n}")
        assert events == [f"e{i}" for i in reversed(range(25))]
    assert not list(tmp_path.rglob("*.tmp"))


def test_names_cache_expires_and_survives_garbage(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    store.cache_names(env, "http://h:1", "default", ["counter", "chatRoom"])
    assert store.cached_names(env, "http://h:1", "default") == ["counter", "chatRoom"]
    assert store.cached_names(env, "http://h:1", "other") == []
    path = next((tmp_path / "rivetctl" / "names").iterdir())
    path.write_text(json.dumps({"t": 0, "names": ["old"]}))
    assert store.cached_names(env, "http://h:1", "default") == []
    path.write_text("{garbage")
    assert store.cached_names(env, "http://h:1", "default") == []


def test_write_atomic_sets_the_mode_before_the_file_appears(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file"
    store.write_atomic(target, "secret", mode=0o600)
    assert target.read_text() == "secret" and (target.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["file"]
