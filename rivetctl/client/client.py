"""The client: options, one HTTP pool, the engine API, the registry's names, and actor accessors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from rivetctl.client.accessor import ActorAccessor
from rivetctl.client.engine import EngineApi
from rivetctl.client.options import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, ClientOptions, resolve_options
from rivetctl.errors import (
    ActorError,
    NetworkError,
    ProtocolError,
    RivetctlError,
    UnknownActorNameError,
    UnsupportedError,
)
from rivetctl.protocol.server_info import ServerInfo, server_info
from rivetctl.transport.http import HttpTransport, Tracer


class Client:
    """Entry point, shaped like the JavaScript ``createClient``.

    ``Client("http://ns:token@host:6420", encoding="cbor")``; unset options follow the official client's
    rules (``RIVET_ENGINE``, ``RIVET_ENDPOINT``, ``RIVET_TOKEN``, ``RIVET_NAMESPACE``). Use it as an async
    context manager, or call ``aclose()``. ``client.counter``, ``client["counter"]`` and
    ``client.actor("counter")`` give the same accessor.

    Before anything that could create an actor, the name is checked against the registry (once per client)
    so that a typo never creates a junk actor; ``known_names`` lets a caller that cached the registry's
    names skip that request.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        token: str | None = None,
        namespace: str | None = None,
        encoding: str = "bare",
        runner: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        verify: bool | str = True,
        check_names: bool = True,
        known_names: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        tracer: Tracer | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.options = options or resolve_options(
            endpoint,
            token=token,
            namespace=namespace,
            encoding=encoding,
            runner=runner,
            headers=headers,
            timeout=timeout,
            connect_timeout=connect_timeout,
            verify=verify,
            env=env,
        )
        self.http = HttpTransport(
            timeout=self.options.timeout,
            connect_timeout=self.options.connect_timeout,
            verify=self.options.verify,
            headers=self.options.headers,
            tracer=tracer,
        )
        self.engine = EngineApi(self.http, self.options)
        self.engine.server_check = self.server_info_or_none
        self.check_names = check_names
        self.known_names = frozenset(known_names or ())
        """Names the caller knows the registry has (e.g. cached): no request is made to check them."""
        self._names: dict[str, Any] | None = None
        self._names_lock = asyncio.Lock()
        self._server: ServerInfo | None = None
        self._server_unknown = False
        self._server_lock = asyncio.Lock()
        self.tracer = tracer

    def actor(self, name: str) -> ActorAccessor:
        return ActorAccessor(self, name)

    def __getitem__(self, name: str) -> ActorAccessor:
        return self.actor(name)

    def __getattr__(self, name: str) -> ActorAccessor:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.actor(name)

    def __repr__(self) -> str:
        return f"Client({self.options.endpoint!r}, namespace={self.options.namespace!r})"

    async def actor_names(self, *, refresh: bool = False) -> dict[str, Any]:
        """The registry's actor names (cached for this client's lifetime unless ``refresh``)."""
        async with self._names_lock:
            if self._names is None or refresh:
                try:
                    self._names = await self.engine.actor_names()
                except (ProtocolError, ActorError) as exc:
                    raise await self._explain_endpoint(exc) from None
            return self._names

    async def _explain_endpoint(self, exc: Exception) -> Exception:
        """Turn a failed names lookup into a clear error about what the endpoint is."""
        try:
            info = await self.server_info()
        except UnsupportedError as unsupported:
            return unsupported
        except Exception:
            return exc
        if info.shape == "serverless":
            return ProtocolError(
                f"{self.options.endpoint} is a RivetKit serverless listener; use its engine endpoint "
                f"{info.client_endpoint or '(the Rivet Engine it registers with)'} instead"
            )
        if info.runtime not in ("engine", "rivetkit"):
            return ProtocolError(f"{self.options.endpoint} does not look like a RivetKit 2.x engine")
        return exc

    async def server_info(self, *, details: bool = False) -> ServerInfo:
        """What the endpoint is (``GET /metadata``, once per client): its runtime, version and shape, which
        decide how actors are reached. ``details`` also lists the RivetKit versions of the envoys and runners
        behind an engine (two more requests; best effort). A 0.9 server is an ``UnsupportedError``."""
        async with self._server_lock:
            if self._server is None or (details and not self._server.listed):
                self._server = await self._fetch_server_info(details)
            return self._server

    async def _fetch_server_info(self, details: bool) -> ServerInfo:
        meta = await self.engine.metadata()
        envoys = runners = None
        if details and meta.get("runtime") == "engine":
            try:
                envoys = await self.engine.list_named("envoys")
                runners = await self.engine.list_named("runners")
            except RivetctlError:
                envoys = runners = None
        return server_info(meta, envoys=envoys, runners=runners)

    async def server_info_or_none(self) -> ServerInfo | None:
        """:meth:`server_info`, or ``None`` when the endpoint answers without saying what it is (no usable
        ``/metadata``: a proxy that forwards only some paths; remembered); routing then assumes an engine. A
        network failure is raised: the request this one precedes would fail the same way."""
        if self._server_unknown:
            return None
        try:
            return await self.server_info()
        except (NetworkError, UnsupportedError):
            raise
        except RivetctlError:
            self._server_unknown = True
            return None

    @property
    def known_server(self) -> ServerInfo | None:
        """The server's description if this client already fetched it."""
        return self._server

    async def check_name(self, name: str) -> None:
        """Refuse names the registry does not have, so no junk actor is ever created."""
        if not self.check_names or name in self.known_names:
            return
        names = await self.actor_names()
        if name in names:
            return
        names = await self.actor_names(refresh=True)
        if name not in names:
            raise UnknownActorNameError(name, list(names))

    @property
    def fetched_names(self) -> list[str] | None:
        """The names this client fetched from the registry (``None`` if it did not need to)."""
        return sorted(self._names) if self._names is not None else None

    async def metadata(self) -> dict[str, Any]:
        return await self.engine.metadata()

    async def destroy_actor(self, actor_id: str) -> None:
        """Destroy an actor (the engine's ``DELETE /actors/{id}``)."""
        try:
            await self.engine.destroy_actor(actor_id)
        except (ProtocolError, ActorError) as exc:
            raise await self._unsupported_or(exc, "destroy") from None

    async def sleep_actor(self, actor_id: str) -> None:
        """Put an actor to sleep (the engine's ``POST /actors/{id}/sleep``)."""
        try:
            await self.engine.sleep_actor(actor_id)
        except (ProtocolError, ActorError) as exc:
            raise await self._unsupported_or(exc, "sleep") from None

    async def _unsupported_or(self, exc: Exception, feature: str) -> Exception:
        """A failed request explained: an ``UnsupportedError`` naming the server when it lacks ``feature``
        (a file-system server answers its missing routes with a plain-text 404), else ``exc`` itself."""
        try:
            info = await self.server_info()
        except RivetctlError:
            return exc
        return UnsupportedError(info.unsupported_message(feature)) if info.lacks(feature) else exc

    async def missing_route(self, what: str, exc: Exception) -> Exception:
        """A route the server answered with a plain 404 (or an internal error): an ``UnsupportedError``
        naming the server when it runs a RivetKit older than 2.3 (whose routes came later), else ``exc``."""
        try:
            info = await self.server_info(details=True)
        except RivetctlError:
            return exc
        if info.predates((2, 3)):
            return UnsupportedError(f"{info.describe} does not support {what} (a later RivetKit added it)")
        return exc

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
