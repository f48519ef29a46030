#!/usr/bin/env bash
# Cold start of the dashboard image at the Fargate task size: time to healthy and to the first
# fully rendered page, under runc with 0.5 CPU and 1 GiB, for one or more versions of the
# Dockerfile and app side by side. See bench/README.md.
#
#   sudo bench/startup.sh                                    # the working tree, 5 runs
#   sudo BENCH_VARIANTS="landed=main current=." bench/startup.sh
#   sudo BENCH_RUNS=3 BENCH_MODULES=/tmp/modules.txt bench/startup.sh
#
# BENCH_VARIANTS   LABEL=REV ...: REV is a git revision (its Dockerfile, .dockerignore and
#                  streamlit_ui/) or "." for the working tree as it is (default: current=.)
# BENCH_RUNS       fresh container starts per variant (default 5; the median is over all)
# BENCH_CPU        CFS quota/period in microseconds (default 50000/100000: 0.5 CPU)
# BENCH_MEMORY     memory limit in bytes (default 1073741824: 1 GiB)
# BENCH_CPU_WEIGHT CPU weight of the containers' parent cgroup in multiples of the default
#                  (default 16: a container gets its quota on a busy machine, as a Fargate
#                  task gets its reserved vCPU; 0 leaves the weight alone)
# BENCH_BASE_IMAGE base image reference (default: the test base, scripts/base-fixture.sh,
#                  pushed to a private registry for this run)
# BENCH_MODULES    write the site-packages modules the first variant imports until its Results
#                  page and every other page are rendered to this file (this is how
#                  streamlit_ui/bytecode-modules.txt is made)
# BENCH_PYTHON     Python with Playwright and requests (default: the repository's .venv)
# BENCH_DOCKER     1: also run every variant with `docker run --cpus 0.5 --memory 1g` (a private
#                  dockerd, as bench/fresh-runner.sh starts it; labels docker-LABEL)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
root="$(bench_repo_root)"
cd "$root"

case "${1:-}" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
    "") ;;
    *) bench_die "no arguments expected (configure with BENCH_* variables, see --help), got '$1'" ;;
esac
[[ $(id -u) == 0 ]] || bench_die "run as root: builds and runc need it"
for tool in runc umoci skopeo mount; do
    command -v "$tool" >/dev/null || bench_die "$tool not found; run scripts/setup.sh"
done
imagekit="$(bench_find_imagekit)" || bench_die "no imagekit binary: build one (scripts/setup.sh) or set IMAGEKIT"
python="${BENCH_PYTHON:-$root/.venv/bin/python}"
"$python" -c "import playwright.sync_api, requests" 2>/dev/null \
    || bench_die "$python lacks playwright or requests: run scripts/python-env.sh or set BENCH_PYTHON"

runs="${BENCH_RUNS:-5}"
cpu="${BENCH_CPU:-50000/100000}"
memory="${BENCH_MEMORY:-1073741824}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_RUNS must be a positive integer, got '$runs'"
[[ "$cpu" =~ ^[0-9]+/[0-9]+$ ]] || bench_die "BENCH_CPU must be QUOTA/PERIOD in microseconds, got '$cpu'"
[[ "$memory" =~ ^[0-9]+$ ]] || bench_die "BENCH_MEMORY must be bytes, got '$memory'"
cpu_weight="${BENCH_CPU_WEIGHT:-16}"
[[ "$cpu_weight" =~ ^[0-9]+$ ]] || bench_die "BENCH_CPU_WEIGHT must be a whole number, got '$cpu_weight'"
read -r -a variants <<<"${BENCH_VARIANTS:-current=.}"

out="$(bench_out_dir)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
json_out="$out/startup-$stamp.json"
logs="$out/startup-$stamp-logs"
mkdir -p "$logs"
work="$(mktemp -d /var/tmp/imagekit-bench-startup.XXXXXX)"
store="$work/store"
registry_name="bench-startup-$$"
registry_started=""
# Socket paths must stay short.
short_tmp="$(mktemp -d /tmp/ikbs.XXXXXX)"
dockerd_pid=""
cleanup() {
    bench_stop_dockerd
    bench_remove_tree "$short_tmp"
    if [[ -n "$registry_started" ]]; then
        bash "$root/scripts/registry.sh" stop --name "$registry_name" >/dev/null 2>&1 || true
    fi
    bench_remove_tree "$work"
}
trap cleanup EXIT

base="${BENCH_BASE_IMAGE:-}"
if [[ -z "$base" ]]; then
    hub="$(bash "$root/scripts/registry.sh" start --name "$registry_name")"
    registry_started=1
    base="$(IMAGEKIT="$imagekit" IMAGEKIT_STORE="$store" bash "$root/scripts/push-fixture.sh" "$hub")"
