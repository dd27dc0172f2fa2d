"""The engine's REST API: actor names, listing, lookup, create, destroy, sleep, metadata and KV reads."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from rivetctl.client.options import ClientOptions
from rivetctl.errors import (
    ActorExistsError,
    ActorNotFoundError,
    ProtocolError,
    RivetctlError,
    UnsupportedError,
    actor_error,
)
from rivetctl.protocol.query import engine_key_string, input_b64std, parse_engine_key
from rivetctl.protocol.server_info import UNSUPPORTED_09, ServerInfo
from rivetctl.transport.http import HttpResponse, HttpTransport

MAX_REST_BODY = 2 * 1024 * 1024
"""The engine refuses REST bodies of 2 MB and more."""
PAGE_SIZE = 1000
"""Rows asked for per page when walking every actor of a name (the engine answers 100 without ``limit``)."""


@dataclass(frozen=True)
class ActorInfo:
    """An actor as the engine describes it; timestamps are epoch milliseconds."""

    actor_id: str
    name: str
    key: list[str] | None
    datacenter: str | None = None
    namespace_id: str | None = None
    runner: str | None = None
    crash_policy: str | None = None
    create_ts: int | None = None
    start_ts: int | None = None
    connectable_ts: int | None = None
    sleep_ts: int | None = None
    destroy_ts: int | None = None
    error: Any = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def status(self) -> str:
        """``destroyed``, ``sleeping``, ``running``, ``crashed`` or ``starting``."""
        if self.destroy_ts is not None:
            return "destroyed"
        if self.sleep_ts is not None:
            return "sleeping"
        if self.connectable_ts is not None:
            return "running"
        if self.error:
            return "crashed"
        return "starting"

    @staticmethod
    def from_json(data: Any) -> ActorInfo:
        if not isinstance(data, dict) or not isinstance(data.get("actor_id"), str):
            raise ProtocolError("engine returned an actor without an actor_id")
        key_text = data.get("key")

        def ts(name: str) -> int | None:
            value = data.get(name)
            return int(value) if isinstance(value, int | float) else None

        return ActorInfo(
            actor_id=data["actor_id"],
            name=str(data.get("name", "")),
            key=parse_engine_key(key_text) if isinstance(key_text, str) else None,
            datacenter=data.get("datacenter"),
            namespace_id=data.get("namespace_id"),
            runner=data.get("runner_name_selector"),
            crash_policy=data.get("crash_policy"),
            create_ts=ts("create_ts"),
            start_ts=ts("start_ts"),
            connectable_ts=ts("connectable_ts"),
            sleep_ts=ts("sleep_ts"),
            destroy_ts=ts("destroy_ts"),
            error=data.get("error"),
            raw=data,
        )

    def to_dict(self) -> dict[str, Any]:
        def iso(ms: int | None) -> str | None:
            return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms is not None else None

        return {
            "actor_id": self.actor_id,
            "name": self.name,
            "key": self.key,
            "status": self.status,
            "datacenter": self.datacenter,
            "created": iso(self.create_ts),
            "started": iso(self.start_ts),
            "slept": iso(self.sleep_ts),
            "destroyed": iso(self.destroy_ts),
            "error": self.error,
        }


@dataclass(frozen=True)
class Page:
    actors: list[ActorInfo]
    cursor: str | None


class EngineApi:
    """Typed calls to the engine REST API (``namespace`` query param, ``Authorization: Bearer``)."""

    def __init__(self, transport: HttpTransport, options: ClientOptions) -> None:
        self._http = transport
        self.options = options
        self.server_check: Callable[[], Awaitable[ServerInfo | None]] | None = None
        """What the server is, asked before sending a key that only some servers read right (set by the
        client: it learns it once)."""

    async def _key_text(self, key: list[str]) -> str:
        """A key as the REST API takes it: the engine key string (``/`` separates elements), or the lone
        element itself where the server takes a key as one string."""
        if (len(key) == 1 and not any(ch in key[0] for ch in "/\\")) or self.server_check is None:
            return engine_key_string(key)  # the same text either way
        server = await self.server_check()
        if server is None or not server.one_string_keys:
            return engine_key_string(key)
        if len(key) != 1:
            raise UnsupportedError(
                f"{server.describe} does not support keys of {len(key)} elements: its REST API takes a key as "
                "one string"
            )
        return key[0]

    async def _call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        query = {
            "namespace": self.options.namespace,
            **{k: v for k, v in (params or {}).items() if v is not None},
        }
        url = f"{self.options.endpoint}{path}?{urlencode(query)}"
        headers = {"accept": "application/json"}
        if self.options.token:
            headers["authorization"] = f"Bearer {self.options.token}"
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        resp = await self._http.request(method, url, headers=headers, content=content)
        return decode_rest(resp, f"{method} {path}")

    async def metadata(self) -> dict[str, Any]:
        """``GET /metadata``: runtime, version and protocol versions of the server."""
        resp = await self._http.request(
            "GET", f"{self.options.endpoint}/metadata?namespace={quote(self.options.namespace)}"
        )
        if resp.status == 404 and await self._looks_like_09():
            raise UnsupportedError(UNSUPPORTED_09)
        data = decode_rest(resp, "GET /metadata")
        if not isinstance(data, dict):
            raise ProtocolError("GET /metadata did not return an object; is this a RivetKit engine?")
        return data

    async def list_named(self, what: str) -> list[Any]:
        """``GET /envoys`` or ``GET /runners``: the first page of what is connected to the engine."""
        data = await self._call("GET", f"/{what}", {"limit": 100})
        items = data.get(what) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ProtocolError(f"GET /{what} returned no {what!r} list")
        return items

    async def _looks_like_09(self) -> bool:
        """Whether the endpoint, which has no ``/metadata``, is a RivetKit 0.9 manager (its routes are under
        ``/registry/…``; its root names RivetKit or ActorCore)."""
        try:
            resp = await self._http.request("GET", f"{self.options.endpoint}/")
        except RivetctlError:
            return False
        text = resp.body[:4000].decode("utf-8", "replace").lower()
        return resp.status < 500 and any(word in text for word in ("rivetkit", "actorcore", "/registry"))

    async def health(self) -> dict[str, Any]:
        resp = await self._http.request("GET", f"{self.options.endpoint}/health")
        data = decode_rest(resp, "GET /health")
        return data if isinstance(data, dict) else {"status": data}

    async def actor_names(self) -> dict[str, Any]:
        """Every actor name registered in the namespace (all pages), with its metadata."""
        names: dict[str, Any] = {}
        cursor: str | None = None
        for _ in range(1000):
            data = await self._call("GET", "/actors/names", {"limit": 100, "cursor": cursor})
            page = data.get("names") if isinstance(data, dict) else None
            if not isinstance(page, dict):
                raise ProtocolError("GET /actors/names returned no 'names' object")
            names.update(page)
            cursor = (data.get("pagination") or {}).get("cursor")
            if not cursor or len(page) < 100:
                break
        return names

    async def list_actors(
        self,
        name: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_destroyed: bool = False,
        key: list[str] | None = None,
    ) -> Page:
        params: dict[str, Any] = {"name": name, "limit": limit, "cursor": cursor}
        if include_destroyed:
            params["include_destroyed"] = "true"
        if key is not None:
            params["key"] = await self._key_text(key)
        data = await self._call("GET", "/actors", params)
        return _page(data)

    async def iter_actors(
        self,
        name: str,
        *,
        page_size: int = PAGE_SIZE,
        on_gap: Callable[[int], None] | None = None,
    ) -> AsyncIterator[ActorInfo]:
        """Every live actor of ``name``, newest first, one page at a time (never the whole list in memory).

        The engine's cursor is the last row's ``create_ts`` and is exclusive, so actors created in the same
        millisecond on both sides of a page boundary would be skipped. Each page after the first therefore
        starts at the boundary millisecond again (cursor ``ts + 1``) and leaves out the actors of that
        millisecond already given. Only when more than ``page_size`` actors share one millisecond can the
        engine not page through them: ``on_gap(ts)`` is told, and the walk goes on past that millisecond.
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        cursor: str | None = None
        boundary: int | None = None
        seen_at_boundary: set[str] = set()
        while True:
            page = await self.list_actors(name, limit=page_size, cursor=cursor)
            fresh = 0
            for actor in page.actors:
                if boundary is not None and actor.create_ts == boundary and actor.actor_id in seen_at_boundary:
                    continue
                fresh += 1
                yield actor
            if len(page.actors) < page_size or page.cursor is None:
                return
            last = page.actors[-1].create_ts
            if last is None:  # no timestamps to re-check ties with: the engine's own cursor
                cursor, boundary, seen_at_boundary = page.cursor, None, set()
                continue
            at_last = {a.actor_id for a in page.actors if a.create_ts == last}
            if fresh == 0:
                # A whole page inside one millisecond, all given already: more actors share it than a page
                # holds, and the engine cannot page inside a millisecond. Go on past it.
                if on_gap is not None:
                    on_gap(last)
                cursor, boundary, seen_at_boundary = str(last), None, set()
                continue
            seen_at_boundary = seen_at_boundary | at_last if last == boundary else at_last
            boundary = last
            cursor = str(last + 1)

    async def get_actor(self, actor_id: str) -> ActorInfo:
        """The actor with this id, destroyed ones included; ``ActorNotFoundError`` if unknown."""
        page = _page(await self._call("GET", "/actors", {"actor_ids": actor_id}))
        for actor in page.actors:
            if actor.actor_id == actor_id:
                return actor
        raise ActorNotFoundError("actor", "not_found", f"no actor with id {actor_id!r}")

    async def find_actor(self, name: str, key: list[str]) -> ActorInfo | None:
        """The live actor with this name and key, or ``None``."""
        page = await self.list_actors(name, key=key)
        wanted = list(key)
        for actor in page.actors:
            if actor.key == wanted and actor.destroy_ts is None:
                return actor
        return None

    async def _create_body(
        self, name: str, key: list[str] | None, input: Any, has_input: bool, region: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name,
            "key": await self._key_text(key) if key is not None else None,
            "runner_name_selector": self.options.runner,
            "crash_policy": "sleep",
        }
        if has_input:
            body["input"] = input_b64std(input)
        if region:
            body["datacenter"] = region
        if len(json.dumps(body)) >= MAX_REST_BODY:
            from rivetctl.errors import PayloadTooLargeError

            raise PayloadTooLargeError(
                f"create input is too large: the engine refuses request bodies of {MAX_REST_BODY} bytes or more",
                size=len(json.dumps(body)),
                limit=MAX_REST_BODY,
            )
        return body

    async def create_actor(
        self,
        name: str,
        key: list[str] | None,
        *,
        input: Any = None,
        has_input: bool = False,
        region: str | None = None,
    ) -> ActorInfo:
        """``POST /actors``; an existing key raises ``ActorExistsError`` naming the existing id."""
        body = await self._create_body(name, key, input, has_input, region)
        try:
            data = await self._call("POST", "/actors", body=body)
        except ActorExistsError:
            raise
        except Exception as exc:
            # Under load the engine sometimes answers a duplicate with destroyed_during_creation.
            code = getattr(exc, "full_code", "")
            if key is not None and code == "actor.destroyed_during_creation":
                existing = await self.find_actor(name, key)
                if existing is not None:
                    raise ActorExistsError(
                        "actor",
                        "duplicate_key",
                        "an actor with this key already exists",
                        metadata={"existing_actor_id": existing.actor_id, "key": engine_key_string(key)},
                    ) from None
            raise
        return ActorInfo.from_json(data.get("actor") if isinstance(data, dict) else None)

    async def get_or_create_actor(
        self,
        name: str,
        key: list[str],
        *,
        input: Any = None,
        has_input: bool = False,
        region: str | None = None,
    ) -> tuple[ActorInfo, bool]:
        """``PUT /actors``: the actor and whether it was created now."""
        data = await self._call("PUT", "/actors", body=await self._create_body(name, key, input, has_input, region))
        if not isinstance(data, dict):
            raise ProtocolError("PUT /actors returned no object")
        return ActorInfo.from_json(data.get("actor")), bool(data.get("created"))

    async def destroy_actor(self, actor_id: str) -> None:
        await self._call("DELETE", f"/actors/{quote(actor_id, safe='')}")

    async def sleep_actor(self, actor_id: str) -> None:
        await self._call("POST", f"/actors/{quote(actor_id, safe='')}/sleep", body={})

    async def kv_get(self, actor_id: str, key: bytes) -> bytes | None:
        """Raw actor KV value (``None`` when the key is absent)."""
        encoded = base64.b64encode(key).decode()
        try:
            data = await self._call("GET", f"/actors/{quote(actor_id, safe='')}/kv/keys/{quote(encoded, safe='')}")
        except ActorNotFoundError:
            return None
        except Exception as exc:
            if getattr(exc, "status", None) == 404 or getattr(exc, "code", None) == "kv_key_not_found":
                return None
            raise
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(value, str):
            return None
        try:
            return base64.b64decode(value)
        except ValueError:
            raise ProtocolError("engine returned a KV value that is not base64") from None

    async def inspector_token(self, actor_id: str) -> str | None:
        """The per-actor inspector token (stored by the actor in its KV under key ``0x03``)."""
        raw = await self.kv_get(actor_id, b"\x03")
        return raw.decode("utf-8", "replace") if raw else None


