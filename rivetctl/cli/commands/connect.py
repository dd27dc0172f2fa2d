"""``connect`` and ``repl``: a live connection; the REPL on a terminal, JSON lines in and out otherwise.

``--dry-run`` (here and on ``watch``) shows what a live connection would send, sending nothing: the WebSocket
URL, the subprotocols and the frames, with the token and secret params as ``$VAR`` references.
"""

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.context import cli_context

if TYPE_CHECKING:
    from rivetctl.frontend.settings import Settings
    from rivetctl.protocol.messages import ToServer

EPILOG = """Examples:

  rivetctl connect counter my-counter            (a terminal: the REPL)

  printf 'increment 5\\ngetCount\\n' | rivetctl connect counter my-counter --sub newCount

  printf 'increment 5\\n' | rivetctl connect counter my-counter --sub newCount --dry-run

Script mode (stdin not a terminal): one command per line, as in the REPL (ACTION ARG..., {"action":..,"args":[..]},
.sub EVENT, .use NAME KEY, .state, .http ...); answers and events out as JSON lines. Exit status 3 if any failed.

--dry-run prints the WebSocket URL, the subprotocols and the frames the connection would send (subscriptions,
then the calls read from stdin), and sends nothing: the token appears as $RIVET_TOKEN, a secret param of the
profile as its $VARIABLE.

A server that cannot be reached: the REPL says so and keeps trying in the background (the prompt stays
usable, calls wait for the connection); script mode exits 7 after the first failed attempt, or with --wait
keeps trying, saying so on stderr, until the connection opens (--timeout bounds the wait).

Global options (-e, -o, --timeout, --param, ...) may also follow the command; after `--` nothing is
an option.
"""
REPL_EPILOG = """Examples:

  rivetctl repl counter my-counter

  rivetctl repl            (then .use chatRoom general)

  printf '.use counter my-counter\\ngetCount\\n' | rivetctl repl --wait     (script mode, waiting for the server)
"""

DRY_RUN_HELP = (
    "Print the WebSocket URL, subprotocols and frames it would send (secrets as $VAR references); send nothing."
)
DRY_RUN_TOKEN = "RIVETCTL-DRY-RUN-TOKEN"
"""Stands for the token while the URL is built; shown as ``$RIVET_TOKEN``."""


WAIT_HELP = (
    "Script mode: when the server cannot be reached, keep trying until the connection opens instead of "
    "exiting 7 (the REPL on a terminal always keeps trying)."
)


def connect(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Actor name.", show_default=False)],
    key: Annotated[str, typer.Argument(metavar="KEY", help="Actor key, JSON array, or @ACTOR_ID.", show_default=False)],
    sub: Annotated[
        list[str] | None, typer.Option("--sub", metavar="EVENT", help="Subscribe to this event; repeatable.")
    ] = None,
    linger: Annotated[
        float,
        typer.Option(
            "--linger", metavar="SECONDS", min=0, help="Script mode: seconds to keep receiving events after stdin ends."
        ),
    ] = 0.0,
    wait: Annotated[bool, typer.Option("--wait", help=WAIT_HELP)] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
) -> None:
    """Open a live connection to an actor (REPL on a terminal, JSON lines when scripted)."""
    settings = cli_context(ctx)
    if dry_run:
        from rivetctl.protocol.messages import SubscriptionRequest

        frames: list[ToServer] = [SubscriptionRequest(event, True) for event in dict.fromkeys(sub or [])]
        notes: list[str] = []
        if not _is_tty(settings.stdin):
            frames += script_frames(settings.stdin.read(), notes)
        settings.output.value(websocket_plan(settings, name, key, frames, notes=notes))
        return
    if _is_tty(settings.stdin) and _is_tty(settings.stdout):
        from rivetctl.repl.app import run_repl

        raise typer.Exit(run_repl(settings, name, key, subscribe=list(sub or [])))
    from rivetctl.repl.script import run_script

    raise typer.Exit(run_script(settings, name, key, list(sub or []), linger, wait=wait))


def repl(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Actor name to open first.", show_default=False)
    ] = None,
    key: Annotated[str | None, typer.Argument(metavar="KEY", help="Its key.", show_default=False)] = None,
    wait: Annotated[bool, typer.Option("--wait", help=WAIT_HELP)] = False,
) -> None:
    """The interactive REPL (script mode when stdin is not a terminal)."""
    from rivetctl.errors import ConfigError

    settings = cli_context(ctx)
    if (name is None) != (key is None):
        raise ConfigError("repl takes NAME and KEY together, or neither")
    if _is_tty(settings.stdin) and _is_tty(settings.stdout):
        from rivetctl.repl.app import run_repl

        raise typer.Exit(run_repl(settings, name, key))
    from rivetctl.repl.script import run_script

    raise typer.Exit(run_script(settings, name, key, [], 0.0, wait=wait))


