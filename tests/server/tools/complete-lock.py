#!/usr/bin/env python3
"""Add the other platforms' optional packages to package-lock.json.

npm 11 records only the host platform's optional dependencies when it writes a lock file, yet `npm ci`
insists that every optional dependency of every locked package has an entry (npm/cli#8320). This fills
the gaps from the registry metadata (`npm view`), so `npm ci` works on a fresh machine. Run it after
changing the example server's package.json (it lives in the package, rivetctl/example_server):
`cd rivetctl/example_server && npm install --package-lock-only && python3 ../../tests/server/tools/complete-lock.py`.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
from tests.compat.locks import platform_from_name as platform_in_name  # noqa: E402 (needs ROOT on the path)


def platform_from_name(name: str) -> dict[str, list[str]]:
    try:
        return platform_in_name(name)
    except ValueError:
        raise SystemExit(f"{name}: not on the registry and no platform in its name") from None


lock_path = ROOT / "rivetctl" / "example_server" / "package-lock.json"
lock = json.loads(lock_path.read_text())
packages = lock["packages"]
added = 0
for meta in list(packages.values()):
    for name, spec in (meta.get("optionalDependencies") or {}).items():
        if f"node_modules/{name}" in packages:
            continue
        view = subprocess.run(["npm", "view", f"{name}@{spec}", "--json"], capture_output=True, text=True)
        if view.returncode != 0:
            # Not published on this registry (mirrors may carry the host platform only): record the
            # platform from the name so every other platform skips it without fetching anything.
            info = {"version": spec, "dist": {}, **platform_from_name(name)}
        else:
            info = json.loads(view.stdout)
        if isinstance(info, list):
            info = info[-1]
        entry = {"version": info["version"]}
        if info["dist"].get("integrity"):
            entry["integrity"] = info["dist"]["integrity"]
        for field in ("cpu", "os", "libc"):
            if info.get(field):
                entry[field] = info[field]
        if info.get("engines"):
            entry["engines"] = info["engines"]
        if info.get("license"):
            entry["license"] = info["license"]
        entry["optional"] = True
        packages[f"node_modules/{name}"] = dict(sorted(entry.items(), key=lambda kv: list(entry).index(kv[0])))
        added += 1
        print(f"added {name}@{info['version']}", file=sys.stderr)
lock["packages"] = dict(sorted(packages.items(), key=lambda kv: (kv[0] != "", kv[0])))
lock_path.write_text(json.dumps(lock, indent=2) + "\n")
print(f"{added} entries added", file=sys.stderr)
