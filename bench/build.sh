#!/usr/bin/env bash
# Build benchmark: the repository's own Dockerfile and dashboard (streamlit_ui/)
# built by imagekit, podman and docker, side by side, on the same base image
# (the test fixture) and the same context.
#
#   bench/build.sh
#
# Cases, for every tool:
#   cold      an empty build cache (the base image already imported)
#   noop      the same build again, nothing changed
#   app       one file under streamlit_ui/ changed (new content every run)
#
# Environment:
#   BENCH_COLD_RUNS  cold builds per tool (default 1: each downloads the
#                    dashboard's dependencies from PyPI, a few minutes)
#   BENCH_RUNS       no-op and app-change builds per tool (default 4; run 1 is
#                    reported apart, the median is over the rest)
#   BENCH_TOOLS      comma-separated subset of imagekit,podman,docker (default: all)
#   BENCH_OUT        where results go (default /tmp/imagekit-bench)
#   IMAGEKIT         the imagekit binary (default: PATH, .build/release, .build/debug)
#   IMAGEKIT_FIXTURE_CACHE  where the base fixture is cached
#
# Tools run alternately within each round (imagekit, podman, docker, then
# again), so PyPI and its proxy look the same to all of them. The Dockerfile
# installs with --no-cache-dir: no tool gets a warm pip cache.
#
# Needs root: RUN steps use runc and overlayfs; dockerd is started here with
# its own data root and socket under /tmp and stopped at the end.
set -euo pipefail

bench_dir="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
repo_root="$(bench_repo_root)"

cold_runs="${BENCH_COLD_RUNS:-1}"
runs="${BENCH_RUNS:-4}"
[[ "$cold_runs" =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_COLD_RUNS must be a positive integer, got '$cold_runs'"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive integer, got '$runs'"
IFS=, read -r -a tools <<<"${BENCH_TOOLS:-imagekit,podman,docker}"
for t in "${tools[@]}"; do
    case "$t" in imagekit|podman|docker) ;; *) bench_die "BENCH_TOOLS: unknown tool '$t' (expected imagekit, podman, docker)" ;; esac
done
[[ $EUID -eq 0 ]] || bench_die "run as root: RUN steps need runc and overlayfs, and dockerd runs here (sudo $0)"
for tool in python3 findmnt; do
    command -v "$tool" >/dev/null || bench_die "'$tool' not found; run scripts/setup.sh"
done
[[ -x /usr/bin/time ]] || bench_die "/usr/bin/time not found; run scripts/setup.sh (package time)"
[[ -f "$repo_root/Dockerfile" && -d "$repo_root/streamlit_ui" ]] || bench_die "$repo_root has no Dockerfile or streamlit_ui/"

base_tarball="$("$repo_root/scripts/base-fixture.sh")"
base_image=debian-python:bookworm
base_path_env="ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A file the app layer holds (not excluded by .dockerignore).
changed_file=streamlit_ui/components/formatters.py

work="$(mktemp -d "${TMPDIR:-/tmp}/imagekit-bench-build.XXXXXX")"
# Socket and runroot paths must stay short (unix sockets, podman's runroot).
short_tmp="$(mktemp -d /tmp/ikbb.XXXXXX)"
dockerd_pid=""

