"""``--dry-run``: the ``curl`` command that does what a rivetctl request would do, for bash, sending nothing.

Requests are written as rivetctl's transport sends them with the ``json`` encoding (whatever ``--encoding``
says): the same method, URL and headers (see :meth:`rivetctl.client.handle.ActorHandle.action` and
:class:`rivetctl.client.engine.EngineApi`), the body as JSON text. Every literal word is quoted with
:func:`shlex.quote`; secrets are never printed, only references to environment variables, in double quotes:

- the token is ``"$RIVET_TOKEN"`` (in ``x-rivet-token`` and the gateway URL, or ``Authorization: Bearer``);
- a connection param read from the environment by a profile (``token = { env = "CHAT_TOKEN" }``) is
  ``"$CHAT_TOKEN"``; any other param whose key looks secret (``token``, ``password``, ``key``, ... as the
  ``connections`` command redacts them, at any depth) is ``"$RIVETCTL_PARAM_<KEY>"`` (the key upper-cased,
  other characters than letters and digits as ``_``); params that are not a JSON object are
  ``"$RIVETCTL_PARAMS"`` as a whole. A string param's variable holds the string (spliced into the JSON text
  as it is, so it must not contain ``"`` or ``\\``); any other value's variable holds its JSON text.

:class:`Curl` carries the names of the variables a command reads (never their values), for the ``export``
hint that ``--dry-run`` writes on stderr.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from rivetctl.errors import ConfigError

if TYPE_CHECKING:
    from rivetctl.client.handle import ActorHandle
    from rivetctl.client.options import ClientOptions
    from rivetctl.frontend.args import Address
    from rivetctl.frontend.settings import Settings
    from rivetctl.protocol.query import ActorQuery

TOKEN_VAR = "RIVET_TOKEN"
"""The variable the printed commands read the token from."""
PARAMS_VAR = "RIVETCTL_PARAMS"
"""The variable of params that are not a JSON object (their whole JSON text)."""
USER_AGENT = "rivetctl"

_SAFE_IN_DOUBLE_QUOTES = re.compile(r"[A-Za-z0-9 _:./,=+%@-]*")
_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_]")


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to an environment variable inside a shell word."""

    name: str


Part = str | Ref


@dataclass(frozen=True, slots=True)
class Curl:
    """A command for bash and the environment variables it reads (names only)."""

    command: str
    variables: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.command


def word(*parts: Part) -> str:
    """One shell word: literal text quoted by :func:`shlex.quote`, :class:`Ref` parts as ``$NAME`` in double
    quotes (a word whose text needs no escaping there is one double-quoted string: ``"Bearer $RIVET_TOKEN"``)."""
    parts = tuple(_merge(parts))
    if not any(isinstance(p, Ref) for p in parts):
        return shlex.quote("".join(p for p in parts if isinstance(p, str)))
    literals = "".join(p for p in parts if isinstance(p, str))
    if _SAFE_IN_DOUBLE_QUOTES.fullmatch(literals):
        out = ""
        for i, part in enumerate(parts):
            if isinstance(part, Ref):
                following = next((p for p in parts[i + 1 :] if isinstance(p, str) and p), "")
                braced = bool(following) and bool(_IDENTIFIER_CHAR.match(following[0]))
                out += f"${{{part.name}}}" if braced else f"${part.name}"
            else:
                out += part
        return f'"{out}"'
    return "".join(f'"${{{p.name}}}"' if isinstance(p, Ref) else shlex.quote(p) for p in parts if p != "")


class _Command:
    """A curl command being put together: words, and the variables they reference."""

    def __init__(self, method: str, url: Sequence[Part], options: ClientOptions) -> None:
        self.words: list[str] = ["curl", "-sS", "-w", word("\\n")]
        self.variables: list[str] = []
        if method != "GET":
            self.words += ["-X", method]
        self.add(url)
        if options.verify is False:
            self.words.append("-k")
        elif isinstance(options.verify, str):
            self.words += ["--cacert", word(options.verify)]

    def add(self, parts: Sequence[Part]) -> None:
        for part in parts:
            if isinstance(part, Ref) and part.name not in self.variables:
                self.variables.append(part.name)
        self.words.append(word(*parts))

    def header(self, name: str, *value: Part) -> None:
        self.words.append("-H")
        self.add([f"{name}: ", *value])

    def body(self, text: str) -> None:
        self.words += ["--data-binary", word(text)]

    def done(self) -> Curl:
        return Curl(" ".join(self.words), tuple(self.variables))


def _token_ref(options: ClientOptions) -> Ref | None:
    return Ref(TOKEN_VAR) if options.token else None


def _custom_headers(cmd: _Command, options: ClientOptions) -> None:
    """The headers every request of the client carries (transport defaults and the client's own)."""
    cmd.header("user-agent", USER_AGENT)
    for name, value in options.headers.items():
        cmd.header(name, value)


# -- actions (gateway) ------------------------------------------------------------------------------------


