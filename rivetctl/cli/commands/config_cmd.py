"""``rivetctl config``: profiles (create/update, use, list, show, delete) in the XDG config dir."""

from typing import Annotated

import typer

from rivetctl.cli.choices import WireEncoding
from rivetctl.cli.commands import Command
from rivetctl.cli.context import cli_context

app = typer.Typer(
    help="Manage connection profiles (like kubectl contexts). Precedence: flag > env > profile > default.",
    no_args_is_help=True,
    epilog=(
        "Examples:\n\n  rivetctl config set local --endpoint http://127.0.0.1:6420 --use\n\n  rivetctl config list\n"
    ),
)

SET_EPILOG = """Examples:

  rivetctl config set local --endpoint http://127.0.0.1:6420 --use

  rivetctl config set prod --endpoint https://api.rivet.dev --namespace prod --token-env PROD_RIVET_TOKEN

  rivetctl config set chat --param user=alice --secret-param token=CHAT_TOKEN --events chatRoom=newMessage,typing
"""


@app.command(cls=Command, name="set", epilog=SET_EPILOG)
def set_profile(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="PROFILE", help="Profile name.", show_default=False)],
    endpoint: Annotated[str | None, typer.Option("--endpoint", metavar="URL", help="Engine endpoint.")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", metavar="NAMESPACE", help="Namespace.")] = None,
    token_env: Annotated[
        str | None,
        typer.Option("--token-env", metavar="ENVVAR", help="Environment variable that holds the token (recommended)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", metavar="TOKEN", help="Token stored in the file (the file is created 0600)."),
    ] = None,
    encoding: Annotated[
        WireEncoding | None, typer.Option("--encoding", help="Wire encoding.", show_default=False)
    ] = None,
    runner: Annotated[
        str | None, typer.Option("--runner", metavar="NAME", help="Runner pool name for get-or-create.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", metavar="KEY=VALUE", help="Connection param KEY=VALUE.")
    ] = None,
    secret_param: Annotated[
        list[str] | None,
        typer.Option(
            "--secret-param", metavar="KEY=ENVVAR", help="KEY=ENVVAR: the param's value is read from ENVVAR at use."
        ),
    ] = None,
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events", metavar="ACTOR_NAME=EVENT,...", help="ACTOR_NAME=EVENT,EVENT: events `watch` subscribes to."
        ),
    ] = None,
    inspector_token_env: Annotated[
        str | None,
        typer.Option(
            "--inspector-token-env", metavar="ENVVAR", help="Environment variable that holds an inspector token."
        ),
    ] = None,
    use: Annotated[bool, typer.Option("--use", help="Also make it the current profile.")] = False,
) -> None:
    """Create or update a profile."""
    from rivetctl.config import Profile
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_param
    from rivetctl.protocol.encoding import parse_encoding

    cli = cli_context(ctx)
    cfg = cli.config
    prof = cfg.profiles.get(name) or Profile(name)
    for field, value in (
        ("endpoint", endpoint),
        ("namespace", namespace),
        ("token_env", token_env),
        ("token", token),
        ("encoding", parse_encoding(encoding) if encoding else None),
        ("runner", runner),
        ("inspector_token_env", inspector_token_env),
    ):
        if value is not None:
            prof.settings[field] = value
    if token_env:
        prof.settings.pop("token", None)
    for item in param or []:
        k, v = parse_param(item)
        prof.params[k] = v
    for item in secret_param or []:
        k, sep, var = item.partition("=")
        if not sep or not k or not var:
            raise ConfigError("--secret-param expects KEY=ENVVAR")
        prof.params[k] = {"env": var}
    for item in events or []:
        actor, sep, names = item.partition("=")
        if not sep or not actor:
            raise ConfigError("--events expects ACTOR_NAME=EVENT[,EVENT...]")
        prof.events[actor] = [n for n in names.split(",") if n]
    cfg.profiles[name] = prof
    if use or cfg.current is None:
        cfg.current = name
    cfg.save()
    cli.output.info(f"profile {name!r} saved in {cfg.path}" + (" (current)" if cfg.current == name else ""))


@app.command(cls=Command, name="use", epilog="Example:\n\n  rivetctl config use prod\n")
def use_profile(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="PROFILE", help="Profile name.", show_default=False)],
) -> None:
    """Make a profile the current one."""
    cli = cli_context(ctx)
    cfg = cli.config
    cfg.profile(name)  # raises with the known names if missing
    cfg.current = name
    cfg.save()
    cli.output.info(f"now using profile {name!r}")


@app.command(cls=Command, name="list", epilog="Example:\n\n  rivetctl config list\n")
def list_profiles(ctx: typer.Context) -> None:
    """List profiles (the current one is marked)."""
    cli = cli_context(ctx)
    cfg = cli.config
    rows = [
        {
            "current": "*" if n == cfg.current else "",
            "name": n,
            "endpoint": p.settings.get("endpoint", ""),
            "namespace": p.settings.get("namespace", ""),
        }
        for n, p in sorted(cfg.profiles.items())
    ]
    cli.output.rows(("current", "name", "endpoint", "namespace"), rows)


@app.command(cls=Command, name="show", epilog="Example:\n\n  rivetctl config show prod -o yaml\n")
def show_profile(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(metavar="PROFILE", help="Profile (default: current).")] = None,
) -> None:
    """Show a profile, secrets redacted."""
    from rivetctl.errors import ConfigError

    cli = cli_context(ctx)
    prof = cli.config.profile(name)
    if prof is None:
        raise ConfigError(f"no current profile; create one with `rivetctl config set NAME ...` ({cli.config.path})")
    cli.output.record(prof.redacted(), title=f"profile {prof.name}")


@app.command(cls=Command, name="delete", epilog="Example:\n\n  rivetctl config delete old\n")
def delete_profile(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="PROFILE", help="Profile name.", show_default=False)],
) -> None:
    """Delete a profile."""
    cli = cli_context(ctx)
    cfg = cli.config
    cfg.profile(name)
    del cfg.profiles[name]
    if cfg.current == name:
        cfg.current = None
    cfg.save()
    cli.output.info(f"profile {name!r} deleted")


@app.command(cls=Command, name="path", epilog="Example:\n\n  rivetctl config path\n")
def config_path(ctx: typer.Context) -> None:
    """Print the config file's path."""
    cli = cli_context(ctx)
    cli.stdout.write(f"{cli.config.path}\n")
