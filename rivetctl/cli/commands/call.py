"""``rivetctl call``: one stateless action over HTTP (get-or-create by default), optionally repeated, or the same
action on many actors at once (``--keys``, ``--keys-from``, ``--all``)."""

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.commands import Command
from rivetctl.cli.commands.params import Input, Name, Region
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import handle_for, run

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.frontend.fanout import FanOut, Outcome, Stats
    from rivetctl.frontend.settings import Settings
    from rivetctl.output.render import Output

EPILOG = """Examples:

  rivetctl call counter my-counter increment 5

  rivetctl call chatRoom '["org-1","general"]' sendMessage alice '"hello"'

  rivetctl call counter @ACTOR_ID getCount -o json

  echo '{"a":1}' | rivetctl call counter my-counter echo -

  rivetctl call fleet --keys east-1,east-2,west-1 increment 1

  printf 'east-1\\n["org-1","west,2"]\\n' | rivetctl call fleet --keys-from - ping -o jsonl

  rivetctl call fleet --all getCount -j 32

Each ARG is JSON when it parses (5, true, {"a":1}, "\\"5\\"" for the string "5"), otherwise a plain string;
@file.json reads a JSON file; - reads one JSON value from stdin.

Fan-out: with --keys K1,K2,..., --keys-from FILE (one key per line: a plain string, a JSON array for a
compound key, @ACTOR_ID; - reads stdin) or --all (every actor of NAME, listed page by page from the engine), the
KEY argument is left out and the action is called on each actor, -j N at a time (default 16), each call once.
On a terminal: a progress bar, then a table and a summary. Otherwise one JSON line per actor as it completes,
{"key", "actor_id", "ok", "output" or "error": {"group", "code", "message"}, "ms"}, and the summary on stderr.
Exit 0 when every call succeeded, 3 when any failed, 7 when none reached the server. Ctrl-C starts no more
calls, waits for those in flight, prints what completed and exits 130 (a second Ctrl-C abandons them).
--no-create and --timeout apply to each call. --dry-run prints the equivalent curl command (one per actor of
--keys or --keys-from) and sends nothing.

Global options (-e, -o, --timeout, --param, ...) may also follow the command. After `--` nothing is an
option: rivetctl call chatRoom k send -- -n hello passes -n as an argument.
"""

TABLE_ROWS = 1000
"""A fan-out's table on a terminal shows at most this many results of each kind (ok, failed); -o jsonl has
them all."""
CELL_WIDTH = 60


