"""The fan-out runner and key sources, on their own: a fixed pool of workers, each target called once, results
as they complete, stopping, latencies; keys from lists, files and pipes."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from rivetctl.errors import ActorError, ConfigError, ConnectionLostError, NetworkError, RequestTimeoutError
from rivetctl.frontend import fanout
from rivetctl.frontend.fanout import FanOut, Outcome, Target


def test_keys_option_and_key_text() -> None:
    assert fanout.parse_keys_option("a,@id,@@b") == [Target(key=["a"]), Target(actor_id="id"), Target(key=["@b"])]
    with pytest.raises(ConfigError, match="empty key"):
        fanout.parse_keys_option("a,,b")
    with pytest.raises(ConfigError, match="--keys-from"):
        fanout.parse_keys_option('["a","b"]')
    assert fanout.key_text(["a"]) == "a"
    assert fanout.key_text(["a", "b"]) == '["a", "b"]'
    assert fanout.key_text(["[x"]) == '["[x"]' and fanout.key_text(None) == ""


def test_key_file_is_checked_whole(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text('a\n\n["b","c,d"]\n@id\n')
    assert fanout.check_key_file(str(good)) == 3
    bad = tmp_path / "bad"
    bad.write_text('a\n["b"\n')
    with pytest.raises(ConfigError, match="line 2"):
        fanout.check_key_file(str(bad))


async def _collect(source: object) -> list[Target]:
    return [t async for t in source]  # type: ignore[attr-defined]


def test_lines_from_a_stream_and_from_a_pipe() -> None:
    text = 'a\r\n\n["b","c,d"]\n  spaced \n'
    want = [Target(key=["a"]), Target(key=["b", "c,d"]), Target(key=["  spaced "])]
    assert asyncio.run(_collect(fanout.from_lines(io.StringIO(text), "x"))) == want
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "w") as w:
        w.write(text)
    with os.fdopen(read_fd) as r:
        assert asyncio.run(_collect(fanout.from_lines(r, "stdin"))) == want


def test_a_bad_line_from_a_pipe_names_its_number() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "w") as w:
        w.write("a\n[oops\n")
    with os.fdopen(read_fd) as r, pytest.raises(ConfigError, match="stdin line 2"):
        asyncio.run(_collect(fanout.from_lines(r, "stdin")))


def _targets(n: int) -> list[Target]:
    return [Target(key=[f"k{i}"]) for i in range(n)]


def test_runner_calls_each_target_once_with_at_most_n_in_flight() -> None:
    seen: list[str] = []
    results: list[Outcome] = []
    peak = 0
    active = 0

    async def call(target: Target) -> str:
        nonlocal peak, active
        assert target.key is not None
        active += 1
        peak = max(peak, active)
        seen.append(target.key[0])
        await asyncio.sleep(0.001 * (hash(target.key[0]) % 5))
        active -= 1
        return target.key[0].upper()

    async def go() -> fanout.Stats:
        return await FanOut(call, concurrency=4, on_result=results.append).run(fanout.from_list(_targets(50)))

    stats = asyncio.run(go())
    assert sorted(seen) == sorted(f"k{i}" for i in range(50)) and len(seen) == 50
    assert peak == 4
    assert stats.ok == 50 and stats.failed == 0 and len(stats.latencies) == 50
    assert all(r.output == r.key[0].upper() for r in results if r.key)  # type: ignore[index]
    summary = stats.summary()
    assert summary["calls"] == 50 and summary["p50_ms"] is not None and summary["calls_per_s"]


def test_runner_pulls_the_source_as_it_goes() -> None:
    """A fixed pool and a queue as large as the pool: the source is never read far ahead of the calls."""
    produced = 0
    max_ahead = 0
    done = 0

    async def source() -> fanout.AsyncIterator[Target]:
        nonlocal produced, max_ahead
        for i in range(200):
            produced += 1
            max_ahead = max(max_ahead, produced - done)
            yield Target(key=[str(i)])

    async def call(target: Target) -> None:
        nonlocal done
        await asyncio.sleep(0)
        done += 1

    asyncio.run(FanOut(call, concurrency=8, on_result=lambda r: None).run(source()))
    assert done == 200 and max_ahead <= 8 + 8 + 1  # in flight + queued + the one being put


def test_stop_starts_nothing_new_and_lets_calls_in_flight_finish() -> None:
    started: list[str] = []
    finished: list[str] = []

    async def go() -> None:
        fan: FanOut

        async def call(target: Target) -> None:
            assert target.key is not None
            started.append(target.key[0])
            if len(started) == 6:
                fan.stop()
            await asyncio.sleep(0.01)
            finished.append(target.key[0])

        fan = FanOut(call, concurrency=3, on_result=lambda r: None)
        await fan.run(fanout.from_list(_targets(100)))

    asyncio.run(go())
    assert len(started) == 6 and sorted(finished) == sorted(started)


def test_failures_are_counted_and_an_output_error_ends_the_run() -> None:
    async def call(target: Target) -> None:
        assert target.key is not None
        if target.key[0] == "k1":
            raise ActorError("user", "nope", "no", status=400)
        if target.key[0] == "k2":
            raise NetworkError("cannot connect to http://x: connection refused")

    results: list[Outcome] = []
    stats = asyncio.run(FanOut(call, concurrency=2, on_result=results.append).run(fanout.from_list(_targets(4))))
    assert (stats.ok, stats.failed, stats.unreached) == (2, 2, 1)
    records = {r.key[0]: r.record() for r in results if r.key}
    assert records["k1"]["error"] == {"group": "user", "code": "nope", "message": "no"}
    assert records["k2"]["error"]["group"] == "rivetctl" and records["k2"]["error"]["code"] == "network"
    assert list(records["k0"]) == ["key", "actor_id", "ok", "output", "ms"]

    def closed(outcome: Outcome) -> None:
        raise BrokenPipeError

    with pytest.raises(BrokenPipeError):
        asyncio.run(FanOut(call, concurrency=2, on_result=closed).run(fanout.from_list(_targets(40))))


def test_never_reached() -> None:
    assert fanout.never_reached(NetworkError("refused"))
    assert not fanout.never_reached(ConnectionLostError("lost"))
    assert not fanout.never_reached(RequestTimeoutError("slow"))
    assert not fanout.never_reached(ActorError("user", "x", "y"))


def test_a_source_error_stops_launching_and_is_kept() -> None:
    async def source() -> fanout.AsyncIterator[Target]:
        yield Target(key=["a"])
        raise ConfigError("stdin line 2: bad")

    calls: list[Target] = []

    async def call(target: Target) -> None:
        calls.append(target)

    async def go() -> FanOut:
        fan = FanOut(call, concurrency=2, on_result=lambda r: None)
        await fan.run(source())
        return fan

    fan = asyncio.run(go())
    assert isinstance(fan.source_error, ConfigError) and len(calls) <= 1
