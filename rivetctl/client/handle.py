"""Actor handles: stateless actions over HTTP, ``resolve()``, and ``connect()`` for a live connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from rivetctl.client.actions import ActionMethods
from rivetctl.client.options import redact_url
from rivetctl.errors import PayloadTooLargeError, ProtocolError, RivetctlError, actor_error, actor_error_from
from rivetctl.protocol import encoding as codec
from rivetctl.protocol.messages import HttpActionRequest, HttpQueueSendRequest
from rivetctl.protocol.query import (
    ActorQuery,
    ForIdQuery,
    GetOrCreateQuery,
    GetQuery,
    gateway_url,
    input_b64url,
    key_fits_query,
    ws_url,
)
from rivetctl.protocol.values import to_json_compat
from rivetctl.transport.http import HttpResponse

if TYPE_CHECKING:
    from rivetctl.client.client import Client
    from rivetctl.client.connection import ActorConnection, Connector
    from rivetctl.client.options import ClientOptions
    from rivetctl.transport.http import Tracer

MAX_INCOMING_MESSAGE = 65_536
"""The server's default limit on one incoming message (HTTP body or WebSocket frame)."""
MAX_QUERY_INPUT = 4096
"""Inputs whose base64url form is longer than this are sent through the REST API, not the URL."""


@dataclass(frozen=True, slots=True)
class ActorRoute:
    """Where one actor's gateway endpoints are: its query as it can travel in a URL (the key query itself,
    or the actor id it resolved to when a URL cannot carry the key or the input)."""

    query: ActorQuery
    options: ClientOptions

    @property
    def by_id(self) -> bool:
        """True when the route names the actor by id (a key pinned to an id does not follow the actor)."""
        return isinstance(self.query, ForIdQuery)

    def url(self, path: str) -> str:
        """The gateway HTTP URL of ``path`` (``/action/x``, ``/queue/q``, ``/connect``); it carries the token,
        show it only through ``redact_url``."""
        opts = self.options
        return gateway_url(opts.endpoint, self.query, path, namespace=opts.namespace, token=opts.token)

    def ws_url(self, path: str = "/connect") -> str:
        """The WebSocket (``ws://`` / ``wss://``) form of :meth:`url`."""
        return ws_url(self.url(path))


@dataclass(frozen=True, slots=True)
class ConnectTarget:
    """What a live connection needs from its handle: the client's options and tracer, the query, and
    ``resolve_route()``, called before every attempt (key queries follow the actor; it may make HTTP
    requests: the registry's names, the actor's id)."""

    query: ActorQuery
    options: ClientOptions
    tracer: Tracer | None
    resolve_route: Callable[[], Awaitable[ActorRoute]]


