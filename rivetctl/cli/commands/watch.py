"""``rivetctl watch``: a live tail of an actor's events and state changes, reconnecting by itself; or of many
actors' events in one merged stream (``--keys``, ``--keys-from``, ``--all``), each actor reconnecting on its own."""

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.choices import Timestamps
from rivetctl.cli.commands.call import All, Keys, KeysFrom, PageSize
from rivetctl.cli.commands.params import Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import handle_for, run

if TYPE_CHECKING:
    import asyncio

    from rivetctl.client import ActorHandle, Client
    from rivetctl.client.connection import ActorConnection, Status
    from rivetctl.client.inspector import Inspector
    from rivetctl.errors import RivetctlError
    from rivetctl.frontend.fanout import Target
    from rivetctl.frontend.settings import Settings
    from rivetctl.output.render import Output

EPILOG = """Examples:

  rivetctl watch chatRoom general newMessage

  rivetctl watch counter my-counter newCount --count 10 -o jsonl

  rivetctl --timeout 30 watch counter my-counter newCount --until-timeout

  rivetctl watch fleet --keys east-1,east-2 calls -o jsonl

  printf 'east-1\\n["org-1","west,2"]\\n' | rivetctl watch fleet --keys-from - calls --count 10

  rivetctl watch chatRoom general newMessage --dry-run

RivetKit has no wildcard subscription: name the events to watch, or configure them per actor name in a
profile ([profiles.NAME.events] counter = ["newCount"]); names seen before are remembered. State changes
come from the actor's inspector (polled, --state-interval).

Many actors at once: --keys K1,K2,..., --keys-from FILE|- (one key per line, a JSON array for a compound key)
or --all (every actor of NAME) replace KEY; their events come in one stream, each line with the actor's key,
and each connection reconnects on its own. State changes are off then unless --state is given. --dry-run
prints the WebSocket URL, subprotocols and subscription frames of each actor and sends nothing.

Global options (-e, -o, --timeout, --param, ...) may also follow the command; after `--` nothing is an
option (an event name starting with '-').
"""

COLUMNS = ("time", "actor", "type", "event", "args")


OPENING_AT_ONCE = 16
"""A fan-in opens at most this many connections at a time (each one's first attempt)."""

STILL_CONNECTING_AFTER = 2.0
"""Seconds without a connection (and no failed attempt to report) before stderr says the watch is still
trying."""

Record = dict[str, Any]


class WatchState:
    """What one watch run has seen: events counted against ``--count``, and how the run ends (``done``, or
    ``failed`` with an error). A plain class: this module is imported when the command line is parsed."""

    def __init__(self, count: int | None) -> None:
        import asyncio

        self.count = count
        self.events = 0
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


class ConnHistory:
    """One connection's history, for the "lost" / "reconnected" lines."""

    def __init__(self) -> None:
        self.connected_once = False
        self.lost_at: float | None = None
        self.retry_reported = False


KeyOrEvent = Annotated[
    str | None,
    typer.Argument(
        metavar="KEY",
        help='Actor key: a string, a JSON array for compound keys (\'["org-1","general"]\'), or @ACTOR_ID. '
        "Left out with --keys, --keys-from or --all.",
        show_default=False,
    ),
]


