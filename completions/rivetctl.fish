# fish completion for rivetctl 0.1.0
# Generated from the command tree by scripts/generate (rivetctl completions fish); do not edit.
#
#   rivetctl completions fish > ~/.config/fish/completions/rivetctl.fish
#
# Actor and action names come from the completion cache that rivetctl keeps in
# ${XDG_CACHE_HOME:-~/.cache}/rivetctl: a bounded read of a local file on Tab, never a network call.

function __rivetctl_subcommands --argument-names path
    switch $path
        case ''
            printf '%s\n' call get create destroy sleep actors describe inspect-id state connections queue sql workflow traces watch wait connect repl replay completions man dev-server ping config
        case 'config'
            printf '%s\n' set use list show delete path
    end
end

function __rivetctl_takes_value --argument-names path opt
    contains -- "$path|$opt" '|-e' '|--endpoint' '|-n' '|--namespace' '|--token' '|--encoding' '|--profile' '|-o' '|--output' '|--query' '|--timeout' '|--param' '|--params' '|--cacert' '|--inspector-token' 'call|--args' 'call|--input' 'call|--region' 'call|--repeat' 'call|--keys' 'call|--keys-from' 'call|-j' 'call|--concurrency' 'create|--input' 'create|--region' 'actors|--limit' 'state|--set' 'state|--patch' 'queue|--limit' 'queue|--send' 'sql|--arg' 'sql|--rows' 'sql|--limit' 'sql|--offset' 'workflow|--interval' 'workflow|--replay' 'watch|--count' 'watch|--state-interval' 'watch|--timestamps' 'watch|--keys' 'watch|--keys-from' 'wait|--until' 'wait|--event' 'wait|--interval' 'connect|--sub' 'connect|--linger' 'dev-server|--port' 'dev-server|--data' 'config set|--endpoint' 'config set|--namespace' 'config set|--token-env' 'config set|--token' 'config set|--encoding' 'config set|--runner' 'config set|--param' 'config set|--secret-param' 'config set|--events' 'config set|--inspector-token-env'
end

# Parse the tokens before the cursor once per command line: command path, arguments so far, whether
# the cursor is on an option's value.
function __rivetctl_parse
    set -l tokens (commandline -opc)
    set -l key (string join \x1e -- $tokens)
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

# Lines of a cache file (at most 1000).
function __rivetctl_cached --argument-names file
    set -l dir $XDG_CACHE_HOME
    test -n "$dir"; or set dir $HOME/.cache
    set file $dir/rivetctl/$file
    test -f $file -a -r $file; or return 0
    set -l lines (string match -r -- '.+' <$file)
    printf '%s\n' $lines[1..1000]
end

# Actions of the actor named by the command's first argument.
function __rivetctl_actions
    __rivetctl_parse
    string match -qr -- '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' $__rivetctl_first; or return 0
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
    string replace -rf -- '^[[:space:]]*\[profiles\.("?)([A-Za-z0-9_-]+)"?\][[:space:]]*$' '$2' <$file
end

complete -c rivetctl -e
complete -c rivetctl -f

