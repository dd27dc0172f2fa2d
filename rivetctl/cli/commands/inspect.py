"""``describe``, ``state`` and ``inspect-id``: what an actor is, from the engine and its inspector."""

from typing import TYPE_CHECKING, Any

import typer

from rivetctl.cli.commands.params import Key, Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import lookup, run

if TYPE_CHECKING:
    from rivetctl.client import Client

DESCRIBE_EPILOG = """Example:

  rivetctl describe counter my-counter
"""
STATE_EPILOG = """Examples:

  rivetctl state counter my-counter

  rivetctl state counter my-counter -o json | jq .count
"""
INSPECT_EPILOG = """Example:

  rivetctl inspect-id t14qml8rh3pj0fe27hbjkfgp09cl00
"""


async def _inspect(client: "Client", actor_id: str, name: str) -> dict[str, Any]:
    """State, connections and actions from the inspector; errors become a note, not a failure."""
    from rivetctl.client.inspector import Inspector
    from rivetctl.errors import RivetctlError

    inspector = Inspector(client, actor_id, name=name)
    out: dict[str, Any] = {}
    try:
        summary = await inspector.summary()
    except RivetctlError as exc:
        out["inspector"] = f"unavailable: {exc}"
        return out
    out["actions"] = sorted(summary.get("rpcs") or [])
    out["state"] = summary.get("state") if summary.get("isStateEnabled", True) else None
    out["connections"] = len(summary.get("connections") or [])
    out["queue_size"] = summary.get("queueSize")
    return out


def describe(ctx: typer.Context, name: Name, key: Key) -> None:
    """Describe an actor: record, actions, state summary and known events."""
    from rivetctl.frontend.args import parse_address
    from rivetctl.frontend.store import remembered_events

    cli = cli_context(ctx)
    address = parse_address(name, key)

    async def body(client: "Client") -> dict[str, Any]:
        info = await lookup(client, address)
        data = info.to_dict()
        if info.status != "destroyed":
            data.update(await _inspect(client, info.actor_id, name))
        return data

    data = run(cli, body)
    if isinstance(data.get("actions"), list):
        from rivetctl.config import cache_dir
        from rivetctl.frontend.store import write_completion_cache

        write_completion_cache(cache_dir(cli.env), actions={name: data["actions"]})
    events = sorted(set(cli.known_events(name)) | set(remembered_events(cli.env, name)))
    data["known_events"] = events
    cli.output.record(data, title=f"{name} actor")


def state(ctx: typer.Context, name: Name, key: Key) -> None:
    """Print an actor's state (from its inspector)."""
    from rivetctl.client.inspector import Inspector
    from rivetctl.frontend.args import parse_address

    cli = cli_context(ctx)
    address = parse_address(name, key)

    async def body(client: "Client") -> Any:
        info = await lookup(client, address)
        return await Inspector(client, info.actor_id, name=name).state()

    cli.output.value(run(cli, body))


def inspect_id(
    ctx: typer.Context,
    actor_id: str = typer.Argument(
        ..., metavar="ACTOR_ID", help="The actor id to decode and look up.", show_default=False
    ),
) -> None:
    """Decode an actor id, look it up (name, key, status, times) and show its inspector data."""
    from rivetctl.protocol.actor_id import decode_actor_id

    cli = cli_context(ctx)
    actor_id = actor_id.removeprefix("@")
    decoded = decode_actor_id(actor_id)

    async def body(client: "Client") -> dict[str, Any]:
        info = await client.engine.get_actor(actor_id)
        data: dict[str, Any] = {"decoded": _as_dict(decoded), **info.to_dict()}
        if info.status != "destroyed":
            data.update(await _inspect(client, actor_id, info.name))
        return data

    cli.output.record(run(cli, body), title=f"actor {actor_id}")


def _as_dict(obj: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) and not isinstance(obj, type) else obj
