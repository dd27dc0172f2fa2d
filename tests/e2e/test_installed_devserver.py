"""``rivetctl dev-server`` from an installed wheel, outside the checkout, against the real server.

The wheel is built from a clean copy of the checkout and installed with its dependencies into a fresh venv.
Its ``rivetctl dev-server`` runs from a directory outside the checkout with an empty ``$XDG_CACHE_HOME``: the
first run installs the example server there (the real ``npm ci``: Node 22 and rivetkit from the npm registry,
through npm's own cache), the installed ``rivetctl`` calls an action on it, and stopping it stops the engine
too. Without npm on ``PATH`` the same command fails with one line. An install that cannot be done fails the
test (it never skips).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rivetctl import __version__
from rivetctl.devserver import STAMP, find_free_port_triple
from tests.envs import outside_world

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "node_modules", "__pycache__", ".*_cache", ".hypothesis")
INSTALL_TIMEOUT = 600


def _run(cmd: list[str], what: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run an install step; its failure fails the test with the tool's own words (never a skip)."""
    r: subprocess.CompletedProcess[str] = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-30:])
        pytest.fail(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}\n{tail}", pytrace=False)
    return r


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv outside the checkout with this checkout's wheel and its dependencies installed."""
    work = tmp_path_factory.mktemp("installed")
    source, dist, venv = work / "source", work / "dist", work / "venv"
    # A copy, so that a build/ left in the checkout by an earlier build cannot add modules that are gone.
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIVET", "PYTHON"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(source)],
        "building the wheel",
        env=env,
        timeout=300,
    )
    _run([sys.executable, "-m", "venv", str(venv)], "creating the venv", env=env, timeout=120)
    wheel = next(dist.glob("rivetctl-*.whl"))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--no-input"]
    _run([*pip, "install", "-q", str(wheel)], "installing the wheel with its dependencies", env=env, timeout=600)
    shutil.rmtree(source)
    yield venv
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """The user's XDG dirs; removed afterwards (the server install in its cache takes half a gigabyte)."""
    yield tmp_path / "home"
    shutil.rmtree(tmp_path / "home", ignore_errors=True)


def user_env(home: Path, path: str | None = None) -> dict[str, str]:
    """A user's environment: no server settings (RIVETCTL_SERVER_DIR included), empty XDG dirs; HOME is kept, so
    npm uses its own cache and config."""
    env = outside_world()
    env.update(
        {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "NO_COLOR": "1",
        }
    )
    if path is not None:
        env["PATH"] = path
    return env


class Background:
    """``rivetctl dev-server`` running in the background; its stderr lines are collected as they come."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            for line in self.proc.stderr:
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        self.kill()
        pytest.fail(f"no {text!r} from dev-server (exit {self.proc.poll()}):\n" + "\n".join(self.lines), pytrace=False)

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self._reader.join(30)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._reader.join(30)


@pytest.fixture
def background() -> Iterator[list[Background]]:
    started: list[Background] = []
    yield started
    for bg in started:
        bg.kill()


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.timeout(INSTALL_TIMEOUT + 300)
def test_installed_dev_server_installs_itself_once_and_serves(
    venv: Path, home: Path, tmp_path: Path, background: list[Background]
) -> None:
    rivetctl = str(venv / "bin" / "rivetctl")
    site = next((venv / "lib").glob("python3*/site-packages"))
    shipped = site / "rivetctl" / "example_server"
    assert sorted(p.name for p in shipped.iterdir()) == [
        "basic.mjs",
        "package-lock.json",
        "package.json",
        "registry.mjs",
        "server.mjs",
    ]
    assert (venv / "share" / "man" / "man1" / "rivetctl.1").read_text() == (ROOT / "man" / "rivetctl.1").read_text()
    if shutil.which("man"):
        where = subprocess.run(
            ["man", "-w", "rivetctl"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "MANPATH": ""},
        )
        assert where.stdout.strip() == str(venv / "share" / "man" / "man1" / "rivetctl.1"), where.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = user_env(home)
    port = find_free_port_triple()
    data = tmp_path / "data"
    started = time.monotonic()
    server = Background([rivetctl, "dev-server", "--port", str(port), "--data", str(data)], env, elsewhere)
    background.append(server)
    server.wait_for("ready at", INSTALL_TIMEOUT)
    install_seconds = time.monotonic() - started
    cache = home / "cache" / "rivetctl" / f"server-{__version__}"
    assert server.lines[0] == (
        f"installing the RivetKit example server (Node 22 + rivetkit 2.3.19) into {cache}; this happens once"
    ), server.lines
    assert (cache / "node_modules" / STAMP).is_file()
    assert not (shipped / "node_modules").exists()  # nothing written into site-packages

    call = subprocess.run(
        [rivetctl, "-e", f"http://127.0.0.1:{port}", "call", "counter", "k", "increment", "5"],
        capture_output=True,
        text=True,
        env=env,
        cwd=elsewhere,
        timeout=60,
    )
    assert (call.returncode, call.stdout, call.stderr) == (0, "5\n", "")

    children = descendants(server.proc.pid)
    engine = json.loads((data / ".rivetkit" / "var" / "engine" / "runtime.json").read_text())["pid"]
    assert engine in children
    assert server.stop(signal.SIGINT) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if running(pid)], "the engine or runner outlived dev-server"

    # The second run finds the install complete; SIGTERM stops it as well.
    port = find_free_port_triple()
    again = Background([rivetctl, "dev-server", "--port", str(port)], env, elsewhere)
    background.append(again)
    again.wait_for("ready at", 120)
    assert not any("installing" in line for line in again.lines), again.lines
    children = descendants(again.proc.pid)
    assert again.stop(signal.SIGTERM) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if running(pid)]
    print(f"first run with the install: {install_seconds:.1f} s")


def test_installed_dev_server_without_npm_says_so_in_one_line(venv: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = user_env(tmp_path / "home", path=str(empty))
    r = subprocess.run(
        [str(venv / "bin" / "rivetctl"), "dev-server", "--port", str(find_free_port_triple())],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    cache = tmp_path / "home" / "cache" / "rivetctl" / f"server-{__version__}"
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == (
        f"rivetctl: npm not found: it installs the RivetKit example server (Node 22 + rivetkit 2.3.19) into {cache};"
        " install Node.js with npm, or set RIVETCTL_SERVER_DIR to a directory where it is installed\n"
    )