# rivetctl
complete -c rivetctl -n '__rivetctl_arg "" 0' -a call -d 'Call an action statelessly over HTTP and print its output'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a get -d 'Show an actor if it exists: id, key, status and timestamps'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a create -d 'Create a new actor; fails if one with that key exists'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a destroy -d 'Destroy an actor (its state is deleted)'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a sleep -d 'Put an actor to sleep now (it wakes on the next request)'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a actors -d 'List the registry\'s actor names, or the actors of one name (newest first)'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a describe -d 'Describe an actor: record, actions, state summary and known events'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a inspect-id -d 'Decode an actor id, look it up (name, key, status, times) and show its inspector data'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a state -d 'Print an actor\'s state, or replace, patch or edit it (through its inspector)'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a connections -d 'List an actor\'s live connections: id, params, connection state, hibernatable'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a queue -d 'List an actor\'s queue (size, limit, messages), send a message to it, or clear it'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a sql -d 'Query an actor\'s SQLite database: one statement, its tables, their columns or rows, or a SQL shell'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a workflow -d 'Show an actor\'s workflow history as a tree; follow it, or replay it from an entry'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a traces -d 'Show an actor\'s trace spans (OpenTelemetry) as a waterfall'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a watch -d 'Stream an actor\'s events (and state changes) as table rows or JSON lines'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a wait -d 'Wait until a JMESPath condition on an actor\'s state (or an event\'s args) holds; print its value'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a connect -d 'Open a live connection to an actor (REPL on a terminal, JSON lines when scripted)'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a repl -d 'The interactive REPL (script mode when stdin is not a terminal)'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a replay -d 'Re-run the calls of a saved REPL session in order and compare each output with the recorded one'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a completions -d 'Print the shell completion script'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a man -d 'Print the man page (roff)'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a dev-server -d 'Run the bundled example actor server (real RivetKit) until Ctrl-C'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a ping -d 'Check the endpoint: health, what server it is (runtime, version, mode), round-trip time'
complete -c rivetctl -n '__rivetctl_arg "" 0' -a config -d 'Manage connection profiles (like kubectl contexts)'
complete -c rivetctl -n '__rivetctl_at ""' -s e -l endpoint -x -d 'Engine endpoint, [http(s)://][NAMESPACE[:TOKEN]@]HOST[:PORT]'
complete -c rivetctl -n '__rivetctl_at ""' -s n -l namespace -x -d 'Namespace'
complete -c rivetctl -n '__rivetctl_at ""' -l token -x -d 'Engine token'
complete -c rivetctl -n '__rivetctl_at ""' -l encoding -x -a 'json cbor bare' -d 'Wire encoding'
complete -c rivetctl -n '__rivetctl_at ""' -l profile -x -a '(__rivetctl_profiles)' -d 'Config profile to use'
complete -c rivetctl -n '__rivetctl_at ""' -s o -l output -x -a 'auto table json jsonl yaml raw csv' -d 'Output format (auto: table on a terminal, else json)'
complete -c rivetctl -n '__rivetctl_at ""' -l query -x -d 'A JMESPath expression applied to the JSON result before it is printed, in every -o mode: to a value, a record, a whole list of rows, each record of a stream'
complete -c rivetctl -n '__rivetctl_at ""' -l timeout -x -d 'Seconds to wait for an answer (for watch and wait, overall)'
complete -c rivetctl -n '__rivetctl_at ""' -l param -x -d 'Connection param KEY=VALUE (VALUE is JSON if it parses); repeatable'
complete -c rivetctl -n '__rivetctl_at ""' -l params -x -d 'Connection params as JSON or @file'
complete -c rivetctl -n '__rivetctl_at ""' -s v -l verbose -d '-v timing, -vv frames, -vvv raw bytes (secrets redacted)'
complete -c rivetctl -n '__rivetctl_at ""' -l no-color -d 'No colours (also NO_COLOR set to a non-empty value)'
complete -c rivetctl -n '__rivetctl_at ""' -l insecure -d 'Do not verify TLS certificates'
complete -c rivetctl -n '__rivetctl_at ""' -l cacert -r -F -d 'CA bundle file, or directory of CA certificates, for TLS verification'
complete -c rivetctl -n '__rivetctl_at ""' -l inspector-token -x -d 'Token for actor inspectors (state, connections, queue, sql, workflow)'
complete -c rivetctl -n '__rivetctl_at ""' -l traceback -d 'Show Python tracebacks of internal errors'
complete -c rivetctl -n '__rivetctl_at ""' -l version -d 'Print the version and exit'
complete -c rivetctl -n '__rivetctl_at ""' -s h -l help -d 'Show this message and exit'

# rivetctl call
complete -c rivetctl -n '__rivetctl_at "call"' -l args -x -d 'All arguments as a JSON array, or @file'
complete -c rivetctl -n '__rivetctl_at "call"' -l no-create -d 'Require an existing actor (never create)'
complete -c rivetctl -n '__rivetctl_at "call"' -l input -x -d 'Create input as JSON or @file (used only when the actor is created)'
complete -c rivetctl -n '__rivetctl_at "call"' -l region -x -d 'Datacenter to create the actor in'
complete -c rivetctl -n '__rivetctl_at "call"' -l repeat -x -d 'Call N times and print latency percentiles'
complete -c rivetctl -n '__rivetctl_at "call"' -l keys -x -d 'Call these actors (comma-separated keys; KEY is left out)'
complete -c rivetctl -n '__rivetctl_at "call"' -l keys-from -x -d 'Call the actors listed in FILE (or stdin: -), one key per line; a JSON array is a compound key'
complete -c rivetctl -n '__rivetctl_at "call"' -l all -d 'Call every actor of NAME (listed page by page from the engine)'
complete -c rivetctl -n '__rivetctl_at "call"' -s j -l concurrency -x -d 'Fan-out: calls in flight at once'
complete -c rivetctl -n '__rivetctl_at "call"' -l dry-run -d 'Print the equivalent curl command, one per actor (JSON on the wire; the token as "$RIVET_TOKEN") and send nothing'
complete -c rivetctl -n '__rivetctl_at "call"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "call" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'
complete -c rivetctl -n '__rivetctl_arg "call" 2' -a '(__rivetctl_actions)' -d 'action'

