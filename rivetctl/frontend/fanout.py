"""Fan-out: one action on many actors of a name, N calls at a time, results streamed as they complete.

The actors come from a *key source*, an async iterator of :class:`Target`: a list (``--keys``), the lines of a
file or of stdin (``--keys-from``), or the engine's pages of every actor of the name (``--all``). A fixed pool
of worker tasks pulls from it through a small bounded queue, so that memory depends on the concurrency, not on
the number of actors; latencies are kept as doubles in an ``array`` (8 bytes per call).

Calls are never retried here (actions are not idempotent); the handle already retries only what the gateway
refused before the actor saw it. :meth:`FanOut.stop` stops launching: the calls in flight finish and are
reported, nothing new starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
import stat
import threading
import time
from array import array
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from rivetctl.errors import (
    ActorError,
    ConfigError,
    ConnectionLostError,
    NetworkError,
    PayloadTooLargeError,
    ProtocolError,
    RequestTimeoutError,
    UnknownActorNameError,
)
from rivetctl.frontend.args import parse_key

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.transport.http import HttpResponse, Tracer

DEFAULT_CONCURRENCY = 16
LINES_AHEAD = 256
"""Lines of a pipe read ahead of the calls, at most."""


# -- targets and where they come from -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One actor to call: by key, or by id (``@ID`` in a key list, or every actor listed by the engine, whose
    key is known too)."""

    key: list[str] | None = None
    actor_id: str | None = None


def target_from_text(text: str) -> Target:
    """A key as the command line writes it: a plain string, a JSON array (compound key), or ``@ACTOR_ID``."""
    parsed = parse_key(text)
    if isinstance(parsed, str):
        return Target(actor_id=parsed)
    return Target(key=parsed)


def parse_keys_option(text: str) -> list[Target]:
    """``--keys K1,K2,...``: comma-separated keys (a key with a ``,`` goes through ``--keys-from``)."""
    targets = []
    for piece in text.split(","):
        if piece == "":
            raise ConfigError("--keys has an empty key (a key with ',' goes on a line of --keys-from)")
        try:
            targets.append(target_from_text(piece))
        except ConfigError as exc:
            raise ConfigError(f"--keys: {exc} (a compound key goes on a line of --keys-from)") from None
    return targets


async def from_list(targets: Iterable[Target]) -> AsyncIterator[Target]:
    for target in targets:
        yield target


def line_target(line: str, where: str, number: int) -> Target | None:
    text = line.rstrip("\r\n")
    if not text.strip():
        return None
    try:
        return target_from_text(text)
    except ConfigError as exc:
        raise ConfigError(f"{where} line {number}: {exc}") from None


def check_key_file(path: str) -> int:
    """Read a key file once, before anything is sent: the number of keys, or ``ConfigError`` naming the first
    bad line (so that a typo on line 9,000 does not stop a run half-way)."""
    count = 0
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if line_target(line, path, number) is not None:
                    count += 1
    except OSError as exc:
        raise ConfigError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path!r} is not UTF-8 text") from None
    return count


def is_regular_file(stream: IO[str]) -> bool:
    """True for a stream reading a regular file (it never blocks), False for a pipe or a terminal."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return True  # no descriptor (an in-memory stream): reading it never blocks either


async def from_lines(stream: IO[str], where: str) -> AsyncIterator[Target]:
    """One key per line (blank lines skipped). A pipe or a terminal is read by a thread, line by line, so that
    calls go on while the writer is slow; a regular file is read as it goes."""
    number = 0
    async for line in _lines(stream, where):
        number += 1
        target = line_target(line, where, number)
        if target is not None:
            yield target


async def _lines(stream: IO[str], where: str) -> AsyncIterator[str]:
    if is_regular_file(stream):
        try:
            for line in stream:
                yield line
        except UnicodeDecodeError:
            raise ConfigError(f"{where} is not UTF-8 text") from None
        return
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    slots = threading.Semaphore(LINES_AHEAD)  # lines read and not yet taken: the reader waits for room
    stop = threading.Event()

    def post(item: str | BaseException | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: the run is over
            return False
        return True

    def read() -> None:
        # A daemon thread: a reader still blocked on the pipe when the run ends does not hold the process.
        final: BaseException | None = None
        try:
            for line in stream:
                while not slots.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set() or not post(line):
                    return
        except Exception as exc:
            final = exc
        if not stop.is_set():
            post(final)

    threading.Thread(target=read, name="rivetctl-keys", daemon=True).start()
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                if isinstance(item, UnicodeDecodeError):
                    raise ConfigError(f"{where} is not UTF-8 text")
                raise ConfigError(f"cannot read keys from {where}: {item}")
            slots.release()
            yield item
    finally:
        stop.set()


async def from_engine(
    client: Client, name: str, *, page_size: int | None = None, on_gap: Callable[[int], None] | None = None
) -> AsyncIterator[Target]:
    """Every live actor of ``name``, page by page as the calls go (see ``EngineApi.iter_actors``)."""
    kwargs: dict[str, Any] = {} if page_size is None else {"page_size": page_size}
    async for info in client.engine.iter_actors(name, on_gap=on_gap, **kwargs):
        yield Target(key=info.key, actor_id=info.actor_id)


# -- which actor answered ----------------------------------------------------------------------------------

_ANSWERED_BY: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar(
    "rivetctl_fanout_answered_by", default=None
)
"""Per task: the id (and engine key string) of the actor whose gateway answered the task's last request."""


