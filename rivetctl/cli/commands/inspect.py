"""``describe``, ``state`` and ``inspect-id``: what an actor is, from the engine and its inspector."""

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.commands.params import Key, Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import lookup, run
from rivetctl.output.render import is_terminal

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.frontend.settings import Settings

DESCRIBE_EPILOG = """Example:

  rivetctl describe counter my-counter
"""
STATE_EPILOG = """Examples:

  rivetctl state counter my-counter

  rivetctl state counter my-counter -o json | jq .count

  rivetctl state counter my-counter --set '{"count": 0}'

  rivetctl state counter my-counter --patch '{"count": 10}'

  EDITOR=nano rivetctl state counter my-counter --edit

The inspector carries plain JSON: $-tagged values (BigInt, bytes) cannot be written this way. --edit writes
nothing when the file is unchanged, and nothing when the state changed on the server while you edited it
(exit 5, both versions kept as files) unless --force. Each write prints the new state.
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


def state(
    ctx: typer.Context,
    name: Name,
    key: Key,
    set_value: Annotated[
        str | None,
        typer.Option("--set", metavar="VALUE", help="Replace the state with VALUE: JSON, @file, or - for stdin."),
    ] = None,
    patch: Annotated[
        str | None,
        typer.Option("--patch", metavar="MERGE_PATCH", help="Apply an RFC 7396 JSON merge patch (JSON, @file or -)."),
    ] = None,
    edit: Annotated[bool, typer.Option("--edit", help="Edit the state in $VISUAL / $EDITOR.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="--edit: write even if the state changed on the server meanwhile.")
    ] = False,
) -> None:
    """Print an actor's state, or replace, patch or edit it (through its inspector)."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_address
    from rivetctl.frontend.runner import inspector_for

    cli = cli_context(ctx)
    address = parse_address(name, key)
    if sum((set_value is not None, patch is not None, edit)) > 1:
        raise ConfigError("use one of --set, --patch and --edit")
    if force and not edit:
        raise ConfigError("--force goes with --edit")
    new_value: Any = None
    if set_value is not None or patch is not None:
        new_value = _json_input(
            cli, set_value if set_value is not None else str(patch), "--set" if patch is None else "--patch"
        )

    async def body(client: "Client") -> Any:
        from rivetctl.frontend import state_edit

        inspector = await inspector_for(client, address, cli)
        if set_value is not None:
            return await state_edit.replace_state(inspector, new_value)
        if patch is not None:
            return await state_edit.patch_state(inspector, new_value)
        if edit:
            outcome = await state_edit.edit_state(
                inspector,
                label=f"{name}-{key}",
                env=cli.env,
                run_editor=state_edit.run_editor_on_terminal,
                ask_reopen=_ask_reopen(cli) if is_terminal(cli.stdin) else None,
                force=force,
            )
            if not outcome.changed:
                cli.output.info("no change; nothing written")
            return outcome.state
        return await inspector.state()

    cli.output.value(run(cli, body))


def _json_input(cli: "Settings", text: str, option: str) -> Any:
    """A plain JSON value (the inspector's own format: ``$``-tags are not read) from the command line,
    ``@file`` or ``-`` (stdin)."""
    from rivetctl.frontend.args import read_text_argument
    from rivetctl.frontend.state_edit import parse_plain_json

    return parse_plain_json(read_text_argument(text, stdin=cli.stdin), option)


def _ask_reopen(cli: "Settings") -> Any:
    def ask(error: str) -> bool:
        cli.stderr.write(f"rivetctl: {error}\nreopen the editor? [Y/n] ")
        cli.stderr.flush()
        answer = cli.stdin.readline().strip().lower()
        return answer in ("", "y", "yes")

    return ask


FILE_SYSTEM_ID = {"format": "RivetKit 2.0–2.2 file-system id (16 hex digits, random): nothing to decode"}
FILE_SYSTEM_ID_RE = re.compile(r"[0-9a-f]{16}")


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
    decoded: Any = FILE_SYSTEM_ID if FILE_SYSTEM_ID_RE.fullmatch(actor_id) else decode_actor_id(actor_id)

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