cleanup() {
    local status=$?
    bench_stop_dockerd
    bench_remove_tree "$work"
    bench_remove_tree "$short_tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every tool builds its own copy of the context, so one tool's app changes
# never touch another's cache.
make_context() {
    local dir="$1"
    mkdir -p "$dir"
    cp "$repo_root/Dockerfile" "$dir/"
    [[ -f "$repo_root/.dockerignore" ]] && cp "$repo_root/.dockerignore" "$dir/"
    cp -a "$repo_root/streamlit_ui" "$dir/"
    # Local state from running the app's tests is not part of the input.
    find "$dir/streamlit_ui" \( -name __pycache__ -o -name .pytest_cache \) -prune -exec rm -rf {} +
}

# ---------------------------------------------------------------------------
# Per tool: reset (outside the timing), build (timed).

build_args=(--build-arg "BASE_IMAGE=$base_image")

imagekit_reset() {
    bench_remove_tree "$work/imagekit-store"
    # --unpack: the base layer is unpacked at import, as podman and docker store it.
    "$imagekit" --store "$work/imagekit-store" import --unpack "$base_tarball" -t "$base_image" \
        --change "$base_path_env" >"$work/imagekit-import.log" 2>&1 \
        || bench_die "imagekit cannot import the base fixture; see $work/imagekit-import.log"
}
# /usr/bin/time's peak RSS includes waited-for descendants: for a build with
# RUN steps that is pip inside the container (runc's child), not imagekit. The
# process's own peak (VmHWM) is sampled apart: a wrapper writes its pid and
# execs imagekit, a poller keeps the last VmHWM it read (it never decreases).
imagekit_build() {
    local log="$1" pidfile="$work/imagekit.pid" figures status=0 pid="" hwm=0 value
    rm -f "$pidfile"
    # shellcheck disable=SC2016 # expanded by the inner bash
    bench_time "$log" env IMAGEKIT_PROGRESS_TIMES=1 bash -c 'printf "%s\n" "$$" >"$0"; exec "$@"' "$pidfile" \
        "$imagekit" --store "$work/imagekit-store" build -t bench:1 --progress plain \
        "${build_args[@]}" "$work/ctx-imagekit" >"$work/imagekit-time.out" &
    local timer=$!
    while kill -0 "$timer" 2>/dev/null; do
        [[ -z "$pid" && -s "$pidfile" ]] && pid="$(<"$pidfile")"
        if [[ -n "$pid" ]]; then
            value="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
            [[ -n "$value" && "$value" -gt "$hwm" ]] && hwm="$value"
        fi
        sleep 0.05
    done
    wait "$timer" || status=$?
    figures="$(<"$work/imagekit-time.out")"
    printf '%s\n' "$hwm" >>"$work/imagekit-hwm.txt"
    printf '%s\n' "$figures"
    return "$status"
}

podman_base() {
    podman --root "$work/podman-root" --runroot "$short_tmp/podman-run" --storage-driver overlay \
        --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}
podman_reset() {
    bench_remove_tree "$work/podman-root"
    bench_remove_tree "$short_tmp/podman-run"
    podman_base import --change "$base_path_env" "$base_tarball" "$base_image" >"$work/podman-import.log" 2>&1 \
        || bench_die "podman cannot import the base fixture; see $work/podman-import.log"
}
podman_build() {
    local log="$1"
    bench_time "$log" podman --root "$work/podman-root" --runroot "$short_tmp/podman-run" --storage-driver overlay \
        --runtime runc --cgroup-manager cgroupfs --events-backend file \
        build --network host -t bench:1 "${build_args[@]}" "$work/ctx-podman"
}

docker_cli() { DOCKER_HOST="unix://$short_tmp/docker.sock" DOCKER_BUILDKIT=1 "$docker_bin" "$@"; }
# dockerd with its own data root, exec root and socket; no iptables, no bridge
# (builds use the host network). Returns non-zero, with the reason in the log,
# when it cannot start.
start_dockerd() {
    local log="$work/dockerd.log" i
    dockerd --data-root "$work/docker-data" --exec-root "$short_tmp/docker-exec" \
        --host "unix://$short_tmp/docker.sock" --pidfile "$short_tmp/docker.pid" \
        --storage-driver overlay2 --iptables=false --bridge=none >"$log" 2>&1 &
    dockerd_pid=$!
    for ((i = 0; i < 150; i++)); do
        if docker_cli version >/dev/null 2>&1; then return 0; fi
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 0.2
    done
    bench_stop_dockerd
    return 1
}
docker_reset() {
    docker_cli image rm -f bench:1 >/dev/null 2>&1 || true
    docker_cli builder prune -af >/dev/null 2>&1 || true
    if ! docker_cli image inspect "$base_image" >/dev/null 2>&1; then
        docker_cli import --change "$base_path_env" "$base_tarball" "$base_image" >"$work/docker-import.log" 2>&1 \
            || bench_die "docker cannot import the base fixture; see $work/docker-import.log"
    fi
}
docker_build() {
    local log="$1"
    bench_time "$log" env DOCKER_HOST="unix://$short_tmp/docker.sock" DOCKER_BUILDKIT=1 \
        "$docker_bin" build --network host --progress plain -t bench:1 "${build_args[@]}" "$work/ctx-docker"
}

# ---------------------------------------------------------------------------

imagekit=""
docker_bin=""
selected=()
for t in "${tools[@]}"; do
    case "$t" in
        imagekit)
            if imagekit="$(bench_find_imagekit)"; then
                selected+=(imagekit)
            else
                bench_log "imagekit not found (set IMAGEKIT or run swift build -c release); measuring the others only"
            fi ;;
        podman)
            if command -v podman >/dev/null; then selected+=(podman); else bench_log "podman not found; skipping it"; fi ;;
        docker)
            # Debian's docker.io CLI: BuildKit through DOCKER_BUILDKIT=1, no buildx plugin needed.
            if [[ -x /usr/bin/docker ]]; then docker_bin=/usr/bin/docker; else docker_bin="$(command -v docker || true)"; fi
            if ! command -v dockerd >/dev/null || [[ -z "$docker_bin" ]]; then
                bench_log "dockerd or docker not found (apt-get install docker.io); skipping docker"
            elif start_dockerd; then
                selected+=(docker)
            else
                bench_log "dockerd did not start; skipping docker. Its last words: $(tail -n 3 "$work/dockerd.log" | tr '\n' ' ')"
            fi ;;
    esac
