"""What kind of RivetKit server an endpoint is, from its ``GET /metadata`` answer (reference §13, §14).

Pure: the client fetches ``/metadata`` (and, behind an engine, ``/envoys`` and ``/runners``) and hands the
JSON here. Shapes:

``engine``       a Rivet Engine (``runtime: "engine"``) with RivetKit 2.3 envoys behind it (the default)
``runner-behind-engine``  a Rivet Engine with RivetKit 2.0–2.2 *runners* behind it (their production shape)
``file-system``  RivetKit 2.0–2.2 on its own (``runtime: "rivetkit"`` with a ``runner`` object): one Node
                 process with its own HTTP API; no query-URL gateway, no destroy or sleep endpoint
``serverless``   a RivetKit serverless listener (``envoy``/``runner`` of kind ``serverless``): not a client
                 endpoint; its engine is (``clientEndpoint``)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

Shape = Literal["engine", "runner-behind-engine", "file-system", "serverless", "unknown"]

OLDEST_SUPPORTED: Final = (2, 0)
"""rivetctl speaks RivetKit 2.x; 2.0.33 is the oldest release measured (reference §14)."""

_FEATURES_MISSING: Final[dict[str, frozenset[str]]] = {
    "file-system": frozenset({"destroy", "sleep"}),
}
"""What each shape's server lacks."""

FEATURE_NAMES: Final = {
    "destroy": "destroying actors (DELETE /actors/{id})",
    "sleep": "putting actors to sleep (POST /actors/{id}/sleep)",
}


def parse_version(text: Any) -> tuple[int, ...] | None:
    """``"2.2.1"`` → ``(2, 2, 1)``; pre-release and build suffixes are ignored; ``None`` when not a version."""
    if not isinstance(text, str):
        return None
    match = re.match(r"\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _kind(obj: Any) -> str | None:
    """``{"kind": {"normal": {}}}`` → ``"normal"``."""
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if isinstance(kind, dict) and len(kind) == 1:
        return str(next(iter(kind)))
    return kind if isinstance(kind, str) else None


UNREPORTED_RUNNER_VERSION: Final = "2.0"
"""RivetKit 2.1 and later runners report their version (``metadata.rivetkit.version``); 2.0 runners report
only an ``inspectorToken``: a runner without a version is taken for 2.0."""


def _versions(items: Iterable[Any], *, unreported: str | None = None) -> tuple[str, ...]:
    """The distinct RivetKit versions in ``/envoys`` or ``/runners`` entries (``metadata.rivetkit.version``);
    an entry without one counts as ``unreported`` when given."""
    seen: list[str] = []
    for item in items:
        meta = item.get("metadata") if isinstance(item, dict) else None
        rivetkit = meta.get("rivetkit") if isinstance(meta, dict) else None
        version = rivetkit.get("version") if isinstance(rivetkit, dict) else None
        version = version if isinstance(version, str) else unreported
        if version is not None and version not in seen:
            seen.append(version)
    return tuple(sorted(seen, key=lambda v: parse_version(v) or ()))


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """One endpoint, as its ``/metadata`` (and the engine's lists of envoys and runners) describe it."""

    runtime: str
    """``engine`` or ``rivetkit`` (``?`` when the answer had none)."""
    version: str | None
    """The engine's version, or RivetKit's for a server without an engine."""
    shape: Shape
    rivetkit_versions: tuple[str, ...] = ()
    """The RivetKit versions of the envoys or runners behind an engine (empty when none are connected or
    they could not be listed)."""
    client_endpoint: str | None = None
    listed: bool = False
    """Whether the envoys and runners behind an engine were listed (``rivetkit_versions`` is then complete)."""

    @property
    def query_gateway(self) -> bool:
        """Whether ``/gateway/{name}/…?rvt-…`` query URLs reach actors (not on a file-system server)."""
        return self.shape != "file-system"

    def lacks(self, feature: str) -> bool:
        return feature in _FEATURES_MISSING.get(self.shape, frozenset())

    @property
    def one_string_keys(self) -> bool:
        """Whether its REST API takes a key as one string (RivetKit 2.0 in file-system mode: ``key:
        [body.key]``): keys then travel unescaped, and only one-element keys exist."""
        version = parse_version(self.version)
        return self.shape == "file-system" and version is not None and version < (2, 1)

    def predates(self, version: tuple[int, ...]) -> bool:
        """Whether some RivetKit this endpoint runs is older than ``version`` (the inspector's HTTP routes
        came one by one: none in 2.0, state/connections/queue/traces/workflow history in 2.1, the database
        in 2.2)."""
        parsed = [parse_version(v) for v in self.rivetkit_versions]
        return any(p is not None and p < version for p in parsed)

    @property
    def describe(self) -> str:
        """``RivetKit 2.2.1 (file-system mode)``, ``Rivet Engine 2.3.19 with RivetKit 2.2.1 runners``."""
        version = self.version or "?"
        if self.shape == "file-system":
            return f"RivetKit {version} (file-system mode)"
        if self.shape == "serverless":
            return f"RivetKit {version} serverless listener"
        if self.runtime != "engine":
            return f"{self.runtime} {version}"
        behind = ", ".join(self.rivetkit_versions)
        if self.shape == "runner-behind-engine":
            return f"Rivet Engine {version} with RivetKit {behind} runners"
        return f"Rivet Engine {version}" + (f" with RivetKit {behind}" if behind else "")

    @property
    def supported(self) -> bool:
        """rivetctl speaks to it: a 2.x engine or file-system server, and RivetKit 2.x behind an engine."""
        if self.shape in ("serverless", "unknown"):
            return False
        versions = [self.version] if self.runtime == "rivetkit" else [self.version, *self.rivetkit_versions]
        for text in versions:
            parsed = parse_version(text)
            if parsed is None or parsed[:2] < OLDEST_SUPPORTED or parsed[0] != 2:
                return False
        return True

    def unsupported_message(self, feature: str) -> str:
        """The one line for a feature this server does not offer."""
        what = FEATURE_NAMES.get(feature, feature)
        hint = " (it needs a Rivet Engine)" if self.shape == "file-system" else ""
        return f"{self.describe} does not support {what}{hint}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "version": self.version,
            "mode": self.shape,
            "rivetkit": list(self.rivetkit_versions),
            "server": self.describe,
            "supported": self.supported,
        }