fi
bench_log "base image $base; results in $json_out"

# Build, size, verify and unpack every variant.
variants_tsv="$work/variants.tsv"
: >"$variants_tsv"
probe_args=()
for item in "${variants[@]}"; do
    label="${item%%=*}"
    rev="${item#*=}"
    [[ "$item" == *=* && "$label" =~ ^[A-Za-z0-9_.-]+$ && -n "$rev" ]] \
        || bench_die "BENCH_VARIANTS entry '$item': expected LABEL=REV (LABEL of letters, digits, . _ -)"
    ctx="$work/ctx-$label"
    mkdir -p "$ctx"
    if [[ "$rev" == . ]]; then
        commit="working tree"
        cp -a Dockerfile .dockerignore streamlit_ui "$ctx/"
    else
        commit="$(git rev-parse --short "$rev^{commit}")" || bench_die "'$rev' is not a git revision"
        git archive "$rev" Dockerfile .dockerignore streamlit_ui | tar -x -C "$ctx"
    fi
    image="startup-bench:$label"
    bench_log "$label ($commit): imagekit build"
    if ! timing="$(bench_time "$logs/build-$label.log" "$imagekit" --store "$store" build \
            --progress plain -t "$image" --build-arg "BASE_IMAGE=$base" "$ctx")"; then
        bench_die "the build of $label failed; see $logs/build-$label.log"
    fi
    sizes="$("$imagekit" --store "$store" inspect "$image" \
        | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["uncompressedSize"], d["compressedSize"], d["digest"])')"
    verify=passed
    "$imagekit" --store "$store" verify "$image" --max-size 500MB >"$logs/verify-$label.log" 2>&1 || verify=failed
    bundle="$work/bundle-$label"
    bench_unpack_image "$imagekit" "$store" "$image" "$bundle" || bench_die "could not unpack $image"
    bench_bundle_host_network "$bundle" 8501 "cpu=$cpu" "memory=$memory"
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$commit" "${timing%% *}" "$sizes" "$verify" >>"$variants_tsv"
    probe_args+=("$label=$bundle")
done

docker_cli() { DOCKER_HOST="unix://$short_tmp/docker.sock" docker "$@"; }
if [[ "${BENCH_DOCKER:-0}" == 1 ]]; then
    command -v dockerd >/dev/null || bench_die "dockerd not found: install Debian's docker.io (bench/fresh-runner.sh does)"
    # Its containers' cgroups go under the one startup_probe.py gives its CPU weight.
    dockerd --data-root "$work/docker-data" --exec-root "$short_tmp/docker-exec" \
        --host "unix://$short_tmp/docker.sock" --pidfile "$short_tmp/docker.pid" \
        --storage-driver overlay2 --iptables=false --bridge=none \
        --cgroup-parent /imagekit-bench-startup >>"$logs/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for ((i = 0; i < 150; i++)); do
        if docker_cli version >/dev/null 2>&1; then break; fi
        kill -0 "$dockerd_pid" 2>/dev/null || bench_die "dockerd did not start; see $logs/dockerd.log"
        sleep 0.2
    done
    docker_cli version >/dev/null 2>&1 || bench_die "dockerd did not answer in 30 s; see $logs/dockerd.log"
    cpus="$(awk -v c="$cpu" 'BEGIN { split(c, q, "/"); printf "%g", q[1] / q[2] }')"
    while IFS=$'\t' read -r label rest; do
        "$imagekit" --store "$store" export "startup-bench:$label" --format docker -o "$work/docker-$label.tar" >/dev/null \
            || bench_die "imagekit export --format docker of $label failed"
        docker_cli load -i "$work/docker-$label.tar" >>"$logs/dockerd.log" 2>&1 \
            || bench_die "docker load of $label failed; see $logs/dockerd.log"
        rm -f "$work/docker-$label.tar"
        printf 'docker-%s\t%s\n' "$label" "$rest" >>"$variants_tsv"
        probe_args+=("docker-$label=docker:startup-bench:$label")
    done < <(cat "$variants_tsv")
    export DOCKER_HOST="unix://$short_tmp/docker.sock"
    docker_args=(--docker-cpus "$cpus" --docker-memory "${memory}b")
else
    docker_args=()
fi

