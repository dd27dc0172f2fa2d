"""The bash completion script, and the POSIX shell quoting and profile pattern that zsh and fish reuse."""

from __future__ import annotations

from rivetctl import __version__
from rivetctl.docgen.tree import Cmd, Values
from rivetctl.frontend.store import ACTIONS_DIR, COMPLETION_LIMIT, NAMES_FILE, SAFE_NAME

PROFILE_RE = r'^[[:space:]]*\[profiles\.("?)([A-Za-z0-9_-]+)"?\][[:space:]]*$'
"""A profile's table header in config.toml (POSIX ERE; group 2 is the name), for the scripts."""


def sh(text: str) -> str:
    """A single-quoted POSIX shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


def _kind(values: Values) -> str:
    return f"choice:{' '.join(values.choices)}" if values.kind == "choice" else values.kind


def _arg_cases(cmd: Cmd, branch: str, rest: str) -> str:
    """``case $2 in 0) ...`` over a command's positional arguments (a variadic last one repeats)."""
    parts = [branch.format(i=i, kind=sh(_kind(a.values))) for i, a in enumerate(cmd.args) if not a.variadic]
    last = cmd.args[-1]
    parts.append(branch.format(i="*", kind=sh(_kind(last.values))) if last.variadic else rest)
    return " ".join(parts)


def script(tree: Cmd) -> str:
    """The bash completion script for the command tree."""
    cmds = list(tree.walk())
    subs = [f"        {sh(c.key)}) REPLY={sh(' '.join(s.path[-1] for s in c.commands))} ;;" for c in cmds if c.commands]
    opts = [f"        {sh(c.key)}) REPLY={sh(' '.join(n for o in c.options for n in o.names))} ;;" for c in cmds]
    vals = [
        f"        {'|'.join(sh(f'{c.key}|{f}') for f in o.flags)}) REPLY={sh(_kind(o.values))} ;;"
        for c in cmds
        for o in c.options
        if o.metavar
    ]
    args = [
        f"        {sh(c.key)}) case $2 in {_arg_cases(c, '{i}) REPLY={kind} ;;', '*) return 1 ;;')} esac ;;"
        for c in cmds
        if c.args
    ]
    return _BASH.format(
        profile_re=sh(PROFILE_RE),
        version=__version__,
        subcommands="\n".join(subs),
        options="\n".join(opts),
        optvals="\n".join(vals),
        args="\n".join(args),
        safe=SAFE_NAME,
        limit=COMPLETION_LIMIT,
        names=NAMES_FILE,
        actions=ACTIONS_DIR,
    )