def _page(data: Any) -> Page:
    if not isinstance(data, dict) or not isinstance(data.get("actors"), list):
        raise ProtocolError("engine returned no 'actors' list")
    cursor = (data.get("pagination") or {}).get("cursor")
    return Page([ActorInfo.from_json(a) for a in data["actors"]], cursor if isinstance(cursor, str) else None)


def decode_rest(resp: HttpResponse, what: str) -> Any:
    """Decode a JSON REST answer, raising the matching ``ActorError`` for an error body."""
    ray = resp.headers.get("x-rivet-ray-id")
    ctype = (resp.content_type or "").split(";")[0].strip()
    try:
        data = json.loads(resp.body) if resp.body else None
    except (ValueError, UnicodeDecodeError):
        snippet = resp.body[:60].decode("utf-8", "replace").replace("\n", " ")
        raise ProtocolError(
            f"{what} answered HTTP {resp.status} with {ctype or 'no content type'} ({snippet!r}…), "
            "not JSON: is the endpoint a RivetKit engine?"
        ) from None
    if resp.status >= 400:
        if isinstance(data, dict) and isinstance(data.get("group"), str) and isinstance(data.get("code"), str):
            raise actor_error(
                data["group"],
                data["code"],
                str(data.get("message", "")),
                metadata=data.get("metadata"),
                ray_id=ray,
                status=resp.status,
            )
        raise ProtocolError(f"{what} answered HTTP {resp.status} without a RivetKit error body")
    return data
