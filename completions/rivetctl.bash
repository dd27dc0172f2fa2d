# bash completion for rivetctl 0.1.0                        -*- shell-script -*-
# Generated from the command tree by scripts/generate (rivetctl completions bash); do not edit.
#
#   rivetctl completions bash > ~/.local/share/bash-completion/completions/rivetctl
#
# Actor and action names come from the completion cache that rivetctl keeps in
# ${XDG_CACHE_HOME:-~/.cache}/rivetctl: a bounded read of a local file on Tab, never a network call.

# The subcommands of command path $1 ('' is rivetctl itself).
_rivetctl_subcommands() {
    case $1 in
        '') REPLY='call get create destroy sleep actors describe inspect-id state connections queue sql workflow traces watch wait connect repl replay completions man dev-server ping config' ;;
        'config') REPLY='set use list show delete path' ;;
        *) return 1 ;;
    esac
}

# The options of command path $1.
_rivetctl_options() {
    case $1 in
        '') REPLY='-e --endpoint -n --namespace --token --encoding --profile -o --output --query --timeout --param --params -v --verbose --no-color --insecure --cacert --inspector-token --traceback --version -h --help' ;;
        'call') REPLY='--args --no-create --input --region --repeat --keys --keys-from --all -j --concurrency --dry-run -h --help' ;;
        'get') REPLY='--dry-run -h --help' ;;
        'create') REPLY='--input --region --dry-run -h --help' ;;
        'destroy') REPLY='--dry-run -h --help' ;;
        'sleep') REPLY='-h --help' ;;
        'actors') REPLY='--limit --all --include-destroyed -h --help' ;;
        'describe') REPLY='-h --help' ;;
        'inspect-id') REPLY='-h --help' ;;
        'state') REPLY='--set --patch --edit --force -h --help' ;;
        'connections') REPLY='--show-secrets -h --help' ;;
        'queue') REPLY='--limit --send --clear -y --yes -h --help' ;;
        'sql') REPLY='--arg --write --tables --schema --rows --limit --offset --all -h --help' ;;
        'workflow') REPLY='-f --follow --interval --replay -y --yes -h --help' ;;
        'traces') REPLY='-h --help' ;;
        'watch') REPLY='--count --until-timeout --state --no-state --state-interval --timestamps --no-create --keys --keys-from --all --dry-run -h --help' ;;
        'wait') REPLY='--until --event --interval -h --help' ;;
        'connect') REPLY='--sub --linger --wait --dry-run -h --help' ;;
        'repl') REPLY='--wait -h --help' ;;
        'replay') REPLY='--update -h --help' ;;
        'completions') REPLY='-h --help' ;;
        'man') REPLY='-h --help' ;;
        'dev-server') REPLY='--port --data -h --help' ;;
        'ping') REPLY='-h --help' ;;
        'config') REPLY='-h --help' ;;
        'config set') REPLY='--endpoint --namespace --token-env --token --encoding --runner --param --secret-param --events --inspector-token-env --use -h --help' ;;
        'config use') REPLY='-h --help' ;;
        'config list') REPLY='-h --help' ;;
        'config show') REPLY='-h --help' ;;
        'config delete') REPLY='-h --help' ;;
        'config path') REPLY='-h --help' ;;
        *) REPLY='' ;;
    esac
}

