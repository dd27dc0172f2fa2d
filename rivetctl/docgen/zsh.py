"""The zsh completion script: one ``_arguments`` function per command."""

from __future__ import annotations

import re

from rivetctl import __version__
from rivetctl.docgen.bash import PROFILE_RE, sh
from rivetctl.docgen.tree import Cmd, Values, short
from rivetctl.frontend.store import COMPLETION_LIMIT, SAFE_NAME


def _zfunc(cmd: Cmd) -> str:
    return "_rivetctl" + "".join(f"_cmd_{p}" if i == 0 else f"_{p}" for i, p in enumerate(cmd.path)).replace("-", "_")


def _zdesc(text: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", short(text))


def _zmsg(text: str) -> str:
    return re.sub(r"([\\:])", r"\\\1", text)


def _zaction(values: Values) -> str:
    return {
        "choice": f"({' '.join(values.choices)})",
        "file": "_files",
        "dir": "_files -/",
        "actor": "__rivetctl_actor_names",
        "action": "__rivetctl_actions",
        "profile": "__rivetctl_profiles",
    }.get(values.kind, " ")


def _zspecs(cmd: Cmd) -> list[str]:
    specs = []
    for o in cmd.options:
        forms = [(f"{n}=" if n.startswith("--") else f"{n}+") if o.metavar else n for n in o.names]
        head = "(- *)" if o.exits else "*" if o.repeatable else f"({' '.join(o.names)})"
        tail = f"[{_zdesc(o.help)}]" + (f":{_zmsg(o.metavar)}:{_zaction(o.values)}" if o.metavar else "")
        if len(forms) == 1:
            specs.append(sh(head + forms[0] + tail))
        else:
            specs.append(f"{sh(head)}{{{','.join(forms)}}}{sh(tail)}")
    for a in cmd.args:
        prefix = "*:" if a.variadic else ":" if a.required else "::"
        specs.append(sh(f"{prefix}{_zmsg(a.label)}:{_zaction(a.values)}"))
    return specs


def _zsh_function(cmd: Cmd) -> str:
    lines = [f"{_zfunc(cmd)}() {{"]
    specs = _zspecs(cmd)
    if not cmd.commands:
        lines.append("    _arguments -s -S \\")
        lines += [f"        {s} \\" for s in specs[:-1]] + [f"        {specs[-1]}", "}"]
        return "\n".join(lines)
    described = " ".join(sh(f"{_zmsg(s.path[-1])}:{s.summary}") for s in cmd.commands)
    dispatch = "\n".join(f"                {s.path[-1]}) {_zfunc(s)} && ret=0 ;;" for s in cmd.commands)
    label = " ".join(("rivetctl", *cmd.path))
    lines += [
        "    local curcontext=$curcontext state state_descr line ret=1",
        "    typeset -A opt_args",
        "    _arguments -C -s \\",
        *[f"        {s} \\" for s in specs],
        "        '1: :->command' \\",
        "        '*:: :->args' && ret=0",
        "    case $state in",
        "        command)",
        f"            local -a commands=({described})",
        f"            _describe -t commands {sh(label + ' command')} commands && ret=0",
        "            ;;",
        "        args)",
        f"            curcontext=${{curcontext%:*:*}}:{'-'.join(('rivetctl', *cmd.path))}-$words[1]:",
        "            case $words[1] in",
        dispatch,
        "            esac",
        "            ;;",
        "    esac",
        "    return ret",
        "}",
    ]
    return "\n".join(lines)


def script(tree: Cmd) -> str:
    """The zsh completion script for the command tree."""
    functions = "\n\n".join(_zsh_function(c) for c in tree.walk())
    return _ZSH.format(
        profile_re=sh(PROFILE_RE),
        version=__version__,
        functions=functions,
        safe=SAFE_NAME,
        limit=COMPLETION_LIMIT,
    )


_ZSH = """\
#compdef rivetctl
# zsh completion for rivetctl {version}
# Generated from the command tree by scripts/generate (rivetctl completions zsh); do not edit.
#
#   rivetctl completions zsh > "${{fpath[1]}}/_rivetctl"     (or: source <(rivetctl completions zsh))
#
# Actor and action names come from the completion cache that rivetctl keeps in
# ${{XDG_CACHE_HOME:-~/.cache}}/rivetctl: a bounded read of a local file on Tab, never a network call.

# Lines of a cache file (at most {limit}) in reply.
__rivetctl_cached() {{
    local file=${{XDG_CACHE_HOME:-$HOME/.cache}}/rivetctl/$1
    reply=()
    [[ -f $file && -r $file ]] || return 0
    reply=(${{${{(f)"$(<$file)"}}[1,{limit}]}})
}}

__rivetctl_actor_names() {{
    local -a reply
    local expl
    __rivetctl_cached names.txt
    _wanted actor-names expl 'actor name' compadd -a - reply
}}

# Actions of the actor named by the command's first argument.
__rivetctl_actions() {{
    local -a reply
    local expl name=${{line[1]}}
    [[ $name =~ '^{safe}$' ]] && __rivetctl_cached actions/$name.txt
    _wanted actions expl action compadd -a - reply
}}

__rivetctl_profiles() {{
    local file=${{RIVETCTL_CONFIG:-${{XDG_CONFIG_HOME:-$HOME/.config}}/rivetctl/config.toml}} expl l
    local -a profiles match mbegin mend
    if [[ -f $file && -r $file ]]; then
        for l in ${{(f)"$(<$file)"}}; do
            [[ $l =~ {profile_re} ]] && profiles+=($match[2])
        done
    fi
    _wanted profiles expl profile compadd -a - profiles
}}

{functions}

if [[ $funcstack[1] == _rivetctl ]]; then
    _rivetctl "$@"
else
    compdef _rivetctl rivetctl
fi
"""
