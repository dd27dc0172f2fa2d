"""The man page (roff): synopsis, commands, options, environment, files, exit status and examples."""

from __future__ import annotations

from rivetctl import __version__
from rivetctl.docgen.tree import Cmd, Opt, split_doc
from rivetctl.frontend.exits import EXIT_DESCRIPTIONS

ENVIRONMENT = (
    ("RIVET_ENGINE, RIVET_ENDPOINT", "Engine endpoint, like --endpoint (RIVET_ENGINE is read first)."),
    ("RIVET_NAMESPACE", "Namespace, like --namespace."),
    ("RIVET_TOKEN", "Engine token, like --token. It is never printed."),
    ("RIVET_POOL", "Runner pool name used when an actor is created."),
    ("RIVETCTL_PROFILE", "Config profile to use, like --profile."),
    ("RIVETCTL_PARAMS", "Connection params as JSON or @file, like --params."),
    (
        "RIVETCTL_PARAM_KEY",
        "Not read by rivetctl: the curl commands --dry-run prints read a connection param whose key looks"
        " secret from it (KEY upper-cased, other characters than letters and digits as _), as they read the token"
        " from RIVET_TOKEN and a profile's secret param from its own variable.",
    ),
    ("RIVETCTL_ENCODING", "Wire encoding (json, cbor or bare), like --encoding."),
    ("RIVETCTL_CONFIG", "Path of the config file, instead of $XDG_CONFIG_HOME/rivetctl/config.toml."),
    (
        "RIVETCTL_SERVER_DIR",
        "A Node project for dev-server to run as it is (default: tests/server in a source checkout, else"
        " $XDG_CACHE_HOME/rivetctl/server-VERSION, where the first run installs it with npm).",
    ),
    (
        "RIVET_INSPECTOR_TOKEN",
        "Token for actor inspectors (state, connections, queue, sql, workflow), like --inspector-token; "
        "without one, each actor's own inspector token is read through the engine. Never printed.",
    ),
    ("NO_COLOR", "When set to a non-empty value, no colours, like --no-color."),
    ("VISUAL, EDITOR", "The editor state --edit opens (VISUAL first; default vi)."),
    (
        "XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_CACHE_HOME",
        "Base directories of the files below (defaults ~/.config, ~/.local/state and ~/.cache).",
    ),
)
FILES = (
    (
        "$XDG_CONFIG_HOME/rivetctl/config.toml",
        "Profiles (see rivetctl config); RIVETCTL_CONFIG names another file.",
    ),
    (
        "$XDG_STATE_HOME/rivetctl/",
        "REPL and SQL shell history (lines that may carry secrets are never written) and events.json, the "
        "event names seen per actor name.",
    ),
    (
        "$XDG_CACHE_HOME/rivetctl/",
        "Completion cache: completion.json, names.txt and actions/NAME.txt, the actor and action names "
        "the shell completions offer; names/, the registry's actor names per endpoint (5 minutes); "
        "server-VERSION/, the example server dev-server installs on first use (about 500 MB). Safe to delete.",
    ),
)
PRECEDENCE = (
    "Options before the command are global; each command's own options follow it. A setting comes from its "
    "option, else the environment, else the current profile, else the default."
)
SERVERS = (
    "rivetctl speaks RivetKit 2.x: 2.3 (a Rivet Engine with RivetKit envoys behind it), RivetKit 2.0 to 2.2 runners "
    "behind an engine (their production shape), and RivetKit 2.0 to 2.2 on their own in file-system mode (one "
    "Node process, no engine). rivetctl ping says which one an endpoint is; -v notes it on any command.",
    "A file-system server has no query-URL gateway: rivetctl finds actors through its REST API and reaches them "
    "by id. It cannot destroy actors or put them to sleep, and the inspector's routes arrived one by one (none "
    "in 2.0; state, connections, queue, traces and workflow history in 2.1; the database in 2.2): what a server "
    "lacks is refused in one line naming the server, exit status 2. RivetKit 0.9 servers are not supported.",
)
CLOSED_PIPE = (
    "Output into a pipe whose reader has gone (rivetctl watch ... | head -1) ends any command quietly with "
    "status 0: no traceback, no message. An error that happened first keeps its own status."
)

_ROFF_CHARS = {"\\": r"\(rs", "-": r"\-", "'": r"\(aq", "`": r"\(ga", "~": r"\(ti", "^": r"\(ha"}