modules_args=()
[[ -n "${BENCH_MODULES:-}" ]] && modules_args=(--modules "$BENCH_MODULES")
samples="$work/samples.jsonl"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$python" "$root/bench/startup_probe.py" --runs "$runs" --out "$samples" --logs "$logs" \
    --cpu-weight "$cpu_weight" "${docker_args[@]}" "${modules_args[@]}" "${probe_args[@]}" || status=$?
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
rmdir /sys/fs/cgroup/*/imagekit-bench-startup 2>/dev/null || true

python3 - "$variants_tsv" "$samples" "$json_out" "$runs" "$cpu" "$memory" "$base" \
    "$load_before" "$load_after" "$cpu_weight" <<'PY'
import json, os, statistics, sys, tempfile

(variants_tsv, samples_path, json_out, runs, cpu, memory, base, load_before, load_after,
 cpu_weight) = sys.argv[1:]
quota, period = (int(x) for x in cpu.split("/"))
variants = {}
order = []
for line in open(variants_tsv):
    label, commit, build_s, sizes, verify = line.rstrip("\n").split("\t")
    size, compressed, digest = sizes.split()
    variants[label] = {"commit": commit, "build_s": float(build_s), "size_bytes": int(size),
                       "compressed_bytes": int(compressed), "digest": digest,
                       "verify_max_500MB": verify, "runs": []}
    order.append(label)
if os.path.exists(samples_path):
    for line in open(samples_path):
        sample = json.loads(line)
        variants[sample["variant"]]["runs"].append(sample)

METRICS = ("healthy_s", "page_s", "results_s", "healthy_cpu_s", "page_cpu_s", "peak_mib")
for v in variants.values():
    ok = [r for r in v["runs"] if r["status"] == 0]
    v["failed_runs"] = len(v["runs"]) - len(ok)
    for m in METRICS:
        values = [r[m] for r in ok if r.get(m) is not None]
        v[f"median_{m}"] = statistics.median(values) if values else None
        v[f"range_{m}"] = [min(values), max(values)] if values else None

def fmt(value, spec=".2f"):
    return "n/a" if value is None else format(value, spec)

def cell(v, m):
    r = v[f"range_{m}"]
    return "n/a" if r is None else f"{v[f'median_{m}']:.2f} ({r[0]:.2f}–{r[1]:.2f})"

out = sys.stdout
out.write("### Cold start of the dashboard image (bench/startup.sh)\n\n")
out.write(f"- runc, host network, CPU quota {quota}/{period} µs ({quota / period:g} CPU), "
          f"memory limit {int(memory) / 2**30:g} GiB, CPU weight {cpu_weight}x the default; "
          f"base image {base}\n")
out.write(f"- {runs} fresh container starts per variant, variants taking turns; "
          f"load average before {load_before}, after {load_after}\n")
out.write("- seconds from `runc run` (`docker run` for docker- variants): median (min–max); "
          "CPU seconds: what the container "
          "used by then\n\n")
out.write("| variant | commit | size (MB) | verify 500MB | healthy (s) | first page (s) "
          "| CPU to healthy (s) | CPU to page (s) | Results page after (s) | peak mem (MiB) "
          "| runs ok |\n")
out.write("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
for label in order:
    v = variants[label]
    n = len(v["runs"])
    out.write(f"| {label} | {v['commit']} | {v['size_bytes'] / 1e6:.1f} | {v['verify_max_500MB']} "
              f"| {cell(v, 'healthy_s')} | {cell(v, 'page_s')} | {fmt(v['median_healthy_cpu_s'])} "
              f"| {fmt(v['median_page_cpu_s'])} | {cell(v, 'results_s')} "
              f"| {fmt(v['median_peak_mib'], '.0f')} | {n - v['failed_runs']}/{n} |\n")
ratios = {}
first = variants[order[0]]
for label in order[1:]:
    v = variants[label]
    ratios[f"{label}/{order[0]}"] = {
        m: (v[f"median_{m}"] / first[f"median_{m}"]
            if v[f"median_{m}"] and first[f"median_{m}"] else None)
        for m in ("healthy_s", "page_s", "results_s", "healthy_cpu_s", "page_cpu_s")}
if ratios:
    out.write("\n| ratio | healthy | first page | CPU to healthy | CPU to page | Results page |\n")
    out.write("|---|---:|---:|---:|---:|---:|\n")
    for name, r in ratios.items():
        out.write(f"| {name} | {fmt(r['healthy_s'])}x | {fmt(r['page_s'])}x "
                  f"| {fmt(r['healthy_cpu_s'])}x | {fmt(r['page_cpu_s'])}x | {fmt(r['results_s'])}x |\n")
    out.write("\nBelow 1.00x the variant starts faster than the first one.\n")

doc = {"benchmark": "startup", "cpu_quota_us": quota, "cpu_period_us": period,
       "memory_bytes": int(memory), "cpu_weight": int(cpu_weight), "base_image": base, "runs_per_variant": int(runs),
       "load_before": load_before, "load_after": load_after, "order": order,
       "variants": variants, "ratios": ratios}
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(json_out)), prefix=".bench-")
with os.fdopen(fd, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(tmp, json_out)
PY
bench_log "JSON: $json_out; container logs and build logs: $logs"
exit "$status"
