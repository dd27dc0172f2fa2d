"""``rivetctl wait``: until a JMESPath condition on an actor's state (or on an event's args) holds, for scripts."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.commands.params import Key, Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import run

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from rivetctl.client import ActorInfo, Client
    from rivetctl.errors import RivetctlError
    from rivetctl.frontend.args import Address
    from rivetctl.frontend.query import Query
    from rivetctl.output.render import Output

EPILOG = """Examples:

  rivetctl wait counter my-counter --until 'count >= `0`'

  rivetctl wait counter my-counter --until count --interval 0.2 -o raw

  rivetctl --timeout 60 wait counter my-counter --until 'count >= `0`' && echo ready

  rivetctl wait counter my-counter --event newCount --until '[0] >= `10`'

Without --event, EXPR (JMESPath, https://jmespath.org) is evaluated on the actor's state (as `rivetctl state`
prints it, read through the inspector) at once and then every --interval seconds, until its value is true in
JMESPath's sense (not false, null, "", [] or {}; 0 is true): that value is printed (JSON; -o raw prints a string
unquoted) and wait exits 0. `status == 'done'` prints true; `count` prints the count once it is not null.

With --event, wait opens a live connection, subscribes to EVENT and evaluates EXPR on each event's args array
(`[0]` is the first argument) until it holds; without --until the first EVENT ends the wait and its args are
printed. Events sent before the connection is open (stderr says "waiting for ...") are not seen.

--timeout SECONDS (a global option; none by default: wait forever) ends the wait with exit 8 and the last value
EXPR had on stderr. A missing actor exits 4 (wait never creates one); an unreachable server is retried, one
stderr line per attempt, until the timeout. A bad expression exits 2 before anything is sent.
"""

RETRY_FIRST = 0.2
RETRY_MAX = 5.0
"""Seconds between attempts while the server cannot be reached (doubling from the first to the most)."""

_NOTHING: Any = object()


class _Seen:
    """What the wait has seen: EXPR's last value, the last failure (for the timeout's message)."""

    def __init__(self) -> None:
        self.value: Any = _NOTHING
        self.failure: RivetctlError | None = None

    def last(self) -> str:
        from rivetctl.frontend.exits import message
        from rivetctl.output.render import dumps

        if self.value is not _NOTHING:
            return f"last value: {dumps(self.value)}"
        if self.failure is not None:
            return f"no value seen; last failure: {message(self.failure)}"
        return "no value seen"


def wait(
    ctx: typer.Context,
    name: Name,
    key: Key,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="EXPR",
            help="JMESPath condition: on the state, or with --event on the event's args array.",
            show_default=False,
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option("--event", metavar="EVENT", help="Wait for this event (live connection).", show_default=False),
    ] = None,
    interval: Annotated[
        float,
        typer.Option("--interval", metavar="SECONDS", min=0.05, help="Seconds between state reads (without --event)."),
    ] = 1.0,
) -> None:
    """Wait until a JMESPath condition on an actor's state (or an event's args) holds; print its value."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_address
    from rivetctl.frontend.query import compile_query

    cli = cli_context(ctx)
    address = parse_address(name, key)
    if until is None and event is None:
        raise ConfigError("wait needs --until EXPR (a condition on the state), or --event EVENT")
    condition = compile_query(until, "--until") if until is not None else None
    out = cli.output
    params = cli.params()
    timeout = cli.opts.timeout
    label = address.describe()

    async def body(client: "Client") -> Any:
        import asyncio

        from rivetctl.errors import RequestTimeoutError

        seen = _Seen()
        if event is not None:
            work = _wait_for_event(client, address, event, condition, params, out, seen, timeout)
        else:
            assert condition is not None
            work = _wait_for_state(client, address, condition, interval, cli, seen, timeout)
        try:
            async with asyncio.timeout(timeout):
                return await work
        except TimeoutError:
            if event is None:
                what = f"--until {until!r} not met on {label}"
            elif until is None:
                what = f"no {event!r} event from {label}"
            else:
                what = f"--until {until!r} not met by a {event!r} event from {label}"
            raise RequestTimeoutError(f"{what} within --timeout {timeout:g} s; {seen.last()}") from None

    out.value(run(cli, body))


def _transient(error: "RivetctlError") -> bool:
    """A failure worth trying again: the server unreachable, a request timed out, the actor between lives."""
    from rivetctl.errors import ActorError, AuthError, NetworkError

    if isinstance(error, NetworkError):
        return not error.permanent
    if isinstance(error, AuthError):
        return False
    return isinstance(error, ActorError) and (error.status or 0) >= 500 and error.group != "user"


