#!/usr/bin/env bash
# Import benchmark: how fast does a ~500 MB root filesystem become an image in
# a local store? imagekit against podman and umoci, on the same tree.
#
#   bench/import.sh
#
# Environment:
#   BENCH_RUNS   runs per tool (default 3; run 1 is the cold run, reported apart)
#   BENCH_TOOLS  comma-separated subset of imagekit,podman,umoci (default: all)
#   BENCH_OUT    where results go (default /tmp/imagekit-bench)
#   IMAGEKIT     the imagekit binary (default: PATH, .build/release, .build/debug)
#   IMAGEKIT_FIXTURE_CACHE  where the base fixture and the tree are cached
#
# Needs root (the tree keeps real owners; podman and umoci run rootful).
set -euo pipefail

bench_dir="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
repo_root="$(bench_repo_root)"

runs="${BENCH_RUNS:-3}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive integer, got '$runs'"
IFS=, read -r -a tools <<<"${BENCH_TOOLS:-imagekit,podman,umoci}"
for t in "${tools[@]}"; do
    case "$t" in imagekit|podman|umoci) ;; *) bench_die "BENCH_TOOLS: unknown tool '$t' (expected imagekit, podman, umoci)" ;; esac
done
[[ $EUID -eq 0 ]] || bench_die "run as root: the tree keeps real owners and podman/umoci run rootful (sudo $0)"
for tool in tar du python3 flock; do
    command -v "$tool" >/dev/null || bench_die "'$tool' not found; run scripts/setup.sh"
done
[[ -x /usr/bin/time ]] || bench_die "/usr/bin/time not found; run scripts/setup.sh (package time)"

cache_dir="${IMAGEKIT_FIXTURE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagekit/fixtures}"
default_requirements=(streamlit requests plotly python-dateutil)

# ---------------------------------------------------------------------------
# The tree: the base fixture plus the dashboard's Python dependencies in a
# venv at /opt/venv, the shape of the image the project ships.

requirements_text() {
    if [[ -f "$repo_root/streamlit_ui/requirements.txt" ]]; then
        cat "$repo_root/streamlit_ui/requirements.txt"
    else
        printf '%s\n' "${default_requirements[@]}"
    fi
}

# Python 3.11, the minor version of bookworm's python3, so the wheels fit the
# tree's interpreter. Debian's own interpreter first.
host_python() {
    local p
    for p in /usr/bin/python3.11 "$(command -v python3.11 || true)"; do
        if [[ -n "$p" && -x "$p" ]]; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    bench_die "python3.11 not found (the tree's interpreter is 3.11; wheels must match); run scripts/setup.sh"
}

# Moves a venv made at OLD into the tree as /opt/venv: the interpreter links
# and pyvenv.cfg point at the tree's /usr/bin/python3, and the scripts'
# shebangs and activate files at /opt/venv.
relocate_venv() {
    local old="$1" tree="$2"
    local new=/opt/venv
    mkdir -p "$tree/opt"
    cp -a "$old" "$tree$new"
    local bin="$tree$new/bin" f
    for f in "$bin"/python "$bin"/python3 "$bin"/python3.*; do
        [[ -L "$f" ]] || continue
        ln -sfn /usr/bin/python3 "$f"
    done
    sed -i -e 's|^home = .*|home = /usr/bin|' \
        -e 's|^executable = .*|executable = /usr/bin/python3.11|' \
        -e "s|^command = .*|command = /usr/bin/python3 -m venv $new|" "$tree$new/pyvenv.cfg"
    grep -rlIF -- "$old" "$bin" | while IFS= read -r f; do
        sed -i "s|$old|$new|g" "$f"
    done
}

