"""The actor inspector's HTTP API: state (read and replace), connections, action names, queue, SQLite
database, workflow history and replay, traces; authenticated with a given or the per-actor token."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from rivetctl.client.engine import decode_rest
from rivetctl.client.options import redact_url
from rivetctl.errors import ActorError, ActorNotFoundError, AuthError, ConfigError, ProtocolError
from rivetctl.protocol.query import ForIdQuery, gateway_url

if TYPE_CHECKING:
    from rivetctl.client.client import Client
    from rivetctl.transport.http import HttpResponse

NO_TOKEN_HELP = "give one with --inspector-token or RIVET_INSPECTOR_TOKEN (or a profile's inspector_token)"


class Inspector:
    """One actor through ``/gateway/{id}/inspector/…``.

    ``token`` is a token the user gave (``token_source`` says where from, for messages); without one, the
    actor's own inspector token is read from its KV through the engine API. A token the server refuses is
    an ``AuthError`` naming its source: there is no silent fallback from a given token to another one.

    The inspector speaks plain JSON: no ``$``-tagged values (a BigInt in the state makes it fail, which is
    reported as such).
    """

    def __init__(
        self,
        client: Client,
        actor_id: str,
        *,
        name: str = "",
        token: str | None = None,
        token_source: str = "--inspector-token",
    ) -> None:
        self._client = client
        self.actor_id = actor_id
        self._name = name
        self._token = token or None
        self._token_source = token_source if token else "the actor's own inspector token"

    async def _get_token(self) -> str:
        if self._token is None:
            try:
                token = await self._client.engine.inspector_token(self.actor_id)
            except ProtocolError as exc:  # a plain 404: a server without the actor KV API
                raise await self._client.missing_route(
                    "the inspector (no actor KV API to read its token from)", exc
                ) from None
            if not token:
                token = await self._wake_and_read_token()
            if not token:
                raise AuthError(
                    "inspector",
                    "unauthorized",
                    f"no inspector token found for actor {self.actor_id} (it may never have started); " + NO_TOKEN_HELP,
                )
            self._token = token
        return self._token

    async def _wake_and_read_token(self, wait: float = 10.0) -> str | None:
        """An actor writes its inspector token when it first starts: one just created may not have yet.
        Wake it (a request to its ``/health`` route) and read again until ``wait`` seconds have passed."""
        import asyncio
        import contextlib
        import time

        from rivetctl.errors import RivetctlError

        opts = self._client.options
        url = gateway_url(
            opts.endpoint,
            ForIdQuery(self._name, self.actor_id),
            "/health",
            namespace=opts.namespace,
            token=opts.token,
        )
        with contextlib.suppress(RivetctlError):  # the token read below says what is wrong, if anything
            await self._client.http.request("GET", url, display_url=redact_url(url))
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            token = await self._client.engine.inspector_token(self.actor_id)
            if token or time.monotonic() >= deadline:
                return token
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _request(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None) -> Any:
        opts = self._client.options
        suffix = f"?{urlencode(query)}" if query else ""
        url = gateway_url(
            opts.endpoint,
            ForIdQuery(self._name, self.actor_id),
            f"/inspector/{path}{suffix}",
            namespace=opts.namespace,
            token=opts.token,
        )
        headers = {"authorization": f"Bearer {await self._get_token()}", "accept": "application/json"}
        content = None
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
            headers["content-type"] = "application/json"
        resp = await self._client.http.request(
            method, url, headers=headers, content=content, display_url=redact_url(url)
        )
        try:
            return self._decode(resp, path)
        except (ProtocolError, ActorError) as exc:
            if resp.status == 404 or getattr(exc, "full_code", None) == "rivetkit.internal_error":
                route = path.split("?")[0]
                raise await self._client.missing_route(f"the inspector's {method} /inspector/{route}", exc) from None
            raise

    def _decode(self, resp: HttpResponse, path: str) -> Any:
        what = f"inspector {path.split('/')[0]}"
        if resp.status == 400:
            try:
                data = json.loads(resp.body)
            except (ValueError, UnicodeDecodeError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                raise ConfigError(f"{what}: {data['error']}")
        try:
            return decode_rest(resp, what)
        except AuthError as exc:
            raise AuthError(
                exc.group,
                exc.code,
                f"the inspector refused {self._token_source}"
                + ("" if self._token_source.startswith("the actor") else f"; {NO_TOKEN_HELP.replace('give', 'check')}"),
                status=exc.status,
                ray_id=exc.ray_id,
            ) from None
        except ActorError as exc:
            raise _explained(exc) from None

    # -- state --------------------------------------------------------------------------------------------

    async def state(self) -> Any:
        """The actor's state (``None`` when the actor has no state)."""
        data = await self._request("GET", "state")
        return data.get("state") if isinstance(data, dict) else None

    async def state_enabled(self) -> bool:
        data = await self._request("GET", "state")
        return bool(data.get("isStateEnabled", True)) if isinstance(data, dict) else False

    async def set_state(self, state: Any) -> None:
        """Replace the whole state (the server does not merge)."""
        await self._request("PATCH", "state", {"state": state})

    # -- connections, actions, summary ----------------------------------------------------------------------

    async def connections(self) -> list[dict[str, Any]]:
        data = await self._request("GET", "connections")
        conns = data.get("connections") if isinstance(data, dict) else None
        return [c for c in conns if isinstance(c, dict)] if isinstance(conns, list) else []

    async def actions(self) -> list[str]:
        """Action names (the inspector gives names only, no signatures)."""
        data = await self._request("GET", "rpcs")
        rpcs = data.get("rpcs") if isinstance(data, dict) else None
        return sorted(str(r) for r in rpcs) if isinstance(rpcs, list) else []

    async def summary(self) -> dict[str, Any]:
        data = await self._request("GET", "summary")
        return data if isinstance(data, dict) else {}

    # -- queue ----------------------------------------------------------------------------------------------

    async def queue(self, limit: int = 50) -> dict[str, Any]:
        """``{"size", "maxSize", "truncated", "messages": [{id, name, createdAtMs}]}``."""
        data = await self._request("GET", "queue", query={"limit": int(limit)})
        return data if isinstance(data, dict) else {}

    async def queue_send(self, name: str, body: Any) -> dict[str, Any]:
        """Enqueue a message; the answer is the message's ``{id, name, createdAtMs}``."""
        if not name:
            raise ConfigError("a queue message needs a queue name")
        data = await self._request("POST", "queue", {"name": name, "body": body})
        return data if isinstance(data, dict) else {}

    async def queue_clear(self) -> None:
        await self._request("DELETE", "queue")

    # -- database -------------------------------------------------------------------------------------------

    async def tables(self) -> list[dict[str, Any]]:
        """The database's tables: ``{"table": {schema, name, type}, "columns": [...], "foreignKeys": [...],
        "records": N}`` each (the runtime's own ``_rivet_*`` tables included)."""
        data = await self._request("GET", "database/schema")
        schema = data.get("schema") if isinstance(data, dict) else None
        tables = schema.get("tables") if isinstance(schema, dict) else None
        if not isinstance(tables, list):
            raise ProtocolError("inspector database schema has no 'tables' list")
        return [t for t in tables if isinstance(t, dict)]

    async def rows(self, table: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """One page of a table's rows (the server clamps ``limit`` to 500)."""
        data = await self._request(
            "GET", "database/rows", query={"table": table, "limit": int(limit), "offset": int(offset)}
        )
        return _rows(data)

    async def execute(self, sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run one SQL statement with positional bindings; the rows it returns (none for most writes).
        The server runs anything, writes and DDL included: guarding is the caller's job."""
        return _rows(await self._request("POST", "database/execute", {"sql": sql, "args": list(args or [])}))

    # -- workflow -------------------------------------------------------------------------------------------

    async def workflow(self, *, settle: float = 3.0) -> dict[str, Any]:
        """``{"history", "workflowState", "isWorkflowEnabled"}``.

        An actor that has just woken up answers ``"history": null`` beside its workflow's state until the
        workflow has run through its history again (a tenth of a second or so); this asks again, for up to
        ``settle`` seconds, while that is the answer."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + settle
        while True:
            data = await self._request("GET", "workflow-history")
            data = data if isinstance(data, dict) else {}
            loading = (
                data.get("isWorkflowEnabled")
                and data.get("history") is None
                and data.get("workflowState") not in (None, "pending")
            )
            if not loading or loop.time() >= deadline:
                return data
            await asyncio.sleep(0.1)

    async def workflow_replay(self, entry_id: str) -> dict[str, Any]:
        """Re-run the workflow from ``entry_id`` (that entry and the later ones are dropped); the new history."""
        if not entry_id:
            raise ConfigError("replay needs an entry id (an empty one would replay from the start)")
        data = await self._request("POST", "workflow/replay", {"entryId": entry_id})
        return data if isinstance(data, dict) else {}

    # -- traces ---------------------------------------------------------------------------------------------

    async def traces(self) -> dict[str, Any]:
        """``{"otlp": [...], "clamped": bool}`` (RivetKit 2.3.19 returns no spans)."""
        data = await self._request("GET", "traces")
        return data if isinstance(data, dict) else {}


def _rows(data: Any) -> list[dict[str, Any]]:
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ProtocolError("inspector database answer has no 'rows' list")
    return [r if isinstance(r, dict) else {"value": r} for r in rows]


def _explained(exc: ActorError) -> ActorError:
    """The server's failures that have a known cause, said plainly."""
    detail = f"{exc.message} {json.dumps(exc.metadata) if exc.metadata is not None else ''}"
    if "serialize a BigInt" in detail:
        return ActorError(
            exc.group,
            exc.code,
            "the actor's state holds a BigInt, which the inspector cannot send (it speaks plain JSON); "
            "read it through an action instead",
            status=exc.status,
            ray_id=exc.ray_id,
        )
    if "no such table" in detail:
        table = detail.split("no such table:", 1)[-1].strip().split()[0].strip("\"'}") if ":" in detail else ""
        return ActorNotFoundError(
            "inspector", "table_not_found", f"no such table{': ' + table if table else ''}", status=exc.status
        )
    if "Workflow step not found" in detail:
        return ActorNotFoundError("inspector", "workflow_entry_not_found", "no workflow entry with that id")
    if "only supports a single statement" in detail:
        return ActorError("inspector", "several_statements", "the database runs one statement at a time")
    return exc


def quote_table(name: str) -> str:
    """A table name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
