"""``completions``, ``man``, ``dev-server`` and ``ping``: tool plumbing around the main commands."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.choices import Shell
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import run

if TYPE_CHECKING:
    from rivetctl.client import Client

COMPLETIONS_EPILOG = """Examples:

  rivetctl completions bash > ~/.local/share/bash-completion/completions/rivetctl

  rivetctl completions zsh > "${fpath[1]}/_rivetctl"

  rivetctl completions fish > ~/.config/fish/completions/rivetctl.fish
"""
MAN_EPILOG = """Example:

  rivetctl man | man -l -
"""
DEV_SERVER_EPILOG = """Example:

  rivetctl dev-server --port 6420     (then, in another shell: rivetctl call counter my-counter increment 5)

The first run installs the server with npm (Node 22 and rivetkit from the npm registry) into
$XDG_CACHE_HOME/rivetctl/server-VERSION; a source checkout uses tests/server (scripts/setup), and
RIVETCTL_SERVER_DIR names a Node project of your own.
"""
PING_EPILOG = """Example:

  rivetctl ping
"""


def completions(
    ctx: typer.Context,
    shell: Annotated[Shell, typer.Argument(metavar="SHELL", help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the shell completion script."""
    from rivetctl.docgen import completion_script

    cli = cli_context(ctx)
    cli.stdout.write(completion_script(shell.value, ctx.find_root().command))


def man(ctx: typer.Context) -> None:
    """Print the man page (roff)."""
    from rivetctl.docgen import man_page

    cli = cli_context(ctx)
    cli.stdout.write(man_page(ctx.find_root().command))


def dev_server(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option("--port", metavar="PORT", help="Engine port (also uses PORT+1 and PORT+10).")
    ] = None,
    data: Annotated[
        str | None, typer.Option("--data", metavar="DIR", help="Storage dir (default: a temporary one).")
    ] = None,
) -> None:
    """Run the bundled example actor server (real RivetKit) until Ctrl-C."""
    import signal
    import time
    from pathlib import Path

    from rivetctl.devserver import DevServer

    cli = cli_context(ctx)
    srv = DevServer(port=port, storage=Path(data) if data else None, progress=cli.output.info)
    try:
        # Ctrl-C or SIGTERM stop it, during the first-run install too (SIGINT also when started in the
        # background, where it is ignored).
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
        srv.start()
        cli.output.info(f"RivetKit example server ready at {srv.endpoint} (actors: {', '.join(srv.actor_names())})")
        cli.output.info(f"try: rivetctl -e {srv.endpoint} call counter my-counter increment 5")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def ping(ctx: typer.Context) -> None:
    """Check the endpoint: health, what server it is (runtime, version, mode), round-trip time."""
    import time

    cli = cli_context(ctx)

    async def body(client: "Client") -> dict[str, Any]:
        health = await client.engine.health()  # the first request also opens the connection
        info = await client.server_info(details=True)
        started = time.perf_counter()
        await client.engine.health()
        rtt = time.perf_counter() - started
        return {
            "endpoint": client.options.endpoint,
            "namespace": client.options.namespace,
            "status": health.get("status"),
            **info.to_dict(),
            "rtt_ms": round(rtt * 1000, 2),
        }

    cli.output.record(run(cli, body))
