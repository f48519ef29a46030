#!/usr/bin/env bash
# Fresh-runner benchmark: what a CI runner that starts empty pays to deploy a change, with the
# previous image and its build cache already in the registry. imagekit with its registry build
# cache (--cache-from/--cache-to) against `docker build` with BuildKit's inline cache
# (--build-arg BUILDKIT_INLINE_CACHE=1, --cache-from the previous image), on a fresh
# `dockerd --data-root` for every run.
#
#   bench/fresh-runner.sh
#
# Cases, for both tools, each run on an empty store / empty Docker:
#   app    one line changed in streamlit_ui/app.py: build + verify + push (docker has no verify)
#   reqs   a line added to streamlit_ui/requirements.txt: build + push (pip runs again)
# Goals: app <= 0.2x docker; reqs no slower than docker.
#
# The previous deploy is made once, untimed: imagekit builds with --cache-to and pushes; docker
# builds with the inline cache and pushes. The base image (the test fixture) is served by a local
# registry, as python:3.12-slim would be; both tools pull it on every run.
#
# Environment:
#   BENCH_RUNS       app-change runs per tool (default 3; run 1 is reported apart)
#   BENCH_REQ_RUNS   requirements-change runs per tool (default 1: each downloads from PyPI)
#   BENCH_OUT        where results go (default /tmp/imagekit-bench)
#   IMAGEKIT         the imagekit binary (default: PATH, .build/release, .build/debug)
#
# Needs root: RUN steps use runc and overlayfs, and dockerd (Debian's docker.io, installed
# here when missing) runs with its own data root and socket under /tmp, stopped at the end.
set -euo pipefail

bench_dir="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
repo_root="$(bench_repo_root)"

