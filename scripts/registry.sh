#!/usr/bin/env bash
# A throwaway OCI registry on 127.0.0.1 for tests and demos: Debian's
# docker-registry (distribution 2.8) with filesystem storage in a temp dir.
#
#   registry.sh start [--htpasswd USER:PASSWORD] [--name NAME]   prints 127.0.0.1:PORT
#   registry.sh stop [--name NAME]
#   registry.sh address [--name NAME]                            prints 127.0.0.1:PORT
#
# Several registries may run at once under different names (default: "default").
# State (pid, port, dir) lives in ${XDG_RUNTIME_DIR:-/tmp}/imagekit-registry-NAME/.
set -euo pipefail

registry_bin=/usr/bin/docker-registry
ready_timeout=20

die() { printf 'registry: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'registry: %s\n' "$*" >&2; }

usage() {
    cat >&2 <<'EOF'
usage: registry.sh start [--htpasswd USER:PASSWORD] [--name NAME]
       registry.sh stop [--name NAME]
       registry.sh address [--name NAME]
EOF
    exit 2
}

state_dir_for() { printf '%s/imagekit-registry-%s\n' "${XDG_RUNTIME_DIR:-/tmp}" "$1"; }

# True when the pid recorded in STATE is alive and is still our registry
# (guards against pid reuse after a reboot or a crash).
is_running() {
    local state="$1" pid dir
    [[ -f "$state/pid" && -f "$state/dir" ]] || return 1
    pid="$(<"$state/pid")"
    dir="$(<"$state/dir")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/config.yml"
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# HTTP status of GET /v2/, or 000 when nothing answers.
v2_status() {
    curl --noproxy '*' -s -o /dev/null -m 2 -w '%{http_code}' "http://$1/v2/" 2>/dev/null || true
}

write_config() {
    local dir="$1" port="$2" htpasswd_file="$3"
    {
        cat <<EOF
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  headers:
    X-Content-Type-Options: [nosniff]
EOF
        if [[ -n "$htpasswd_file" ]]; then
            cat <<EOF
auth:
  htpasswd:
    realm: imagekit-test-registry
    path: $htpasswd_file
EOF
        fi
    } >"$dir/config.yml.tmp"
    mv "$dir/config.yml.tmp" "$dir/config.yml"
}

cmd_start() {
    local name="$1" credentials="$2"
    local state
    state="$(state_dir_for "$name")"

    [[ -x "$registry_bin" ]] || die "$registry_bin not found; run scripts/setup.sh (package docker-registry)"
    command -v curl >/dev/null || die "curl not found; run scripts/setup.sh"
    if is_running "$state"; then
        die "a registry named '$name' is already running at 127.0.0.1:$(<"$state/port"); stop it with: $0 stop --name $name"
    fi
    rm -rf "$state"

    local user="" password="" htpasswd_file=""
    if [[ -n "$credentials" ]]; then
        [[ "$credentials" == *:* ]] || die "--htpasswd expects USER:PASSWORD, got '$credentials'"
        user="${credentials%%:*}"
        password="${credentials#*:}"
        [[ -n "$user" && -n "$password" ]] || die "--htpasswd expects a non-empty USER and PASSWORD"
        command -v htpasswd >/dev/null || die "htpasswd not found; run scripts/setup.sh (package apache2-utils)"
    fi

    local dir
    dir="$(mktemp -d "${TMPDIR:-/tmp}/imagekit-registry-$name.XXXXXX")"
    mkdir -p "$dir/storage"
    if [[ -n "$user" ]]; then
        htpasswd_file="$dir/htpasswd"
        # The registry only accepts bcrypt entries.
        htpasswd -Bbn "$user" "$password" >"$htpasswd_file"
    fi

    # Another process can take the port between the probe and the bind:
    # retry with a fresh port when the registry dies right away.
    local attempt port pid status
    for attempt in 1 2 3; do
        port="$(free_port)"
        write_config "$dir" "$port" "$htpasswd_file"
        # A session of its own: the registry outlives the caller's terminal
        # and process group; all output goes to the log, never to the
        # caller's pipes (or `$(registry.sh start)` would never return).
        setsid "$registry_bin" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
        pid=$!
        local deadline=$((SECONDS + ready_timeout))
        status=000
        while ((SECONDS < deadline)); do
            if ! kill -0 "$pid" 2>/dev/null; then
                status=dead
                break
            fi
            status="$(v2_status "127.0.0.1:$port")"
            [[ "$status" == 200 || "$status" == 401 ]] && break
            sleep 0.1
        done
        if [[ "$status" == 200 || "$status" == 401 ]]; then
            # setsid forks when started as a process-group leader (a caller
            # with job control); then $! is not the registry itself.
            if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/config.yml"; then
                pid="$(pgrep -o -f -- "$dir/config.yml")" || die "the registry answers but its pid cannot be found"
            fi
            break
        fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        if [[ "$status" == dead ]] && grep -q 'address already in use' "$dir/registry.log" && ((attempt < 3)); then
            log "port $port was taken meanwhile; retrying"
            continue
        fi
        local tail_log
        tail_log="$(tail -n 20 "$dir/registry.log" 2>/dev/null || true)"
        rm -rf "$dir"
        die "the registry did not answer GET http://127.0.0.1:$port/v2/ within ${ready_timeout}s (last status: $status). Its log:
$tail_log"
    done

    mkdir -p "$state"
    printf '%s\n' "$pid" >"$state/pid.tmp" && mv "$state/pid.tmp" "$state/pid"
    printf '%s\n' "$port" >"$state/port.tmp" && mv "$state/port.tmp" "$state/port"
    printf '%s\n' "$dir" >"$state/dir.tmp" && mv "$state/dir.tmp" "$state/dir"
    log "'$name' listening on 127.0.0.1:$port (pid $pid, data $dir${user:+, htpasswd user $user})"
    printf '127.0.0.1:%s\n' "$port"
}

cmd_stop() {
    local name="$1" state pid dir
    state="$(state_dir_for "$name")"
    if [[ ! -d "$state" ]]; then
        log "no registry named '$name' is running; nothing to stop"
        return 0
    fi
    dir="$(cat "$state/dir" 2>/dev/null || true)"
    if is_running "$state"; then
        pid="$(<"$state/pid")"
        kill "$pid" 2>/dev/null || true
        local i
        for i in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid ignored SIGTERM for ${i}00 ms; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Only ever remove a directory this script created.
    if [[ -n "$dir" && -d "$dir" && "$(basename "$dir")" == imagekit-registry-"$name".* ]]; then
        rm -rf "$dir"
    fi
    rm -rf "$state"
    log "'$name' stopped"
}

cmd_address() {
    local name="$1" state
    state="$(state_dir_for "$name")"
    is_running "$state" || die "no registry named '$name' is running; start one with: $0 start --name $name"
    printf '127.0.0.1:%s\n' "$(<"$state/port")"
}

main() {
    [[ $# -ge 1 ]] || usage
    local command="$1"
    shift
    local name=default credentials=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --name) [[ $# -ge 2 ]] || die "--name needs a value"; name="$2"; shift 2 ;;
            --name=*) name="${1#*=}"; shift ;;
            --htpasswd) [[ $# -ge 2 ]] || die "--htpasswd needs USER:PASSWORD"; credentials="$2"; shift 2 ;;
            --htpasswd=*) credentials="${1#*=}"; shift ;;
            -h|--help) usage ;;
            *) die "unknown argument '$1' (see: $0 --help)" ;;
        esac
    done
    [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "--name must be letters, digits, '.', '_' or '-', got '$name'"
    case "$command" in
        start) cmd_start "$name" "$credentials" ;;
        stop)
            [[ -z "$credentials" ]] || die "--htpasswd only applies to start"
            cmd_stop "$name" ;;
        address)
            [[ -z "$credentials" ]] || die "--htpasswd only applies to start"
            cmd_address "$name" ;;
        -h|--help|help) usage ;;
        *) die "unknown command '$command'; expected start, stop or address" ;;
    esac
}

main "$@"