def watch(
    ctx: typer.Context,
    name: Name,
    key: KeyOrEvent = None,
    events: Annotated[
        list[str] | None, typer.Argument(metavar="EVENT", help="Event names to subscribe to.", show_default=False)
    ] = None,
    count: Annotated[int | None, typer.Option("--count", metavar="N", min=1, help="Stop after N events.")] = None,
    until_timeout: Annotated[
        bool,
        typer.Option("--until-timeout", help="Reaching --timeout ends the watch with exit 0 (not 8)."),
    ] = False,
    state: Annotated[
        bool | None,
        typer.Option(
            "--state/--no-state",
            help="Also show state changes (inspector); on for one actor, off for many.",
            show_default=False,
        ),
    ] = None,
    state_interval: Annotated[
        float, typer.Option("--state-interval", metavar="SECONDS", min=0.05, help="Seconds between state polls.")
    ] = 1.0,
    timestamps: Annotated[
        Timestamps,
        typer.Option("--timestamps", help="Time column: absolute (ISO 8601, UTC) or relative (seconds since start)."),
    ] = Timestamps.ABSOLUTE,
    no_create: Annotated[bool, typer.Option("--no-create", help="Require an existing actor.")] = False,
    keys: Keys = None,
    keys_from: KeysFrom = None,
    all_actors: All = False,
    page_size: PageSize = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the WebSocket URL, subprotocols and frames of each actor; send nothing."),
    ] = False,
) -> None:
    """Stream an actor's events (and state changes) as table rows or JSON lines."""
    from rivetctl.errors import ConfigError, RequestTimeoutError
    from rivetctl.frontend.args import parse_address
    from rivetctl.frontend.exits import message
    from rivetctl.frontend.store import remember_events, remembered_events

    cli = cli_context(ctx)
    sources = [flag for flag, given in (("--keys", keys), ("--keys-from", keys_from), ("--all", all_actors)) if given]
    if len(sources) > 1:
        raise ConfigError(f"{' and '.join(sources)} are alternatives: give one")
    if sources:
        given = [*([key] if key is not None else []), *(events or [])]  # KEY is left out: all are events
        names = list(dict.fromkeys([*given, *cli.known_events(name), *remembered_events(cli.env, name)]))
        if dry_run:
            _fan_in_dry_run(cli, name, names, keys=keys, keys_from=keys_from, no_create=no_create)
            return
        _fan_in(
            cli,
            name,
            names,
            keys=keys,
            keys_from=keys_from,
            page_size=page_size,
            count=count,
            until_timeout=until_timeout,
            state=bool(state),
            state_interval=state_interval,
            timestamps=timestamps,
            no_create=no_create,
        )
        return
    if key is None:
        ctx.fail("Missing argument 'KEY'.")
    if page_size is not None:
        raise ConfigError("--page-size is for --all")
    address = parse_address(name, key)
    names = list(dict.fromkeys([*(events or []), *cli.known_events(name), *remembered_events(cli.env, name)]))
    if dry_run:
        from rivetctl.cli.commands.connect import websocket_plan
        from rivetctl.protocol.messages import SubscriptionRequest

        frames: list[Any] = [SubscriptionRequest(event, True) for event in names]
        cli.output.value(websocket_plan(cli, name, key, frames, create=not no_create))
        return
    state = True if state is None else state
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

    stamp = _stamper(timestamps, started)

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
        _narrate(conn, ConnHistory(), seen.fail, out, label=label, endpoint=client.options.endpoint, timeout=timeout)

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
    conn: "ActorConnection",
    seen: ConnHistory,
    fail: Callable[[BaseException], None],
    out: "Output",
    *,
    label: str,
    endpoint: str,
    timeout: float | None,
    slow_note: bool = True,
) -> None:
    """Tell stderr what the connection is doing: each failed attempt and when the next one comes (at most one
    line per attempt), a connection lost and regained, and (``slow_note``) a connection slow to come up. A fatal
    error goes to ``fail``."""
    import asyncio

    from rivetctl.frontend.exits import message

    until = f" (until --timeout {timeout:g} s)" if timeout is not None else ""

    def on_retry(error: "RivetctlError", delay: float) -> None:
        seen.retry_reported = True
        out.info(f"rivetctl: {message(error)}; retrying in {delay:.1f} s{until}, Ctrl-C to stop")

    def on_status(status: "Status") -> None:
        if status == "idle" and conn.error is not None:
            fail(conn.error)  # fatal: reconnection stopped
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
    if slow_note:
        timer = asyncio.get_running_loop().call_later(STILL_CONNECTING_AFTER, still_connecting)
        conn.on_open(timer.cancel)


def _stamper(timestamps: str, started: float) -> Callable[[], str]:
    """The time column: ISO 8601 (UTC, milliseconds), or seconds since ``started``."""
    from datetime import UTC, datetime

    def stamp() -> str:
        if timestamps == "relative":
            return f"+{time.time() - started:.3f}s"
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    return stamp