# What completes the value of option $2 of command path $1; fails when $2 takes no value.
_rivetctl_optval() {
    case "$1|$2" in
        '|-e'|'|--endpoint') REPLY='' ;;
        '|-n'|'|--namespace') REPLY='' ;;
        '|--token') REPLY='' ;;
        '|--encoding') REPLY='choice:json cbor bare' ;;
        '|--profile') REPLY='profile' ;;
        '|-o'|'|--output') REPLY='choice:auto table json jsonl yaml raw csv' ;;
        '|--query') REPLY='' ;;
        '|--timeout') REPLY='' ;;
        '|--param') REPLY='' ;;
        '|--params') REPLY='' ;;
        '|--cacert') REPLY='file' ;;
        '|--inspector-token') REPLY='' ;;
        'call|--args') REPLY='' ;;
        'call|--input') REPLY='' ;;
        'call|--region') REPLY='' ;;
        'call|--repeat') REPLY='' ;;
        'call|--keys') REPLY='' ;;
        'call|--keys-from') REPLY='' ;;
        'call|-j'|'call|--concurrency') REPLY='' ;;
        'create|--input') REPLY='' ;;
        'create|--region') REPLY='' ;;
        'actors|--limit') REPLY='' ;;
        'state|--set') REPLY='' ;;
        'state|--patch') REPLY='' ;;
        'queue|--limit') REPLY='' ;;
        'queue|--send') REPLY='' ;;
        'sql|--arg') REPLY='' ;;
        'sql|--rows') REPLY='' ;;
        'sql|--limit') REPLY='' ;;
        'sql|--offset') REPLY='' ;;
        'workflow|--interval') REPLY='' ;;
        'workflow|--replay') REPLY='' ;;
        'watch|--count') REPLY='' ;;
        'watch|--state-interval') REPLY='' ;;
        'watch|--timestamps') REPLY='choice:absolute relative' ;;
        'watch|--keys') REPLY='' ;;
        'watch|--keys-from') REPLY='' ;;
        'wait|--until') REPLY='' ;;
        'wait|--event') REPLY='' ;;
        'wait|--interval') REPLY='' ;;
        'connect|--sub') REPLY='' ;;
        'connect|--linger') REPLY='' ;;
        'dev-server|--port') REPLY='' ;;
        'dev-server|--data') REPLY='dir' ;;
        'config set|--endpoint') REPLY='' ;;
        'config set|--namespace') REPLY='' ;;
        'config set|--token-env') REPLY='' ;;
        'config set|--token') REPLY='' ;;
        'config set|--encoding') REPLY='choice:json cbor bare' ;;
        'config set|--runner') REPLY='' ;;
        'config set|--param') REPLY='' ;;
        'config set|--secret-param') REPLY='' ;;
        'config set|--events') REPLY='' ;;
        'config set|--inspector-token-env') REPLY='' ;;
        *) return 1 ;;
    esac
}

# What completes positional argument $2 (from 0) of command path $1; fails when there is none.
_rivetctl_arg() {
    case $1 in
        'call') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; 2) REPLY='action' ;; *) REPLY='' ;; esac ;;
        'get') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'create') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'destroy') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'sleep') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'actors') case $2 in 0) REPLY='actor' ;; *) return 1 ;; esac ;;
        'describe') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'inspect-id') case $2 in 0) REPLY='' ;; *) return 1 ;; esac ;;
        'state') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'connections') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'queue') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'sql') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; 2) REPLY='' ;; *) return 1 ;; esac ;;
        'workflow') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'traces') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'watch') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) REPLY='' ;; esac ;;
        'wait') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'connect') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'repl') case $2 in 0) REPLY='actor' ;; 1) REPLY='' ;; *) return 1 ;; esac ;;
        'replay') case $2 in 0) REPLY='' ;; 1) REPLY='actor' ;; 2) REPLY='' ;; *) return 1 ;; esac ;;
        'completions') case $2 in 0) REPLY='choice:bash zsh fish' ;; *) return 1 ;; esac ;;
        'config set') case $2 in 0) REPLY='profile' ;; *) return 1 ;; esac ;;
        'config use') case $2 in 0) REPLY='profile' ;; *) return 1 ;; esac ;;
        'config show') case $2 in 0) REPLY='profile' ;; *) return 1 ;; esac ;;
        'config delete') case $2 in 0) REPLY='profile' ;; *) return 1 ;; esac ;;
        *) return 1 ;;
    esac
}

