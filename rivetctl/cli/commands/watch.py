"""``rivetctl watch``: a live tail of an actor's events and state changes, reconnecting by itself."""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.choices import Timestamps
from rivetctl.cli.commands.params import Key, Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import handle_for, run

if TYPE_CHECKING:
    import asyncio

    from rivetctl.client import ActorHandle, Client
    from rivetctl.client.connection import ActorConnection, Status
    from rivetctl.client.inspector import Inspector
    from rivetctl.errors import RivetctlError
    from rivetctl.output.render import Output

EPILOG = """Examples:

  rivetctl watch chatRoom general newMessage

  rivetctl watch counter my-counter newCount --count 10 -o jsonl

  rivetctl --timeout 30 watch counter my-counter newCount --until-timeout

RivetKit has no wildcard subscription: name the events to watch, or configure them per actor name in a
profile ([profiles.NAME.events] counter = ["newCount"]); names seen before are remembered. State changes
come from the actor's inspector (polled, --state-interval).

Global options (-e, -o, --timeout, --param, ...) may also follow the command; after `--` nothing is an
option (an event name starting with '-').
"""

COLUMNS = ("time", "actor", "type", "event", "args")


STILL_CONNECTING_AFTER = 2.0
"""Seconds without a connection (and no failed attempt to report) before stderr says the watch is still
trying."""

Record = dict[str, Any]


class WatchState:
    """What one watch run has seen: events counted against ``--count``, the connection's history (for the
    "lost" / "reconnected" lines), and how the run ends (``done``, or ``failed`` with an error). A plain class:
    this module is imported when the command line is parsed."""

    def __init__(self, count: int | None) -> None:
        import asyncio

        self.count = count
        self.events = 0
        self.connected_once = False
        self.lost_at: float | None = None
        self.retry_reported = False
        self.done = asyncio.Event()
        self.failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def counted(self) -> None:
        """One event was written; ``done`` once ``--count`` is reached."""
        self.events += 1
        if self.count is not None and self.events >= self.count:
            self.done.set()

    def fail(self, error: BaseException) -> None:
        """End the run with ``error`` (the first one wins)."""
        if not self.failed.done():
            self.failed.set_exception(error)


