"""Endpoint, namespace and token resolution follow the official client's rules."""

from __future__ import annotations

import pytest

from rivetctl.client.options import redact_url, resolve_options, split_endpoint
from rivetctl.errors import ConfigError


def test_defaults_without_env() -> None:
    opts = resolve_options(env={})
    assert opts.endpoint == "http://127.0.0.1:6420"
    assert opts.namespace == "default"
    assert opts.token is None
    assert opts.encoding == "bare"


def test_rivet_engine_beats_rivet_endpoint() -> None:
    env = {"RIVET_ENGINE": "http://engine:1", "RIVET_ENDPOINT": "http://endpoint:2"}
    assert resolve_options(env=env).endpoint == "http://engine:1"


def test_env_namespace_and_token() -> None:
    opts = resolve_options(env={"RIVET_ENDPOINT": "http://h:1", "RIVET_NAMESPACE": "ns", "RIVET_TOKEN": "tok"})
    assert (opts.endpoint, opts.namespace, opts.token) == ("http://h:1", "ns", "tok")


def test_userinfo_in_url_is_namespace_and_token() -> None:
    opts = resolve_options("https://my%20ns:s%40cret@example.com:8443/base/", env={})
    assert opts.endpoint == "https://example.com:8443/base"
    assert opts.namespace == "my ns"
    assert opts.token == "s@cret"


def test_scheme_is_optional() -> None:
    assert split_endpoint("ns:tok@127.0.0.1:6420") == ("http://127.0.0.1:6420", "ns", "tok")


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://:tok@host", "token without a namespace"),
        ("http://host?x=1", "query string or fragment"),
        ("http://host#frag", "query string or fragment"),
        ("ftp://host", "scheme must be http or https"),
        ("http://", "no host"),
        ("http://host:notaport", "invalid endpoint"),
    ],
)
def test_bad_endpoints(endpoint: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_options(endpoint, env={})


def test_empty_endpoint() -> None:
    with pytest.raises(ConfigError, match="empty"):
        split_endpoint("  ")
    # An empty setting means "unset", as with an empty environment variable.
    assert resolve_options("", env={}).endpoint == "http://127.0.0.1:6420"


def test_namespace_in_url_and_option_conflict() -> None:
    with pytest.raises(ConfigError, match="namespace given both"):
        resolve_options("http://ns@host", namespace="other", env={})
    with pytest.raises(ConfigError, match="token given both"):
        resolve_options("http://ns:t@host", token="other", env={})


def test_unknown_encoding() -> None:
    with pytest.raises(ConfigError, match="xml"):
        resolve_options(encoding="xml", env={})


def test_token_not_in_repr() -> None:
    opts = resolve_options("http://ns:supersecret@host", env={})
    assert "supersecret" not in repr(opts)


@pytest.mark.parametrize(
    "url",
    [
        "http://ns:supersecret@host/x",
        "http://h/gateway/counter/action/x?rvt-namespace=d&rvt-token=supersecret&rvt-key=k",
        "http://h/gateway/abc@supersecret/action/x",
    ],
)
def test_redact_url(url: str) -> None:
    assert "supersecret" not in redact_url(url)
