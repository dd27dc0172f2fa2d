"""``rivetctl replay``: re-run the calls of a saved REPL session and compare their outputs with the recorded ones."""

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import run

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.client.connection import ActorConnection
    from rivetctl.frontend.args import Address
    from rivetctl.frontend.settings import Settings

EPILOG = """Examples:

  printf '.use counter my-counter\\necho hello 42\\n.save session.jsonl\\n' | rivetctl repl

  rivetctl replay session.jsonl

  rivetctl replay session.jsonl counter another-counter

  rivetctl replay session.jsonl --update

FILE is what the REPL's .save writes (JSON lines): its calls (records of type "result" and "error", each with
its actor, action and args) are made again in order, over a live connection per actor as the REPL makes them,
against the actor each was recorded on, or against NAME KEY for all of them (the transcript's calls must then
be on one actor). An actor that does not exist is created, as the REPL does.

Each output now is compared with the recorded one as JSON; a call that failed is compared by its error. On a
terminal a table shows both side by side; piped, one JSON line per call. Exit 0 when every call matches, 1 when
one differs, with a unified diff per differing call on stderr. --update writes what the calls answer now into
FILE (atomically) and exits 0. Events and other records are kept as they are; connection params are never in a
transcript (one that holds params is refused).
"""

COLUMNS = ("call", "actor", "action", "args", "recorded", "now", "match")
_RAY = re.compile(r" \(ray [^)]*\)$")


class Transcript:
    """The records of a ``.save`` file, and which of them are calls."""

    def __init__(self, path: Path, records: list[dict[str, Any]]) -> None:
        self.path = path
        self.records = records
        self.calls = [i for i, r in enumerate(records) if r.get("type") in ("result", "error")]

    @classmethod
    def read(cls, path: Path) -> "Transcript":
        import json

        from rivetctl.errors import ConfigError

        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text") from None
        records: list[dict[str, Any]] = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{path}:{n}: not a JSON line ({exc})") from None
            if not isinstance(record, dict):
                raise ConfigError(f"{path}:{n}: a transcript record is a JSON object")
            if "params" in record:
                raise ConfigError(f"{path}:{n}: the record holds connection params; remove them (never replayed)")
            if record.get("type") in ("result", "error"):
                if not isinstance(record.get("action"), str) or not isinstance(record.get("actor"), str):
                    raise ConfigError(f"{path}:{n}: a call record needs its actor and action")
                if not isinstance(record.get("args", []), list):
                    raise ConfigError(f"{path}:{n}: a call's args are a JSON array")
                if "args" not in record:
                    raise ConfigError(
                        f"{path}:{n}: the call {record['action']!r} has no args recorded (saved by an older rivetctl); "
                        "save the session again"
                    )
            records.append(record)
        transcript = cls(path, records)
        if not transcript.calls:
            raise ConfigError(f"{path}: no calls to replay (the REPL's .save writes them)")
        return transcript

    def text(self) -> str:
        from rivetctl.output.render import dumps

        return "".join(dumps(record) + "\n" for record in self.records)


def parse_label(label: str) -> "Address":
    """The actor of a transcript record: ``NAME/["key"]`` or ``NAME/@ACTOR_ID`` (what the REPL writes)."""
    import json

    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import Address

    name, sep, rest = label.partition("/")
    if not sep or not name:
        raise ConfigError(f"unknown actor {label!r} in the transcript")
    if rest.startswith("@"):
        return Address(name, actor_id=rest[1:])
    try:
        key = json.loads(rest)
    except ValueError:
        raise ConfigError(f"unknown actor {label!r} in the transcript") from None
    if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        raise ConfigError(f"unknown actor {label!r} in the transcript")
    return Address(name, key=key)


def outcome_of(record: dict[str, Any]) -> dict[str, Any]:
    """What a call record says happened: ``{"output": …}`` or ``{"error": "…"}`` (ray id left out)."""
    if record.get("type") == "error":
        return {"error": _RAY.sub("", str(record.get("error", "")))}
    return {"output": record.get("output")}


