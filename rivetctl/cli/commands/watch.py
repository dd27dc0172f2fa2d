"""``rivetctl watch``: a live tail of an actor's events and state changes, reconnecting by itself."""

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.choices import Timestamps
from rivetctl.cli.commands.params import Key, Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import handle_for, run

if TYPE_CHECKING:
    import asyncio

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
    from rivetctl.frontend.store import remember_events, remembered_events

    cli = cli_context(ctx)
    address = parse_address(name, key)
    names = list(dict.fromkeys([*(events or []), *cli.known_events(name), *remembered_events(cli.env, name)]))
    params = cli.params()
    out = cli.output
    started = time.time()
    label = address.describe().replace(" ", "/", 1)
    seen: dict[str, Any] = {"n": 0}

    from datetime import UTC, datetime

    def stamp() -> str:
        if timestamps == "relative":
            return f"+{time.time() - started:.3f}s"
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    async def body(client: Any) -> int:
        import asyncio

        handle = handle_for(client, address, params=params, create=not no_create)
        watch_state = state
        inspector = None
        if watch_state:
            inspector = await _state_inspector(client, handle, out)
            watch_state = inspector is not None
        if not names and not watch_state:
            raise ConfigError(
                f"nothing to watch: name the events, e.g. `rivetctl watch {name} {key} EVENT...` "
                "(RivetKit has no wildcard subscription), or configure them in a profile"
            )
        done = asyncio.Event()
        conn = handle.connect(params)

        failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_status(status: str, *rest: Any) -> None:
            if status == "idle" and conn.error is not None and not failed.done():
                failed.set_exception(conn.error)  # fatal: reconnection stopped
            if status == "disconnected":
                seen.setdefault("lost_at", time.monotonic())
                why = f" ({conn.last_failure})" if conn.last_failure else ""
                out.info(f"rivetctl: connection to {label} lost{why}; reconnecting…")
            elif status == "connected" and seen.get("opened"):
                gap = time.monotonic() - seen.get("lost_at", time.monotonic())
                out.info(f"rivetctl: reconnected to {label} after {gap:.1f} s; events sent meanwhile are lost")
            if status == "connected":
                seen["opened"] = 1
                seen.pop("lost_at", None)

        conn.on_status(on_status)

        def emit(record: dict[str, Any]) -> None:
            out.stream(record, COLUMNS)
            if record["type"] != "event":
                return
            seen["n"] += 1
            if count is not None and seen["n"] >= count:
                done.set()

        for event in names:

            def on_event(*args: Any, _event: str = event) -> None:
                if not done.is_set():
                    emit(
                        {
                            "time": stamp(),
                            "actor": label,
                            "type": "event",
                            "event": _event,
                            "args": list(args),
                        }
                    )

            conn.on(event, on_event)
        tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(done.wait()), failed]
        if watch_state and inspector is not None:
            tasks.append(asyncio.ensure_future(_poll_state(inspector, state_interval, done, emit, stamp, label)))
        try:
            await conn.wait_open(timeout=cli.opts.timeout)
            if names:
                out.info(f"rivetctl: watching {label}: {', '.join(names)}" + (" + state" if watch_state else ""))
            else:
                out.info(f"rivetctl: watching {label}: state only")
            timeout = cli.opts.timeout
            finished, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if not finished and not until_timeout:
                raise RequestTimeoutError(f"watch ended after --timeout {timeout:g} s")
            return 0
        finally:
            for task in tasks:
                task.cancel()
            await conn.dispose()
            remember_events(cli.env, name, names)

    run(cli, body)


async def _state_inspector(client: Any, handle: Any, out: Any) -> Any:
    """An inspector for the actor, or ``None`` (with a note) if state cannot be read."""
    from rivetctl.client.inspector import Inspector
    from rivetctl.errors import RivetctlError

    try:
        actor_id = await handle.resolve()
        inspector = Inspector(client, actor_id, name=handle.name)
        summary = await inspector.summary()
    except RivetctlError as exc:
        if getattr(exc, "full_code", "") in ("actor.not_found",) or type(exc).__name__ == "UnknownActorNameError":
            raise
        out.info(f"rivetctl: state changes unavailable ({exc})")
        return None
    if not summary.get("isStateEnabled", True):
        return None
    return inspector


async def _poll_state(
    inspector: Any, interval: float, done: "asyncio.Event", emit: Any, stamp: Any, label: str
) -> None:
    import asyncio

    from rivetctl.errors import NetworkError, RivetctlError

    previous: Any = await inspector.state()
    emit({"time": stamp(), "actor": label, "type": "state", "event": "", "args": previous})
    while not done.is_set():
        await asyncio.sleep(interval)
        try:
            current = await inspector.state()
        except NetworkError:
            continue
        except RivetctlError:
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