runs="${BENCH_RUNS:-3}"
req_runs="${BENCH_REQ_RUNS:-1}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive integer, got '$runs'"
[[ "$req_runs" =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_REQ_RUNS must be a positive integer, got '$req_runs'"
[[ $EUID -eq 0 ]] || bench_die "run as root: RUN steps need runc and overlayfs, and dockerd runs here (sudo $0)"
for tool in python3 findmnt curl; do
    command -v "$tool" >/dev/null || bench_die "'$tool' not found; run scripts/setup.sh"
done
[[ -x /usr/bin/time ]] || bench_die "/usr/bin/time not found; run scripts/setup.sh (package time)"
imagekit="$(bench_find_imagekit)" || bench_die "imagekit not found; set IMAGEKIT or run swift build -c release"
[[ "$imagekit" == *"/debug/"* ]] && bench_log "warning: $imagekit is a debug build; build a release binary for meaningful figures (swift build -c release)"
if ! command -v dockerd >/dev/null || [[ ! -x /usr/bin/docker ]]; then
    bench_log "installing Debian's docker.io (dockerd and the docker CLI)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io >/dev/null \
        || bench_die "cannot install docker.io; install it (apt-get install docker.io) and run again"
fi
docker_bin=/usr/bin/docker

base_tarball="$("$repo_root/scripts/base-fixture.sh")"
base_path_env="ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
policy="$repo_root/policies/default.yaml"

work="$(mktemp -d "${TMPDIR:-/tmp}/imagekit-bench-fresh.XXXXXX")"
# Socket paths must stay short.
short_tmp="$(mktemp -d /tmp/ikbf.XXXXXX)"
registry_name="bench-fresh-$$"
dockerd_pid=""

cleanup() {
    local status=$?
    bench_stop_dockerd
    "$repo_root/scripts/registry.sh" stop --name "$registry_name" >/dev/null 2>&1 || true
    bench_remove_tree "$work"
    bench_remove_tree "$short_tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

docker_cli() { DOCKER_HOST="unix://$short_tmp/docker.sock" DOCKER_BUILDKIT=1 "$docker_bin" "$@"; }

# A Docker that has never seen anything: a new data root every time (not timed).
fresh_dockerd() {
    bench_stop_dockerd
    bench_remove_tree "$work/docker-data"
    bench_remove_tree "$short_tmp/docker-exec"
    dockerd --data-root "$work/docker-data" --exec-root "$short_tmp/docker-exec" \
        --host "unix://$short_tmp/docker.sock" --pidfile "$short_tmp/docker.pid" \
        --storage-driver overlay2 --iptables=false --bridge=none >>"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    local i
    for ((i = 0; i < 150; i++)); do
        if docker_cli version >/dev/null 2>&1; then return 0; fi
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 0.2
    done
    bench_die "dockerd did not start; its last words: $(tail -n 3 "$work/dockerd.log" | tr '\n' ' ')"
}

registry="$("$repo_root/scripts/registry.sh" start --name "$registry_name")"
base_image="$registry/base/debian-python:bookworm"
cache_ref="$registry/imagekit/dashboard:buildcache"

# The base image in the registry, as python:3.12-slim is on Docker Hub.
"$imagekit" --store "$work/seed" import "$base_tarball" -t debian-python:bookworm --change "$base_path_env" >"$work/seed.log" 2>&1 \
    || bench_die "imagekit cannot import the base fixture; see $work/seed.log"
"$imagekit" --store "$work/seed" push debian-python:bookworm --repository "$registry/base/debian-python" --tag bookworm >>"$work/seed.log" 2>&1 \
    || bench_die "cannot push the base image to $registry; see $work/seed.log"

# Every tool builds its own copy of the context.
make_context() {
    local dir="$1"
    mkdir -p "$dir"
    cp "$repo_root/Dockerfile" "$dir/"
    [[ -f "$repo_root/.dockerignore" ]] && cp "$repo_root/.dockerignore" "$dir/"
    cp -a "$repo_root/streamlit_ui" "$dir/"
    find "$dir/streamlit_ui" \( -name __pycache__ -o -name .pytest_cache \) -prune -exec rm -rf {} +
}
for t in imagekit docker; do make_context "$work/ctx-$t"; done
context_bytes="$(du -sb "$work/ctx-imagekit" | cut -f1)"
build_args=(--build-arg "BASE_IMAGE=$base_image")

out_dir="$(bench_out_dir)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
logs_dir="$out_dir/fresh-runner-$stamp-logs"
mkdir -p "$logs_dir"
failed=0

# timed LOG PHASE_TSV TOOL RUN CMD...: one timed command; its figures go to the phase samples and
# are printed as "WALL RSS STATUS".
timed() {
    local log="$1" phases="$2" tool="$3" run="$4" figures status=0 wall rss
    shift 4
    figures="$(bench_time "$log" "$@")" || status=$?
    read -r wall rss <<<"$figures"
    [[ -n "${wall:-}" && -n "${rss:-}" ]] || { wall=0; rss=0; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$run" "$wall" "$rss" "$status" >>"$phases"
    printf '%s %s %s\n' "$wall" "$rss" "$status"
}

# The previous deploy, untimed: imagekit exports its cache and pushes; docker builds with the
# inline cache and pushes.
bench_log "the previous deploy (untimed): imagekit and docker build and push the current tree"
"$imagekit" --store "$work/runner-0" build -t dashboard:prev --progress plain "${build_args[@]}" \
    --cache-to "$cache_ref" "$work/ctx-imagekit" >"$logs_dir/previous-imagekit.log" 2>&1 \
    || bench_die "imagekit's previous build failed; see $logs_dir/previous-imagekit.log"
"$imagekit" --store "$work/runner-0" push dashboard:prev --repository "$registry/imagekit/dashboard" --tag prev \
    >>"$logs_dir/previous-imagekit.log" 2>&1 || bench_die "imagekit's previous push failed; see $logs_dir/previous-imagekit.log"
bench_remove_tree "$work/runner-0"
fresh_dockerd
docker_cli build --network host --progress plain --build-arg BUILDKIT_INLINE_CACHE=1 "${build_args[@]}" \
    -t "$registry/docker/dashboard:prev" "$work/ctx-docker" >"$logs_dir/previous-docker.log" 2>&1 \
    || bench_die "docker's previous build failed; see $logs_dir/previous-docker.log"
docker_cli push "$registry/docker/dashboard:prev" >>"$logs_dir/previous-docker.log" 2>&1 \
    || bench_die "docker's previous push failed; see $logs_dir/previous-docker.log"

# run_imagekit CASE RUN: an empty store builds from the registry cache (and refreshes it),
# verifies, pushes.
run_imagekit() {
    local case_name="$1" i="$2" store="$work/runner-imagekit" total=0 peak=0 status=0 phase wall rss st
    bench_remove_tree "$store"
    sync
    local log="$logs_dir/$case_name-imagekit-$i"
    local phases="$work/phases-$case_name.tsv"
    local steps=(build verify push)
    [[ "$case_name" == app ]] || steps=(build push)
    for phase in "${steps[@]}"; do
        case "$phase" in
            build) read -r wall rss st < <(timed "$log-build.log" "$phases" imagekit-build "$i" \
                "$imagekit" --store "$store" build -t dashboard:new --progress plain "${build_args[@]}" \
                --cache-from "$cache_ref" --cache-to "$cache_ref" "$work/ctx-imagekit") ;;
            verify) read -r wall rss st < <(timed "$log-verify.log" "$phases" imagekit-verify "$i" \
                "$imagekit" --store "$store" verify dashboard:new --policy "$policy" --max-size 500MB) ;;
            push) read -r wall rss st < <(timed "$log-push.log" "$phases" imagekit-push "$i" \
                "$imagekit" --store "$store" push dashboard:new --repository "$registry/imagekit/dashboard" --tag "$case_name-$i") ;;
        esac
        total="$(awk -v a="$total" -v b="$wall" 'BEGIN { printf "%.2f", a + b }')"
        [[ "$rss" -gt "$peak" ]] && peak="$rss"
        [[ "$st" -eq 0 ]] || status="$st"
    done
    printf 'imagekit\t%s\t%s\t%s\t%s\n' "$i" "$total" "$peak" "$status" >>"$work/samples-$case_name.tsv"
    report_run "$case_name" imagekit "$i" "$total" "$status" "$log-*.log"
}

# run_docker CASE RUN: a fresh dockerd builds with the inline cache of the previous image, pushes.
run_docker() {
    local case_name="$1" i="$2" total=0 peak=0 status=0 phase wall rss st
    fresh_dockerd
    sync
    local log="$logs_dir/$case_name-docker-$i"
    local phases="$work/phases-$case_name.tsv"
    for phase in build push; do
        case "$phase" in
            build) read -r wall rss st < <(timed "$log-build.log" "$phases" docker-build "$i" \
                env DOCKER_HOST="unix://$short_tmp/docker.sock" DOCKER_BUILDKIT=1 "$docker_bin" build --network host --progress plain \
                --build-arg BUILDKIT_INLINE_CACHE=1 --cache-from "$registry/docker/dashboard:prev" "${build_args[@]}" \
                -t "$registry/docker/dashboard:$case_name-$i" "$work/ctx-docker") ;;
            push) read -r wall rss st < <(timed "$log-push.log" "$phases" docker-push "$i" \
                env DOCKER_HOST="unix://$short_tmp/docker.sock" "$docker_bin" push "$registry/docker/dashboard:$case_name-$i") ;;
        esac
        total="$(awk -v a="$total" -v b="$wall" 'BEGIN { printf "%.2f", a + b }')"
        [[ "$rss" -gt "$peak" ]] && peak="$rss"
        [[ "$st" -eq 0 ]] || status="$st"
    done
    printf 'docker\t%s\t%s\t%s\t%s\n' "$i" "$total" "$peak" "$status" >>"$work/samples-$case_name.tsv"
    report_run "$case_name" docker "$i" "$total" "$status" "$log-*.log"
}