build_tree() {
    local tree="$1" base_tarball python
    base_tarball="$("$repo_root/scripts/base-fixture.sh")"
    python="$(host_python)"
    mkdir -p "$tree"
    bench_log "unpacking $base_tarball"
    tar -C "$tree" --numeric-owner -xpf "$base_tarball"

    local venv_work
    venv_work="$(mktemp -d "${TMPDIR:-/tmp}/bench-venv.XXXXXX")"
    # Removed by the caller's trap too, if this fails half-way.
    printf '%s\n' "$venv_work" >"$tree.venv-work"
    bench_log "creating a venv with $python and installing: $(requirements_text | tr '\n' ' ')"
    "$python" -m venv "$venv_work/venv"
    "$venv_work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
        -r <(requirements_text) >&2 \
        || bench_die "pip install failed (PyPI reachable? see the pip output above)"
    relocate_venv "$venv_work/venv" "$tree"
    rm -rf "$venv_work" "$tree.venv-work"

    bench_log "checking the venv inside the tree"
    chroot "$tree" /opt/venv/bin/python -c 'import streamlit, plotly, requests, dateutil' \
        || bench_die "the relocated venv cannot import the dashboard's packages inside the tree"
}

# Cached like the base fixture, keyed by the code that builds the tree (the
# functions above, not the timing code below), the requirements and the base
# tarball; built under a temp name, renamed when complete.
# Sets the global `tree` (not a command substitution: the cleanup trap must
# see `partial_tree`).
ensure_tree() {
    local base key
    base="$(basename "$("$repo_root/scripts/base-fixture.sh")" .tar)"
    key="$( { declare -f requirements_text host_python relocate_venv build_tree; requirements_text; printf '%s\n' "$base"; } | sha256sum | cut -c1-16)"
    tree="$cache_dir/bench-import-tree-$key"
    [[ -d "$tree" ]] && return 0
    mkdir -p "$cache_dir"
    exec 8>"$cache_dir/.bench-import-tree.lock"
    flock 8
    if [[ ! -d "$tree" ]]; then
        local partial="$tree.partial.$$"
        partial_tree="$partial"
        bench_log "building the benchmark tree (once; cached in $tree)"
        build_tree "$partial"
        mv "$partial" "$tree"
        partial_tree=""
    fi
    exec 8>&-
}

# ---------------------------------------------------------------------------
# One timed run per tool. Each starts from an empty store in $run_dir; setup
# that is not the import itself stays outside the timing where it can.

podman_driver=""

run_imagekit() {
    local run_dir="$1" log="$2"
    bench_time "$log" "$imagekit" --store "$run_dir/store" import "$tree" -t bench:1
}

# podman refuses a runroot longer than 50 characters: those live under a
# short directory of their own.
podman_runroot() { printf '%s/%s\n' "$short_tmp" "$(basename "$1")"; }

podman_cmd() {
    local run_dir="$1" driver="$2"
    printf 'tar -C %q -cf - . | podman --root %q --runroot %q --storage-driver %q --events-backend file import - bench:1' \
        "$tree" "$run_dir/root" "$(podman_runroot "$run_dir")" "$driver"
}

# overlay when the kernel lets this process mount it, vfs otherwise: probed
# once with a one-file image, outside the timings.
probe_podman_driver() {
    local dir="$work/podman-probe" log="$work/podman-probe.log"
    mkdir -p "$dir/src"
    printf 'probe\n' >"$dir/src/probe"
    if tar -C "$dir/src" -cf - . | podman --root "$dir/root" --runroot "$(podman_runroot "$dir")" \
        --storage-driver overlay --events-backend file import - probe:1 >"$log" 2>&1; then
        podman_driver=overlay
    else
        bench_log "podman cannot use the overlay storage driver here ($(tail -n 1 "$log")); using vfs"
        podman_driver=vfs
    fi
    remove_run_dir "$dir"
}

run_podman() {
    local run_dir="$1" log="$2"
    bench_time "$log" bash -o pipefail -c "$(podman_cmd "$run_dir" "$podman_driver")"
}

run_umoci() {
    local run_dir="$1" log="$2"
    # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
    bench_time "$log" bash -c 'umoci init --layout "$1" && umoci new --image "$1:x" && umoci insert --image "$1:x" "$2" /' \
        bash "$run_dir/layout" "$tree"
}

