"""``workflow`` and ``traces``: an actor's workflow history (followed as it advances, replayed from an entry)
and its trace spans, from its inspector."""

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.commands.params import Key, Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import inspector_for, run
from rivetctl.output.render import is_terminal

if TYPE_CHECKING:
    from rich.console import RenderableType

    from rivetctl.client import Client
    from rivetctl.client.inspector import Inspector
    from rivetctl.client.workflow_history import Node, WorkflowHistory
    from rivetctl.frontend.args import Address
    from rivetctl.frontend.settings import Settings

WORKFLOW_EPILOG = """Examples:

  rivetctl workflow onboarding user-1

  rivetctl workflow onboarding user-1 --follow

  rivetctl workflow onboarding user-1 -o json | jq '.history[].name'

The tree shows every step, loop (with its iterations), sleep, join and race (with their branches): status,
attempts, start and duration, errors, outputs cut to 60 characters, and the first 8 characters of each
entry's id. -o json gives the decoded history whole (names resolved, kinds as short names, times in ms).

--follow redraws the tree as the workflow advances (one JSON line per change when not on a terminal) and
ends when the workflow completes or fails; Ctrl-C leaves it earlier (exit 130).

--replay ENTRY_ID (an entry's id, or the start of one: --replay 3f2a9c1e --yes --follow re-runs from that
step and follows the run) drops that step and every later entry and lets the workflow run them again (a step
inside a loop re-runs the whole loop). RivetKit orders entries by creation time, which sleeps, joins and races
lack: it drops those wherever they are. It asks first on a terminal, listing what it drops; elsewhere it needs
--yes (exit 2, nothing sent, without). Only steps can be replayed from, and only while the workflow is not
running. An actor whose run handler is not a workflow, or an unknown entry id, exits 4.
"""
TRACES_EPILOG = """Examples:

  rivetctl traces onboarding user-1

  rivetctl traces onboarding user-1 -o json

Spans are shown as a waterfall: each span under its parent, its start after the first span, its duration and
a bar on a common time line. -o json prints the inspector's answer as it is ({"otlp": [...], "clamped": ...}).
RivetKit 2.3.19 records no spans: then one line on stderr says so (exit 0).
"""


def workflow(
    ctx: typer.Context,
    name: Name,
    key: Key,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Redraw as the workflow advances, until it completes or fails.")
    ] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", metavar="SECONDS", min=0.1, help="Seconds between polls with --follow."),
    ] = 1.0,
    replay: Annotated[
        str | None,
        typer.Option(
            "--replay",
            metavar="ENTRY_ID",
            help="Re-run the workflow from this step: it and every later entry are dropped (asks on a terminal).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed for --replay off a terminal).")] = False,
) -> None:
    """Show an actor's workflow history as a tree; follow it, or replay it from an entry."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_address

    cli = cli_context(ctx)
    address = parse_address(name, key)
    if replay is not None:
        entry_id = replay.strip()
        if not entry_id:
            raise ConfigError("--replay needs an entry id (an empty one would replay the workflow from the start)")
        if not yes and not (is_terminal(cli.stdin) and is_terminal(cli.stderr)):
            raise ConfigError("--replay drops entries and runs them again: add --yes to confirm (nothing was sent)")
        replayed = _replay(cli, address, entry_id, ask=not yes)
        if replayed is None:
            return
        if not follow:
            _show(cli, address, replayed)
            return

    if follow:
        _follow(cli, address, interval)
        return

    async def body(client: "Client") -> "WorkflowHistory":
        return await _history(await inspector_for(client, address, cli), address)

    _show(cli, address, run(cli, body))


def traces(ctx: typer.Context, name: Name, key: Key) -> None:
    """Show an actor's trace spans (OpenTelemetry) as a waterfall."""
    from rivetctl.frontend.args import parse_address
    from rivetctl.output.waterfall import spans_from_otlp

    cli = cli_context(ctx)
    address = parse_address(name, key)

    async def body(client: "Client") -> dict[str, Any]:
        return await (await inspector_for(client, address, cli)).traces()

    data = run(cli, body)
    spans = spans_from_otlp(data.get("otlp"))
    out = cli.output
    if not spans:
        out.info(f"rivetctl: no trace spans recorded for {address.describe()} (the server records none)")
    if not out.is_table:
        out.value(data)
        return
    if spans:
        from rivetctl.output.waterfall import waterfall

        title = f"trace spans of {address.describe()}" + (
            " (clamped: more were recorded)" if data.get("clamped") else ""
        )
        out.console().print(waterfall(spans, title=title, color=out.color))


# -- workflow pieces --------------------------------------------------------------------------------------------


async def _history(inspector: "Inspector", address: "Address") -> "WorkflowHistory":
    """The actor's decoded workflow history; exit 4 when its run handler is not a workflow."""
    from rivetctl.client.workflow_history import decode

    history = decode(await inspector.workflow())
    if not history.enabled:
        raise _no_workflow(address)
    return history


