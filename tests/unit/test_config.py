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


USER_FILE = """\
# my rivet settings
current = "dev"   # the one I use most

[profiles.dev]
endpoint = "http://127.0.0.1:6420"  # local engine
namespace = "default"

# production: careful
[profiles.prod]
endpoint = "https://api.rivet.dev"
token_env = "PROD_TOKEN"
"""


def test_saving_keeps_the_users_comments_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(USER_FILE)
    cfg = ConfigFile(path)
    cfg.profiles["dev"].settings["encoding"] = "json"
    cfg.profiles["staging"] = Profile("staging", {"endpoint": "https://staging.example"})
    cfg.save()
    text = path.read_text()
    for comment in ("# my rivet settings", "# the one I use most", "# local engine", "# production: careful"):
        assert comment in text
    assert text.startswith(USER_FILE.split("[profiles.prod]")[0].split('namespace = "default"')[0])
    again = ConfigFile(path)
    assert again.profiles["dev"].settings == {
        "endpoint": "http://127.0.0.1:6420",
        "namespace": "default",
        "encoding": "json",
    }
    assert again.profiles["staging"].settings == {"endpoint": "https://staging.example"}
    assert again.profiles["prod"].settings["token_env"] == "PROD_TOKEN"
    del again.profiles["prod"]
    again.current = "staging"
    again.save()
    text = path.read_text()
    assert "[profiles.prod]" not in text and 'current = "staging"' in text and "# my rivet settings" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_two_writers_keep_each_others_profiles(tmp_path: Path) -> None:
    """Each save applies only its own changes to the file as it is then: nothing another one saved is lost."""
    path = tmp_path / "config.toml"
    path.write_text(USER_FILE)
    first, second = ConfigFile(path), ConfigFile(path)
    first.profiles["a"] = Profile("a", {"endpoint": "http://a"})
    second.profiles["b"] = Profile("b", {"endpoint": "http://b"})
    first.save()
    second.save()
    final = ConfigFile(path)
    assert {"a", "b", "dev", "prod"} == set(final.profiles)
    assert list(tmp_path.iterdir()) == [path] or {p.name for p in tmp_path.iterdir()} == {
        "config.toml",
        ".config.toml.lock",
    }
