"""The wheel and sdist build, install into a clean target and give a working ``rivetctl``."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "node_modules", "__pycache__", ".*_cache", ".hypothesis")
SERVER_PROJECT = ("package.json", "package-lock.json", "basic.mjs", "registry.mjs", "server.mjs")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the checkout (no build/ left over), with a node_modules inside the example server
    project as a checkout that ran ``npm ci`` there would have: none of it may reach a wheel or an sdist."""
    copy = tmp_path_factory.mktemp("source") / "rivetctl"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    decoy = copy / "rivetctl" / "example_server" / "node_modules" / "rivetkit"
    decoy.mkdir(parents=True)
    for name in ("package.json", "index.mjs", "helper.py"):
        (decoy / name).write_text("{}\n" if name.endswith(".json") else "\n")
    return copy


@pytest.fixture(scope="module")
def dist(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return out


def test_wheel_contents_and_entry_point(dist: Path) -> None:
    wheel = next(dist.glob("rivetctl-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "rivetctl/client/__init__.py" in names and "rivetctl/docgen/man.py" in names
    assert not any(n.startswith("tests/") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rivetctl = rivetctl.cli:console_main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_wheel_ships_types_server_project_and_man_page(dist: Path) -> None:
    wheel = next(dist.glob("rivetctl-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "rivetctl/py.typed" in names
        for name in SERVER_PROJECT:
            path = f"rivetctl/example_server/{name}"
            assert archive.read(path) == (ROOT / "rivetctl" / "example_server" / name).read_bytes(), path
        assert not any("node_modules" in n for n in names)
        man = [n for n in names if n.endswith(".data/data/share/man/man1/rivetctl.1")]
        assert len(man) == 1 and archive.read(man[0]) == (ROOT / "man" / "rivetctl.1").read_bytes()
        metadata = email.message_from_bytes(archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))))
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert sorted(urls) == ["Documentation", "Homepage", "Issues", "Source"]
    assert all(url.startswith("https://") for url in urls.values())


def test_installed_wheel_runs(dist: Path, tmp_path: Path) -> None:
    wheel = next(dist.glob("rivetctl-*.whl"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    entry = "import sys; from rivetctl.cli import console_main; sys.argv[0]='rivetctl'; console_main()"
    run = [sys.executable, "-c", entry]
    version = subprocess.run([*run, "--version"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert version.stdout.startswith("rivetctl 0.")
    bash = subprocess.run(
        [*run, "completions", "bash"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert bash.returncode == 0 and "complete -F" in bash.stdout
    assert bash.stdout == (ROOT / "completions" / "rivetctl.bash").read_text()
    man = subprocess.run([*run, "man"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert man.stdout == (ROOT / "man" / "rivetctl.1").read_text()


def test_sdist_carries_docs_completions_man_and_server_project(source: Path, tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path), str(source)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    sdist = next(tmp_path.glob("rivetctl-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    wanted = ["README.md", "man/rivetctl.1", "completions/rivetctl.bash", "completions/_rivetctl", "rivetctl/py.typed"]
    wanted += [f"rivetctl/example_server/{name}" for name in SERVER_PROJECT]
    for path in wanted:
        assert any(n.endswith(path) for n in names), path
    assert not any("node_modules" in n for n in names)
