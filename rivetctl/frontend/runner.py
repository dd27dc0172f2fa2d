"""The one sync→async bridge of the command line and the REPL, and address → handle resolution."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rivetctl.client import ActorHandle, ActorInfo, Client
    from rivetctl.client.inspector import Inspector
    from rivetctl.frontend.args import Address
    from rivetctl.frontend.settings import Settings

# This module is on the path of `rivetctl --help`, which must start fast: it imports the rest on use, and
# ``_NO_INPUT`` stands for ``rivetctl.protocol.query.NO_INPUT`` in the signature of ``handle_for``.
_NO_INPUT: Any = None

T = TypeVar("T")


def run(settings: Settings, body: Callable[[Client], Awaitable[T]]) -> T:
    """Run ``body(client)`` on a fresh event loop and close the client, whatever happens; the registry's
    names it fetched are cached for the next run."""
    import asyncio

    async def go() -> T:
        client = settings.client()
        try:
            if client.tracer is not None:
                await _note_server(client, client.tracer)
            return await body(client)
        finally:
            await client.aclose()
            if client.fetched_names is not None:
                from rivetctl.frontend.store import cache_names

                opts = client.options
                cache_names(settings.env, opts.endpoint, opts.namespace, client.fetched_names)

    return asyncio.run(go())


async def _note_server(client: Client, tracer: object) -> None:
    """With ``-v``: say once what the server is (one ``GET /metadata``)."""
    from rivetctl.errors import RivetctlError
    from rivetctl.output.trace import StderrTracer

    if not isinstance(tracer, StderrTracer):
        return
    try:
        info = await client.server_info(details=True)
    except RivetctlError as exc:
        tracer.note(f"server: not identified ({exc})")
        return
    tracer.note(f"server: {info.describe}" + ("" if info.supported else " (not supported by rivetctl)"))


def handle_for(
    client: Client,
    address: Address,
    *,
    params: Any = None,
    create: bool = True,
    input: Any = _NO_INPUT,
    region: str | None = None,
) -> ActorHandle:
    from rivetctl.protocol.query import NO_INPUT

    if input is _NO_INPUT:
        input = NO_INPUT
    accessor = client.actor(address.name)
    if address.actor_id is not None:
        return accessor.get_for_id(address.actor_id, params=params)
    if create:
        return accessor.get_or_create(address.key, input=input, region=region, params=params)
    return accessor.get(address.key, params=params)


async def lookup(client: Client, address: Address) -> ActorInfo:
    """The actor's engine record; ``ActorNotFoundError`` when there is none."""
    from rivetctl.errors import ActorNotFoundError, ConfigError

    await client.check_name(address.name)
    if address.actor_id is not None:
        info = await client.engine.get_actor(address.actor_id)
        if info.name != address.name:
            raise ConfigError(f"actor {address.actor_id} is a {info.name!r} actor, not {address.name!r}")
        return info
    assert address.key is not None
    found = await client.engine.find_actor(address.name, address.key)
    if found is None:
        raise ActorNotFoundError(
            "actor", "not_found", f"no {address.name!r} actor with key {address.describe().split(' ', 1)[1]}"
        )
    return found


async def inspector_for(client: Client, address: Address, settings: Settings) -> Inspector:
    """The inspector of the actor at ``address`` (``ActorNotFoundError`` when there is none), with the
    inspector token the user gave, if any."""
    from rivetctl.client.inspector import Inspector

    info = await lookup(client, address)
    token, source = settings.inspector_token()
    return Inspector(client, info.actor_id, name=address.name, token=token, token_source=source)