async def _retrying(attempt: "Callable[[], Awaitable[Any]]", out: "Output", seen: _Seen, timeout: float | None) -> Any:
    """``attempt()`` until it succeeds, one stderr line per failed attempt that can be retried; other errors
    end the wait."""
    import asyncio

    from rivetctl.errors import RivetctlError
    from rivetctl.frontend.exits import message

    delay = RETRY_FIRST
    until = f" (until --timeout {timeout:g} s)" if timeout is not None else ""
    while True:
        try:
            return await attempt()
        except RivetctlError as exc:
            if not _transient(exc):
                raise
            seen.failure = exc
            out.info(f"rivetctl: {message(exc)}; retrying in {delay:.1f} s{until}, Ctrl-C to stop")
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX)


async def _find(client: "Client", address: "Address", out: "Output", seen: _Seen, timeout: float | None) -> "ActorInfo":
    from rivetctl.frontend.runner import lookup

    info: ActorInfo = await _retrying(lambda: lookup(client, address), out, seen, timeout)
    return info


async def _wait_for_state(
    client: "Client",
    address: "Address",
    condition: "Query",
    interval: float,
    cli: Any,
    seen: _Seen,
    timeout: float | None,
) -> Any:
    """Read the state at once and every ``interval`` seconds until ``condition`` holds; its value."""
    import asyncio

    from rivetctl.client.inspector import Inspector
    from rivetctl.errors import RivetctlError
    from rivetctl.frontend.exits import message
    from rivetctl.frontend.query import truthy

    out: Output = cli.output
    info = await _find(client, address, out, seen, timeout)
    token, source = cli.inspector_token()
    inspector = Inspector(client, info.actor_id, name=address.name, token=token, token_source=source)
    out.info(f"rivetctl: waiting for {condition.expression} on the state of {address.describe()}")
    failing = False
    while True:
        try:
            state = await inspector.state()
        except RivetctlError as exc:
            if not _transient(exc):
                raise
            seen.failure = exc
            if not failing:
                out.info(f"rivetctl: cannot read the state ({message(exc)}); retrying every {interval:g} s")
            failing = True
        else:
            failing = False
            value = condition.search(state)
            seen.value = value
            if truthy(value):
                return value
        await asyncio.sleep(interval)


async def _wait_for_event(
    client: "Client",
    address: "Address",
    event: str,
    condition: "Query | None",
    params: Any,
    out: "Output",
    seen: _Seen,
    timeout: float | None,
) -> Any:
    """Subscribe to ``event`` on a live connection; the first args array on which ``condition`` holds gives
    its value (the args themselves without a condition)."""
    import asyncio

    from rivetctl.frontend.args import Address
    from rivetctl.frontend.exits import message
    from rivetctl.frontend.query import truthy
    from rivetctl.frontend.runner import handle_for

    info = await _find(client, address, out, seen, timeout)
    handle = handle_for(client, Address(address.name, actor_id=info.actor_id), params=params, create=False)
    conn = handle.connect(params)
    received: asyncio.Queue[list[Any]] = asyncio.Queue()
    failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    until = f" (until --timeout {timeout:g} s)" if timeout is not None else ""

    def on_retry(error: "RivetctlError", delay: float) -> None:
        seen.failure = error
        out.info(f"rivetctl: {message(error)}; retrying in {delay:.1f} s{until}, Ctrl-C to stop")

    def on_status(status: str) -> None:
        if status == "idle" and conn.error is not None and not failed.done():
            failed.set_exception(conn.error)  # fatal: the connection stopped trying

    conn.on_retry(on_retry)
    conn.on_status(on_status)
    conn.on(event, lambda *args: received.put_nowait(list(args)))
    try:
        await conn.wait_open()
        what = f" until {condition.expression}" if condition is not None else ""
        out.info(f"rivetctl: waiting for {event} on {address.describe()}{what}")
        while True:
            getting: asyncio.Future[Any] = asyncio.ensure_future(received.get())
            done, _ = await asyncio.wait({getting, failed}, return_when=asyncio.FIRST_COMPLETED)
            if getting not in done:
                getting.cancel()
                failed.result()  # raises the connection's fatal error
            args = getting.result()
            if condition is None:
                return args
            value = condition.search(args)
            seen.value = value
            if truthy(value):
                return value
    finally:
        if failed.done():
            failed.exception()  # retrieved: it was raised above, or the wait ended otherwise
        else:
            failed.cancel()
        await conn.dispose()
