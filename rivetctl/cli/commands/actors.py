"""``get``, ``create``, ``destroy``, ``sleep`` and ``actors``: actor records from the engine API."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.commands.params import Input, Key, Name, Region
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import lookup, run

if TYPE_CHECKING:
    from rivetctl.client import Client

DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help='Print the equivalent curl command (JSON on the wire; the token as "$RIVET_TOKEN") and send nothing.',
    ),
]

GET_EPILOG = """Examples:

  rivetctl get counter my-counter

  rivetctl get counter @ACTOR_ID -o json

  rivetctl get counter my-counter --dry-run

Exits 4 when there is no such actor. --dry-run prints the engine API request as a curl command for bash
(its answer is the engine's list: empty when there is no such actor) and sends nothing.
"""
CREATE_EPILOG = """Examples:

  rivetctl create withInput game-1 --input '{"mode":"tournament"}'

  rivetctl create withInput game-2 --input '{"mode":"casual"}' --dry-run

Exits 5 (naming the existing actor id) when an actor with that key exists. --dry-run prints the engine API
request as a curl command for bash and sends nothing.
"""
DESTROY_EPILOG = """Examples:

  rivetctl destroy counter my-counter

  rivetctl destroy counter my-counter --dry-run

--dry-run prints curl commands for bash and sends nothing: by key, a lookup whose actor id (read with grep
and cut) the DELETE request then uses; by @ACTOR_ID, the DELETE request alone.
"""
SLEEP_EPILOG = """Example:

  rivetctl sleep counter my-counter
"""
ACTORS_EPILOG = """Examples:

  rivetctl actors

  rivetctl actors counter --limit 20

  rivetctl actors counter --all --include-destroyed -o jsonl
"""

ACTOR_COLUMNS = ("actor_id", "key", "status", "created", "started", "slept", "datacenter")


def get(ctx: typer.Context, name: Name, key: Key, dry_run: DryRun = False) -> None:
    """Show an actor if it exists: id, key, status and timestamps."""
    from rivetctl.frontend.args import parse_address

    cli = cli_context(ctx)
    address = parse_address(name, key)
    if dry_run:
        from rivetctl.frontend.curl import curl_for_get, print_dry_run

        print_dry_run(cli, curl_for_get(cli.client_options(), address))
        return

    async def body(client: "Client") -> Any:
        return await lookup(client, address)

    info = run(cli, body)
    cli.output.record(info.to_dict(), title=f"{name} actor")


def create(
    ctx: typer.Context, name: Name, key: Key, input: Input = None, region: Region = None, dry_run: DryRun = False
) -> None:
    """Create a new actor; fails if one with that key exists."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_address, parse_json_option

    cli = cli_context(ctx)
    address = parse_address(name, key)
    if address.actor_id is not None:
        raise ConfigError("create needs a key, not an actor id")
    value = parse_json_option(input, "--input") if input is not None else None
    if dry_run:
        from rivetctl.frontend.curl import curl_for_create, print_dry_run

        curl = curl_for_create(
            cli.client_options(), name, address.key, input=value, has_input=input is not None, region=region
        )
        print_dry_run(cli, curl)
        return

    async def body(client: "Client") -> Any:
        await client.check_name(name)
        return await client.engine.create_actor(
            name, address.key, input=value, has_input=input is not None, region=region
        )

    info = run(cli, body)
    cli.output.record(info.to_dict(), title=f"created {name} actor")


def destroy(ctx: typer.Context, name: Name, key: Key, dry_run: DryRun = False) -> None:
    """Destroy an actor (its state is deleted)."""
    from rivetctl.frontend.args import parse_address

    cli = cli_context(ctx)
    address = parse_address(name, key)
    if dry_run:
        from rivetctl.frontend.curl import curl_for_destroy, print_dry_run

        print_dry_run(cli, curl_for_destroy(cli.client_options(), address))
        return

    async def body(client: "Client") -> Any:
        info = await lookup(client, address)
        await client.destroy_actor(info.actor_id)
        return info

    info = run(cli, body)
    cli.output.record({"actor_id": info.actor_id, "destroyed": True})


def sleep(ctx: typer.Context, name: Name, key: Key) -> None:
    """Put an actor to sleep now (it wakes on the next request)."""
    from rivetctl.frontend.args import parse_address

    cli = cli_context(ctx)
    address = parse_address(name, key)

    async def body(client: "Client") -> Any:
        info = await lookup(client, address)
        await client.sleep_actor(info.actor_id)
        return info

    info = run(cli, body)
    cli.output.record({"actor_id": info.actor_id, "sleeping": True})


def actors(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="List actors of this name (omit for the names).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, max=100000, help="Rows to show.")] = 50,
    all_pages: Annotated[bool, typer.Option("--all", help="Every actor, following pages.")] = False,
    include_destroyed: Annotated[bool, typer.Option("--include-destroyed", help="Include destroyed actors.")] = False,
) -> None:
    """List the registry's actor names, or the actors of one name (newest first)."""
    cli = cli_context(ctx)

    if name is None:

        async def names(client: "Client") -> Any:
            return await client.actor_names()

        found = run(cli, names)
        from rivetctl.config import cache_dir
        from rivetctl.frontend.store import write_completion_cache

        write_completion_cache(cache_dir(cli.env), names=sorted(found))
        cli.output.rows(
            ("name", "metadata"),
            [
                {"name": n, "metadata": m.get("metadata") if isinstance(m, dict) else m}
                for n, m in sorted(found.items())
            ],
        )
        return

    async def body(client: "Client") -> list[Any]:
        await client.check_name(name)
        rows: list[Any] = []
        cursor = None
        while True:
            page_size = 100 if all_pages else min(100, limit - len(rows))
            page = await client.engine.list_actors(
                name, limit=page_size, cursor=cursor, include_destroyed=include_destroyed
            )
            rows.extend(page.actors)
            cursor = page.cursor
            if not page.actors or not cursor or (not all_pages and len(rows) >= limit):
                break
        return rows if all_pages else rows[:limit]

    rows = run(cli, body)
    cli.output.rows(ACTOR_COLUMNS, [r.to_dict() for r in rows], title=f"{name} actors")
