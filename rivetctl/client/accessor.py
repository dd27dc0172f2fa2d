"""Actor accessors (``client.counter``): turn a name plus key or id into handles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rivetctl.client.handle import ActorHandle
from rivetctl.protocol.query import NO_INPUT, ForIdQuery, GetOrCreateQuery, GetQuery, normalize_key

if TYPE_CHECKING:
    from rivetctl.client.client import Client


class ActorAccessor:
    """All actors of one name. ``get``/``get_or_create``/``get_for_id`` are lazy; ``create`` is not."""

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name

    def __repr__(self) -> str:
        return f"ActorAccessor({self.name!r})"

    def get(self, key: str | list[str] | None = None, *, params: Any = None) -> ActorHandle:
        """The existing actor with ``key``; a missing one raises ``ActorNotFoundError`` on first use."""
        return ActorHandle(self._client, GetQuery(self.name, normalize_key(key)), params=params)

    def get_or_create(
        self,
        key: str | list[str] | None = None,
        *,
        input: Any = NO_INPUT,
        region: str | None = None,
        params: Any = None,
    ) -> ActorHandle:
        """The actor with ``key``, created with ``input`` on first use if it does not exist."""
        query = GetOrCreateQuery(
            self.name, normalize_key(key), input=input, region=region, runner=self._client.options.runner
        )
        return ActorHandle(self._client, query, params=params)

    async def create(
        self,
        key: str | list[str] | None = None,
        *,
        input: Any = NO_INPUT,
        region: str | None = None,
        params: Any = None,
    ) -> ActorHandle:
        """Create a new actor now; ``ActorExistsError`` (with ``existing_actor_id``) if the key is taken."""
        await self._client.check_name(self.name)
        info = await self._client.engine.create_actor(
            self.name,
            normalize_key(key) if key is not None else None,
            input=None if input is NO_INPUT else input,
            has_input=input is not NO_INPUT,
            region=region,
        )
        return ActorHandle(self._client, ForIdQuery(self.name, info.actor_id), params=params)

    def get_for_id(self, actor_id: str, *, params: Any = None) -> ActorHandle:
        """The actor with this id (no lookup until used)."""
        return ActorHandle(self._client, ForIdQuery(self.name, actor_id), params=params)

    get_with_id = get_for_id
    """The seed guide's name for ``get_for_id``."""