def _fan_in_targets(cli: "Settings", keys: str | None, keys_from: str | None) -> "list[Target] | None":
    """The targets of --keys, or None (--keys-from is read as it goes); a key file is checked whole first."""
    from rivetctl.frontend import fanout

    if keys is not None:
        return fanout.parse_keys_option(keys)
    if keys_from is not None and keys_from != "-":
        fanout.check_key_file(keys_from)
    return None


def _target_label(name: str, target: "Target") -> tuple[str, str]:
    """The actor as a watch line names it (``fleet/["a"]``) and as the command line writes it (``a``)."""
    import json

    if target.key is not None:
        return f"{name}/{json.dumps(target.key, ensure_ascii=False)}", json.dumps(target.key, ensure_ascii=False)
    return f"{name}/@{target.actor_id}", f"@{target.actor_id}"


def _fan_in_dry_run(
    cli: "Settings", name: str, names: list[str], *, keys: str | None, keys_from: str | None, no_create: bool
) -> None:
    """--dry-run with many actors: each one's WebSocket URL, subprotocols and subscription frames."""
    from pathlib import Path

    from rivetctl.cli.commands.connect import websocket_plan
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.fanout import line_target
    from rivetctl.protocol.messages import SubscriptionRequest

    if keys is None and keys_from is None:
        raise ConfigError("--dry-run lists no actors: give them with --keys or --keys-from instead of --all")
    targets = _fan_in_targets(cli, keys, keys_from)
    if targets is None:
        assert keys_from is not None
        text = cli.stdin.read() if keys_from == "-" else Path(keys_from).expanduser().read_text(encoding="utf-8")
        where = "stdin" if keys_from == "-" else keys_from
        targets = [t for n, line in enumerate(text.splitlines(), 1) if (t := line_target(line, where, n))]
    frames: list[Any] = [SubscriptionRequest(event, True) for event in names]
    plans = [
        {"key": t.key, **websocket_plan(cli, name, _target_label(name, t)[1], frames, create=not no_create)}
        for t in targets
    ]
    if cli.output.mode in ("jsonl", "raw"):
        for plan in plans:
            cli.output.stream(plan)
    else:
        cli.output.value(plans)