def replay(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A transcript saved by the REPL's .save.", show_default=False)
    ],
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="Replay against this actor instead (with KEY).", show_default=False),
    ] = None,
    key: Annotated[
        str | None,
        typer.Argument(metavar="KEY", help="The other actor's key (or @ACTOR_ID).", show_default=False),
    ] = None,
    update: Annotated[bool, typer.Option("--update", help="Write the outputs of now into FILE; exit 0.")] = False,
) -> None:
    """Re-run the calls of a saved REPL session in order and compare each output with the recorded one."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_address

    cli = cli_context(ctx)
    if (name is None) != (key is None):
        raise ConfigError("replay takes NAME and KEY together (the actor to replay against), or neither")
    transcript = Transcript.read(file)
    labels = list(dict.fromkeys(str(transcript.records[i]["actor"]) for i in transcript.calls))
    target = parse_address(name, key) if name is not None and key is not None else None
    if target is not None and len(labels) > 1:
        raise ConfigError(
            f"{file} has calls on {len(labels)} actors ({', '.join(labels)}); NAME KEY can stand for one only"
        )
    addresses = {label: target or parse_label(label) for label in labels}
    from rivetctl.protocol.values import from_json_compat

    calls = []
    for i in transcript.calls:
        record = transcript.records[i]
        args = [from_json_compat(a, error=ConfigError) for a in record.get("args", [])]
        calls.append((i, record, args))
    params = cli.params()
    results = run(cli, lambda client: _run_calls(client, cli, addresses, calls, params))
    code = _report(cli, transcript, calls, results, addresses, update)
    if code:
        raise typer.Exit(code)


async def _run_calls(
    client: "Client",
    cli: "Settings",
    addresses: dict[str, "Address"],
    calls: list[tuple[int, dict[str, Any], list[Any]]],
    params: Any,
) -> list[dict[str, Any]]:
    """Each call made again, in order; what happened now as :func:`outcome_of` words it."""
    from rivetctl.errors import ActorError
    from rivetctl.frontend.runner import handle_for
    from rivetctl.output.jsonable import jsonable

    conns: dict[str, ActorConnection] = {}
    timeout = cli.opts.timeout
    outcomes: list[dict[str, Any]] = []
    try:
        for _i, record, args in calls:
            label = str(record["actor"])
            conn = conns.get(label)
            if conn is None:
                handle = handle_for(client, addresses[label], params=params)
                conn = conns[label] = handle.connect(params)
                await conn.wait_open(timeout=timeout or 30.0)
            try:
                output = await conn.action(str(record["action"]), *args)
            except ActorError as exc:  # the actor answered: an outcome to compare, not a failure of the replay
                outcomes.append({"error": _RAY.sub("", str(exc))})
            else:
                outcomes.append({"output": jsonable(output)})
    finally:
        for conn in conns.values():
            await conn.dispose()
    return outcomes


def _report(
    cli: "Settings",
    transcript: Transcript,
    calls: list[tuple[int, dict[str, Any], list[Any]]],
    outcomes: list[dict[str, Any]],
    addresses: dict[str, "Address"],
    update: bool,
) -> int:
    """The table or JSON lines, a diff per differing call on stderr, the file rewritten for ``--update``."""
    import difflib
    import json

    out = cli.output
    rows: list[dict[str, Any]] = []
    diffs: list[str] = []
    for n, ((index, record, _args), now) in enumerate(zip(calls, outcomes, strict=True), 1):
        recorded = outcome_of(record)
        match = recorded == now  # both JSON forms: the file's, and jsonable() of the answer
        address = addresses[str(record["actor"])]
        actor = address.describe().replace(" ", "/", 1)
        rows.append(
            {
                "call": n,
                "actor": actor,
                "action": record["action"],
                "args": _as_value(record.get("args", [])),
                "recorded": _as_value(recorded.get("output", recorded)),
                "now": _as_value(now.get("output", now)),
                "match": match,
            }
        )
        if not match:
            before = json.dumps(recorded, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
            after = json.dumps(now, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
            title = f"call {n} {record['action']}"
            diffs.append(
                "\n".join(
                    difflib.unified_diff(before, after, f"recorded ({title})", f"now ({title}, {actor})", lineterm="")
                )
            )
        if update:
            _update_record(transcript.records[index], now)
    if out.is_table:
        out.rows(COLUMNS, rows, title=f"replay of {transcript.path}")
    else:
        for row in rows:
            out.stream(row, COLUMNS)
    for text in diffs:
        cli.stderr.write(text + "\n")
    cli.stderr.flush()
    differing = sum(1 for row in rows if not row["match"])
    if update:
        from rivetctl.frontend.store import write_atomic

        write_atomic(transcript.path, transcript.text())
        out.info(f"rivetctl: {transcript.path} updated: {differing} of {len(rows)} calls changed")
        return 0
    if differing:
        out.info(f"rivetctl: {differing} of {len(rows)} calls differ from {transcript.path}")
        return 1
    out.info(f"rivetctl: all {len(rows)} calls match {transcript.path}")
    return 0


def _as_value(tree: Any) -> Any:
    """A JSON form as the value it stands for (``$``-tags revived), so that it prints as that JSON again."""
    import copy

    from rivetctl.errors import RivetctlError
    from rivetctl.protocol.values import from_json_compat

    try:
        return from_json_compat(copy.deepcopy(tree))
    except RivetctlError:
        return tree


def _update_record(record: dict[str, Any], now: dict[str, Any]) -> None:
    """The record says what happened now (a call that fails now becomes an error record, and back)."""
    if "error" in now:
        record["type"] = "error"
        record.pop("output", None)
        record.pop("ms", None)
        record["error"] = now["error"]
    else:
        record["type"] = "result"
        record.pop("error", None)
        record["output"] = now["output"]
