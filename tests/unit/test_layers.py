"""The package's layers import only downwards: the REPL nothing from the command line, and the layers under
both (protocol, transport, client, frontend, output) nothing from either.

Each check runs in a fresh interpreter, so what another test imported cannot hide or fake a dependency; an
import written inside a function (loaded only when it runs) is caught by reading the source as well.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rivetctl
from tests.envs import outside_world, private_home

PACKAGE = Path(rivetctl.__file__).parent
ROOT = PACKAGE.parent
LOWER = ("rivetctl.protocol", "rivetctl.transport", "rivetctl.client", "rivetctl.frontend", "rivetctl.output")
LOWER_MODULES = ("rivetctl.errors", "rivetctl.config")
UPPER = ("rivetctl.cli", "rivetctl.repl")

LOADED = """
import json, sys
print(json.dumps(sorted(m for m in sys.modules if m == "rivetctl" or m.startswith("rivetctl."))))
"""


def _loaded_after(code: str, tmp_path: Path, stdin: str = "") -> list[str]:
    """The rivetctl modules a fresh interpreter has loaded after running ``code``."""
    env = {**outside_world(), **private_home(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code + LOADED],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return loaded


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_repl_imports_nothing_from_the_command_line(tmp_path: Path) -> None:
    """Import every REPL module, then run a script-mode session (``.help``, ``.events``, a usage error, the
    same body ``rivetctl repl`` runs with stdin not a terminal; no server is needed)."""
    code = """
import io, sys
import rivetctl.repl.app, rivetctl.repl.commands, rivetctl.repl.completion, rivetctl.repl.grammar
import rivetctl.repl.script, rivetctl.repl.session
from rivetctl.frontend.settings import GlobalOptions, Settings
from rivetctl.repl.script import run_script

out, err = io.StringIO(), io.StringIO()
settings = Settings(GlobalOptions(endpoint="http://127.0.0.1:9"), stdin=sys.stdin, stdout=out, stderr=err)
code = run_script(settings, None, None, [], 0.0)
assert code == 3, (code, out.getvalue(), err.getvalue())  # the usage error failed; the others ran
assert '"type":"table"' in out.getvalue().replace(" ", ""), out.getvalue()
"""
    loaded = _loaded_after(code, tmp_path, stdin=".help\n.events 3\n.use counter\n")
    assert "rivetctl.repl.session" in loaded and "rivetctl.frontend.runner" in loaded
    assert [m for m in loaded if _within(m, ("rivetctl.cli",))] == []


@pytest.mark.parametrize("layer", LOWER)
def test_lower_layer_imports_no_frontend(layer: str, tmp_path: Path) -> None:
    """Every module of the layer imported (walked with pkgutil), and nothing of cli or repl is loaded."""
    code = f"""
import importlib, pkgutil
import {layer} as layer
for info in pkgutil.walk_packages(layer.__path__, layer.__name__ + "."):
    importlib.import_module(info.name)
"""
    loaded = _loaded_after(code, tmp_path)
    assert len([m for m in loaded if _within(m, (layer,))]) > 1
    assert [m for m in loaded if _within(m, UPPER)] == []


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in it (a function's lazy import included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _sources(*modules: str) -> list[Path]:
    paths: list[Path] = []
    for module in modules:
        relative = Path(*module.split(".")[1:])
        directory = PACKAGE / relative
        paths.extend(sorted(directory.rglob("*.py")) if directory.is_dir() else [PACKAGE / f"{relative}.py"])
    return paths


def test_no_lazy_import_goes_upwards() -> None:
    offences = []
    for path in _sources(*LOWER, *LOWER_MODULES):
        offences += [f"{path.relative_to(ROOT)}:{n}: {m}" for n, m in _imports(path) if _within(m, UPPER)]
    for path in _sources("rivetctl.repl"):
        offences += [f"{path.relative_to(ROOT)}:{n}: {m}" for n, m in _imports(path) if _within(m, ("rivetctl.cli",))]
    assert offences == []