def _fan_in(
    cli: "Settings",
    name: str,
    names: list[str],
    *,
    keys: str | None,
    keys_from: str | None,
    page_size: int | None,
    count: int | None,
    until_timeout: bool,
    state: bool,
    state_interval: float,
    timestamps: str,
    no_create: bool,
) -> None:
    """Follow the events of many actors of ``name`` in one stream, each line carrying the actor's key; each
    connection reconnects on its own, and one whose actor is gone (a fatal error) is dropped with a line on
    stderr (the watch fails when none is left)."""
    from rivetctl.errors import ActorNotFoundError, ConfigError, RequestTimeoutError, RivetctlError
    from rivetctl.frontend import fanout
    from rivetctl.frontend.exits import message
    from rivetctl.frontend.store import remember_events

    if not names and not state:
        raise ConfigError(
            f"nothing to watch: name the events, e.g. `rivetctl watch {name} --keys K1,K2 EVENT...` "
            "(RivetKit has no wildcard subscription), or configure them in a profile"
        )
    listed = _fan_in_targets(cli, keys, keys_from)
    params = cli.params()
    out = cli.output
    stamp = _stamper(timestamps, time.time())

    async def body(client: "Client") -> None:
        import asyncio
        from pathlib import Path

        loop = asyncio.get_running_loop()
        timeout = cli.opts.timeout
        deadline = None if timeout is None else loop.time() + timeout
        await client.check_name(name)
        accessor = client.actor(name)
        seen = WatchState(count)
        conns: list[ActorConnection] = []
        dead: list[BaseException] = []
        polls: list[asyncio.Task[None]] = []
        opening = asyncio.Semaphore(OPENING_AT_ONCE)
        source_done = False

        def emit(record: Record) -> None:
            if seen.done.is_set() or seen.failed.done():
                return
            try:
                out.stream(record, COLUMNS)
            except BrokenPipeError as exc:  # the reader went away: end the watch quietly
                seen.fail(exc)
                return
            if record["type"] == "event":
                seen.counted()

        def check_all_dead() -> None:
            if source_done and conns and len(dead) == len(conns):
                seen.fail(dead[0])

        def follow(target: fanout.Target) -> None:
            if target.actor_id is not None:
                handle = accessor.get_for_id(target.actor_id, params=params)
            elif no_create:
                handle = accessor.get(target.key, params=params)
            else:
                handle = accessor.get_or_create(target.key, params=params)
            label, _ = _target_label(name, target)
            conn = handle.connect(params)
            conns.append(conn)
            released = False

            def release(*_: Any) -> None:
                nonlocal released
                if not released:
                    released = True
                    opening.release()

            def stopped(error: BaseException) -> None:
                release()
                dead.append(error)
                out.info(f"rivetctl: stopped watching {label}: {message(error)}")
                check_all_dead()

            _narrate(
                conn,
                ConnHistory(),
                stopped,
                out,
                label=label,
                endpoint=client.options.endpoint,
                timeout=timeout,
                slow_note=False,
            )
            conn.on_open(release)
            conn.on_retry(release)

            def keyed(record: Record) -> Record:
                return {"time": record["time"], "actor": label, "key": target.key, **record}

            for event in names:

                def on_event(*args: Any, _event: str = event) -> None:
                    emit(keyed({"time": stamp(), "type": "event", "event": _event, "args": list(args)}))

                conn.on(event, on_event)
            if state:

                def poll_state() -> None:
                    if polls_started.get(id(conn)) or conn.actor_id is None:
                        return
                    polls_started[id(conn)] = True
                    polls.append(asyncio.ensure_future(_follow_state(handle, conn.actor_id, label, keyed)))

                conn.on_open(poll_state)

        polls_started: dict[int, bool] = {}

        async def _follow_state(
            handle: "ActorHandle", actor_id: str, label: str, keyed: Callable[[Record], Record]
        ) -> None:
            try:
                inspector = await _state_inspector(client, handle, actor_id, out)
                if inspector is not None:
                    await _poll_state(inspector, state_interval, seen.done, lambda r: emit(keyed(r)), stamp, label)
            except RivetctlError as exc:
                out.info(f"rivetctl: state changes of {label} unavailable ({message(exc)})")

        async def open_all() -> None:
            nonlocal source_done
            with contextlib.ExitStack() as stack:
                if listed is not None:
                    source = fanout.from_list(listed)
                elif keys_from == "-":
                    source = fanout.from_lines(cli.stdin, "stdin")
                elif keys_from is not None:
                    stream = stack.enter_context(Path(keys_from).expanduser().open(encoding="utf-8"))
                    source = fanout.from_lines(stream, keys_from)
                else:
                    source = fanout.from_engine(client, name, page_size=page_size)
                async for target in source:
                    await opening.acquire()
                    follow(target)
            source_done = True
            if not conns:
                if keys_from is None and listed is None:
                    raise ActorNotFoundError("actor", "not_found", f"no {name!r} actors to watch")
                raise ConfigError(f"no keys in {'stdin' if keys_from == '-' else keys_from}")
            for _ in range(OPENING_AT_ONCE):  # every connection's first attempt is over
                await opening.acquire()
            what = ", ".join(names) if names else "state only"
            if names and state:
                what += " + state"
            out.info(f"rivetctl: watching {len(conns)} {name} actor{'s' if len(conns) != 1 else ''}: {what}")
            check_all_dead()

        async def opener() -> None:
            try:
                await open_all()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                seen.fail(exc)

        tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(seen.done.wait()), seen.failed]
        opening_task = asyncio.ensure_future(opener())
        try:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            finished, _ = await asyncio.wait(tasks, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                error = task.exception()
                if error is not None:
                    raise error
            if not finished and not until_timeout:
                raise RequestTimeoutError(f"watch ended after --timeout {timeout:g} s")
        finally:
            opening_task.cancel()
            for task in [*tasks, *polls]:
                task.cancel()
            await asyncio.gather(*(conn.dispose() for conn in conns), return_exceptions=True)
            remember_events(cli.env, name, names)

    run(cli, body)


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