def looks_secret(key: str) -> bool:
    """A param key that the ``connections`` command would redact."""
    from rivetctl.frontend.inspecting import SECRET_WORDS

    return any(w in key.lower() for w in SECRET_WORDS)


def param_var(key: str) -> str:
    """``RIVETCTL_PARAM_<KEY>`` for a secret-looking param key."""
    return f"RIVETCTL_PARAM_{re.sub(r'[^A-Za-z0-9]', '_', key).upper() or '_'}"


def secret_param_vars(settings: Settings) -> dict[str, str]:
    """Param key → the environment variable its value comes from, for the params a profile reads from the
    environment (``{env = "VAR"}``), unless ``--params``, ``RIVETCTL_PARAMS`` or ``--param KEY=…`` replaced it."""
    if settings.opts.params is not None or settings.env.get("RIVETCTL_PARAMS"):
        return {}
    profile = settings.profile
    if profile is None:
        return {}
    overridden = {item.partition("=")[0] for item in settings.opts.param or []}
    return {
        key: str(value["env"])
        for key, value in profile.params.items()
        if isinstance(value, dict) and set(value) == {"env"} and key not in overridden
    }


def _params_header(params: Any, env_vars: Mapping[str, str]) -> list[Part]:
    """The ``x-rivet-conn-params`` value (JSON text, ASCII) with secret values as variable references."""
    from rivetctl.frontend.inspecting import redact_secrets
    from rivetctl.protocol.values import to_json_compat

    tree = to_json_compat(params)
    if not isinstance(tree, dict):
        return [Ref(PARAMS_VAR)]
    holes: dict[str, tuple[Ref, bool]] = {}
    shown: dict[str, Any] = {}
    for i, (key, value) in enumerate(tree.items()):
        var = env_vars.get(key) or (param_var(key) if looks_secret(key) or redact_secrets(value) != value else None)
        if var is None:
            shown[key] = value
            continue
        placeholder = f"\x00{i}\x00"
        holes[json.dumps(placeholder)] = (Ref(var), isinstance(value, str))
        shown[key] = placeholder
    text = json.dumps(shown, ensure_ascii=True)
    if not holes:
        return [text]
    pattern = re.compile("|".join(re.escape(h) for h in holes))
    parts: list[Part] = []
    at = 0
    for match in pattern.finditer(text):
        ref, is_string = holes[match.group()]
        parts.append(text[at : match.start()] + ('"' if is_string else ""))
        parts.append(ref)
        parts.append('"' if is_string else "")
        at = match.end()
    parts.append(text[at:])
    return _merge(parts)


def _merge(parts: Sequence[Part]) -> list[Part]:
    out: list[Part] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        elif part != "":
            out.append(part)
    return out


def _gateway_url(options: ClientOptions, query: ActorQuery, path: str) -> list[Part]:
    """The gateway URL of ``path`` with the token as a reference where rivetctl puts the token itself."""
    from rivetctl.protocol.query import ForIdQuery, gateway_url, key_fits_query

    if not isinstance(query, ForIdQuery) and not key_fits_query(query.key):
        raise ConfigError(
            f"key {list(query.key)!r} has a ',': rivetctl looks the actor up first, which --dry-run does not do; "
            "address it by id (@ACTOR_ID)"
        )
    url = gateway_url(options.endpoint, query, path, namespace=options.namespace, token=None)
    token = _token_ref(options)
    if token is None:
        return [url]
    if isinstance(query, ForIdQuery):
        head = url.split("/gateway/", 1)[0] + f"/gateway/{quote(query.actor_id, safe='')}"
        return [head + "@", token, url[len(head) :]]
    return [url + "&rvt-token=", token]


def curl_for_action(
    options: ClientOptions,
    query: ActorQuery,
    action: str,
    args: Sequence[Any],
    *,
    params: Any = None,
    param_vars: Mapping[str, str] | None = None,
) -> Curl:
    """``POST …/action/ACTION`` with ``{"args": [...]}``, as :meth:`ActorHandle.action` sends it with the json
    encoding. ``param_vars`` maps param keys to the variables their values come from (:func:`secret_param_vars`).

    Raises:
        ConfigError: the query cannot travel in a URL without a lookup (a key with ``,``, a create input
            too large for the URL), or the arguments do not fit one message.
    """
    from rivetctl.client.handle import MAX_INCOMING_MESSAGE, MAX_QUERY_INPUT
    from rivetctl.protocol import encoding as codec
    from rivetctl.protocol.messages import HttpActionRequest
    from rivetctl.protocol.query import GetOrCreateQuery, input_b64url

    if isinstance(query, GetOrCreateQuery) and query.has_input and len(input_b64url(query.input)) > MAX_QUERY_INPUT:
        raise ConfigError("the create input is too large for the URL: create the actor first, then --dry-run")
    body = codec.encode_http_request(HttpActionRequest(list(args)), "json")
    if len(body) > MAX_INCOMING_MESSAGE:
        raise ConfigError(f"action arguments encode to {len(body)} bytes, over the server's message limit")
    cmd = _Command("POST", _gateway_url(options, query, f"/action/{quote(action, safe='')}"), options)
    _custom_headers(cmd, options)
    cmd.header("x-rivet-encoding", "json")
    cmd.header("content-type", codec.content_type("json"))
    token = _token_ref(options)
    if token is not None:
        cmd.header("x-rivet-token", token)
    if params is not None:
        cmd.header("x-rivet-conn-params", *_params_header(params, param_vars or {}))
    cmd.body(body.decode("utf-8"))
    return cmd.done()


