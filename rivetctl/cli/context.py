"""The resolved global options of one CLI run (flag > env > profile > default) and the objects built
from them: the client, the output writer, the params. Tests inject env and streams here."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from rivetctl.errors import ConfigError

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.config import ConfigFile, Profile
    from rivetctl.output.render import Output


class GlobalOptions:
    """The root command's options as given (``None``: not given). A plain class: a dataclass would take a
    millisecond of every start to build."""

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        namespace: str | None = None,
        token: str | None = None,
        encoding: str | None = None,
        profile: str | None = None,
        output: str = "auto",
        timeout: float | None = None,
        verbose: int = 0,
        no_color: bool = False,
        params: Sequence[str] = (),
        params_json: str | None = None,
        insecure: bool = False,
        cacert: str | None = None,
        traceback: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.namespace = namespace
        self.token = token
        self.encoding = encoding
        self.profile = profile
        self.output = output
        self.timeout = timeout
        self.verbose = verbose
        self.no_color = no_color
        self.params = list(params)
        self.params_json = params_json
        self.insecure = insecure
        self.cacert = cacert
        self.traceback = traceback


class CliContext:
    """Everything a command needs; built once per invocation."""

    def __init__(
        self,
        opts: GlobalOptions,
        *,
        env: Mapping[str, str] | None = None,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.opts = opts
        self.env = os.environ if env is None else env
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._config: ConfigFile | None = None
        self._output: Output | None = None

    # -- configuration ---------------------------------------------------------------------------------

    @property
    def config(self) -> ConfigFile:
        if self._config is None:
            from rivetctl.config import ConfigFile

            self._config = ConfigFile.default(self.env)
            for warning in self._config.warnings:
                self.stderr.write(warning + "\n")
        return self._config

    @property
    def profile(self) -> Profile | None:
        name = self.opts.profile or self.env.get("RIVETCTL_PROFILE")
        if name is None and not self.config.path.exists():
            return None
        return self.config.profile(name)

    @property
    def color(self) -> bool:
        return not (self.opts.no_color or "NO_COLOR" in self.env)

    @property
    def output(self) -> Output:
        if self._output is None:
            from rivetctl.output.render import Output

            self._output = Output(self.opts.output, stdout=self.stdout, stderr=self.stderr, color=self.color)
        return self._output

    def setting(self, flag: Any, env_names: tuple[str, ...], profile_key: str, default: Any = None) -> Any:
        """flag > env > profile > default."""
        if flag is not None:
            return flag
        for name in env_names:
            value = self.env.get(name)
            if value:
                return value
        prof = self.profile
        if prof is not None and prof.settings.get(profile_key) is not None:
            return prof.settings[profile_key]
        return default

    def params(self) -> Any:
        """Connection params: ``--params`` / ``RIVETCTL_PARAMS`` / profile params, then ``--param`` on top."""
        from rivetctl.cli.args import parse_json_option, parse_param

        base: Any = None
        if self.opts.params_json is not None:
            base = parse_json_option(self.opts.params_json, "--params")
        elif self.env.get("RIVETCTL_PARAMS"):
            base = parse_json_option(self.env["RIVETCTL_PARAMS"], "RIVETCTL_PARAMS")
        else:
            prof = self.profile
            if prof is not None:
                base = prof.resolved_params(self.env)
        if self.opts.params:
            if base is None:
                base = {}
            if not isinstance(base, dict):
                raise ConfigError("--param needs the params to be a JSON object")
            base = dict(base)
            for item in self.opts.params:
                k, v = parse_param(item)
                base[k] = v
        return base

    def known_events(self, actor_name: str) -> list[str]:
        prof = self.profile
        return list(prof.events.get(actor_name, [])) if prof is not None else []

    # -- objects ---------------------------------------------------------------------------------------

    def client(self) -> Client:
        from rivetctl.client import Client

        endpoint = self.setting(self.opts.endpoint, ("RIVET_ENGINE", "RIVET_ENDPOINT"), "endpoint")
        namespace = self.setting(self.opts.namespace, ("RIVET_NAMESPACE",), "namespace")
        token = self.opts.token or self.env.get("RIVET_TOKEN") or None
        if token is None and self.profile is not None:
            token = self.profile.token(self.env)
        encoding = self.setting(self.opts.encoding, ("RIVETCTL_ENCODING",), "encoding", "bare")
        timeout = self.opts.timeout
        if timeout is None:
            prof_timeout = self.setting(None, (), "timeout")
            timeout = float(prof_timeout) if prof_timeout is not None else None
        verify: bool | str = True
        if self.opts.insecure:
            verify = False
        elif self.opts.cacert:
            verify = self.opts.cacert
        # An endpoint carrying ns/token wins over separately given ones (they would conflict).
        from rivetctl.client.options import split_endpoint

        if endpoint:
            _, url_ns, url_tok = split_endpoint(str(endpoint))
            if url_ns:
                namespace = None if self.opts.namespace is None else namespace
            if url_tok:
                token = None if self.opts.token is None else token
        tracer = None
        if self.opts.verbose:
            from rivetctl.cli.trace import StderrTracer

            tracer = StderrTracer(self.opts.verbose, self.stderr)
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
            kwargs["connect_timeout"] = min(5.0, timeout)
        client = Client(
            endpoint,
            token=token,
            namespace=namespace,
            encoding=str(encoding),
            runner=self.setting(None, ("RIVET_POOL",), "runner"),
            verify=verify,
            env={},
            tracer=tracer,
            **kwargs,
        )
        from rivetctl.cli import names_cache

        client.known_names = frozenset(names_cache.load(self.env, client.options.endpoint, client.options.namespace))
        if tracer is not None:
            tracer.note(
                f"endpoint {client.options.endpoint} namespace {client.options.namespace} "
                f"encoding {client.options.encoding} token {'set' if client.options.token else 'none'}"
                + (f" profile {self.profile.name}" if self.profile else "")
            )
        return client
