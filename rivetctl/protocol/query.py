"""Actor addressing, pure: keys in their two wire forms, the three query kinds, create input and gateway URLs.

Protocol reference §2: the *engine key string* (REST API, ``x-rivet-actor-key``) escapes ``\\`` and ``/``;
the gateway's ``rvt-key`` joins components with ``,`` and cannot carry a component that contains one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias
from urllib.parse import quote, quote_plus, urlsplit

from rivetctl.errors import ConfigError
from rivetctl.protocol.values import dumps_cbor

Key: TypeAlias = list[str]


class _NoInput:
    """The type of :data:`NO_INPUT`."""

    def __repr__(self) -> str:
        return "NO_INPUT"

    def __reduce__(self) -> str:
        return "NO_INPUT"


NO_INPUT: Final = _NoInput()
"""``GetOrCreateQuery.input`` when there is no create input (``None`` is an input: JSON ``null``)."""


def normalize_key(key: str | Sequence[str] | None) -> Key:
    """A key as a list of components: ``None`` ⇒ ``[]``, a string ⇒ one component.

    Raises:
        ConfigError: a component is not a string.
    """
    if key is None:
        return []
    if isinstance(key, str):
        return [key]
    if not isinstance(key, Sequence):
        raise ConfigError(f"an actor key is a string or a list of strings, got {type(key).__name__}")
    parts = list(key)
    for part in parts:
        if not isinstance(part, str):
            raise ConfigError(f"actor key components must be strings, got {type(part).__name__} {part!r:.40}")
    return parts


def engine_key_string(key: str | Sequence[str] | None) -> str:
    r"""The engine's key string: ``\`` ⇒ ``\\``, ``/`` ⇒ ``\/``, ``""`` ⇒ ``\0``, joined by ``/``.

    The empty key is ``/``.
    """
    parts = normalize_key(key)
    if not parts:
        return "/"
    return "/".join(r"\0" if p == "" else p.replace("\\", "\\\\").replace("/", "\\/") for p in parts)


def parse_engine_key(text: str) -> Key:
    """Inverse of :func:`engine_key_string`, exactly as lenient as rivetkit's ``deserializeActorKey``."""
    if text in ("", "/"):
        return []
    parts: Key = []
    current, escaping, empty_marker = "", False, False
    for char in text:
        if escaping:
            if char == "0":
                empty_marker = True
            else:
                current += char
            escaping = False
        elif char == "\\":
            escaping = True
        elif char == "/":
            parts.append("" if empty_marker else current)
            current, empty_marker = "", False
        else:
            current += char
    if escaping:
        parts.append(current + "\\")  # a dangling backslash is literal
    elif empty_marker:
        parts.append("")
    elif current or parts:
        parts.append(current)
    return parts


def rvt_key(key: str | Sequence[str] | None) -> str | None:
    """The ``rvt-key`` value (components joined by ``,``), or ``None`` for the empty key (param omitted)."""
    parts = normalize_key(key)
    return ",".join(parts) if parts else None


def key_fits_query(key: str | Sequence[str] | None) -> bool:
    """Whether a query URL can address ``key`` (no component contains ``,``)."""
    return not any("," in part for part in normalize_key(key))


def input_b64url(value: Any) -> str:
    """``rvt-input``: base64url without padding of the CBOR of ``value``."""
    return base64.urlsafe_b64encode(dumps_cbor(value)).decode("ascii").rstrip("=")


def input_b64std(value: Any) -> str:
    """The REST API's ``input`` field: standard base64 (padded) of the CBOR of ``value``."""
    return base64.b64encode(dumps_cbor(value)).decode("ascii")


def _key_field(key: str | Sequence[str] | None) -> tuple[str, ...]:
    return tuple(normalize_key(key))


@dataclass(frozen=True, slots=True)
class GetQuery:
    """An existing actor by name and key (``rvt-method=get``); the key is stored as a tuple."""

    name: str
    key: Sequence[str] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _key_field(self.key))