# Lines of a cache file (at most 1000), as one string in REPLY.
_rivetctl_cached() {
    local file=${XDG_CACHE_HOME:-$HOME/.cache}/rivetctl/$1 line n=0
    REPLY=''
    [[ -f $file && -r $file ]] || return 0
    while (( n++ < 1000 )) && IFS= read -r line; do
        REPLY+=" $line"
    done < "$file"
}

# Profile names in the config file, as one string in REPLY.
_rivetctl_profiles() {
    local file=${RIVETCTL_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/rivetctl/config.toml} line n=0
    local re='^[[:space:]]*\[profiles\.("?)([A-Za-z0-9_-]+)"?\][[:space:]]*$'
    REPLY=''
    [[ -f $file && -r $file ]] || return 0
    while (( n++ < 10000 )) && IFS= read -r line; do
        [[ $line =~ $re ]] && REPLY+=" ${BASH_REMATCH[2]}"
    done < "$file"
}

# Fill COMPREPLY for the word $cur from a kind (_rivetctl_optval, _rivetctl_arg); $2 is the actor name.
_rivetctl_values() {
    local REPLY
    case $1 in
        choice:*) REPLY=${1#choice:} ;;
        actor) _rivetctl_cached names.txt ;;
        action) REPLY=''; [[ $2 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] && _rivetctl_cached "actions/$2.txt" ;;
        profile) _rivetctl_profiles ;;
        file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
        dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
        *) return 0 ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
}

# COMP_WORDS up to the cursor, joined again where readline split a word at a COMP_WORDBREAKS character
# (no blank in between), so that --output=json and http://host:6420 are one word each.
_rivetctl_words() {
    local line=${COMP_LINE:0:COMP_POINT} rest word i
    words=()
    for (( i = 0; i <= COMP_CWORD; i++ )); do
        word=${COMP_WORDS[i]}
        rest=${line#"${line%%[![:space:]]*}"}
        if (( i > 0 )) && (( ${#rest} == ${#line} )); then
            words[${#words[@]}-1]+=$word
        else
            words+=("$word")
        fi
        line=${rest:${#word}}
    done
}

_rivetctl() {
    local -a words
    local cur word path='' opt='' first='' REPLY i npos=0 skip=0 dashdash=0
    COMPREPLY=()
    _rivetctl_words
    cur=${words[${#words[@]}-1]}
    # Walk the words before the cursor: the command path, the option awaiting a value, the arguments.
    for (( i = 1; i < ${#words[@]} - 1; i++ )); do
        word=${words[i]}
        if (( skip )); then
            skip=0
        elif (( !dashdash )) && [[ $word == -- ]]; then
            dashdash=1
        elif (( !dashdash )) && [[ $word == -?* ]]; then
            _rivetctl_optval "$path" "$word" && skip=1 opt=$word
        elif (( npos == 0 )) && _rivetctl_subcommands "$path" && [[ " $REPLY " == *" $word "* ]]; then
            path=${path:+$path }$word
        else
            (( npos++ )) || first=$word
        fi
    done
    local typed=$cur
    if (( skip )); then
        _rivetctl_optval "$path" "$opt"
        _rivetctl_values "$REPLY" "$first"
    elif (( !dashdash )) && [[ $cur == -* ]]; then
        if [[ $cur == --*=* ]] && _rivetctl_optval "$path" "${cur%%=*}"; then
            local prefix=${cur%%=*}=
            cur=${cur#*=}
            _rivetctl_values "$REPLY" "$first"
            for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=$prefix${COMPREPLY[i]}; done
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
    local line=${COMP_LINE:0:COMP_POINT} part
    [[ -n $COMP_WORDBREAKS ]] && part=${line##*[$COMP_WORDBREAKS]} || part=$line
    if [[ $typed != "$part" && $typed == *"$part" ]]; then
        local strip=${typed%"$part"}
        COMPREPLY=("${COMPREPLY[@]#"$strip"}")
    fi
    return 0
}

complete -F _rivetctl rivetctl