class ActorHandle(ActionMethods):
    """A reference to one actor (by key query or by id); cheap to create, nothing sent until used.

    Call actions as methods (``await handle.increment(5)``) or with ``await handle.action("increment", 5)``.
    """

    def __init__(self, client: Client, query: ActorQuery, *, params: Any = None) -> None:
        self._client = client
        self._query = query
        self._params = params
        self._pinned_id: str | None = query.actor_id if isinstance(query, ForIdQuery) else None

    @property
    def query(self) -> ActorQuery:
        return self._query

    @property
    def name(self) -> str:
        return self._query.name

    @property
    def params(self) -> Any:
        return self._params

    def __repr__(self) -> str:
        return f"ActorHandle({self._query!r})"

    @property
    def options(self) -> ClientOptions:
        """The client's resolved options (endpoint, namespace, token, encoding, timeouts)."""
        return self._client.options

    async def route(self) -> ActorRoute:
        """Where to reach the actor: the query itself, or its resolved id where a URL cannot carry the query
        (a key with ``,``, a large create input); the id, once resolved, is kept. Checks the actor name
        against the registry first (one request per client)."""
        if self._pinned_id is not None:
            return ActorRoute(ForIdQuery(self._query.name, self._pinned_id), self._client.options)
        query = self._query
        assert not isinstance(query, ForIdQuery)  # ids are pinned above
        await self._client.check_name(query.name)
        server = self._client.known_server
        needs_id = not key_fits_query(query.key) or (server is not None and not server.query_gateway)
        if isinstance(query, GetOrCreateQuery) and query.has_input and len(input_b64url(query.input)) > MAX_QUERY_INPUT:
            needs_id = True
        if needs_id:
            self._pinned_id = await self.resolve()
            return ActorRoute(ForIdQuery(query.name, self._pinned_id), self._client.options)
        return ActorRoute(query, self._client.options)

    def connect_target(self) -> ConnectTarget:
        """What :class:`~rivetctl.client.connection.ActorConnection` needs to reach this actor."""
        return ConnectTarget(self._query, self._client.options, self._client.tracer, self._connect_route)

    async def _connect_route(self) -> ActorRoute:
        """:meth:`route` for a live connection, which first learns what the server is (once per client): a
        file-system server has no query-URL gateway, and a refused WebSocket says less than an HTTP answer."""
        if self._pinned_id is None:
            await self._client.server_info_or_none()
        return await self.route()

    async def _reroute(self, route: ActorRoute, error: Exception) -> ActorRoute | None:
        """After ``actor.not_found`` or an internal error for a key query: a new route through the actor's id
        when the server has no query-URL gateway (RivetKit 2.2 in file-system mode takes the name for an id
        and finds nothing, 2.0 and 2.1 fail with an internal error: no query URL reaches an actor there, so
        nothing ran); ``None`` when the error stands (on an engine it may come from the action itself)."""
        if route.by_id or not (
            getattr(error, "full_code", None) == "actor.not_found" or getattr(error, "code", None) == "internal_error"
        ):
            return None
        try:
            server = await self._client.server_info_or_none()
        except RivetctlError:
            return None
        if server is None or server.query_gateway:
            return None
        return await self.route()

    def _headers(self, enc: str) -> dict[str, str]:
        opts = self._client.options
        headers = {"x-rivet-encoding": enc, "content-type": codec.content_type(enc)}  # type: ignore[arg-type]
        if opts.token:
            headers["x-rivet-token"] = opts.token
        if self._params is not None:
            headers["x-rivet-conn-params"] = json.dumps(to_json_compat(self._params), ensure_ascii=True)
        return headers

    async def action(self, name: str, *args: Any, timeout: float | Any | None = ...) -> Any:
        """Run one action statelessly over HTTP and return its output."""
        enc = self._client.options.encoding
        body = codec.encode_http_request(HttpActionRequest(list(args)), enc)
        _check_size(body, "action arguments")
        path = f"/action/{quote(name, safe='')}"
        route = await self.route()
        url = route.url(path)
        rerouted = False
        for attempt in range(ROUTING_RETRIES + 1):
            resp = await self._client.http.request(
                "POST",
                url,
                headers=self._headers(enc),
                content=body,
                display_url=redact_url(url),
                timeout=timeout,
            )
            if resp.status == 200:
                break
            error = self._error(resp, enc)
            if not rerouted and (new_route := await self._reroute(route, error)) is not None:
                rerouted, route = True, new_route
                url = route.url(path)
                continue
            if attempt == ROUTING_RETRIES or not never_reached_actor(error, resp):
                raise error
            await asyncio.sleep(0.2 * 2**attempt)
        _expect_rivet_body(resp, enc, url)
        try:
            return codec.decode_http_action_response(resp.body, enc).output
        except ProtocolError as exc:
            raise ProtocolError(f"invalid response to action {name!r} ({enc}): {exc}") from None

    async def send(self, queue: str, body: Any, *, wait: bool = False, timeout_ms: int | None = None) -> Any:
        """Send a message to the actor's queue ``queue``; with ``wait`` returns the response."""
        enc = self._client.options.encoding
        payload = codec.encode_http_request(
            HttpQueueSendRequest(body=body, name=queue, wait=wait or None, timeout=timeout_ms), enc
        )
        _check_size(payload, "queue message")
        path = f"/queue/{quote(queue, safe='')}"
        route = await self.route()
        url = route.url(path)
        resp = await self._client.http.request(
            "POST", url, headers=self._headers(enc), content=payload, display_url=redact_url(url)
        )
        if resp.status != 200:
            error = self._error(resp, enc)
            new_route = await self._reroute(route, error)
            if new_route is None:
                raise error
            url = new_route.url(path)
            resp = await self._client.http.request(
                "POST", url, headers=self._headers(enc), content=payload, display_url=redact_url(url)
            )
            if resp.status != 200:
                raise self._error(resp, enc)
        _expect_rivet_body(resp, enc, url)
        return codec.decode_http_queue_response(resp.body, enc)

    def _error(self, resp: HttpResponse, enc: str) -> Exception:
        try:
            err = codec.decode_http_error(resp.body, resp.content_type, enc)  # type: ignore[arg-type]
        except ProtocolError:
            ctype = (resp.content_type or "no content type").split(";")[0]
            snippet = resp.body[:60].decode("utf-8", "replace").replace("\n", " ")
            return ProtocolError(
                f"server answered HTTP {resp.status} with {ctype} ({snippet!r}) instead of a RivetKit error"
            )
        return actor_error_from(err, ray_id=resp.headers.get("x-rivet-ray-id"), status=resp.status)

    async def resolve(self) -> str:
        """The actor id: looked up (``get``), created if needed (``get_or_create``), or known (by id)."""
        if self._pinned_id is not None:
            return self._pinned_id
        query = self._query
        await self._client.check_name(query.name)
        engine = self._client.engine
        if isinstance(query, GetQuery):
            found = await engine.find_actor(query.name, list(query.key))
            if found is None:
                raise actor_error("actor", "not_found", f"no {query.name!r} actor with key {query.key!r}", status=404)
            return found.actor_id
        if isinstance(query, GetOrCreateQuery):
            info, _ = await engine.get_or_create_actor(
                query.name, list(query.key), input=query.input, has_input=query.has_input, region=query.region
            )
            return info.actor_id
        raise AssertionError(f"unexpected query {query!r}")

    def connect(
        self, params: Any = None, *, transport: str = "websocket", connector: Connector | None = None
    ) -> ActorConnection:
        """Open a live connection (WebSocket): events, actions, automatic reconnection.

        Use as ``async with handle.connect() as conn:`` or ``conn = handle.connect(); await conn.wait_open()``.
        ``connector`` replaces the function that opens the WebSocket of each attempt (see
        :data:`~rivetctl.client.connection.Connector`; tests use it to fail or observe attempts).
        """
        from rivetctl.client.connection import ActorConnection

        return ActorConnection(
            self, params=self._params if params is None else params, transport=transport, connector=connector
        )