def websocket_plan(
    settings: "Settings",
    name: str,
    key: str,
    frames: "list[ToServer]",
    *,
    create: bool = True,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """What connecting to ``NAME KEY`` would send, nothing sent: ``{"url", "subprotocols", "encoding", "frames"}``
    (and ``notes``). The token is ``$RIVET_TOKEN``, a profile's secret params their ``$VARIABLE``s, connection
    params from ``RIVETCTL_PARAMS`` that variable."""
    from rivetctl.frontend.args import parse_address
    from rivetctl.protocol.query import ForIdQuery, gateway_url, key_fits_query, ws_url
    from rivetctl.transport.websocket import subprotocols

    client = settings.client()  # resolved options only: this client never sends a request
    options = client.options
    address = parse_address(name, key)
    notes = list(notes)
    handle = (
        client.actor(name).get_for_id(address.actor_id)
        if address.actor_id is not None
        else client.actor(name).get_or_create(address.key)
        if create
        else client.actor(name).get(address.key)
    )
    query = handle.query
    if address.key is not None and not key_fits_query(address.key):
        query = ForIdQuery(name, "ACTOR_ID")
        notes.append(
            "the key has a ',', which a query URL cannot carry: the actor's id is looked up first through the "
            "engine API (PUT /actors, creating it; GET /actors with --no-create), then the URL names it"
        )
    token = DRY_RUN_TOKEN if options.token else None
    url = ws_url(gateway_url(options.endpoint, query, "/connect", namespace=options.namespace, token=token))
    params, references, more = _params_with_references(settings)
    notes += more
    if isinstance(params, str) and params in references:  # the params are all one variable's value
        offered = [*subprotocols(options.encoding, None), f"rivet_conn_params.{references[params]}"]
    else:
        offered = []
        for protocol in subprotocols(options.encoding, params):
            for placeholder, reference in references.items():
                protocol = protocol.replace(placeholder, reference)
            offered.append(protocol)
    plan: dict[str, Any] = {
        "url": url.replace(DRY_RUN_TOKEN, "$RIVET_TOKEN"),
        "subprotocols": offered,
        "encoding": options.encoding,
        "frames": [_frame_tree(frame) for frame in frames],
    }
    if notes:
        plan["notes"] = notes
    return plan


def _frame_tree(frame: "ToServer") -> dict[str, Any]:
    """A frame as the official client lays it out, ids as plain numbers (each encoding writes them its way)."""
    from rivetctl.protocol.messages import ActionRequest
    from rivetctl.protocol.wire_tree import to_server_tree

    tree = to_server_tree(frame, "json")
    if isinstance(frame, ActionRequest):
        tree["body"]["val"]["id"] = frame.id
    return tree


def _params_with_references(settings: "Settings") -> tuple[Any, dict[str, str], list[str]]:
    """The connection params as ``Settings.params`` builds them, with each secret replaced by a placeholder;
    the placeholders' ``$VARIABLE`` references; notes."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_json_option, parse_param

    references: dict[str, str] = {}
    notes: list[str] = []

    def placeholder(reference: str) -> str:
        made = f"RIVETCTL-DRY-RUN-SECRET-{len(references)}"
        references[made] = reference
        return made

    opts = settings.opts
    base: Any = None
    if opts.params is not None:
        base = parse_json_option(opts.params, "--params")
    elif settings.env.get("RIVETCTL_PARAMS"):
        base = placeholder("$RIVETCTL_PARAMS")
    else:
        profile = settings.profile
        if profile is not None and profile.params:
            base = {
                k: placeholder(f"${v['env']}") if isinstance(v, dict) and set(v) == {"env"} else v
                for k, v in profile.params.items()
            }
    if opts.param:
        added = dict(parse_param(item) for item in opts.param)
        if isinstance(base, str):  # RIVETCTL_PARAMS, unread: the --param entries go on top of it
            notes.append(f"--param sets {', '.join(sorted(added))} in the params of $RIVETCTL_PARAMS")
        elif base is None or isinstance(base, dict):
            base = {**(base or {}), **added}
        else:
            raise ConfigError("--param needs the params to be a JSON object")
    if isinstance(base, str):
        notes.append("$RIVETCTL_PARAMS stands for the connection params that variable holds, percent-encoded")
    return base, references, notes


def script_frames(text: str, notes: list[str]) -> "list[ToServer]":
    """The frames script-mode lines would send on the connection: calls (``ACTION ARG...`` or JSON lines) and
    ``.sub`` / ``.unsub``; other commands are noted, not sent on it."""
    from rivetctl.protocol.messages import ActionRequest, SubscriptionRequest
    from rivetctl.repl.grammar import Call, Dot, parse_line

    frames: list[ToServer] = []
    next_id = 0
    for number, line in enumerate(text.splitlines(), 1):
        parsed = parse_line(line)
        if isinstance(parsed, Call):
            frames.append(ActionRequest(next_id, parsed.action, list(parsed.args)))
            next_id += 1
        elif isinstance(parsed, Dot) and parsed.name in (".sub", ".unsub"):
            frames += [SubscriptionRequest(event, parsed.name == ".sub") for event in parsed.words]
        elif isinstance(parsed, Dot):
            notes.append(f"line {number}: {parsed.name} sends nothing on this connection; not shown")
    return frames


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
