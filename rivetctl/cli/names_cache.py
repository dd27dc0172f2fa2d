"""The registry's actor names per endpoint and namespace, cached for a few minutes between CLI runs.

A one-shot ``rivetctl call`` would otherwise spend a request checking the name before every call. A name
missing from the cache is always checked against the server, so only a name removed from the registry in
the last ``TTL`` seconds could slip through (the gateway then refuses to start it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

from rivetctl.config import cache_dir

TTL = 300.0


def _path(env: Mapping[str, str], endpoint: str, namespace: str) -> Path:
    digest = hashlib.sha256(f"{endpoint}\0{namespace}".encode()).hexdigest()[:16]
    return cache_dir(env) / "names" / f"{digest}.json"


def load(env: Mapping[str, str], endpoint: str, namespace: str) -> list[str]:
    try:
        data = json.loads(_path(env, endpoint, namespace).read_text(encoding="utf-8"))
        if time.time() - float(data["t"]) > TTL:
            return []
        return [str(n) for n in data["names"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def save(env: Mapping[str, str], endpoint: str, namespace: str, names: list[str]) -> None:
    path = _path(env, endpoint, namespace)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"t": time.time(), "names": names}), encoding="utf-8")
        os.replace(tmp, path)
