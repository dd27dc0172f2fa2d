"""The wheel and sdist build, install into a clean target and give a working ``rivetctl``."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return out


def test_wheel_contents_and_entry_point(dist: Path) -> None:
    wheel = next(dist.glob("rivetctl-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "rivetctl/client/__init__.py" in names and "rivetctl/cli/gen/man.py" in names
    assert not any(n.startswith("tests/") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rivetctl = rivetctl.cli:console_main" in zipfile.ZipFile(wheel).read(entry).decode()


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


def test_sdist_carries_docs_completions_and_man(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    sdist = next(tmp_path.glob("rivetctl-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    for wanted in ("README.md", "man/rivetctl.1", "completions/rivetctl.bash", "completions/_rivetctl"):
        assert any(n.endswith(wanted) for n in names), wanted