# rivetctl get
complete -c rivetctl -n '__rivetctl_at "get"' -l dry-run -d 'Print the equivalent curl command (JSON on the wire; the token as "$RIVET_TOKEN") and send nothing'
complete -c rivetctl -n '__rivetctl_at "get"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "get" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl create
complete -c rivetctl -n '__rivetctl_at "create"' -l input -x -d 'Create input as JSON or @file (used only when the actor is created)'
complete -c rivetctl -n '__rivetctl_at "create"' -l region -x -d 'Datacenter to create the actor in'
complete -c rivetctl -n '__rivetctl_at "create"' -l dry-run -d 'Print the equivalent curl command (JSON on the wire; the token as "$RIVET_TOKEN") and send nothing'
complete -c rivetctl -n '__rivetctl_at "create"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "create" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl destroy
complete -c rivetctl -n '__rivetctl_at "destroy"' -l dry-run -d 'Print the equivalent curl command (JSON on the wire; the token as "$RIVET_TOKEN") and send nothing'
complete -c rivetctl -n '__rivetctl_at "destroy"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "destroy" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl sleep
complete -c rivetctl -n '__rivetctl_at "sleep"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "sleep" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl actors
complete -c rivetctl -n '__rivetctl_at "actors"' -l limit -x -d 'Rows to show'
complete -c rivetctl -n '__rivetctl_at "actors"' -l all -d 'Every actor, following pages'
complete -c rivetctl -n '__rivetctl_at "actors"' -l include-destroyed -d 'Include destroyed actors'
complete -c rivetctl -n '__rivetctl_at "actors"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "actors" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl describe
complete -c rivetctl -n '__rivetctl_at "describe"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "describe" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl inspect-id
complete -c rivetctl -n '__rivetctl_at "inspect-id"' -s h -l help -d 'Show this message and exit'

