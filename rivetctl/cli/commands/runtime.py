"""``connections`` and ``queue``: what an actor holds while it runs, from its inspector."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.commands.params import Key, Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import inspector_for, run
from rivetctl.output.render import is_terminal

if TYPE_CHECKING:
    from rivetctl.client import Client

CONNECTIONS_EPILOG = """Examples:

  rivetctl connections chatRoom general

  rivetctl connections chatRoom general -o json --show-secrets

Params whose key looks secret (token, secret, password, key, auth) are shown as *** unless --show-secrets.
"""
QUEUE_EPILOG = """Examples:

  rivetctl queue worker jobs-1

  rivetctl queue worker jobs-1 --send jobs '{"task": "resize", "id": 7}'

  rivetctl queue worker jobs-1 --clear --yes

BODY is parsed like an action argument: JSON when it parses, else a string; @file.json reads a file; -
reads stdin. --clear asks first on a terminal; elsewhere it needs --yes (exit 2, nothing cleared, without).
"""


def connections(
    ctx: typer.Context,
    name: Name,
    key: Key,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Show params whose key looks secret (redacted by default).")
    ] = False,
) -> None:
    """List an actor's live connections: id, params, connection state, hibernatable."""
    from rivetctl.frontend.args import parse_address

    cli = cli_context(ctx)
    address = parse_address(name, key)

    async def body(client: "Client") -> list[dict[str, Any]]:
        return await (await inspector_for(client, address, cli)).connections()

    from rivetctl.frontend.inspecting import connection_rows

    rows = connection_rows(run(cli, body), show_secrets=show_secrets)
    if cli.output.is_table and not rows:
        cli.output.info(f"no connections to {address.describe()}")
        return
    cli.output.rows(["id", "params", "state", "hibernatable"], rows, title=f"connections of {address.describe()}")


def queue(
    ctx: typer.Context,
    name: Name,
    key: Key,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, max=10000, help="Messages to list.")] = 50,
    send: Annotated[
        tuple[str, str] | None,
        typer.Option("--send", metavar="QUEUE BODY", help="Enqueue BODY on QUEUE, then list."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every message (asks on a terminal).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed for --clear off a terminal).")] = False,
) -> None:
    """List an actor's queue (size, limit, messages), send a message to it, or clear it."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_address, parse_value
    from rivetctl.frontend.state_edit import check_plain_json

    cli = cli_context(ctx)
    address = parse_address(name, key)
    if send is not None and clear:
        raise ConfigError("use --send or --clear, not both")
    body_value: Any = None
    if send is not None:
        body_value = parse_value(send[1], stdin=cli.stdin)
        check_plain_json(body_value, "--send BODY")
    if clear and not yes:
        if not (is_terminal(cli.stdin) and is_terminal(cli.stderr)):
            raise ConfigError("--clear removes every message: add --yes to confirm (nothing was cleared)")
        cli.stderr.write(f"clear every message in the queue of {address.describe()}? [y/N] ")
        cli.stderr.flush()
        if cli.stdin.readline().strip().lower() not in ("y", "yes"):
            cli.output.info("nothing cleared")
            return

    async def body(client: "Client") -> tuple[dict[str, Any] | None, dict[str, Any]]:
        inspector = await inspector_for(client, address, cli)
        sent = None
        if send is not None:
            sent = await inspector.queue_send(send[0], body_value)
        elif clear:
            await inspector.queue_clear()
        return sent, await inspector.queue(limit)

    sent, data = run(cli, body)
    if sent is not None:
        cli.output.info(f"sent message {sent.get('id')} to queue {sent.get('name')!r}")
    elif clear:
        cli.output.info("queue cleared")
    messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
    if not cli.output.is_table:
        cli.output.value(
            {
                "size": data.get("size"),
                "max_size": data.get("maxSize"),
                "truncated": data.get("truncated"),
                "messages": messages,
            }
        )
        return
    rows = [{"id": m.get("id"), "name": m.get("name"), "created": _iso(m.get("createdAtMs"))} for m in messages]
    title = f"queue of {address.describe()}: {data.get('size')} of at most {data.get('maxSize')}"
    if data.get("truncated"):
        title += f" (first {len(rows)} shown)"
    cli.output.rows(["id", "name", "created"], rows, title=title)


def _iso(ms: Any) -> Any:
    if not isinstance(ms, int | float):
        return ms
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
