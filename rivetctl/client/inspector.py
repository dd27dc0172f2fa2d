"""The actor inspector's HTTP API (state, connections, action names, summary) with its per-actor token."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from rivetctl.client.engine import decode_rest
from rivetctl.client.options import redact_url
from rivetctl.errors import AuthError
from rivetctl.protocol.query import ForIdQuery, gateway_url

if TYPE_CHECKING:
    from rivetctl.client.client import Client


class Inspector:
    """Read-only views of one actor through ``/gateway/{id}/inspector/…``.

    The bearer token is the actor's own inspector token, read from its KV through the engine API.
    """

    def __init__(self, client: Client, actor_id: str, *, name: str = "") -> None:
        self._client = client
        self.actor_id = actor_id
        self._name = name
        self._token: str | None = None

    async def _get_token(self) -> str:
        if self._token is None:
            token = await self._client.engine.inspector_token(self.actor_id)
            if not token:
                raise AuthError(
                    "inspector",
                    "unauthorized",
                    "no inspector token found for this actor (it may never have started)",
                )
            self._token = token
        return self._token

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        opts = self._client.options
        url = gateway_url(
            opts.endpoint,
            ForIdQuery(self._name, self.actor_id),
            f"/inspector/{path}",
            namespace=opts.namespace,
            token=opts.token,
        )
        headers = {"authorization": f"Bearer {await self._get_token()}", "accept": "application/json"}
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        resp = await self._client.http.request(
            method, url, headers=headers, content=content, display_url=redact_url(url)
        )
        return decode_rest(resp, f"inspector {path}")

    async def state(self) -> Any:
        """The actor's state (``None`` when the actor has no state)."""
        data = await self._request("GET", "state")
        return data.get("state") if isinstance(data, dict) else None

    async def connections(self) -> list[dict[str, Any]]:
        data = await self._request("GET", "connections")
        conns = data.get("connections") if isinstance(data, dict) else None
        return conns if isinstance(conns, list) else []

    async def actions(self) -> list[str]:
        """Action names (the inspector gives names only, no signatures)."""
        data = await self._request("GET", "rpcs")
        rpcs = data.get("rpcs") if isinstance(data, dict) else None
        return sorted(str(r) for r in rpcs) if isinstance(rpcs, list) else []

    async def summary(self) -> dict[str, Any]:
        data = await self._request("GET", "summary")
        return data if isinstance(data, dict) else {}

    async def queue(self, limit: int = 50) -> dict[str, Any]:
        data = await self._request("GET", f"queue?limit={quote(str(limit))}")
        return data if isinstance(data, dict) else {}