def _no_workflow(address: "Address") -> Exception:
    from rivetctl.errors import ActorNotFoundError

    return ActorNotFoundError("workflow", "not_enabled", f"{address.describe()} has no workflow")


def _replay(cli: "Settings", address: "Address", entry_id: str, *, ask: bool) -> "WorkflowHistory | None":
    """Replay from ``entry_id`` (after asking when ``ask``); the history the server answers, or ``None`` when
    the user said no."""
    from rivetctl.client.workflow_history import decode
    from rivetctl.errors import ActorNotFoundError, ConfigError

    async def find(client: "Client") -> "tuple[WorkflowHistory, Node]":
        history = await _history(await inspector_for(client, address, cli), address)
        found = history.find(entry_id)
        if not found:
            raise ActorNotFoundError(
                "workflow", "entry_not_found", f"no entry {entry_id!r} in the workflow history of {address.describe()}"
            )
        if len(found) > 1:
            ids = ", ".join(str(n.id) for n in found[:5])
            raise ConfigError(
                f"entry id {entry_id!r} is the start of {len(found)} entries' ids ({ids}): give more of it"
            )
        node = found[0]
        if node.kind != "step":
            raise ConfigError(
                f"entry {node.id} ({node.location}) is a {node.kind}: a workflow can be replayed from a step only"
            )
        return history, node

    history, node = run(cli, find)
    boundary = history.replay_boundary(node)
    what = f"step {node.location!r} ({node.id})"
    if boundary is not node:
        what += f", inside loop {boundary.location!r}, which re-runs from its start"
    if ask:
        drops = [n.location for n in history.replay_drops(node)]
        listed = ", ".join(drops[:6]) + (", …" if len(drops) > 6 else "")
        cli.stderr.write(
            f"replay the workflow of {address.describe()} from {what}? It drops {len(drops)} "
            f"entr{'y' if len(drops) == 1 else 'ies'} ({listed}; a sleep, join or race wherever it is) "
            "for the workflow to run again. [y/N] "
        )
        cli.stderr.flush()
        if cli.stdin.readline().strip().lower() not in ("y", "yes"):
            cli.output.info("nothing replayed")
            return None

    async def send(client: "Client") -> "WorkflowHistory":
        inspector = await inspector_for(client, address, cli)
        return decode(await inspector.workflow_replay(str(node.id)))

    replayed = run(cli, send)
    dropped = max(0, history.entries - replayed.entries)
    cli.output.info(
        f"rivetctl: replaying the workflow of {address.describe()} from {what}: "
        f"{dropped} entr{'y' if dropped == 1 else 'ies'} dropped, to run again"
    )
    return replayed


def _show(cli: "Settings", address: "Address", history: "WorkflowHistory") -> None:
    out = cli.output
    if not out.is_table:
        out.value(history.to_json())
        return
    out.console().print(_tree(cli, address, history), soft_wrap=False)


def _tree(cli: "Settings", address: "Address", history: "WorkflowHistory") -> "RenderableType":
    from rivetctl.output.workflow_tree import workflow_tree

    return workflow_tree(history, title=address.describe(), color=cli.output.color, now_ms=int(time.time() * 1000))


def _follow(cli: "Settings", address: "Address", interval: float) -> None:
    """Poll the history every ``interval`` seconds until the workflow reaches a final state: a redrawn tree on
    a terminal, a JSON line per change elsewhere. A failed poll (the actor restarting, the network) is told on
    stderr once and retried; a missing actor or workflow ends it."""

    async def body(client: "Client") -> None:
        import asyncio
        from contextlib import nullcontext

        from rivetctl.errors import ActorError, NetworkError

        out = cli.output
        live_on_terminal = out.is_table and out.console().is_terminal
        inspector = await inspector_for(client, address, cli)
        previous: dict[str, Any] | None = None
        failing = False
        context: Any = nullcontext()
        if live_on_terminal:
            from rich.live import Live

            context = Live(console=out.console(), auto_refresh=False, transient=False)
        with context as live:
            while True:
                try:
                    history = await _history(inspector, address)
                except (NetworkError, ActorError) as exc:
                    if isinstance(exc, ActorError) and (exc.status or 0) < 500:
                        raise
                    if not failing:
                        out.info(f"rivetctl: cannot read the workflow of {address.describe()} ({exc}); retrying")
                    failing = True
                    await asyncio.sleep(interval)
                    continue
                failing = False
                doc = history.to_json()
                if live is not None:
                    live.update(_tree(cli, address, history), refresh=True)
                elif doc != previous:
                    if out.is_table:
                        out.console().print(_tree(cli, address, history), soft_wrap=False)
                    else:
                        out.stream(doc)
                previous = doc
                if history.final:
                    return
                await asyncio.sleep(interval)

    run(cli, body)