# rivetctl state
complete -c rivetctl -n '__rivetctl_at "state"' -l set -x -d 'Replace the state with VALUE: JSON, @file, or - for stdin'
complete -c rivetctl -n '__rivetctl_at "state"' -l patch -x -d 'Apply an RFC 7396 JSON merge patch (JSON, @file or -)'
complete -c rivetctl -n '__rivetctl_at "state"' -l edit -d 'Edit the state in $VISUAL / $EDITOR'
complete -c rivetctl -n '__rivetctl_at "state"' -l force -d '--edit: write even if the state changed on the server meanwhile'
complete -c rivetctl -n '__rivetctl_at "state"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "state" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl connections
complete -c rivetctl -n '__rivetctl_at "connections"' -l show-secrets -d 'Show params whose key looks secret (redacted by default)'
complete -c rivetctl -n '__rivetctl_at "connections"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "connections" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl queue
complete -c rivetctl -n '__rivetctl_at "queue"' -l limit -x -d 'Messages to list'
complete -c rivetctl -n '__rivetctl_at "queue"' -l send -x -d 'Enqueue BODY on QUEUE, then list'
complete -c rivetctl -n '__rivetctl_at "queue"' -l clear -d 'Remove every message (asks on a terminal)'
complete -c rivetctl -n '__rivetctl_at "queue"' -s y -l yes -d 'Do not ask (needed for --clear off a terminal)'
complete -c rivetctl -n '__rivetctl_at "queue"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "queue" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl sql
complete -c rivetctl -n '__rivetctl_at "sql"' -l arg -x -d 'Bind VALUE to the next ? of STATEMENT; repeatable'
complete -c rivetctl -n '__rivetctl_at "sql"' -l write -d 'Allow statements that change the database (the shell then asks no more)'
complete -c rivetctl -n '__rivetctl_at "sql"' -l tables -d 'List the tables with their row and column counts'
complete -c rivetctl -n '__rivetctl_at "sql"' -l schema -d 'Print the columns of the table named as STATEMENT, or of every table'
complete -c rivetctl -n '__rivetctl_at "sql"' -l rows -x -d 'Print a page of TABLE\'s rows'
complete -c rivetctl -n '__rivetctl_at "sql"' -l limit -x -d '--rows: how many rows [default: 100]'
complete -c rivetctl -n '__rivetctl_at "sql"' -l offset -x -d '--rows: rows to skip first [default: 0]'
complete -c rivetctl -n '__rivetctl_at "sql"' -l all -d '--tables, --schema: include the runtime\'s own _rivet_* tables'
complete -c rivetctl -n '__rivetctl_at "sql"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "sql" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl workflow
complete -c rivetctl -n '__rivetctl_at "workflow"' -s f -l follow -d 'Redraw as the workflow advances, until it completes or fails'
complete -c rivetctl -n '__rivetctl_at "workflow"' -l interval -x -d 'Seconds between polls with --follow'
complete -c rivetctl -n '__rivetctl_at "workflow"' -l replay -x -d 'Re-run the workflow from this step: it and every later entry are dropped (asks on a terminal)'
complete -c rivetctl -n '__rivetctl_at "workflow"' -s y -l yes -d 'Do not ask (needed for --replay off a terminal)'
complete -c rivetctl -n '__rivetctl_at "workflow"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "workflow" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl traces
complete -c rivetctl -n '__rivetctl_at "traces"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "traces" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl watch
complete -c rivetctl -n '__rivetctl_at "watch"' -l count -x -d 'Stop after N events'
complete -c rivetctl -n '__rivetctl_at "watch"' -l until-timeout -d 'Reaching --timeout ends the watch with exit 0 (not 8)'
complete -c rivetctl -n '__rivetctl_at "watch"' -l state -l no-state -d 'Also show state changes (inspector); on for one actor, off for many'
complete -c rivetctl -n '__rivetctl_at "watch"' -l state-interval -x -d 'Seconds between state polls'
complete -c rivetctl -n '__rivetctl_at "watch"' -l timestamps -x -a 'absolute relative' -d 'Time column: absolute (ISO 8601, UTC) or relative (seconds since start)'
complete -c rivetctl -n '__rivetctl_at "watch"' -l no-create -d 'Require an existing actor'
complete -c rivetctl -n '__rivetctl_at "watch"' -l keys -x -d 'Call these actors (comma-separated keys; KEY is left out)'
complete -c rivetctl -n '__rivetctl_at "watch"' -l keys-from -x -d 'Call the actors listed in FILE (or stdin: -), one key per line; a JSON array is a compound key'
complete -c rivetctl -n '__rivetctl_at "watch"' -l all -d 'Call every actor of NAME (listed page by page from the engine)'
complete -c rivetctl -n '__rivetctl_at "watch"' -l dry-run -d 'Print the WebSocket URL, subprotocols and frames of each actor; send nothing'
complete -c rivetctl -n '__rivetctl_at "watch"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "watch" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl wait
complete -c rivetctl -n '__rivetctl_at "wait"' -l until -x -d 'JMESPath condition: on the state, or with --event on the event\'s args array'
complete -c rivetctl -n '__rivetctl_at "wait"' -l event -x -d 'Wait for this event (live connection)'
complete -c rivetctl -n '__rivetctl_at "wait"' -l interval -x -d 'Seconds between state reads (without --event)'
complete -c rivetctl -n '__rivetctl_at "wait"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "wait" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl connect
complete -c rivetctl -n '__rivetctl_at "connect"' -l sub -x -d 'Subscribe to this event; repeatable'
complete -c rivetctl -n '__rivetctl_at "connect"' -l linger -x -d 'Script mode: seconds to keep receiving events after stdin ends'
complete -c rivetctl -n '__rivetctl_at "connect"' -l wait -d 'Script mode: when the server cannot be reached, keep trying until the connection opens instead of exiting 7 (the REPL on a terminal always keeps trying)'
complete -c rivetctl -n '__rivetctl_at "connect"' -l dry-run -d 'Print the WebSocket URL, subprotocols and frames it would send (the token as "$RIVET_TOKEN", secrets as $VAR references); send nothing'
complete -c rivetctl -n '__rivetctl_at "connect"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "connect" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl repl
complete -c rivetctl -n '__rivetctl_at "repl"' -l wait -d 'Script mode: when the server cannot be reached, keep trying until the connection opens instead of exiting 7 (the REPL on a terminal always keeps trying)'
complete -c rivetctl -n '__rivetctl_at "repl"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "repl" 0' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl replay
complete -c rivetctl -n '__rivetctl_at "replay"' -l update -d 'Write the outputs of now into FILE; exit 0'
complete -c rivetctl -n '__rivetctl_at "replay"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "replay" 1' -a '(__rivetctl_cached names.txt)' -d 'actor name'

