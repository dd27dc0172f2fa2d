"""``rivetctl call``: one stateless action over HTTP (get-or-create by default), optionally repeated."""

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.commands.params import Input, Key, Name, Region
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import handle_for, run

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.frontend.settings import Settings

EPILOG = """Examples:

  rivetctl call counter my-counter increment 5

  rivetctl call chatRoom '["org-1","general"]' sendMessage alice '"hello"'

  rivetctl call counter @ACTOR_ID getCount -o json

  echo '{"a":1}' | rivetctl call counter my-counter echo -

Each ARG is JSON when it parses (5, true, {"a":1}, "\\"5\\"" for the string "5"), otherwise a plain string;
@file.json reads a JSON file; - reads one JSON value from stdin.

Global options (-e, -o, --timeout, --param, ...) may also follow the command. After `--` nothing is an
option: rivetctl call chatRoom k send -- -n hello passes -n as an argument.
"""


def call(
    ctx: typer.Context,
    name: Name,
    key: Key,
    action: Annotated[str, typer.Argument(metavar="ACTION", help="Action to call.", show_default=False)],
    args: Annotated[
        list[str] | None, typer.Argument(metavar="ARG", help="Action arguments (see below).", show_default=False)
    ] = None,
    args_json: Annotated[
        str | None, typer.Option("--args", metavar="JSON", help="All arguments as a JSON array, or @file.")
    ] = None,
    no_create: Annotated[bool, typer.Option("--no-create", help="Require an existing actor (never create).")] = False,
    input: Input = None,
    region: Region = None,
    repeat: Annotated[
        int, typer.Option("--repeat", metavar="N", min=1, help="Call N times and print latency percentiles.")
    ] = 1,
) -> None:
    """Call an action statelessly over HTTP and print its output."""
    from rivetctl.frontend.args import parse_address, parse_args, parse_json_option
    from rivetctl.protocol.query import NO_INPUT

    cli = cli_context(ctx)
    address = parse_address(name, key)
    values = parse_args(list(args or []), args_json=args_json, stdin=cli.stdin)
    create_input: Any = NO_INPUT if input is None else parse_json_option(input, "--input")
    params = cli.params()

    async def body(client: "Client") -> tuple[Any, list[float]]:
        handle = handle_for(client, address, params=params, create=not no_create, input=create_input, region=region)
        latencies: list[float] = []
        result: Any = None
        for _ in range(repeat):
            started = time.perf_counter()
            result = await handle.action(action, *values)
            latencies.append(time.perf_counter() - started)
        return result, latencies

    result, latencies = run(cli, body)
    _remember(cli, name, action)
    if repeat > 1:
        cli.output.record(_percentiles(latencies), title=f"{action} × {repeat}")
        return
    cli.output.value(result)
    if cli.opts.verbose:
        cli.output.info(f"{action} answered in {latencies[0] * 1000:.1f} ms")


def _remember(cli: "Settings", name: str, action: str) -> None:
    """Feed shell completion: this actor name and action were just used successfully."""
    from rivetctl.config import cache_dir
    from rivetctl.frontend.store import remember_completion

    remember_completion(cache_dir(cli.env), name, action)


def _percentiles(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return round(ordered[index] * 1000, 2)

    total = sum(samples)
    return {
        "calls": len(samples),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "min_ms": round(ordered[0] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "calls_per_s": round(len(samples) / total, 1) if total > 0 else None,
    }