report_run() {
    local case_name="$1" tool="$2" i="$3" total="$4" status="$5" logs="$6"
    if [[ "$status" -eq 0 ]]; then
        bench_log "$case_name $tool run $i: ${total}s"
    else
        bench_log "$case_name $tool run $i failed with status $status (logs: $logs)"
        failed=$((failed + 1))
    fi
}

for case_name in app reqs; do : >"$work/samples-$case_name.tsv"; : >"$work/phases-$case_name.tsv"; done
for ((i = 1; i <= runs; i++)); do
    for t in imagekit docker; do
        printf '# benchmark change %s\n' "$i" >>"$work/ctx-$t/streamlit_ui/app.py"
        "run_$t" app "$i"
    done
done
for ((i = 1; i <= req_runs; i++)); do
    for t in imagekit docker; do
        # A comment: pip installs the same packages, but the layer's inputs changed.
        printf '# benchmark change %s\n' "$i" >>"$work/ctx-$t/streamlit_ui/requirements.txt"
        "run_$t" reqs "$i"
    done
done

meta=("context=Dockerfile + streamlit_ui/ ($((context_bytes / 1000)) kB), BASE_IMAGE=$base_image (local registry)"
      "host=$(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
      "imagekit=$imagekit (registry cache $cache_ref, empty store each run)"
      "docker=$(docker_cli version --format '{{.Server.Version}}' 2>/dev/null) (BuildKit inline cache, overlay2, --network host, fresh --data-root each run)")
declare -A titles=([app]="app-only change: build + verify + push (docker: build + push)" [reqs]="requirements change: build + push")
for case_name in app reqs; do
    bench_report "fresh runner: ${titles[$case_name]}" "$work/samples-$case_name.tsv" "$context_bytes" \
        "$out_dir/fresh-runner-$stamp-$case_name.json" imagekit "${meta[@]}"
    printf '\n'
    bench_report "fresh runner, per phase: ${titles[$case_name]}" "$work/phases-$case_name.tsv" "$context_bytes" \
        "$out_dir/fresh-runner-$stamp-$case_name-phases.json" imagekit-build
    printf '\n'
done

python3 - "$out_dir/fresh-runner-$stamp" <<'PY'
import json, sys
prefix = sys.argv[1]
def ratio(case):
    tools = json.load(open(f"{prefix}-{case}.json"))["tools"]
    a, b = (tools.get(t, {}).get("median_wall_s") for t in ("imagekit", "docker"))
    return None if a is None or b is None or b <= 0 else a / b
rows = [("app-only change vs docker", ratio("app"), 0.2, "at most 0.20x"),
        ("requirements change vs docker", ratio("reqs"), 1.0, "at most 1.00x")]
print("### goals\n\n| goal | measured | target | met |\n|---|---:|---|---|")
for name, value, limit, text in rows:
    print(f"| {name} | {'n/a' if value is None else f'{value:.2f}x'} | {text} | {'n/a' if value is None else ('yes' if value <= limit else 'no')} |")
PY

bench_log "results: $out_dir/fresh-runner-$stamp-{app,reqs}.json (per-run logs in $logs_dir)"
if [[ $failed -gt 0 ]]; then
    bench_die "$failed run(s) failed; see the logs in $logs_dir"
fi