ROUTING_RETRIES = 2
"""How often a call is retried when the gateway failed before the actor saw it (safe: nothing ran)."""
_ROUTING_CODES = frozenset(
    {
        "guard.route_resolve_query_timeout",
        "pegboard.route_resolve_query_timeout",
        "guard.service_unavailable",
        "guard.gateway_response_start_timeout",
        # The engine gave up the actor before it ever became ready (seen under load on a fresh key): the
        # request waited for it and was never forwarded.
        "actor.destroyed_during_creation",
    }
)


def never_reached_actor(error: Exception, resp: HttpResponse) -> bool:
    """True for transient routing failures answered by the gateway itself (no ``x-rivet-actor`` header)."""
    return (
        getattr(error, "full_code", None) in _ROUTING_CODES
        and "x-rivet-actor" not in resp.headers
        and getattr(error, "actor", None) is None
    )


def _check_size(body: bytes, what: str) -> None:
    if len(body) > MAX_INCOMING_MESSAGE:
        raise PayloadTooLargeError(
            f"{what} encode to {len(body)} bytes, over the server's {MAX_INCOMING_MESSAGE}-byte message limit",
            size=len(body),
            limit=MAX_INCOMING_MESSAGE,
        )


def _expect_rivet_body(resp: HttpResponse, enc: str, url: str) -> None:
    ctype = (resp.content_type or "").split(";")[0].strip().lower()
    if ctype.startswith("text/") or (ctype and "html" in ctype):
        raise ProtocolError(
            f"{redact_url(url).split('/gateway/')[0]} answered HTTP {resp.status} with {ctype}, "
            "not a RivetKit response: is the endpoint a RivetKit engine?"
        )
