"""Environments for running rivetctl in tests: a private home, and the outside world's settings left out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROXY_AND_CA = frozenset({"ssl_cert_file", "ssl_cert_dir", "requests_ca_bundle"})
"""CA settings (lower case) that would decide which certificates a client trusts."""


def private_home(base: Path) -> dict[str, str]:
    """HOME and the XDG config, state and cache directories under ``base``, colour off: nothing the user has
    (profiles, caches, history) is read, and nothing is written outside ``base``."""
    return {
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_STATE_HOME": str(base / "state"),
        "XDG_CACHE_HOME": str(base / "cache"),
        "HOME": str(base),
        "NO_COLOR": "1",
    }


def outside_world(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``environ`` without anything that would pick a server (``RIVET*``), a proxy (``*_PROXY``, any case) or
    a CA store for the client under test."""
    return {
        k: v
        for k, v in environ.items()
        if not k.startswith("RIVET") and not k.lower().endswith("_proxy") and k.lower() not in PROXY_AND_CA
    }
