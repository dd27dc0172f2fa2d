"""The run's :class:`~rivetctl.frontend.settings.Settings`, as the root command left it on click's context."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    from rivetctl.frontend.settings import Settings


def cli_context(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    if obj is None:  # pragma: no cover - the root callback always sets it
        from rivetctl.errors import ConfigError

        raise ConfigError("internal: CLI context missing")
    return obj  # type: ignore[no-any-return]
