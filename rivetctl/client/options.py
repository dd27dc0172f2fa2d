"""Client options: endpoint, namespace and token resolved by the official client's rules, validated once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from rivetctl.errors import ConfigError
from rivetctl.protocol.encoding import Encoding, parse_encoding

DEFAULT_ENDPOINT = "http://127.0.0.1:6420"
DEFAULT_NAMESPACE = "default"
DEFAULT_RUNNER = "default"
DEFAULT_TIMEOUT = 75.0
"""Read timeout for one request: above the server's default 60 s action timeout."""
DEFAULT_CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class ClientOptions:
    """Everything a client needs to reach an engine; secrets stay out of ``repr``."""

    endpoint: str = DEFAULT_ENDPOINT
    namespace: str = DEFAULT_NAMESPACE
    token: str | None = field(default=None, repr=False)
    encoding: Encoding = "bare"
    runner: str = DEFAULT_RUNNER
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float | None = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    verify: bool | str = True

    @property
    def display_endpoint(self) -> str:
        """The endpoint for messages: never carries the token."""
        return self.endpoint

    def with_endpoint(self, endpoint: str, namespace: str | None, token: str | None) -> ClientOptions:
        return replace(self, endpoint=endpoint, namespace=namespace or self.namespace, token=token or self.token)


def split_endpoint(endpoint: str) -> tuple[str, str | None, str | None]:
    """Split ``[scheme://][ns[:token]@]host[:port][/path]`` into (clean URL, namespace, token).

    A missing scheme means ``http``. Raises ``ConfigError`` with the official client's messages.
    """
    text = endpoint.strip()
    if not text:
        raise ConfigError("endpoint is empty")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"invalid endpoint {redact_url(endpoint)!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme in ("ws", "wss"):
        scheme = "http" if scheme == "ws" else "https"
    if scheme not in ("http", "https"):
        raise ConfigError(f"invalid endpoint {redact_url(endpoint)!r}: the scheme must be http or https")
    if not parts.hostname:
        raise ConfigError(f"invalid endpoint {redact_url(endpoint)!r}: no host")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ConfigError("endpoint cannot contain a query string or fragment")
    namespace = unquote(parts.username) if parts.username else None
    token = unquote(parts.password) if parts.password else None
    if token and not namespace:
        raise ConfigError("endpoint cannot have a token without a namespace")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, "", "")), namespace, token


def redact_url(url: str) -> str:
    """``http://ns:secret@host`` → ``http://ns:***@host``; also hides ``rvt-token`` and ``@token`` paths."""
    import re

    out = re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)
    out = re.sub(r"(rvt-token=)[^&]*", r"\1***", out)
    out = re.sub(r"(/gateway/[^/@?]+)@[^/?]*", r"\1@***", out)
    return out


def resolve_options(
    endpoint: str | None = None,
    *,
    token: str | None = None,
    namespace: str | None = None,
    encoding: str | None = None,
    runner: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    verify: bool | str = True,
    env: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> ClientOptions:
    """Resolve options as the official client does, each from the first place that has it.

    endpoint: argument → ``RIVET_ENGINE`` → ``RIVET_ENDPOINT`` → ``defaults`` → ``http://127.0.0.1:6420``.
    namespace: the endpoint's user → argument → ``RIVET_NAMESPACE`` → ``defaults`` → ``default``.
    token: the endpoint's password → argument → ``RIVET_TOKEN`` → ``defaults``.
    encoding and runner: argument (runner: → ``RIVET_POOL``) → ``defaults`` → ``bare`` / ``default``.

    ``defaults`` (e.g. a config profile: keys ``endpoint``, ``namespace``, ``token``, ``encoding``,
    ``runner``) ranks below the environment. A namespace or token given both inside the endpoint URL and
    as an argument is an error; one from the environment or ``defaults`` simply yields to the URL's. Pass
    ``env={}`` to ignore the environment.
    """
    env = os.environ if env is None else env
    low = defaults or {}
    raw = endpoint or env.get("RIVET_ENGINE") or env.get("RIVET_ENDPOINT") or low.get("endpoint") or DEFAULT_ENDPOINT
    url, url_ns, url_token = split_endpoint(str(raw))
    if url_ns and namespace:
        raise ConfigError("namespace given both in the endpoint URL and as an option; use one")
    if url_token and token:
        raise ConfigError("token given both in the endpoint URL and as an option; use one")
    ns = url_ns or namespace or env.get("RIVET_NAMESPACE") or low.get("namespace") or DEFAULT_NAMESPACE
    tok = url_token or token or env.get("RIVET_TOKEN") or low.get("token") or None
    if timeout is not None and timeout <= 0:
        raise ConfigError("timeout must be positive")
    return ClientOptions(
        endpoint=url,
        namespace=str(ns),
        token=None if tok is None else str(tok),
        encoding=parse_encoding(str(encoding or low.get("encoding") or "bare")),
        runner=str(runner or env.get("RIVET_POOL") or low.get("runner") or DEFAULT_RUNNER),
        headers=dict(headers or {}),
        timeout=timeout,
        connect_timeout=connect_timeout,
        verify=verify,
    )