class ActorRecorder:
    """An HTTP tracer that notes which actor answered (the gateway's ``x-rivet-actor`` and ``x-rivet-actor-key``
    headers) for the task that made the request, then passes everything on to the client's own tracer (``-v``).
    """

    def __init__(self, inner: Tracer | None) -> None:
        self.inner = inner

    def http_request(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        if self.inner is not None:
            self.inner.http_request(method, url, headers, body)

    def http_response(self, url: str, response: HttpResponse, elapsed: float) -> None:
        actor = response.headers.get("x-rivet-actor")
        if actor:
            _ANSWERED_BY.set((actor, response.headers.get("x-rivet-actor-key")))
        if self.inner is not None:
            self.inner.http_response(url, response, elapsed)


def record_answering_actors(client: Client) -> None:
    """Make the client's HTTP transport note which actor answered each request (see :class:`ActorRecorder`)."""
    if not isinstance(client.http.tracer, ActorRecorder):
        client.http.tracer = ActorRecorder(client.http.tracer)


# -- results ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """One call's result: the actor (key and id, as far as known), the output or the error, the latency."""

    key: list[str] | None
    actor_id: str | None
    ms: float
    output: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict[str, Any]:
        """The JSON line: ``{"key", "actor_id", "ok", "output" | "error", "ms"}``."""
        doc: dict[str, Any] = {"key": self.key, "actor_id": self.actor_id, "ok": self.error is None}
        if self.error is None:
            doc["output"] = self.output
        else:
            doc["error"] = error_fields(self.error)
        doc["ms"] = round(self.ms, 2)
        return doc


_ERROR_CODES: list[tuple[type[BaseException], str]] = [
    (UnknownActorNameError, "unknown_actor_name"),
    (ConnectionLostError, "connection_lost"),
    (RequestTimeoutError, "timeout"),
    (NetworkError, "network"),
    (ProtocolError, "protocol"),
    (PayloadTooLargeError, "payload_too_large"),
    (ConfigError, "invalid"),
]


def error_fields(exc: BaseException) -> dict[str, str]:
    """``{"group", "code", "message"}``: the server's for an actor error; group ``rivetctl`` for the rest."""
    if isinstance(exc, ActorError):
        return {"group": exc.group, "code": exc.code, "message": exc.message}
    from rivetctl.frontend.exits import message

    code = next((c for cls, c in _ERROR_CODES if isinstance(exc, cls)), "internal")
    return {"group": "rivetctl", "code": code, "message": message(exc)}


def never_reached(exc: BaseException) -> bool:
    """The call failed before anything reached the server (no connection, refused, closed before sending).

    A lost connection or a timeout may have happened after the request was written: those reached it."""
    return isinstance(exc, NetworkError) and not isinstance(exc, ConnectionLostError | RequestTimeoutError)


class Latencies:
    """Every call's latency in ms, 8 bytes each; percentiles by sorting a copy at the end."""

    def __init__(self) -> None:
        self._ms = array("d")

    def add(self, ms: float) -> None:
        self._ms.append(ms)

    def __len__(self) -> int:
        return len(self._ms)

    def percentile(self, p: float) -> float | None:
        if not self._ms:
            return None
        ordered = sorted(self._ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return ordered[index]


class Stats:
    """Counts and latencies of one fan-out run."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.unreached = 0
        """Failed calls that never reached the server (see :func:`never_reached`)."""
        self.latencies = Latencies()
        self.started = time.perf_counter()
        self.ended: float | None = None

    @property
    def calls(self) -> int:
        return self.ok + self.failed

    @property
    def wall_s(self) -> float:
        return (self.ended if self.ended is not None else time.perf_counter()) - self.started

    def add(self, outcome: Outcome) -> None:
        self.latencies.add(outcome.ms)
        if outcome.error is None:
            self.ok += 1
        else:
            self.failed += 1
            if never_reached(outcome.error):
                self.unreached += 1

    def summary(self) -> dict[str, Any]:
        wall = self.wall_s

        def ms(p: float) -> float | None:
            value = self.latencies.percentile(p)
            return None if value is None else round(value, 2)

        return {
            "calls": self.calls,
            "ok": self.ok,
            "failed": self.failed,
            "p50_ms": ms(50),
            "p99_ms": ms(99),
            "calls_per_s": round(self.calls / wall, 1) if wall > 0 and self.calls else None,
            "wall_s": round(wall, 3),
        }


# -- the runner ------------------------------------------------------------------------------------------------

Call = Callable[[Target], Awaitable[Any]]


class FanOut:
    """Runs ``call(target)`` for every target of a source, ``concurrency`` at a time, and hands each
    :class:`Outcome` to ``on_result`` as it completes (in completion order).

    A fixed pool of ``concurrency`` workers pulls targets through a queue of the same size. ``on_result`` runs
    on the event loop; if it raises (``BrokenPipeError`` from a closed output), launching stops and the error
    is raised by :meth:`run` once the calls in flight have finished. An error from the source (a bad line,
    the engine's listing failing) stops launching likewise and is kept in ``source_error``.
    """

    def __init__(self, call: Call, *, concurrency: int, on_result: Callable[[Outcome], None]) -> None:
        if concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        self._call = call
        self.concurrency = concurrency
        self._on_result = on_result
        self.stats = Stats()
        self.stopping = False
        self.in_flight = 0
        self.source_error: BaseException | None = None
        self._output_error: BaseException | None = None
        self._feeder: asyncio.Task[None] | None = None

    def stop(self) -> None:
        """Start no more calls; the ones in flight finish and are reported."""
        self.stopping = True
        if self._feeder is not None:
            self._feeder.cancel()

    async def run(self, source: AsyncIterator[Target]) -> Stats:
        queue: asyncio.Queue[Target | None] = asyncio.Queue(maxsize=self.concurrency)

        async def feed() -> None:
            async for target in source:
                if self.stopping:
                    return
                await queue.put(target)

        self.stats = Stats()
        workers = [asyncio.create_task(self._work(queue), name="rivetctl-fanout") for _ in range(self.concurrency)]
        self._feeder = feeder = asyncio.create_task(feed(), name="rivetctl-fanout-source")
        if self.stopping:
            feeder.cancel()
        try:
            try:
                await feeder
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # this run is being cancelled, not just its source stopped
            except Exception as exc:
                self.source_error = exc
                self.stopping = True
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        except BaseException:
            feeder.cancel()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(feeder, *workers, return_exceptions=True)
            raise
        finally:
            self.stats.ended = time.perf_counter()
            close = getattr(source, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        if self._output_error is not None:
            raise self._output_error
        return self.stats

    async def _work(self, queue: asyncio.Queue[Target | None]) -> None:
        while True:
            target = await queue.get()
            if target is None:
                return
            if self.stopping:
                continue
            self.in_flight += 1
            _ANSWERED_BY.set(None)
            started = time.perf_counter()
            try:
                output = await self._call(target)
                error: BaseException | None = None
            except Exception as exc:
                output, error = None, exc
            finally:
                self.in_flight -= 1
            ms = (time.perf_counter() - started) * 1000
            outcome = Outcome(target.key, target.actor_id, ms, output, error)
            answered = _ANSWERED_BY.get()
            if answered is not None:
                outcome.actor_id = answered[0]
                if outcome.key is None and answered[1] is not None:
                    from rivetctl.protocol.query import parse_engine_key

                    outcome.key = list(parse_engine_key(answered[1]))
            elif outcome.actor_id is None and isinstance(error, ActorError) and error.actor is not None:
                outcome.actor_id = error.actor.actor_id
            self.stats.add(outcome)
            if self._output_error is not None:
                continue
            try:
                self._on_result(outcome)
            except Exception as exc:  # the output went away (BrokenPipeError): stop launching, end the run
                self._output_error = exc
                self.stop()


def key_text(key: list[str] | None) -> str:
    """A key as the command line writes it: the plain string for one simple component, else a JSON array."""
    if key is None:
        return ""
    if len(key) == 1 and key[0] and not key[0].startswith(("[", "@")) and key[0].strip() == key[0]:
        return key[0]
    return json.dumps(key, ensure_ascii=False)
