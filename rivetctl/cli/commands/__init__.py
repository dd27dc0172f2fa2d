"""Registers every command on the root app; each command lives in its own module."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from rivetctl.cli.commands import actors, call, config_cmd, connect, inspect, misc, watch

    app.command("call", epilog=call.EPILOG, context_settings={"ignore_unknown_options": True})(call.call)
    app.command("get", epilog=actors.GET_EPILOG)(actors.get)
    app.command("create", epilog=actors.CREATE_EPILOG)(actors.create)
    app.command("destroy", epilog=actors.DESTROY_EPILOG)(actors.destroy)
    app.command("sleep", epilog=actors.SLEEP_EPILOG)(actors.sleep)
    app.command("actors", epilog=actors.ACTORS_EPILOG)(actors.actors)
    app.command("describe", epilog=inspect.DESCRIBE_EPILOG)(inspect.describe)
    app.command("inspect-id", epilog=inspect.INSPECT_EPILOG)(inspect.inspect_id)
    app.command("state", epilog=inspect.STATE_EPILOG)(inspect.state)
    app.command("watch", epilog=watch.EPILOG)(watch.watch)
    app.command("connect", epilog=connect.EPILOG)(connect.connect)
    app.command("repl", epilog=connect.REPL_EPILOG)(connect.repl)
    app.add_typer(config_cmd.app, name="config")
    app.command("completions", epilog=misc.COMPLETIONS_EPILOG)(misc.completions)
    app.command("man", epilog=misc.MAN_EPILOG)(misc.man)
    app.command("dev-server", epilog=misc.DEV_SERVER_EPILOG)(misc.dev_server)
    app.command("ping", epilog=misc.PING_EPILOG)(misc.ping)