class FanOutCommand(Command):
    """A command whose KEY argument a fan-out option (--keys, --keys-from, --all) replaces: click takes KEY (and
    what follows) as optional, the usage line shows the one-actor form as it is written."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece[1:-1] if piece in ("[KEY]", "[ACTION]") else piece for piece in super().collect_usage_pieces(ctx)]


KeyOrAction = Annotated[
    str | None,
    typer.Argument(
        metavar="KEY",
        help='Actor key: a string, a JSON array for compound keys (\'["org-1","general"]\'), or @ACTOR_ID. '
        "Left out with --keys, --keys-from or --all.",
        show_default=False,
    ),
]
Keys = Annotated[
    str | None,
    typer.Option(
        "--keys",
        metavar="K1,K2,...",
        help="Call these actors (comma-separated keys; KEY is left out). Keys with ',' go in --keys-from.",
    ),
]
KeysFrom = Annotated[
    str | None,
    typer.Option(
        "--keys-from",
        metavar="FILE|-",
        help="Call the actors listed in FILE (or stdin: -), one key per line; a JSON array is a compound key.",
    ),
]
All = Annotated[bool, typer.Option("--all", help="Call every actor of NAME (listed page by page from the engine).")]
Concurrency = Annotated[
    int, typer.Option("-j", "--concurrency", metavar="N", min=1, help="Fan-out: calls in flight at once.")
]
PageSize = Annotated[int | None, typer.Option("--page-size", min=1, hidden=True, help="Engine page size for --all.")]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help='Print the equivalent curl command, one per actor (JSON on the wire; the token as "$RIVET_TOKEN") '
        "and send nothing.",
    ),
]


def call(
    ctx: typer.Context,
    name: Name,
    key: KeyOrAction = None,
    action: Annotated[str | None, typer.Argument(metavar="ACTION", help="Action to call.", show_default=False)] = None,
    args: Annotated[
        list[str] | None, typer.Argument(metavar="ARG", help="Action arguments (see below).", show_default=False)
    ] = None,
    args_json: Annotated[
        str | None, typer.Option("--args", metavar="JSON", help="All arguments as a JSON array, or @file.")
    ] = None,
    no_create: Annotated[bool, typer.Option("--no-create", help="Require an existing actor (never create).")] = False,
    input: Input = None,
    region: Region = None,
    repeat: Annotated[
        int, typer.Option("--repeat", metavar="N", min=1, help="Call N times and print latency percentiles.")
    ] = 1,
    keys: Keys = None,
    keys_from: KeysFrom = None,
    all_actors: All = False,
    concurrency: Concurrency = 16,
    page_size: PageSize = None,
    dry_run: DryRun = False,
) -> None:
    """Call an action statelessly over HTTP and print its output."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_address, parse_args, parse_json_option
    from rivetctl.protocol.query import NO_INPUT

    cli = cli_context(ctx)
    sources = [flag for flag, given in (("--keys", keys), ("--keys-from", keys_from), ("--all", all_actors)) if given]
    if len(sources) > 1:
        raise ConfigError(f"{' and '.join(sources)} are alternatives: give one")
    if sources:
        # KEY is left out: the arguments are ACTION [ARG]...
        words = [w for w in (key, action) if w is not None] + list(args or [])
        if not words:
            ctx.fail(f"Missing argument 'ACTION' (rivetctl call NAME {sources[0]} ... ACTION [ARG]...).")
        if repeat != 1:
            raise ConfigError("--repeat is for one actor; a fan-out reports latency percentiles itself")
        if dry_run:
            _fan_out_dry_run(
                cli,
                name,
                words[0],
                words[1:],
                args_json=args_json,
                no_create=no_create,
                input=input,
                region=region,
                keys=keys,
                keys_from=keys_from,
            )
            return
        raise typer.Exit(
            _fan_out(
                cli,
                name,
                words[0],
                words[1:],
                args_json=args_json,
                no_create=no_create,
                input=input,
                region=region,
                keys=keys,
                keys_from=keys_from,
                concurrency=concurrency,
                page_size=page_size,
            )
        )
    if key is None:
        ctx.fail("Missing argument 'KEY'.")
    if action is None:
        ctx.fail("Missing argument 'ACTION'.")
    for option, flag in (("concurrency", "-j/--concurrency"), ("page_size", "--page-size")):
        source = ctx.get_parameter_source(option)
        if source is not None and source.name != "DEFAULT":
            raise ConfigError(f"{flag} is for a fan-out (--keys, --keys-from, --all)")
    address = parse_address(name, key)
    values = parse_args(list(args or []), args_json=args_json, stdin=cli.stdin)
    create_input: Any = NO_INPUT if input is None else parse_json_option(input, "--input")
    params = cli.params()
    if dry_run:
        from rivetctl.frontend.curl import curl_for_handle, print_dry_run, secret_param_vars

        handle = handle_for(
            cli.client(), address, params=params, create=not no_create, input=create_input, region=region
        )
        print_dry_run(cli, curl_for_handle(handle, action, values, param_vars=secret_param_vars(cli)))
        return

    async def body(client: "Client") -> tuple[Any, list[float]]:
        handle = handle_for(client, address, params=params, create=not no_create, input=create_input, region=region)
        latencies: list[float] = []
        result: Any = None
        for _ in range(repeat):
            started = time.perf_counter()
            result = await handle.action(action, *values)
            latencies.append(time.perf_counter() - started)
        return result, latencies

    result, latencies = run(cli, body)
    _remember(cli, name, action)
    if repeat > 1:
        cli.output.record(_percentiles(latencies), title=f"{action} × {repeat}")
        return
    cli.output.value(result)
    if cli.opts.verbose:
        cli.output.info(f"{action} answered in {latencies[0] * 1000:.1f} ms")


