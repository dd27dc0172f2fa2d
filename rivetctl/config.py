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

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rivetctl.errors import ConfigError

PROFILE_FIELDS = ("endpoint", "namespace", "token", "token_env", "encoding", "runner", "timeout")


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
        if "token" in data:
            data["token"] = "***"
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
        if any("token" in p.settings for p in self.profiles.values()) or any(
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = self.dumps()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(self.path, 0o600)

    def dumps(self) -> str:
        lines: list[str] = []
        if self.current:
            lines.append(f"current = {_toml(self.current)}")
        for name in sorted(self.profiles):
            prof = self.profiles[name]
            lines.append("")
            lines.append(f"[profiles.{_toml_key(name)}]")
            lines.extend(f"{_toml_key(k)} = {_toml(v)}" for k, v in prof.settings.items())
            if prof.params:
                lines.append(f"[profiles.{_toml_key(name)}.params]")
                lines.extend(f"{_toml_key(k)} = {_toml(v)}" for k, v in prof.params.items())
            if prof.events:
                lines.append(f"[profiles.{_toml_key(name)}.events]")
                lines.extend(f"{_toml_key(k)} = {_toml(v)}" for k, v in prof.events.items())
        return "\n".join(lines).lstrip("\n") + "\n"


def _toml_key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key):
        return key
    return json.dumps(key)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    if value is None:
        raise ConfigError("TOML cannot hold null values")
    raise ConfigError(f"cannot store {type(value).__name__} in the config file")