# Unmounts anything podman left under DIR before removing it.
remove_run_dir() {
    local dir="$1" m
    while IFS= read -r m; do
        if [[ -n "$m" ]]; then umount -l "$m" 2>/dev/null || true; fi
    done < <(findmnt -rn -o TARGET | awk -v r="$dir" 'index($0, r "/") == 1' | sort -r)
    rm -rf --one-file-system "$dir"
}

# ---------------------------------------------------------------------------

work="$(mktemp -d "${TMPDIR:-/tmp}/imagekit-bench-import.XXXXXX")"
short_tmp="$(mktemp -d /tmp/ikb.XXXXXX)"
partial_tree=""
cleanup() {
    local status=$?
    if [[ -n "$partial_tree" ]]; then
        [[ -f "$partial_tree.venv-work" ]] && rm -rf "$(<"$partial_tree.venv-work")" "$partial_tree.venv-work"
        rm -rf --one-file-system "$partial_tree"
    fi
    remove_run_dir "$work"
    remove_run_dir "$short_tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tree=""
ensure_tree
tree_bytes="$(du -sb "$tree" | cut -f1)"
tree_files="$(find "$tree" | wc -l)"
bench_log "tree: $tree ($((tree_bytes / 1000000)) MB, $tree_files entries)"

imagekit=""
selected=()
for t in "${tools[@]}"; do
    case "$t" in
        imagekit)
            if imagekit="$(bench_find_imagekit)"; then
                selected+=(imagekit)
            else
                bench_log "imagekit not found (set IMAGEKIT or build it with scripts/setup.sh); measuring the others only"
            fi ;;
        podman|umoci)
            if command -v "$t" >/dev/null; then
                selected+=("$t")
            else
                bench_log "$t not found; run scripts/setup.sh. Skipping it"
            fi ;;
    esac
done
[[ ${#selected[@]} -gt 0 ]] || bench_die "no tool to measure"

if [[ " ${selected[*]} " == *" podman "* ]]; then
    probe_podman_driver
fi

out_dir="$(bench_out_dir)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
samples="$work/samples.tsv"
: >"$samples"
logs_dir="$out_dir/import-$stamp-logs"
mkdir -p "$logs_dir"

for t in "${selected[@]}"; do
    for ((i = 1; i <= runs; i++)); do
        run_dir="$work/$t-$i"
        mkdir -p "$run_dir"
        log="$logs_dir/$t-$i.log"
        status=0
        figures="$("run_$t" "$run_dir" "$log")" || status=$?
        read -r wall rss <<<"$figures"
        [[ -n "${wall:-}" && -n "${rss:-}" ]] || { wall=0; rss=0; }
        printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$i" "$wall" "$rss" "$status" >>"$samples"
        if [[ $status -eq 0 ]]; then
            bench_log "$t run $i: ${wall}s, peak RSS $((rss / 1024)) MiB, $(bench_mbps "$tree_bytes" "$wall") MB/s"
        else
            bench_log "$t run $i failed with status $status (log: $log)"
        fi
        remove_run_dir "$run_dir"
        rm -rf "$(podman_runroot "$run_dir")"
    done
done

versions=()
for t in "${selected[@]}"; do
    case "$t" in
        imagekit) versions+=("imagekit=$imagekit") ;;
        podman) versions+=("podman=$(podman --version | awk '{ print $3 }') (storage driver $podman_driver)") ;;
        umoci) versions+=("umoci=$(umoci --version | awk '{ print $3 }')") ;;
    esac
done

json="$out_dir/import-$stamp.json"
bench_report "import of a $((tree_bytes / 1000000)) MB root filesystem" "$samples" "$tree_bytes" "$json" imagekit \
    "tree=$tree" "entries=$tree_files" "runs per tool=$runs (run 1 cold, median over the rest)" \
    "host=$(nproc) cores, $(uname -r)" "${versions[@]}"
bench_log "results: $json (per-run logs in $logs_dir)"
failed="$(awk -F '\t' '$5 != 0' "$samples" | wc -l)"
if [[ $failed -gt 0 ]]; then
    bench_die "$failed run(s) failed; see the logs in $logs_dir"
fi