def _remember(cli: "Settings", name: str, action: str) -> None:
    """Feed shell completion: this actor name and action were just used successfully."""
    from rivetctl.config import cache_dir
    from rivetctl.frontend.store import remember_completion

    remember_completion(cache_dir(cli.env), name, action)


def _percentiles(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return round(ordered[index] * 1000, 2)

    total = sum(samples)
    return {
        "calls": len(samples),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "min_ms": round(ordered[0] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "calls_per_s": round(len(samples) / total, 1) if total > 0 else None,
    }


# -- fan-out ---------------------------------------------------------------------------------------------------


def _fan_out(
    cli: "Settings",
    name: str,
    action: str,
    arg_texts: list[str],
    *,
    args_json: str | None,
    no_create: bool,
    input: str | None,
    region: str | None,
    keys: str | None,
    keys_from: str | None,
    concurrency: int,
    page_size: int | None,
) -> int:
    """Call ``action`` on every actor of the source; the exit code (0 all ok, 3 any failed, 7 none reached the
    server, 130 interrupted)."""
    import asyncio

    from rivetctl.errors import ConfigError
    from rivetctl.frontend import fanout
    from rivetctl.frontend.args import parse_args, parse_json_option
    from rivetctl.frontend.exits import Exit
    from rivetctl.protocol.query import NO_INPUT

    if keys_from == "-" and "-" in arg_texts:
        raise ConfigError("stdin cannot give both the keys (--keys-from -) and an argument (-)")
    values = parse_args(arg_texts, args_json=args_json, stdin=cli.stdin)
    create_input: Any = NO_INPUT if input is None else parse_json_option(input, "--input")
    params = cli.params()
    listed = fanout.parse_keys_option(keys) if keys is not None else None
    total: int | None = None
    if listed is not None:
        total = len(listed)
    elif keys_from is not None and keys_from != "-":
        total = fanout.check_key_file(keys_from)  # every line checked before anything is sent
    out = cli.output
    sink: _Sink = _TableSink(out, total, f"{name} · {action}") if out.is_table else _StreamSink(cli)
    interrupt = _Interrupt()

    async def body(client: "Client") -> "Stats":
        fanout.record_answering_actors(client)
        await client.check_name(name)  # an unknown name or an unreachable server: one error, nothing called
        accessor = client.actor(name)

        async def call_one(target: fanout.Target) -> Any:
            if target.actor_id is not None:
                handle = accessor.get_for_id(target.actor_id, params=params)
            elif no_create:
                handle = accessor.get(target.key, params=params)
            else:
                handle = accessor.get_or_create(target.key, input=create_input, region=region, params=params)
            return await handle.action(action, *values)

        with contextlib.ExitStack() as stack:
            if listed is not None:
                source = fanout.from_list(listed)
            elif keys_from == "-":
                source = fanout.from_lines(cli.stdin, "stdin")
            elif keys_from is not None:
                from pathlib import Path

                stream = stack.enter_context(Path(keys_from).expanduser().open(encoding="utf-8"))
                source = fanout.from_lines(stream, keys_from)
            else:

                def gap(ts: int) -> None:
                    out.info(
                        f"rivetctl: more than one page of actors were created in the same millisecond ({ts}); "
                        "the engine cannot list past some of them"
                    )

                source = fanout.from_engine(client, name, page_size=page_size, on_gap=gap)
            fan = fanout.FanOut(call_one, concurrency=concurrency, on_result=sink.add)
            with sink.live(), _stop_on_sigint(fan, out, interrupt):
                try:
                    stats = await fan.run(source)
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if not interrupt.abandoned or current is None:
                        raise
                    current.uncancel()
                    stats = fan.stats
            if fan.source_error is not None:
                interrupt.source_error = fan.source_error
            return stats

    stats = run(cli, body)
    if stats.ok:
        _remember(cli, name, action)
    sink.finish(stats)
    if interrupt.presses:
        abandoned = f"; {interrupt.abandoned} abandoned in flight (they may or may not have run)"
        out.info(
            f"rivetctl: interrupted after {stats.calls} calls; none was started after Ctrl-C"
            + (abandoned if interrupt.abandoned else "")
        )
        return int(Exit.INTERRUPTED)
    if interrupt.source_error is not None:
        raise interrupt.source_error
    if stats.failed:
        if stats.ok == 0 and stats.unreached == stats.calls:
            return int(Exit.NETWORK)
        return int(Exit.ACTOR_ERROR)
    return int(Exit.OK)


def _fan_out_dry_run(
    cli: "Settings",
    name: str,
    action: str,
    arg_texts: list[str],
    *,
    args_json: str | None,
    no_create: bool,
    input: str | None,
    region: str | None,
    keys: str | None,
    keys_from: str | None,
) -> None:
    """One curl command per actor of --keys / --keys-from (their keys as listed); nothing is sent, so --all,
    which lists the actors from the engine, is refused."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend import fanout
    from rivetctl.frontend.args import parse_args, parse_json_option
    from rivetctl.frontend.curl import Curl, curl_for_handle, print_dry_run, secret_param_vars
    from rivetctl.protocol.query import NO_INPUT

    if keys is None and keys_from is None:
        raise ConfigError("--dry-run lists no actors: --all would ask the engine for them; use --keys or --keys-from")
    if keys_from == "-" and "-" in arg_texts:
        raise ConfigError("stdin cannot give both the keys (--keys-from -) and an argument (-)")
    values = parse_args(arg_texts, args_json=args_json, stdin=cli.stdin)
    create_input: Any = NO_INPUT if input is None else parse_json_option(input, "--input")
    params = cli.params()
    param_vars = secret_param_vars(cli)
    if keys is not None:
        targets = fanout.parse_keys_option(keys)
    else:
        assert keys_from is not None
        from pathlib import Path

        where = "stdin" if keys_from == "-" else keys_from
        if keys_from != "-":
            fanout.check_key_file(keys_from)
        text = cli.stdin.read() if keys_from == "-" else Path(keys_from).expanduser().read_text(encoding="utf-8")
        targets = [t for n, line in enumerate(text.splitlines(), 1) if (t := fanout.line_target(line, where, n))]
    accessor = cli.client().actor(name)
    commands: list[str] = []
    variables: dict[str, None] = {}
    for target in targets:
        if target.actor_id is not None:
            handle = accessor.get_for_id(target.actor_id, params=params)
        elif no_create:
            handle = accessor.get(target.key, params=params)
        else:
            handle = accessor.get_or_create(target.key, input=create_input, region=region, params=params)
        curl = curl_for_handle(handle, action, values, param_vars=param_vars)
        commands.append(curl.command)
        variables.update(dict.fromkeys(curl.variables))
    if commands:
        print_dry_run(cli, Curl("\n".join(commands), tuple(variables)))


class _Interrupt:
    """Ctrl-C during a fan-out: how often it was pressed, how many calls were abandoned in flight (second
    press), and an error from the key source to raise once the results are out."""

    def __init__(self) -> None:
        self.presses = 0
        self.abandoned = 0
        self.source_error: BaseException | None = None


@contextlib.contextmanager
def _stop_on_sigint(fan: "FanOut", out: "Output", interrupt: _Interrupt) -> Iterator[None]:
    """The first Ctrl-C stops launching (the calls in flight finish and are reported); a second one abandons
    the calls in flight. Where signals cannot be handled on the loop, Ctrl-C interrupts as usual."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def pressed() -> None:
        interrupt.presses += 1
        if interrupt.presses == 1:
            fan.stop()
            out.info(
                f"rivetctl: Ctrl-C: starting no more calls; waiting for the {fan.in_flight} in flight "
                "(Ctrl-C again to abandon them)"
            )
        elif task is not None and not interrupt.abandoned:
            interrupt.abandoned = max(1, fan.in_flight)
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, pressed)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _summary_line(stats: "Stats") -> str:
    s = stats.summary()
    parts = [f"{s['calls']:,} calls: {s['ok']:,} ok, {s['failed']:,} failed"]
    if s["p50_ms"] is not None:
        parts.append(f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms")
    if s["calls_per_s"] is not None:
        parts.append(f"{s['calls_per_s']:,.1f} calls/s")
    parts.append(f"{s['wall_s']:.2f} s")
    return " · ".join(parts)


class _Sink:
    def live(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def add(self, outcome: "Outcome") -> None:
        raise NotImplementedError

    def finish(self, stats: "Stats") -> None:
        raise NotImplementedError


class _StreamSink(_Sink):
    """Off a terminal: one JSON line per result as it completes (a JSON array for ``-o json``, a YAML list for
    ``-o yaml``, item by item); the summary on stderr."""

    def __init__(self, cli: "Settings") -> None:
        self.out = cli.output
        self.stdout = cli.stdout
        given = cli.opts.output
        self.style = given if given in ("json", "yaml") else "jsonl"
        self.count = 0

    def add(self, outcome: "Outcome") -> None:
        from rivetctl.output.render import dumps

        record = outcome.record()
        if self.style == "jsonl":
            self.out.stream(record)
            return
        if self.style == "json":
            text = ("[\n  " if self.count == 0 else ",\n  ") + dumps(record)
        else:
            import yaml

            from rivetctl.output.jsonable import jsonable

            text = yaml.safe_dump([jsonable(record)], allow_unicode=True, sort_keys=False)
        self.count += 1
        self.stdout.write(text)
        self.stdout.flush()

    def finish(self, stats: "Stats") -> None:
        if self.style == "json":
            self.stdout.write("[]\n" if self.count == 0 else "\n]\n")
            self.stdout.flush()
        elif self.style == "yaml" and self.count == 0:
            self.stdout.write("[]\n")
            self.stdout.flush()
        self.out.info(f"rivetctl: {_summary_line(stats)}")


class _TableSink(_Sink):
    """On a terminal: a progress bar while the calls run, then a table of the results (at most
    ``TABLE_ROWS`` of each kind, failures included) and the summary."""

    COLUMNS = ("key", "actor_id", "ok", "output / error", "ms")

    def __init__(self, out: "Output", total: int | None, title: str) -> None:
        self.out = out
        self.total = total
        self.title = title
        self.rows: list[dict[str, Any]] = []
        self.shown = {True: 0, False: 0}
        self.hidden = 0
        self.counts = {True: 0, False: 0}
        self._progress: Any = None
        self._task: Any = None

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("ok {task.fields[ok]:,} · failed {task.fields[failed]:,}"),
            TimeElapsedColumn(),
            console=self.out.console(),
            transient=True,
        )
        self._task = progress.add_task(self.title, total=self.total, ok=0, failed=0)
        self._progress = progress
        with progress:
            yield
        self._progress = None

    def add(self, outcome: "Outcome") -> None:
        ok = outcome.ok
        self.counts[ok] += 1
        if self._progress is not None:
            self._progress.update(self._task, advance=1, ok=self.counts[True], failed=self.counts[False])
        if self.shown[ok] >= TABLE_ROWS:
            self.hidden += 1
            return
        self.shown[ok] += 1
        from rivetctl.frontend.fanout import error_fields, key_text

        if ok:
            shown = _cell(outcome.output)
        else:
            assert outcome.error is not None
            err = error_fields(outcome.error)
            shown = _clip(f"{err['group']}.{err['code']}: {err['message']}")
        self.rows.append(
            {
                "key": key_text(outcome.key),
                "actor_id": outcome.actor_id or "",
                "ok": "✓" if ok else "✗",
                "output / error": shown,
                "ms": f"{outcome.ms:.1f}",
            }
        )

    def finish(self, stats: "Stats") -> None:
        self.out.rows(self.COLUMNS, self.rows, title=self.title)
        console = self.out.console()
        if self.hidden:
            console.print(f"… and {self.hidden:,} more results (-o jsonl lists every one)", highlight=False)
        console.print(_summary_line(stats), highlight=False)


def _cell(value: Any) -> str:
    from rivetctl.output.render import dumps

    return _clip(value if isinstance(value, str) else dumps(value))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"