def curl_for_handle(
    handle: ActorHandle, action: str, args: Sequence[Any], *, param_vars: Mapping[str, str] | None = None
) -> Curl:
    """:func:`curl_for_action` for what ``handle.action(action, *args)`` would send (its client's options,
    query and params)."""
    return curl_for_action(handle.options, handle.query, action, args, params=handle.params, param_vars=param_vars)


# -- actor records (engine REST API) -----------------------------------------------------------------------


def _rest(options: ClientOptions, method: str, url: Sequence[Part], body: Any = None) -> _Command:
    cmd = _Command(method, url, options)
    _custom_headers(cmd, options)
    cmd.header("accept", "application/json")
    token = _token_ref(options)
    if token is not None:
        cmd.header("authorization", "Bearer ", token)
    if body is not None:
        cmd.header("content-type", "application/json")
        cmd.body(json.dumps(body))
    return cmd


def _rest_url(options: ClientOptions, path: str, params: Mapping[str, Any] | None = None) -> str:
    query = {"namespace": options.namespace, **{k: v for k, v in (params or {}).items() if v is not None}}
    return f"{options.endpoint}{path}?{urlencode(query)}"


def _lookup_url(options: ClientOptions, address: Address) -> str:
    from rivetctl.protocol.query import engine_key_string

    if address.actor_id is not None:
        return _rest_url(options, "/actors", {"actor_ids": address.actor_id})
    return _rest_url(options, "/actors", {"name": address.name, "key": engine_key_string(address.key)})


def curl_for_get(options: ClientOptions, address: Address) -> Curl:
    """``GET /actors`` by key (``name`` and ``key``) or by id (``actor_ids``): the engine's list, holding the
    actor when it exists (an empty list when not)."""
    return _rest(options, "GET", [_lookup_url(options, address)]).done()


def create_body(
    options: ClientOptions, name: str, key: Sequence[str] | None, *, input: Any, has_input: bool, region: str | None
) -> dict[str, Any]:
    """The ``POST /actors`` body rivetctl's engine client sends."""
    from rivetctl.protocol.query import engine_key_string, input_b64std

    body: dict[str, Any] = {
        "name": name,
        "key": engine_key_string(list(key)) if key is not None else None,
        "runner_name_selector": options.runner,
        "crash_policy": "sleep",
    }
    if has_input:
        body["input"] = input_b64std(input)
    if region:
        body["datacenter"] = region
    return body


def curl_for_create(
    options: ClientOptions,
    name: str,
    key: Sequence[str] | None,
    *,
    input: Any = None,
    has_input: bool = False,
    region: str | None = None,
) -> Curl:
    """``POST /actors`` (the engine answers ``{"actor": …}``, or ``actor.duplicate_key`` naming the existing
    actor)."""
    body = create_body(options, name, key, input=input, has_input=has_input, region=region)
    return _rest(options, "POST", [_rest_url(options, "/actors")], body).done()


def curl_for_destroy(options: ClientOptions, address: Address) -> Curl:
    """``DELETE /actors/ID``; an actor addressed by key is looked up first (``GET /actors``), its id read
    from the answer with ``grep`` and ``cut``: the command is then two, joined by ``&&``, and does nothing
    when there is no such actor."""
    if address.actor_id is not None:
        url = _rest_url(options, f"/actors/{quote(address.actor_id, safe='')}")
        return _rest(options, "DELETE", [url]).done()
    lookup = curl_for_get(options, address)
    head, _, tail = _rest_url(options, "/actors/ID").partition("/actors/ID")
    delete = _rest(options, "DELETE", [head + "/actors/", Ref("actor_id"), tail]).done()
    extract = 'grep -o \'"actor_id":"[^"]*"\' | head -n 1 | cut -d \'"\' -f 4'
    command = f'actor_id=$({lookup.command} | {extract}) && test -n "$actor_id" && {delete.command}'
    return Curl(command, tuple(v for v in dict.fromkeys([*lookup.variables, *delete.variables]) if v != "actor_id"))


# -- printing ----------------------------------------------------------------------------------------------


def print_dry_run(settings: Settings, curl: Curl) -> None:
    """The command on stdout (plain text, whatever ``-o`` says: it is for bash) and, when it reads variables,
    one line on stderr naming them (never their values)."""
    settings.stdout.write(curl.command + "\n")
    settings.stdout.flush()
    if curl.variables:
        names = " ".join(f"{name}=…" for name in curl.variables)
        settings.stderr.write(f"rivetctl: the command reads these environment variables: export {names}\n")
        settings.stderr.flush()