_BASH = """\
# bash completion for rivetctl {version}                        -*- shell-script -*-
# Generated from the command tree by scripts/generate (rivetctl completions bash); do not edit.
#
#   rivetctl completions bash > ~/.local/share/bash-completion/completions/rivetctl
#
# Actor and action names come from the completion cache that rivetctl keeps in
# ${{XDG_CACHE_HOME:-~/.cache}}/rivetctl: a bounded read of a local file on Tab, never a network call.

# The subcommands of command path $1 ('' is rivetctl itself).
_rivetctl_subcommands() {{
    case $1 in
{subcommands}
        *) return 1 ;;
    esac
}}

# The options of command path $1.
_rivetctl_options() {{
    case $1 in
{options}
        *) REPLY='' ;;
    esac
}}

# What completes the value of option $2 of command path $1; fails when $2 takes no value.
_rivetctl_optval() {{
    case "$1|$2" in
{optvals}
        *) return 1 ;;
    esac
}}

# What completes positional argument $2 (from 0) of command path $1; fails when there is none.
_rivetctl_arg() {{
    case $1 in
{args}
        *) return 1 ;;
    esac
}}

# Lines of a cache file (at most {limit}), as one string in REPLY.
_rivetctl_cached() {{
    local file=${{XDG_CACHE_HOME:-$HOME/.cache}}/rivetctl/$1 line n=0
    REPLY=''
    [[ -f $file && -r $file ]] || return 0
    while (( n++ < {limit} )) && IFS= read -r line; do
        REPLY+=" $line"
    done < "$file"
}}

# Profile names in the config file, as one string in REPLY.
_rivetctl_profiles() {{
    local file=${{RIVETCTL_CONFIG:-${{XDG_CONFIG_HOME:-$HOME/.config}}/rivetctl/config.toml}} line n=0
    local re={profile_re}
    REPLY=''
    [[ -f $file && -r $file ]] || return 0
    while (( n++ < 10000 )) && IFS= read -r line; do
        [[ $line =~ $re ]] && REPLY+=" ${{BASH_REMATCH[2]}}"
    done < "$file"
}}

# Fill COMPREPLY for the word $cur from a kind (_rivetctl_optval, _rivetctl_arg); $2 is the actor name.
_rivetctl_values() {{
    local REPLY
    case $1 in
        choice:*) REPLY=${{1#choice:}} ;;
        actor) _rivetctl_cached {names} ;;
        action) REPLY=''; [[ $2 =~ ^{safe}$ ]] && _rivetctl_cached "{actions}/$2.txt" ;;
        profile) _rivetctl_profiles ;;
        file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
        dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
        *) return 0 ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
}}

# COMP_WORDS up to the cursor, joined again where readline split a word at a COMP_WORDBREAKS character
# (no blank in between), so that --output=json and http://host:6420 are one word each.
_rivetctl_words() {{
    local line=${{COMP_LINE:0:COMP_POINT}} rest word i
    words=()
    for (( i = 0; i <= COMP_CWORD; i++ )); do
        word=${{COMP_WORDS[i]}}
        rest=${{line#"${{line%%[![:space:]]*}}"}}
        if (( i > 0 )) && (( ${{#rest}} == ${{#line}} )); then
            words[${{#words[@]}}-1]+=$word
        else
            words+=("$word")
        fi
        line=${{rest:${{#word}}}}
    done
}}

_rivetctl() {{
    local -a words
    local cur word path='' opt='' first='' REPLY i npos=0 skip=0 dashdash=0
    COMPREPLY=()
    _rivetctl_words
    cur=${{words[${{#words[@]}}-1]}}
    # Walk the words before the cursor: the command path, the option awaiting a value, the arguments.
    for (( i = 1; i < ${{#words[@]}} - 1; i++ )); do
        word=${{words[i]}}
        if (( skip )); then
            skip=0
        elif (( !dashdash )) && [[ $word == -- ]]; then
            dashdash=1
        elif (( !dashdash )) && [[ $word == -?* ]]; then
            _rivetctl_optval "$path" "$word" && skip=1 opt=$word
        elif (( npos == 0 )) && _rivetctl_subcommands "$path" && [[ " $REPLY " == *" $word "* ]]; then
            path=${{path:+$path }}$word
        else
            (( npos++ )) || first=$word
        fi
    done
    local typed=$cur
    if (( skip )); then
        _rivetctl_optval "$path" "$opt"
        _rivetctl_values "$REPLY" "$first"
    elif (( !dashdash )) && [[ $cur == -* ]]; then
        if [[ $cur == --*=* ]] && _rivetctl_optval "$path" "${{cur%%=*}}"; then
            local prefix=${{cur%%=*}}=
            cur=${{cur#*=}}
            _rivetctl_values "$REPLY" "$first"
            for i in "${{!COMPREPLY[@]}}"; do COMPREPLY[i]=$prefix${{COMPREPLY[i]}}; done
        else
            _rivetctl_options "$path"
            mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
        fi
    elif (( npos == 0 )) && _rivetctl_subcommands "$path"; then
        mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
    elif _rivetctl_arg "$path" "$npos"; then
        _rivetctl_values "$REPLY" "$first"
    fi
    # Readline replaces only the text after the last word break (--output=j: the j), so drop the rest.
    local line=${{COMP_LINE:0:COMP_POINT}} part
    [[ -n $COMP_WORDBREAKS ]] && part=${{line##*[$COMP_WORDBREAKS]}} || part=$line
    if [[ $typed != "$part" && $typed == *"$part" ]]; then
        local strip=${{typed%"$part"}}
        COMPREPLY=("${{COMPREPLY[@]#"$strip"}}")
    fi
    return 0
}}

complete -F _rivetctl rivetctl
"""