def roff(text: str) -> str:
    """Plain text as one roff text line: escapes, non-ASCII as ``\\[uXXXX]``, no leading control char."""
    out = "".join(_ROFF_CHARS.get(ch, ch) if ord(ch) < 128 else f"\\[u{ord(ch):04X}]" for ch in text)
    return "\\&" + out if out.startswith(".") else out


def _b(text: str) -> str:
    return f"\\fB{roff(text)}\\fR"


def _i(text: str) -> str:
    return f"\\fI{roff(text)}\\fR"


def _usage(cmd: Cmd) -> str:
    """``[OPTIONS] NAME KEY [ARGS]...``: what follows a command's name."""
    pieces = [f"[{_i('OPTIONS')}]"] if any(not o.exits for o in cmd.options) else []
    for a in cmd.args:
        pieces.append(f"[{_i(a.metavar)}]..." if a.variadic else _i(a.metavar) if a.required else f"[{_i(a.metavar)}]")
    if cmd.commands:
        pieces.append(f"{_i('COMMAND')} [{_i('ARGS')}]...")
    return " ".join(pieces)


def _option_tag(o: Opt) -> str:
    tag = ", ".join(_b(n) for n in o.names)
    return f"{tag} {_i(o.metavar)}" if o.metavar else tag


def _man_command(cmd: Cmd) -> list[str]:
    lines = [".TP", f"{_b(cmd.key)} {_usage(cmd)}".rstrip()]
    paragraphs, _ = split_doc(cmd.help)
    notes, _ = split_doc(cmd.epilog)
    lines.append(roff(paragraphs[0] if paragraphs else ""))
    items = [(_i(a.metavar), a.help) for a in cmd.args if a.help]
    items += [(_option_tag(o), o.help) for o in cmd.options if not o.exits]
    if paragraphs[1:] or notes or items:
        lines.append(".RS")
        for p in [*paragraphs[1:], *notes]:
            lines += [".PP", roff(p)]
        for tag, text in items:
            lines += [".TP", tag, roff(text)]
        lines.append(".RE")
    return lines


def page(tree: Cmd) -> str:
    """The man page for the command tree."""
    description, root_examples = split_doc(tree.help)
    name_line = description[0].split(":")[0].rstrip(".") if description else "RivetKit actors"
    lines = [
        '.\\" Generated from the command tree by scripts/generate (rivetctl man); do not edit.',
        f'.TH RIVETCTL 1 "" "rivetctl {__version__}" "User Commands"',
        '.\\" No hyphenation or justification: option names and paths must stay whole.',
        ".nh",
        ".ad l",
        ".SH NAME",
        f"rivetctl \\- {roff(name_line[:1].lower() + name_line[1:])}",
        ".SH SYNOPSIS",
    ]
    for cmd in tree.walk():
        head = f"{_b('rivetctl')} [{_i('OPTIONS')}] {_b(cmd.key)}" if cmd.path else _b("rivetctl")
        lines += [".br"] if cmd.path else []
        lines.append(f"{head} {_usage(cmd)}".rstrip())
    lines.append(".SH DESCRIPTION")
    for p in [*description, PRECEDENCE]:
        lines += [".PP", roff(p)]
    lines.append(".SH COMMANDS")
    for cmd in tree.walk():
        if cmd.path:
            lines += _man_command(cmd)
    lines.append(".SH OPTIONS")
    for o in tree.options:
        lines += [".TP", _option_tag(o), roff(o.help)]
    lines.append(".SH ENVIRONMENT")
    for names, text in ENVIRONMENT:
        lines += [".TP", ", ".join(_b(n) for n in names.split(", ")), roff(text)]
    lines.append(".SH FILES")
    for path, text in FILES:
        lines += [".TP", _i(path), roff(text)]
    lines.append(".SH SERVERS")
    for p in SERVERS:
        lines += [".PP", roff(p)]
    lines.append(".SH EXIT STATUS")
    for code, text in sorted(EXIT_DESCRIPTIONS.items()):
        lines += [".TP", _b(str(int(code))), roff(text[:1].upper() + text[1:] + ".")]
    lines += [".PP", roff(CLOSED_PIPE)]
    lines.append(".SH EXAMPLES")
    sections = [("", root_examples)] + [(c.key, split_doc(c.epilog)[1]) for c in tree.walk() if c.path]
    for key, examples in sections:
        if not examples:
            continue
        if key:
            lines.append(f".SS {roff('rivetctl ' + key)}")
        lines += [".PP", ".RS 4", ".nf", *(roff(e) for e in examples), ".fi", ".RE"]
    return "\n".join(lines) + "\n"