# rivetctl completions
complete -c rivetctl -n '__rivetctl_at "completions"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "completions" 0' -a 'bash zsh fish' -d 'shell'

# rivetctl man
complete -c rivetctl -n '__rivetctl_at "man"' -s h -l help -d 'Show this message and exit'

# rivetctl dev-server
complete -c rivetctl -n '__rivetctl_at "dev-server"' -l port -x -d 'Engine port (also uses PORT+1 and PORT+10)'
complete -c rivetctl -n '__rivetctl_at "dev-server"' -l data -x -a '(__fish_complete_directories (commandline -ct))' -d 'Storage dir (default: a temporary one)'
complete -c rivetctl -n '__rivetctl_at "dev-server"' -s h -l help -d 'Show this message and exit'

# rivetctl ping
complete -c rivetctl -n '__rivetctl_at "ping"' -s h -l help -d 'Show this message and exit'

# rivetctl config
complete -c rivetctl -n '__rivetctl_arg "config" 0' -a set -d 'Create or update a profile'
complete -c rivetctl -n '__rivetctl_arg "config" 0' -a use -d 'Make a profile the current one'
complete -c rivetctl -n '__rivetctl_arg "config" 0' -a list -d 'List profiles (the current one is marked)'
complete -c rivetctl -n '__rivetctl_arg "config" 0' -a show -d 'Show a profile, secrets redacted'
complete -c rivetctl -n '__rivetctl_arg "config" 0' -a delete -d 'Delete a profile'
complete -c rivetctl -n '__rivetctl_arg "config" 0' -a path -d 'Print the config file\'s path'
complete -c rivetctl -n '__rivetctl_at "config"' -s h -l help -d 'Show this message and exit'

# rivetctl config set
complete -c rivetctl -n '__rivetctl_at "config set"' -l endpoint -x -d 'Engine endpoint'
complete -c rivetctl -n '__rivetctl_at "config set"' -l namespace -x -d 'Namespace'
complete -c rivetctl -n '__rivetctl_at "config set"' -l token-env -x -d 'Environment variable that holds the token (recommended)'
complete -c rivetctl -n '__rivetctl_at "config set"' -l token -x -d 'Token stored in the file (the file is created 0600)'
complete -c rivetctl -n '__rivetctl_at "config set"' -l encoding -x -a 'json cbor bare' -d 'Wire encoding'
complete -c rivetctl -n '__rivetctl_at "config set"' -l runner -x -d 'Runner pool name for get-or-create'
complete -c rivetctl -n '__rivetctl_at "config set"' -l param -x -d 'Connection param KEY=VALUE'
complete -c rivetctl -n '__rivetctl_at "config set"' -l secret-param -x -d 'KEY=ENVVAR: the param\'s value is read from ENVVAR at use'
complete -c rivetctl -n '__rivetctl_at "config set"' -l events -x -d 'ACTOR_NAME=EVENT,EVENT: events `watch` subscribes to'
complete -c rivetctl -n '__rivetctl_at "config set"' -l inspector-token-env -x -d 'Environment variable that holds an inspector token'
complete -c rivetctl -n '__rivetctl_at "config set"' -l use -d 'Also make it the current profile'
complete -c rivetctl -n '__rivetctl_at "config set"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "config set" 0' -a '(__rivetctl_profiles)' -d 'profile name'

# rivetctl config use
complete -c rivetctl -n '__rivetctl_at "config use"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "config use" 0' -a '(__rivetctl_profiles)' -d 'profile name'

# rivetctl config list
complete -c rivetctl -n '__rivetctl_at "config list"' -s h -l help -d 'Show this message and exit'

# rivetctl config show
complete -c rivetctl -n '__rivetctl_at "config show"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "config show" 0' -a '(__rivetctl_profiles)' -d 'profile name'

# rivetctl config delete
complete -c rivetctl -n '__rivetctl_at "config delete"' -s h -l help -d 'Show this message and exit'
complete -c rivetctl -n '__rivetctl_arg "config delete" 0' -a '(__rivetctl_profiles)' -d 'profile name'

# rivetctl config path
complete -c rivetctl -n '__rivetctl_at "config path"' -s h -l help -d 'Show this message and exit'
