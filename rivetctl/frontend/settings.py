"""One run's settings: the global options as given, the environment and the config profile, and what is
built from them once: the client (its options resolved in one place, :func:`~rivetctl.client.options.
resolve_options`: flag > env > profile > default), the output writer, the connection params. Tests inject
env and streams here."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from rivetctl.errors import ConfigError

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.client.options import ClientOptions
    from rivetctl.config import ConfigFile, Profile
    from rivetctl.frontend.query import Query
    from rivetctl.output.render import Output


class GlobalOptions:
    """The root command's options as given, under the names ``rivetctl.cli.app.root`` declares them (the one
    place they are spelled); ``None`` where not given."""

    def __init__(self, values: Mapping[str, Any] | None = None, **given: Any) -> None:
        self._values = {**(values or {}), **given}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._values.get(name)


class Settings:
    """Everything a command or the REPL needs; built once per invocation."""

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
        self._query: Query | None = None

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
        # no-color.org: only a non-empty NO_COLOR turns colours off.
        return not (self.opts.no_color or self.env.get("NO_COLOR"))

    @property
    def query(self) -> Query | None:
        """``--query`` compiled (once; a bad expression is a ``ConfigError``), or ``None`` when not given."""
        if self._query is None and self.opts.query is not None:
            from rivetctl.frontend.query import compile_query

            self._query = compile_query(str(self.opts.query), "--query")
        return self._query

    @property
    def output(self) -> Output:
        """The writer of the chosen ``-o`` mode, applying ``--query`` to every result; ``-o csv`` is a usage
        error here (only ``sql`` writes CSV, with its own writer)."""
        if self._output is None:
            from rivetctl.output.render import MODES, Output

            if self.opts.output is not None and self.opts.output not in MODES:
                raise ConfigError(f"-o {self.opts.output} is for the sql command only; use one of {', '.join(MODES)}")

            self._output = Output(
                self.opts.output, stdout=self.stdout, stderr=self.stderr, color=self.color, query=self.query
            )
        return self._output

    def params(self) -> Any:
        """Connection params: ``--params`` / ``RIVETCTL_PARAMS`` / profile params, then ``--param`` on top."""
        from rivetctl.frontend.args import parse_json_option, parse_param

        base: Any = None
        if self.opts.params is not None:
            base = parse_json_option(self.opts.params, "--params")
        elif self.env.get("RIVETCTL_PARAMS"):
            base = parse_json_option(self.env["RIVETCTL_PARAMS"], "RIVETCTL_PARAMS")
        else:
            prof = self.profile
            if prof is not None:
                base = prof.resolved_params(self.env)
        if self.opts.param:
            if base is None:
                base = {}
            if not isinstance(base, dict):
                raise ConfigError("--param needs the params to be a JSON object")
            base = dict(base)
            for item in self.opts.param:
                k, v = parse_param(item)
                base[k] = v
        return base

    def inspector_token(self) -> tuple[str | None, str]:
        """A token the user gave for actor inspectors and where it came from: ``--inspector-token`` >
        ``RIVET_INSPECTOR_TOKEN`` > the profile's ``inspector_token`` / ``inspector_token_env``; ``None``
        when none was given (each actor's own token is used then)."""
        if self.opts.inspector_token:
            return str(self.opts.inspector_token), "--inspector-token"
        if self.env.get("RIVET_INSPECTOR_TOKEN"):
            return self.env["RIVET_INSPECTOR_TOKEN"], "RIVET_INSPECTOR_TOKEN"
        prof = self.profile
        if prof is not None:
            var = prof.settings.get("inspector_token_env")
            if var:
                if var not in self.env:
                    raise ConfigError(f"profile {prof.name!r}: inspector_token_env names {var}, which is not set")
                return self.env[str(var)], f"{var} (profile {prof.name!r})"
            if prof.settings.get("inspector_token"):
                return str(prof.settings["inspector_token"]), f"the inspector_token of profile {prof.name!r}"
        return None, ""

    def known_events(self, actor_name: str) -> list[str]:
        prof = self.profile
        return list(prof.events.get(actor_name, [])) if prof is not None else []

    # -- objects ---------------------------------------------------------------------------------------

    def client_options(self) -> ClientOptions:
        """The client's options (endpoint, namespace, token, encoding, timeouts, TLS) as this run resolves
        them; nothing is sent."""
        from rivetctl.client.options import resolve_options

        opts = self.opts
        prof = self.profile
        defaults: dict[str, Any] = dict(prof.settings) if prof is not None else {}
        if prof is not None:
            defaults["token"] = prof.token(self.env)
        timeout = opts.timeout
        if timeout is None and defaults.get("timeout") is not None:
            timeout = float(defaults["timeout"])
        return resolve_options(
            opts.endpoint,
            token=opts.token,
            namespace=opts.namespace,
            encoding=opts.encoding or self.env.get("RIVETCTL_ENCODING") or None,
            verify=False if opts.insecure else (opts.cacert or True),
            env=self.env,
            defaults=defaults,
            **({} if timeout is None else {"timeout": timeout, "connect_timeout": min(5.0, timeout)}),
        )

    def client(self) -> Client:
        from rivetctl.client import Client

        opts = self.opts
        prof = self.profile
        options = self.client_options()
        tracer = None
        if opts.verbose:
            from rivetctl.output.trace import StderrTracer

            tracer = StderrTracer(opts.verbose, self.stderr)
        from rivetctl.frontend.store import cached_names

        client = Client(
            options=options,
            tracer=tracer,
            known_names=cached_names(self.env, options.endpoint, options.namespace),
        )
        if tracer is not None:
            tracer.note(
                f"endpoint {options.endpoint} namespace {options.namespace} encoding {options.encoding} "
                f"token {'set' if options.token else 'none'}" + (f" profile {prof.name}" if prof else "")
            )
        return client
