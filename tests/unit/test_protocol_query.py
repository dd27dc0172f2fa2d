"""Actor addressing: key escaping, rvt-key, create input and the gateway URLs of the official client."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_protocol_strategies import PROPERTY, cbor_model

from rivetctl.errors import ConfigError
from rivetctl.protocol.query import (
    NO_INPUT,
    ForIdQuery,
    GetOrCreateQuery,
    GetQuery,
    engine_key_string,
    gateway_url,
    input_b64std,
    input_b64url,
    key_fits_query,
    normalize_key,
    parse_engine_key,
    rvt_key,
    ws_url,
)
from rivetctl.protocol.values import loads_cbor

CAPTURES = Path(__file__).parent.parent / "data" / "captures"
EP = "http://127.0.0.1:16420"


def _captured_paths() -> set[str]:
    paths = set()
    for name in ("official-client-json.jsonl", "official-client-token-create-params.jsonl"):
        for line in (CAPTURES / name).read_text().splitlines():
            start = json.loads(line).get("start", "")
            if " /gateway/" in start:
                paths.add(start.split()[1])
    return paths


def test_normalize_key() -> None:
    assert normalize_key(None) == []
    assert normalize_key("a,b") == ["a,b"]
    assert normalize_key(("a", "")) == ["a", ""]
    with pytest.raises(ConfigError, match="strings"):
        normalize_key(["a", 1])  # type: ignore[list-item]
    with pytest.raises(ConfigError):
        normalize_key(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "text"),
    [
        (["rest", "raw-1"], "rest/raw-1"),
        (["with/slash"], r"with\/slash"),
        ([r"back\slash"], r"back\\slash"),
        ([], "/"),
        ([""], r"\0"),
        (["a", "", "b"], r"a/\0/b"),
        (["0"], "0"),
        ([r"\0"], r"\\0"),
        (["c2-1795890102850", "x"], "c2-1795890102850/x"),
    ],
)
def test_engine_key_string(key: list[str], text: str) -> None:
    assert engine_key_string(key) == text
    assert parse_engine_key(text) == key


def test_parse_engine_key_is_as_lenient_as_rivetkit() -> None:
    assert parse_engine_key("") == []  # the runtime's x-rivet-actor-key for the empty key
    assert parse_engine_key("a\\") == ["a\\"]  # a dangling backslash is literal
    assert parse_engine_key("a/") == ["a", ""]
    assert parse_engine_key(r"\x") == ["x"]


@PROPERTY
@given(st.lists(st.text(max_size=6, alphabet=st.sampled_from("ab/\\0,"))))
def test_engine_key_round_trips(key: list[str]) -> None:
    assert parse_engine_key(engine_key_string(key)) == key


def test_rvt_key_and_commas() -> None:
    assert rvt_key([]) is None
    assert rvt_key(["a", "b"]) == "a,b"
    assert rvt_key("solo") == "solo"
    assert key_fits_query(["a", "b"]) and not key_fits_query(["a,b"])


def test_create_input_encodings() -> None:
    # {"a":1} as the official client sent it (a captured rvt-input, cbor-x's 16-bit map header) and §2.4's
    # cbor2 example: the server reads both the same, and so must we.
    captured = base64.urlsafe_b64decode("uQABYWEB" + "==")
    assert cbor_model(base64.urlsafe_b64decode(input_b64url({"a": 1}) + "==")) == cbor_model(captured)
    assert loads_cbor(captured) == {"a": 1}
    assert input_b64url({"hello": "world", "n": [1, 2]}) == "omVoZWxsb2V3b3JsZGFuggEC"
    assert input_b64std("hi") == "Ymhp"
    assert (input_b64url("h"), input_b64std("h")) == ("YWg", "YWg=")
    assert input_b64url(None) == "9g"


# --- gateway URLs --------------------------------------------------------------------------------------

CAPTURED_URLS: list[tuple[Any, str, str | None, str]] = [
    (GetOrCreateQuery("counter", ["cap-json"]), "/action/increment", None,
     "/gateway/counter/action/increment?rvt-namespace=default&rvt-method=getOrCreate&rvt-runner=default"
     "&rvt-key=cap-json&rvt-crash-policy=sleep"),
    (GetOrCreateQuery("counter", ["cap-json"]), "/connect", None,
     "/gateway/counter/connect?rvt-namespace=default&rvt-method=getOrCreate&rvt-runner=default"
     "&rvt-key=cap-json&rvt-crash-policy=sleep"),
    (GetQuery("counter", ["missing-1795889587297"]), "/action/getCount", None,
     "/gateway/counter/action/getCount?rvt-namespace=default&rvt-method=get&rvt-key=missing-1795889587297"),
    (GetOrCreateQuery("withInput", ["c2-1795890102850", "x"], input={"a": 1}), "/action/getState", "mytoken",
     "/gateway/withInput/action/getState?rvt-namespace=default&rvt-method=getOrCreate&rvt-runner=default"
     "&rvt-key=c2-1795890102850%2Cx&rvt-input=uQABYWEB&rvt-crash-policy=sleep&rvt-token=mytoken"),
    (GetQuery("withInput", ["c2-1795890102850", "x"]), "/action/getInput", "mytoken",
     "/gateway/withInput/action/getInput?rvt-namespace=default&rvt-method=get&rvt-key=c2-1795890102850%2Cx"
     "&rvt-token=mytoken"),
    (ForIdQuery("withInput", "9ibnfefqv4ened4xf5z6l1wfq5bl00"), "/action/getInput", "mytoken",
     "/gateway/9ibnfefqv4ened4xf5z6l1wfq5bl00@mytoken/action/getInput"),
    (ForIdQuery("withInput", "9ibnfefqv4ened4xf5z6l1wfq5bl00"), "/connect", "mytoken",
     "/gateway/9ibnfefqv4ened4xf5z6l1wfq5bl00@mytoken/connect"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "path", "token", "expected"), CAPTURED_URLS)
def test_gateway_urls_are_those_of_the_official_client(query: Any, path: str, token: str | None, expected: str) -> None:
    assert expected in _captured_paths()
    url = gateway_url(EP, query, path, namespace="default", token=token)
    assert _same_input(url) == _same_input(EP + expected)


def _same_input(url: str) -> Any:
    """``url`` with its ``rvt-input`` read as the CBOR data model it carries (cbor-x and cbor2 headers differ)."""
    parts = urlsplit(url)
    query = [
        (name, cbor_model(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) if name == "rvt-input" else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return parts._replace(query="").geturl(), query


def test_gateway_url_details() -> None:
    query = GetOrCreateQuery("my actor/x", [], input=None, region="eu-1", runner="pool a")
    url = gateway_url("https://h.example/base/", query, "/action/a", namespace="ns 1", token="t+/~ *")
    assert url == (
        "https://h.example/base/gateway/my%20actor%2Fx/action/a?rvt-namespace=ns+1&rvt-method=getOrCreate"
        "&rvt-runner=pool+a&rvt-input=9g&rvt-region=eu-1&rvt-crash-policy=sleep&rvt-token=t%2B%2F%7E+*"
    )
    direct = gateway_url(EP, ForIdQuery("a", "id/1"), "/request/x", namespace="", token="t@k", user_query={"q": "1 2"})
    assert direct == EP + "/gateway/id%2F1@t%40k/request/x?q=1+2"
    with_query = gateway_url(EP, GetQuery("a"), "/request/x", namespace="default", token=None, user_query={"q": "v"})
    assert with_query == EP + "/gateway/a/request/x?q=v&rvt-namespace=default&rvt-method=get"


@pytest.mark.parametrize(
    ("endpoint", "query", "namespace", "problem"),
    [
        ("ftp://h", GetQuery("a"), "default", "http"),
        ("http://h?x=1", GetQuery("a"), "default", "query string"),
        ("http://h#f", GetQuery("a"), "default", "query string"),
        ("http://ns:tok@h", GetQuery("a"), "default", "credentials"),
        (EP, GetQuery(""), "default", "name"),
        (EP, GetQuery("a"), "", "namespace"),
        (EP, GetQuery("a", ["x,y"]), "default", "','"),
        (EP, ForIdQuery("a", ""), "default", "id"),
    ],
)
def test_gateway_url_refusals(endpoint: str, query: Any, namespace: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        gateway_url(endpoint, query, "/connect", namespace=namespace, token=None)


def test_ws_url() -> None:
    assert ws_url("http://h/gateway/a/connect?x=1") == "ws://h/gateway/a/connect?x=1"
    assert ws_url("https://h/gateway/a/connect") == "wss://h/gateway/a/connect"
    with pytest.raises(ConfigError):
        ws_url("ws://h")


def test_queries_are_values() -> None:
    assert GetQuery("a", ["k"]) == GetQuery("a", ("k",)) == GetQuery("a", "k")
    assert GetQuery("a", ["k"]).key == ("k",)
    assert not GetOrCreateQuery("a").has_input and GetOrCreateQuery("a", input=None).has_input
    assert GetOrCreateQuery("a").input is NO_INPUT and repr(NO_INPUT) == "NO_INPUT"
    with pytest.raises(ConfigError):
        GetQuery("a", [1])  # type: ignore[list-item]
