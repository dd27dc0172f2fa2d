"""``connect`` and ``repl``: a live connection; the REPL on a terminal, JSON lines in and out otherwise."""

from typing import IO, Annotated

import typer

from rivetctl.cli.context import cli_context

EPILOG = """Examples:

  rivetctl connect counter my-counter            (a terminal: the REPL)

  printf 'increment 5\\ngetCount\\n' | rivetctl connect counter my-counter --sub newCount

Script mode (stdin not a terminal): one command per line, as in the REPL (ACTION ARG..., {"action":..,"args":[..]},
.sub EVENT, .use NAME KEY, .state, .http ...); answers and events out as JSON lines. Exit status 3 if any failed.

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
) -> None:
    """Open a live connection to an actor (REPL on a terminal, JSON lines when scripted)."""
    settings = cli_context(ctx)
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


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
