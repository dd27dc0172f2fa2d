"""``connect`` and ``repl``: a live connection; the REPL on a terminal, JSON lines in and out otherwise."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer

from rivetctl.cli.runner import cli_context, run

EPILOG = """Examples:

  rivetctl connect counter my-counter            (a terminal: the REPL)

  printf 'increment 5\\ngetCount\\n' | rivetctl connect counter my-counter --sub newCount

Script mode (stdin not a terminal): one call per line (ACTION ARG... or {"action":..,"args":[..]}), answers and
events out as JSON lines; .sub/.unsub EVENT work too. Exit status 3 if any call failed.
"""
REPL_EPILOG = """Examples:

  rivetctl repl counter my-counter

  rivetctl repl            (then .use chatRoom general)
"""


def connect(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Actor name.", show_default=False)],
    key: Annotated[str, typer.Argument(help="Actor key, JSON array, or @ACTOR_ID.", show_default=False)],
    sub: Annotated[list[str] | None, typer.Option("--sub", help="Subscribe to this event; repeatable.")] = None,
    linger: Annotated[
        float,
        typer.Option("--linger", min=0, help="Script mode: seconds to keep receiving events after stdin ends."),
    ] = 0.0,
) -> None:
    """Open a live connection to an actor (REPL on a terminal, JSON lines when scripted)."""
    cli = cli_context(ctx)
    if _is_tty(cli.stdin) and _is_tty(cli.stdout):
        from rivetctl.repl.app import run_repl

        raise typer.Exit(run_repl(cli, name, key, subscribe=list(sub or [])))
    raise typer.Exit(_script(cli, name, key, list(sub or []), linger))


def repl(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Actor name to open first.", show_default=False)] = None,
    key: Annotated[str | None, typer.Argument(help="Its key.", show_default=False)] = None,
) -> None:
    """The interactive REPL (script mode when stdin is not a terminal)."""
    from rivetctl.errors import ConfigError

    cli = cli_context(ctx)
    if (name is None) != (key is None):
        raise ConfigError("repl takes NAME and KEY together, or neither")
    if _is_tty(cli.stdin) and _is_tty(cli.stdout):
        from rivetctl.repl.app import run_repl

        raise typer.Exit(run_repl(cli, name, key))
    if name is None or key is None:
        raise ConfigError("script mode needs NAME KEY")
    raise typer.Exit(_script(cli, name, key, [], 0.0))


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _script(cli: Any, name: str, key: str, subscribe: list[str], linger: float) -> int:
    from rivetctl.cli.args import parse_address
    from rivetctl.cli.exits import Exit, error_document
    from rivetctl.cli.runner import handle_for
    from rivetctl.errors import RivetctlError
    from rivetctl.output.render import dumps
    from rivetctl.repl.grammar import Call, Dot, Empty, parse_line

    address = parse_address(name, key)
    params = cli.params()
    out = cli.stdout

    def write(record: dict[str, Any]) -> None:
        out.write(dumps(record) + "\n")
        out.flush()

    async def body(client: Any) -> int:
        handle = handle_for(client, address, params=params)
        conn = handle.connect(params)
        failures = 0
        listeners: dict[str, Any] = {}

        def subscribe_to(event: str) -> None:
            if event in listeners:
                return

            def on_event(*args: Any) -> None:
                write({"type": "event", "event": event, "args": list(args), "time": time.time()})

            listeners[event] = conn.on(event, on_event)

        for event in subscribe:
            subscribe_to(event)
        try:
            await conn.wait_open(timeout=cli.opts.timeout)
            write({"type": "open", "actor_id": conn.actor_id, "connection_id": conn.connection_id})
            loop = asyncio.get_running_loop()
            lineno = 0
            while True:
                line = await loop.run_in_executor(None, cli.stdin.readline)
                if not line:
                    break
                lineno += 1
                try:
                    parsed = parse_line(line)
                    if isinstance(parsed, Empty):
                        continue
                    if isinstance(parsed, Dot):
                        if parsed.name == ".sub":
                            for event in parsed.words:
                                subscribe_to(event)
                            write({"type": "subscribed", "events": parsed.words, "line": lineno})
                        elif parsed.name == ".unsub":
                            for event in parsed.words:
                                unsubscribe = listeners.pop(event, None)
                                if unsubscribe:
                                    unsubscribe()
                            write({"type": "unsubscribed", "events": parsed.words, "line": lineno})
                        elif parsed.name == ".quit":
                            break
                        elif parsed.name == ".status":
                            write({"type": "status", "status": conn.status, "line": lineno})
                        else:
                            write(
                                {
                                    "type": "error",
                                    "line": lineno,
                                    "error": {"message": f"{parsed.name} is REPL-only"},
                                }
                            )
                        continue
                    assert isinstance(parsed, Call)
                    started = time.perf_counter()
                    output = await conn.action(parsed.action, *parsed.args)
                    write(
                        {
                            "type": "result",
                            "line": lineno,
                            "action": parsed.action,
                            "output": output,
                            "ms": round((time.perf_counter() - started) * 1000, 2),
                        }
                    )
                except RivetctlError as exc:
                    failures += 1
                    doc = error_document(exc)
                    write({"type": "error", "line": lineno, **doc})
            if linger:
                await asyncio.sleep(linger)
        finally:
            await conn.dispose()
        return int(Exit.ACTOR_ERROR) if failures else 0

    return run(cli, body)