@dataclass(frozen=True, slots=True)
class GetOrCreateQuery:
    """An actor by name and key, created on first use (with ``input``, in ``region``, on pool ``runner``)."""

    name: str
    key: Sequence[str] = ()
    input: Any = field(default=NO_INPUT)
    region: str | None = None
    runner: str = "default"

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _key_field(self.key))

    @property
    def has_input(self) -> bool:
        """Whether a create input was given (``None`` counts: it is JSON ``null``)."""
        return self.input is not NO_INPUT


@dataclass(frozen=True, slots=True)
class ForIdQuery:
    """A known actor by id (``name`` is kept for messages and the registry check)."""

    name: str
    actor_id: str


ActorQuery: TypeAlias = GetQuery | GetOrCreateQuery | ForIdQuery


def _form(value: str) -> str:
    # URLSearchParams (application/x-www-form-urlencoded) as the official client writes query params.
    return quote_plus(value, safe="*").replace("~", "%7E")


def gateway_url(
    endpoint: str,
    query: ActorQuery,
    actor_path: str,
    *,
    namespace: str,
    token: str | None,
    user_query: dict[str, str] | None = None,
) -> str:
    """The gateway URL (§2.3) for ``actor_path`` (``/action/x``, ``/connect``, ``/inspector/state``…).

    ``endpoint`` may carry a path prefix (``http://h/base``) but no query, fragment or credentials.
    ``user_query`` parameters come before the ``rvt-*`` ones, as the official client orders them.

    Raises:
        ConfigError: a bad endpoint, an empty name or namespace, or a key a query URL cannot carry.
    """
    base = _endpoint_base(endpoint)
    path = actor_path if actor_path.startswith("/") or not actor_path else "/" + actor_path
    if user_query:
        path += "?" + "&".join(f"{_form(str(k))}={_form(str(v))}" for k, v in user_query.items())
    if isinstance(query, ForIdQuery):
        if not query.actor_id:
            raise ConfigError("actor id must not be empty")
        at_token = "" if token is None else "@" + quote(token, safe="")
        return f"{base}/gateway/{quote(query.actor_id, safe='')}{at_token}{path}"
    if not query.name:
        raise ConfigError("actor name must not be empty")
    if not namespace:
        raise ConfigError("namespace must not be empty")
    if not key_fits_query(query.key):
        raise ConfigError(f"key {list(query.key)!r} has a ',' and cannot be addressed by a query URL")
    params = [("rvt-namespace", namespace)]
    key = rvt_key(query.key)
    if isinstance(query, GetQuery):
        params.append(("rvt-method", "get"))
        if key is not None:
            params.append(("rvt-key", key))
    else:
        params += [("rvt-method", "getOrCreate"), ("rvt-runner", query.runner)]
        if key is not None:
            params.append(("rvt-key", key))
        if query.has_input:
            params.append(("rvt-input", input_b64url(query.input)))
        if query.region is not None:
            params.append(("rvt-region", query.region))
        params.append(("rvt-crash-policy", "sleep"))
    if token is not None:
        params.append(("rvt-token", token))
    separator = "&" if "?" in path else "?"
    encoded = "&".join(f"{name}={_form(value)}" for name, value in params)
    return f"{base}/gateway/{quote(query.name, safe='')}{path}{separator}{encoded}"


def _endpoint_base(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"endpoint must be an http(s) URL, got {endpoint!r}")
    if parts.query or parts.fragment or endpoint.rstrip().endswith(("?", "#")):
        raise ConfigError("endpoint must not have a query string or fragment")
    if "@" in parts.netloc:
        raise ConfigError("endpoint must not carry credentials here; pass namespace and token separately")
    return endpoint.rstrip("/")


def ws_url(http_url: str) -> str:
    """The WebSocket form of a gateway URL: ``http`` ⇒ ``ws``, ``https`` ⇒ ``wss``."""
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://") :]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://") :]
    raise ConfigError(f"not an http(s) URL: {http_url!r}")