def watch(
    ctx: typer.Context,
    name: Name,
    key: Key,
    events: Annotated[
        list[str] | None, typer.Argument(metavar="EVENT", help="Event names to subscribe to.", show_default=False)
    ] = None,
    count: Annotated[int | None, typer.Option("--count", metavar="N", min=1, help="Stop after N events.")] = None,
    until_timeout: Annotated[
        bool,
        typer.Option("--until-timeout", help="Reaching --timeout ends the watch with exit 0 (not 8)."),
    ] = False,
    state: Annotated[bool, typer.Option("--state/--no-state", help="Also show state changes (inspector).")] = True,
    state_interval: Annotated[
        float, typer.Option("--state-interval", metavar="SECONDS", min=0.05, help="Seconds between state polls.")
    ] = 1.0,
    timestamps: Annotated[
        Timestamps,
        typer.Option("--timestamps", help="Time column: absolute (ISO 8601, UTC) or relative (seconds since start)."),
    ] = Timestamps.ABSOLUTE,
    no_create: Annotated[bool, typer.Option("--no-create", help="Require an existing actor.")] = False,
) -> None:
    """Stream an actor's events (and state changes) as table rows or JSON lines."""
    from rivetctl.errors import ConfigError, RequestTimeoutError
    from rivetctl.frontend.args import parse_address
    from rivetctl.frontend.exits import message
    from rivetctl.frontend.store import remember_events, remembered_events

    cli = cli_context(ctx)
    address = parse_address(name, key)
    names = list(dict.fromkeys([*(events or []), *cli.known_events(name), *remembered_events(cli.env, name)]))
    params = cli.params()
    out = cli.output
    started = time.time()
    label = address.describe().replace(" ", "/", 1)
    nothing_to_watch = ConfigError(
        f"nothing to watch: name the events, e.g. `rivetctl watch {name} {key} EVENT...` "
        "(RivetKit has no wildcard subscription), or configure them in a profile"
    )
    if not names and not state:
        raise nothing_to_watch

    from datetime import UTC, datetime

    def stamp() -> str:
        if timestamps == "relative":
            return f"+{time.time() - started:.3f}s"
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    async def body(client: "Client") -> int:
        import asyncio

        loop = asyncio.get_running_loop()
        timeout = cli.opts.timeout
        deadline = None if timeout is None else loop.time() + timeout

        def remaining() -> float | None:
            return None if deadline is None else max(0.0, deadline - loop.time())

        seen = WatchState(count)
        handle = handle_for(client, address, params=params, create=not no_create)
        conn = handle.connect(params)
        _narrate(conn, seen, out, label=label, endpoint=client.options.endpoint, timeout=timeout)

        def emit(record: Record) -> None:
            if seen.done.is_set() or seen.failed.done():
                return
            try:
                out.stream(record, COLUMNS)
            except BrokenPipeError as exc:  # the reader went away (`| head -1`): end the watch quietly
                seen.fail(exc)
                return
            if record["type"] == "event":
                seen.counted()

        for event in names:

            def on_event(*args: Any, _event: str = event) -> None:
                emit({"time": stamp(), "actor": label, "type": "event", "event": _event, "args": list(args)})

            conn.on(event, on_event)
        tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(seen.done.wait()), seen.failed]
        try:
            # Waits through failed attempts (each one told on stderr by _narrate) until --timeout, if any.
            try:
                await conn.wait_open(timeout=remaining())
            except RequestTimeoutError:
                why = f": last failure: {message(conn.last_failure)}" if conn.last_failure else ""
                raise RequestTimeoutError(f"not connected within --timeout {timeout:g} s{why}") from None
            watch_state = False
            if state and conn.actor_id is not None:
                inspector = await _state_inspector(client, handle, conn.actor_id, out)
                if inspector is not None:
                    watch_state = True
                    poll = _poll_state(inspector, state_interval, seen.done, emit, stamp, label)
                    tasks.append(asyncio.ensure_future(poll))
            if not names and not watch_state:
                raise nothing_to_watch
            if names:
                out.info(f"rivetctl: watching {label}: {', '.join(names)}" + (" + state" if watch_state else ""))
            else:
                out.info(f"rivetctl: watching {label}: state only")
            finished, _ = await asyncio.wait(tasks, timeout=remaining(), return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                error = task.exception()
                if error is not None:
                    raise error
            if not finished and not until_timeout:
                raise RequestTimeoutError(f"watch ended after --timeout {timeout:g} s")
            return 0
        finally:
            for task in tasks:
                task.cancel()
            await conn.dispose()
            remember_events(cli.env, name, names)

    run(cli, body)


def _narrate(
    conn: "ActorConnection", seen: WatchState, out: "Output", *, label: str, endpoint: str, timeout: float | None
) -> None:
    """Tell stderr what the connection is doing: each failed attempt and when the next one comes (at most one
    line per attempt), a connection lost and regained, and a connection that is slow to come up. A fatal error
    ends the run through ``seen``."""
    import asyncio

    from rivetctl.frontend.exits import message

    until = f" (until --timeout {timeout:g} s)" if timeout is not None else ""

    def on_retry(error: "RivetctlError", delay: float) -> None:
        seen.retry_reported = True
        out.info(f"rivetctl: {message(error)}; retrying in {delay:.1f} s{until}, Ctrl-C to stop")

    def on_status(status: "Status") -> None:
        if status == "idle" and conn.error is not None:
            seen.fail(conn.error)  # fatal: reconnection stopped
        elif status == "disconnected":
            if seen.lost_at is None:
                seen.lost_at = time.monotonic()
            why = f" ({message(conn.last_failure)})" if conn.last_failure else ""
            out.info(f"rivetctl: connection to {label} lost{why}; reconnecting…")
        elif status == "connected":
            if seen.connected_once:
                gap = time.monotonic() - (seen.lost_at if seen.lost_at is not None else time.monotonic())
                out.info(f"rivetctl: reconnected to {label} after {gap:.1f} s; events sent meanwhile are lost")
            seen.connected_once = True
            seen.lost_at = None

    def still_connecting() -> None:
        if conn.status == "connecting" and not seen.connected_once and not seen.retry_reported:
            out.info(f"rivetctl: still connecting to {label} at {endpoint}{until}, Ctrl-C to stop")

    conn.on_retry(on_retry)
    conn.on_status(on_status)
    timer = asyncio.get_running_loop().call_later(STILL_CONNECTING_AFTER, still_connecting)
    conn.on_open(timer.cancel)


async def _state_inspector(client: "Client", handle: "ActorHandle", actor_id: str, out: "Output") -> "Inspector | None":
    """An inspector for the actor, or ``None`` (with a note) if state cannot be read."""
    from rivetctl.client.inspector import Inspector
    from rivetctl.errors import ActorNotFoundError, RivetctlError, UnknownActorNameError

    try:
        inspector = Inspector(client, actor_id, name=handle.name)
        summary = await inspector.summary()
    except (ActorNotFoundError, UnknownActorNameError):
        raise
    except RivetctlError as exc:
        out.info(f"rivetctl: state changes unavailable ({exc})")
        return None
    if not summary.get("isStateEnabled", True):
        return None
    return inspector


async def _poll_state(
    inspector: "Inspector",
    interval: float,
    done: "asyncio.Event",
    emit: Callable[[Record], None],
    stamp: Callable[[], str],
    label: str,
) -> None:
    import asyncio

    from rivetctl.errors import RivetctlError

    previous: Any = await inspector.state()
    emit({"time": stamp(), "actor": label, "type": "state", "event": "", "args": previous})
    while not done.is_set():
        await asyncio.sleep(interval)
        try:
            current = await inspector.state()
        except RivetctlError:  # the actor is restarting, the server briefly unreachable: poll again
            continue
        if current != previous:
            emit(
                {
                    "time": stamp(),
                    "actor": label,
                    "type": "state-diff",
                    "event": "",
                    "args": diff(previous, current),
                }
            )
            previous = current


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Changes from ``old`` to ``new`` as ``{"path", "old", "new"}`` entries (JSON-pointer paths)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[dict[str, Any]] = []
        for k in list(old) + [k for k in new if k not in old]:
            sub = f"{path}/{str(k).replace('~', '~0').replace('/', '~1')}"
            if k not in new:
                changes.append({"path": sub, "old": old[k]})
            elif k not in old:
                changes.append({"path": sub, "new": new[k]})
            elif old[k] != new[k]:
                changes.extend(diff(old[k], new[k], sub))
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        changes = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                changes.extend(diff(a, b, f"{path}/{i}"))
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(new) > len(old) and new[: len(old)] == old:
        return [{"path": f"{path}/{i}", "new": v} for i, v in enumerate(new[len(old) :], start=len(old))]
    return [{"path": path or "/", "old": old, "new": new}]