def server_info(
    metadata: dict[str, Any],
    *,
    envoys: Iterable[Any] | None = None,
    runners: Iterable[Any] | None = None,
) -> ServerInfo:
    """Classify an endpoint from its ``/metadata`` object and, for an engine, its envoys and runners."""
    runtime = metadata.get("runtime")
    version = metadata.get("version") if isinstance(metadata.get("version"), str) else None
    client_endpoint = metadata.get("clientEndpoint")
    client_endpoint = client_endpoint if isinstance(client_endpoint, str) else None
    if runtime == "engine":
        envoy_versions = _versions(envoys or ())
        runner_versions = _versions(runners or (), unreported=UNREPORTED_RUNNER_VERSION)
        shape: Shape = "runner-behind-engine" if runner_versions and not envoy_versions else "engine"
        versions = tuple(dict.fromkeys([*envoy_versions, *runner_versions]))
        listed = envoys is not None and runners is not None
        return ServerInfo("engine", version, shape, versions, client_endpoint, listed)
    if runtime == "rivetkit":
        envoy, runner = metadata.get("envoy"), metadata.get("runner")
        if _kind(envoy) == "serverless" or _kind(runner) == "serverless":
            shape = "serverless"
        elif isinstance(runner, dict) and envoy is None:
            shape = "file-system"
        else:
            shape = "unknown"
        return ServerInfo("rivetkit", version, shape, (version,) if version else (), client_endpoint, True)
    return ServerInfo(str(runtime) if isinstance(runtime, str) else "?", version, "unknown", (), client_endpoint, True)


UNSUPPORTED_09: Final = "RivetKit 0.9 is not supported; rivetctl speaks 2.x"