done
[[ ${#selected[@]} -gt 0 ]] || bench_die "no tool to measure"
if [[ -n "$imagekit" && "$imagekit" == *"/debug/"* ]]; then
    bench_log "warning: $imagekit is a debug build; build a release binary for meaningful figures (swift build -c release)"
fi

for t in "${selected[@]}"; do make_context "$work/ctx-$t"; done
context_bytes="$(du -sb "$work/ctx-${selected[0]}" | cut -f1)"

out_dir="$(bench_out_dir)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
logs_dir="$out_dir/build-$stamp-logs"
mkdir -p "$logs_dir"
for case_name in cold noop app; do : >"$work/samples-$case_name.tsv"; done
failed=0

# measure CASE RUN TOOL: one timed build, recorded in the case's samples.
measure() {
    local case_name="$1" i="$2" t="$3"
    local log="$logs_dir/$case_name-$t-$i.log" status=0 figures wall rss
    figures="$("${t}_build" "$log")" || status=$?
    read -r wall rss <<<"$figures"
    [[ -n "${wall:-}" && -n "${rss:-}" ]] || { wall=0; rss=0; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$i" "$wall" "$rss" "$status" >>"$work/samples-$case_name.tsv"
    if [[ $status -eq 0 ]]; then
        bench_log "$case_name $t run $i: ${wall}s, peak RSS $((rss / 1024)) MiB"
    else
        bench_log "$case_name $t run $i failed with status $status (log: $log)"
        failed=$((failed + 1))
    fi
}

for ((i = 1; i <= cold_runs; i++)); do
    for t in "${selected[@]}"; do
        "${t}_reset"
        sync
        measure cold "$i" "$t"
    done
done
for ((i = 1; i <= runs; i++)); do
    for t in "${selected[@]}"; do measure noop "$i" "$t"; done
done
for ((i = 1; i <= runs; i++)); do
    for t in "${selected[@]}"; do
        printf '# benchmark change %s\n' "$i" >>"$work/ctx-$t/$changed_file"
        measure app "$i" "$t"
    done
done

versions=()
for t in "${selected[@]}"; do
    case "$t" in
        imagekit) versions+=("imagekit=$imagekit") ;;
        podman) versions+=("podman=$(podman --version | awk '{ print $3 }') (overlay, runc, --network host)") ;;
        docker) versions+=("docker=$(docker_cli version --format '{{.Server.Version}}' 2>/dev/null) (BuildKit, overlay2, --network host)") ;;
    esac
done
meta=("context=Dockerfile + streamlit_ui/ ($((context_bytes / 1000)) kB), BASE_IMAGE=$base_image ($base_tarball)"
      "host=$(nproc) cores, $(uname -r)" "${versions[@]}")

declare -A titles=([cold]="cold build (empty cache, base imported)" [noop]="no-op rebuild" [app]="rebuild after a change to $changed_file")
for case_name in cold noop app; do
    bench_report "build: ${titles[$case_name]}" "$work/samples-$case_name.tsv" "$context_bytes" \
        "$out_dir/build-$stamp-$case_name.json" imagekit "${meta[@]}"
    printf '\n'
done

# Goals from the product requirements, from the same medians as the tables.
python3 - "$out_dir/build-$stamp" "$work/imagekit-hwm.txt" <<'PY'
import json, sys
prefix = sys.argv[1]
doc = {c: json.load(open(f"{prefix}-{c}.json")) for c in ("cold", "noop", "app")}
def median(case, tool):
    return doc[case]["tools"].get(tool, {}).get("median_wall_s")
def ratio(case, tool):
    a, b = median(case, "imagekit"), median(case, tool)
    return None if a is None or b is None or b <= 0 else a / b
try:
    rss = [int(line) / 1024 for line in open(f"{sys.argv[2]}") if line.strip() and int(line) > 0]
except OSError:
    rss = []
rows = [
    ("cold build vs podman", ratio("cold", "podman"), "x", 0.7, "at most 0.70x"),
    ("cold build vs docker", ratio("cold", "docker"), "x", 0.7, "at most 0.70x"),
    ("no-op rebuild vs docker", ratio("noop", "docker"), "x", 1.0, "at most 1.00x"),
    ("app-change rebuild vs docker", ratio("app", "docker"), "x", 0.1, "at most 0.10x"),
    ("imagekit peak RSS, own process (MiB)", max(rss) if rss else None, "", 99.999, "under 100"),
]
print("### goals\n\n| goal | measured | target | met |\n|---|---:|---|---|")
for name, value, unit, limit, text in rows:
    if value is None:
        print(f"| {name} | n/a | {text} | n/a |")
    else:
        print(f"| {name} | {value:.2f}{unit} | {text} | {'yes' if value <= limit else 'no'} |")
PY

bench_log "results: $out_dir/build-$stamp-{cold,noop,app}.json (per-run logs in $logs_dir)"
if [[ $failed -gt 0 ]]; then
    bench_die "$failed run(s) failed; see the logs in $logs_dir"
fi
