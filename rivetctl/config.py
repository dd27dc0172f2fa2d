"""Profiles (like kubectl contexts) in ``$XDG_CONFIG_HOME/rivetctl/config.toml``, plus XDG paths.

A profile holds endpoint, namespace, encoding, token (``token_env`` names an env var; a literal ``token``
is allowed but then the file must be private), connection params (a value ``{env = "VAR"}`` is read from
the environment at use, so the file holds no secret) and known event names per actor name::

    current = "local"

    [profiles.local]
    endpoint = "http://127.0.0.1:6420"
    namespace = "default"
    token_env = "RIVET_TOKEN_LOCAL"

    [profiles.local.params]
    user = "alice"
    token = { env = "CHAT_TOKEN" }

    [profiles.local.events]
    counter = ["newCount"]
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rivetctl.errors import ConfigError

PROFILE_FIELDS = (
    "endpoint",
    "namespace",
    "token",
    "token_env",
    "encoding",
    "runner",
    "timeout",
    "inspector_token",
    "inspector_token_env",
)


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "rivetctl"


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local" / "state")
    return Path(base) / "rivetctl"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".cache")
    return Path(base) / "rivetctl"


@dataclass
class Profile:
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    events: dict[str, list[str]] = field(default_factory=dict)

    def resolved_params(self, env: Mapping[str, str]) -> dict[str, Any] | None:
        """Params with ``{env = "VAR"}`` values read from the environment."""
        if not self.params:
            return None
        out: dict[str, Any] = {}
        for key, value in self.params.items():
            if isinstance(value, dict) and set(value) == {"env"}:
                var = str(value["env"])
                if var not in env:
                    raise ConfigError(f"profile {self.name!r}: param {key!r} needs environment variable {var}")
                out[key] = env[var]
            else:
                out[key] = value
        return out

    def token(self, env: Mapping[str, str]) -> str | None:
        var = self.settings.get("token_env")
        if var:
            if var not in env:
                raise ConfigError(f"profile {self.name!r}: token needs environment variable {var}")
            return env[var]
        token = self.settings.get("token")
        return str(token) if token else None

    def redacted(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, **self.settings}
        for secret in ("token", "inspector_token"):
            if secret in data:
                data[secret] = "***"
        if self.params:
            data["params"] = {
                k: (f"${{{v['env']}}}" if isinstance(v, dict) and set(v) == {"env"} else "***")
                for k, v in self.params.items()
            }
        if self.events:
            data["events"] = self.events
        return data


class ConfigFile:
    """Load, change and save the profiles file; warns about a literal token in a file others can read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: str | None = None
        self.profiles: dict[str, Profile] = {}
        self.warnings: list[str] = []
        if path.exists():
            self._load()
        self._loaded_current: str | None = self.current
        self._loaded_profiles = {name: _profile_doc(p) for name, p in self.profiles.items()}

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> ConfigFile:
        env = os.environ if env is None else env
        override = env.get("RIVETCTL_CONFIG")
        return cls(Path(override) if override else config_dir(env) / "config.toml")

    def _load(self) -> None:
        import tomllib  # only when a config file exists

        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config {self.path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config {self.path} is not valid TOML: {exc}") from None
        current = data.get("current")
        self.current = current if isinstance(current, str) else None
        profiles = data.get("profiles", {})
        if not isinstance(profiles, dict):
            raise ConfigError(f"config {self.path}: [profiles] must be a table")
        for name, body in profiles.items():
            if not isinstance(body, dict):
                raise ConfigError(f"config {self.path}: profile {name!r} must be a table")
            settings = {k: v for k, v in body.items() if k in PROFILE_FIELDS}
            params = body.get("params", {})
            events = body.get("events", {})
            self.profiles[name] = Profile(
                name,
                settings,
                params if isinstance(params, dict) else {},
                {k: [str(e) for e in v] for k, v in events.items() if isinstance(v, list)}
                if isinstance(events, dict)
                else {},
            )
        if any("token" in p.settings or "inspector_token" in p.settings for p in self.profiles.values()) or any(
            not (isinstance(v, dict) and set(v) == {"env"}) for p in self.profiles.values() for v in p.params.values()
        ):
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                self.warnings.append(
                    f"warning: {self.path} holds secrets but is readable by others (mode {mode:o}); "
                    f"run: chmod 600 {self.path}"
                )

    def profile(self, name: str | None) -> Profile | None:
        """The named profile, else the current one, else ``None``."""
        chosen = name or self.current
        if chosen is None:
            return None
        if chosen not in self.profiles:
            if name is None:
                return None
            known = ", ".join(sorted(self.profiles)) or "(none)"
            raise ConfigError(f"no profile named {chosen!r} (known: {known})")
        return self.profiles[chosen]

    def save(self) -> None:
        """Write what changed since loading (profiles added, changed or deleted; the current profile) into
        the file as it is now, keeping its comments and layout; atomically, mode 0600, locked against another
        rivetctl saving at the same time (whose changes to other profiles are kept)."""
        import tomlkit

        from rivetctl.frontend.store import locked, write_atomic

        with locked(self.path):
            try:
                doc = tomlkit.parse(self.path.read_text(encoding="utf-8")) if self.path.exists() else tomlkit.document()
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise ConfigError(f"cannot update config {self.path}: {exc}") from None
            if self.current != self._loaded_current:
                if self.current is None:
                    doc.pop("current", None)
                else:
                    doc["current"] = self.current
            profiles = doc.get("profiles")
            if not isinstance(profiles, dict):
                profiles = tomlkit.table(is_super_table=True)
                doc["profiles"] = profiles
            for name in set(self._loaded_profiles) | set(self.profiles):
                now = _profile_doc(self.profiles[name]) if name in self.profiles else None
                if now == self._loaded_profiles.get(name):
                    continue
                if now is None:
                    profiles.pop(name, None)
                else:
                    _update_table(profiles, name, now)
            write_atomic(self.path, tomlkit.dumps(doc), mode=0o600)
        self._loaded_current = self.current
        self._loaded_profiles = {name: _profile_doc(p) for name, p in self.profiles.items()}

    def dumps(self) -> str:
        """The whole configuration as TOML text (a new file's content)."""
        import tomlkit

        doc = tomlkit.document()
        if self.current:
            doc["current"] = self.current
        if self.profiles:
            profiles = tomlkit.table(is_super_table=True)
            for name in sorted(self.profiles):
                _update_table(profiles, name, _profile_doc(self.profiles[name]))
            doc["profiles"] = profiles
        return tomlkit.dumps(doc)


def _profile_doc(prof: Profile) -> dict[str, Any]:
    """A profile as the plain TOML table it is stored as."""
    data: dict[str, Any] = dict(prof.settings)
    if prof.params:
        data["params"] = dict(prof.params)
    if prof.events:
        data["events"] = {k: list(v) for k, v in prof.events.items()}
    return data


def _update_table(parent: Any, name: str, data: dict[str, Any]) -> None:
    """Make ``parent[name]`` hold ``data``, editing an existing table in place (its comments stay)."""
    import tomlkit

    for value in data.values():
        _check_storable(value)
    table = parent.get(name)
    if not isinstance(table, dict):
        parent[name] = tomlkit.table()
        table = parent[name]
    for key in [k for k in table if k not in data]:
        del table[key]
    for key, value in data.items():
        if isinstance(value, dict) and key in ("params", "events"):
            _update_table(table, key, value)
        elif table.get(key) != value:
            table[key] = _inline(value) if isinstance(value, dict) else value


def _inline(value: dict[str, Any]) -> Any:
    """A dict as an inline table (``token = { env = "CHAT_TOKEN" }``)."""
    import tomlkit

    table = tomlkit.inline_table()
    table.update(value)
    return table


def _check_storable(value: Any) -> None:
    if value is None:
        raise ConfigError("TOML cannot hold null values")
    if isinstance(value, dict):
        for v in value.values():
            _check_storable(v)
    elif isinstance(value, list):
        for v in value:
            _check_storable(v)
    elif not isinstance(value, str | int | float | bool):
        raise ConfigError(f"cannot store {type(value).__name__} in the config file")
