"""The fish completion script: ``complete`` lines guarded by a parse of the command line."""

from __future__ import annotations

from rivetctl import __version__
from rivetctl.docgen.bash import PROFILE_RE, sh
from rivetctl.docgen.tree import Cmd, Values, short
from rivetctl.frontend.store import COMPLETION_LIMIT, SAFE_NAME


def _fq(text: str) -> str:
    """A single-quoted fish word."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _dq(key: str) -> str:
    """A command path in double quotes (paths are words of letters and dashes)."""
    return f'"{key}"'


def _fish_values(values: Values) -> str:
    if values.kind == "choice":
        return f" -a {_fq(' '.join(values.choices))}"
    return {
        "actor": " -a '(__rivetctl_cached names.txt)'",
        "action": " -a '(__rivetctl_actions)'",
        "profile": " -a '(__rivetctl_profiles)'",
        "file": " -F",
        "dir": " -a '(__fish_complete_directories (commandline -ct))'",
    }.get(values.kind, "")


def script(tree: Cmd) -> str:
    """The fish completion script for the command tree."""
    cmds = list(tree.walk())
    subs = [
        f"        case {_fq(c.key)}\n            printf '%s\\n' {' '.join(s.path[-1] for s in c.commands)}"
        for c in cmds
        if c.commands
    ]
    takes = " ".join(_fq(f"{c.key}|{f}") for c in cmds for o in c.options if o.metavar for f in o.flags)
    lines: list[str] = []
    for c in cmds:
        lines.append(f"\n# {' '.join(('rivetctl', *c.path))}")
        where = f"-n {_fq(f'__rivetctl_at {_dq(c.key)}')}"
        for s in c.commands:
            cond = _fq(f"__rivetctl_arg {_dq(c.key)} 0")
            lines.append(f"complete -c rivetctl -n {cond} -a {s.path[-1]} -d {_fq(s.summary)}")
        for o in c.options:
            spec = "".join(f" -s {n[1:]}" if not n.startswith("--") else f" -l {n[2:]}" for n in o.names)
            value = (" -r" if o.values.kind == "file" else " -x") + _fish_values(o.values) if o.metavar else ""
            lines.append(f"complete -c rivetctl {where}{spec}{value} -d {_fq(short(o.help))}")
        for i, a in enumerate(c.args):
            if a.values.kind:
                cond = _fq(f"__rivetctl_arg {_dq(c.key)} {i}{'+' if a.variadic else ''}")
                lines.append(f"complete -c rivetctl -n {cond}{_fish_values(a.values)} -d {_fq(a.label)}")
    return _FISH.format(
        profile_re=sh(PROFILE_RE),
        version=__version__,
        subcommands="\n".join(subs),
        takes=takes,
        completions="\n".join(lines),
        safe=SAFE_NAME,
        limit=COMPLETION_LIMIT,
    )


_FISH = """\
# fish completion for rivetctl {version}
# Generated from the command tree by scripts/generate (rivetctl completions fish); do not edit.
#
#   rivetctl completions fish > ~/.config/fish/completions/rivetctl.fish
#
# Actor and action names come from the completion cache that rivetctl keeps in
# ${{XDG_CACHE_HOME:-~/.cache}}/rivetctl: a bounded read of a local file on Tab, never a network call.

function __rivetctl_subcommands --argument-names path
    switch $path
{subcommands}
    end
end

function __rivetctl_takes_value --argument-names path opt
    contains -- "$path|$opt" {takes}
end

# Parse the tokens before the cursor once per command line: command path, arguments so far, whether
# the cursor is on an option's value.
function __rivetctl_parse
    set -l tokens (commandline -opc)
    set -l key (string join \\x1e -- $tokens)
    test "$key" = "$__rivetctl_key"; and return
    set -g __rivetctl_key $key
    set -e tokens[1]
    set -l path ''
    set -l npos 0
    set -l first ''
    set -l skip 0
    set -l dashdash 0
    for tok in $tokens
        if test $skip = 1
            set skip 0
        else if test $dashdash = 0; and string match -q -- -- $tok
            set dashdash 1
        else if test $dashdash = 0; and string match -q -- '-?*' $tok
            __rivetctl_takes_value $path $tok; and set skip 1
        else if test $npos = 0; and contains -- $tok (__rivetctl_subcommands $path)
            set path (string trim -- "$path $tok")
        else
            test $npos = 0; and set first $tok
            set npos (math $npos + 1)
        end
    end
    set -g __rivetctl_path $path
    set -g __rivetctl_npos $npos
    set -g __rivetctl_first $first
    set -g __rivetctl_skip $skip
    set -g __rivetctl_dashdash $dashdash
end

# The options of command path $path apply at the cursor.
function __rivetctl_at --argument-names path
    __rivetctl_parse
    test "$__rivetctl_path" = "$path" -a $__rivetctl_dashdash = 0
end

# The cursor is on positional argument $index (from 0; "2+" is 2 or later) of command path $path.
function __rivetctl_arg --argument-names path index
    __rivetctl_parse
    test "$__rivetctl_path" = "$path" -a $__rivetctl_skip = 0; or return 1
    if string match -q -- '*+' $index
        test $__rivetctl_npos -ge (string trim -r -c + -- $index)
    else
        test $__rivetctl_npos = $index
    end
end

# Lines of a cache file (at most {limit}).
function __rivetctl_cached --argument-names file
    set -l dir $XDG_CACHE_HOME
    test -n "$dir"; or set dir $HOME/.cache
    set file $dir/rivetctl/$file
    test -f $file -a -r $file; or return 0
    set -l lines (string match -r -- '.+' <$file)
    printf '%s\\n' $lines[1..{limit}]
end

# Actions of the actor named by the command's first argument.
function __rivetctl_actions
    __rivetctl_parse
    string match -qr -- '^{safe}$' $__rivetctl_first; or return 0
    __rivetctl_cached actions/$__rivetctl_first.txt
end

function __rivetctl_profiles
    set -l file $RIVETCTL_CONFIG
    if test -z "$file"
        set -l dir $XDG_CONFIG_HOME
        test -n "$dir"; or set dir $HOME/.config
        set file $dir/rivetctl/config.toml
    end
    test -f $file -a -r $file; or return 0
    string replace -rf -- {profile_re} '$2' <$file
end

complete -c rivetctl -e
complete -c rivetctl -f
{completions}
"""
