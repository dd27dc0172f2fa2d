"""Profiles: round trip, secrets by env var, private file, redaction."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rivetctl.config import ConfigFile, Profile
from rivetctl.errors import ConfigError


def test_round_trip_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    cfg = ConfigFile(path)
    cfg.profiles["local"] = Profile(
        "local",
        {"endpoint": "http://127.0.0.1:6420", "token": "literal-secret"},
        {"user": "alice", "token": {"env": "CHAT_TOKEN"}},
        {"counter": ["newCount"]},
    )
    cfg.current = "local"
    cfg.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = ConfigFile(path)
    assert again.current == "local"
    prof = again.profile(None)
    assert prof is not None
    assert prof.settings["endpoint"] == "http://127.0.0.1:6420"
    assert prof.events == {"counter": ["newCount"]}
    assert prof.resolved_params({"CHAT_TOKEN": "xyz"}) == {"user": "alice", "token": "xyz"}
    assert again.warnings == []


def test_loose_mode_with_secret_warns(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[profiles.p]\ntoken = "abc"\n')
    path.chmod(0o644)
    cfg = ConfigFile(path)
    assert any("chmod 600" in w for w in cfg.warnings)


def test_missing_env_for_secret_param(tmp_path: Path) -> None:
    prof = Profile("p", {}, {"token": {"env": "NOPE"}})
    with pytest.raises(ConfigError, match="NOPE"):
        prof.resolved_params({})


def test_redacted_hides_secrets() -> None:
    prof = Profile("p", {"token": "abc123"}, {"token": {"env": "T"}, "pw": "hunter2"})
    shown = str(prof.redacted())
    assert "abc123" not in shown and "hunter2" not in shown
    assert "${T}" in shown


def test_unknown_profile_lists_known(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[profiles.a]\nendpoint = "http://x"\n')
    with pytest.raises(ConfigError, match="known: a"):
        ConfigFile(path).profile("b")


def test_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[profiles\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        ConfigFile(path)
