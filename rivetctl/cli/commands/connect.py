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
profile as its $VARIABLE, another secret-looking param as $RIVETCTL_PARAM_<KEY> (as in the curl commands of
call --dry-run).

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
    'Print the WebSocket URL, subprotocols and frames it would send (the token as "$RIVET_TOKEN", secrets as '
    "$VAR references); send nothing."
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
    (and ``notes``). The token is ``$RIVET_TOKEN``, secret params ``$VARIABLE`` references (see
    :func:`_params_with_references`)."""
    from rivetctl.frontend.args import parse_address
    from rivetctl.protocol.query import (
        ActorQuery,
        ForIdQuery,
        GetOrCreateQuery,
        GetQuery,
        gateway_url,
        key_fits_query,
        ws_url,
    )
    from rivetctl.transport.websocket import subprotocols

    options = settings.client_options()  # nothing is sent
    address = parse_address(name, key)
    notes = list(notes)
    query: ActorQuery
    if address.actor_id is not None:
        query = ForIdQuery(name, address.actor_id)
    elif create:
        query = GetOrCreateQuery(name, address.key or (), runner=options.runner)
    else:
        query = GetQuery(name, address.key or ())
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
        from urllib.parse import quote

        offered = []
        for protocol in subprotocols(options.encoding, params):
            for placeholder, reference in references.items():
                protocol = protocol.replace(quote(placeholder, safe=""), reference)
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
    """The connection params (``Settings.params``) with each secret replaced by a placeholder, the placeholders'
    ``$VARIABLE`` references, and notes. Secrets as ``rivetctl.frontend.curl`` writes them for ``--dry-run``: a
    profile's secret param is its own variable, any other param whose key or content looks secret
    ``$RIVETCTL_PARAM_<KEY>``, params that are not a JSON object ``$RIVETCTL_PARAMS`` as a whole."""
    import json

    from rivetctl.frontend.curl import PARAMS_VAR, looks_secret, param_var, secret_param_vars
    from rivetctl.frontend.inspecting import redact_secrets
    from rivetctl.protocol.values import to_json_compat

    params = settings.params()
    if params is None:
        return None, {}, []
    tree = to_json_compat(params)
    if not isinstance(tree, dict):
        whole = "RIVETCTL-DRY-RUN-PARAMS"
        return whole, {whole: f"${PARAMS_VAR}"}, [f"${PARAMS_VAR} stands for the params' JSON text, percent-encoded"]
    from_env = secret_param_vars(settings)
    references: dict[str, str] = {}
    shown: dict[str, Any] = {}
    for i, (key, value) in enumerate(tree.items()):
        var = from_env.get(key) or (param_var(key) if looks_secret(key) or redact_secrets(value) != value else None)
        if var is None:
            shown[key] = value
            continue
        placeholder = f"RIVETCTL-DRY-RUN-SECRET-{i}"
        if isinstance(value, str):  # the variable holds the string: it goes inside the JSON string's quotes
            shown[key] = placeholder
            references[placeholder] = f"${var}"
        else:  # the variable holds the value's JSON text
            shown[key] = placeholder
            references[json.dumps(placeholder)] = f"${var}"
    notes = []
    if references:
        notes.append("$VARIABLEs in the params are percent-encoded when sent, as the JSON around them")
    return shown, references, notes


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
