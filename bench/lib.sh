#!/usr/bin/env bash
# Shared helpers for the benchmarks in bench/. Source it; it defines functions
# only and changes no shell options of its caller.
#
# Results go to ${BENCH_OUT:-/tmp/imagekit-bench}; nothing generated belongs in
# the repository.

bench_log() { printf 'bench: %s\n' "$*" >&2; }
bench_die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

bench_repo_root() { (cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd); }

# Directory for results, created on demand.
bench_out_dir() {
    local dir="${BENCH_OUT:-/tmp/imagekit-bench}"
    mkdir -p "$dir"
    printf '%s\n' "$dir"
}

# The imagekit binary: $IMAGEKIT, imagekit on PATH, then the repository's
# release and debug builds. Prints nothing and fails when there is none.
bench_find_imagekit() {
    local root
    root="$(bench_repo_root)"
    if [[ -n "${IMAGEKIT:-}" ]]; then
        [[ -x "$IMAGEKIT" ]] || bench_die "IMAGEKIT=$IMAGEKIT is not an executable file"
        printf '%s\n' "$IMAGEKIT"
    elif command -v imagekit >/dev/null; then
        command -v imagekit
    elif [[ -x "$root/.build/release/imagekit" ]]; then
        printf '%s\n' "$root/.build/release/imagekit"
    elif [[ -x "$root/.build/debug/imagekit" ]]; then
        printf '%s\n' "$root/.build/debug/imagekit"
    else
        return 1
    fi
}

# bench_time LOG CMD [ARGS...]
# Runs CMD with its output in LOG and prints "WALL_SECONDS PEAK_RSS_KIB".
# Peak RSS is the largest resident set of the command or any of its waited-for
# children (a pipeline run through bash -c counts all its stages).
# Returns the command's exit status.
bench_time() {
    local log="$1"
    shift
    local timing status=0
    timing="$(mktemp "${TMPDIR:-/tmp}/bench-time.XXXXXX")"
    /usr/bin/time -f '%e %M' -o "$timing" "$@" >"$log" 2>&1 || status=$?
    # GNU time prefixes a note when the command fails; the figures are on the last line.
    tail -n 1 "$timing"
    rm -f "$timing"
    return "$status"
}

# bench_median NUMBER...  (the mean of the two middle values for an even count)
bench_median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit 1
        if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
        else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_mbps BYTES SECONDS  -> megabytes (10^6) per second
bench_mbps() {
    awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) print "inf"; else printf "%.1f\n", b / 1e6 / s }'
}

# bench_ratio A B  -> "A/B" as "0.42x", or "n/a" when either is missing
bench_ratio() {
    if [[ -z "$1" || -z "$2" || "$1" == n/a || "$2" == n/a ]]; then
        printf 'n/a\n'
        return
    fi
    awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else printf "%.2fx\n", a / b }'
}

# bench_report TITLE SAMPLES_TSV BYTES JSON_OUT BASELINE [KEY=VALUE...]
# SAMPLES_TSV has one line per run: TOOL RUN WALL_S RSS_KIB STATUS.
# Run 1 of each tool is the cold run, reported apart; the median is over the
# later runs (over run 1 when there is only one). Prints a markdown table with
# ratios BASELINE/other for every other tool, and writes the same as JSON.
bench_report() {
    local title="$1" samples="$2" bytes="$3" json_out="$4" baseline="$5"
    shift 5
    python3 - "$title" "$samples" "$bytes" "$json_out" "$baseline" "$@" <<'PY'
import json, os, statistics, sys, tempfile

title, samples_path, nbytes, json_out, baseline = sys.argv[1:6]
nbytes = int(nbytes)
meta = dict(arg.split("=", 1) for arg in sys.argv[6:])

runs = {}
order = []
with open(samples_path) as f:
    for line in f:
        tool, run, wall, rss, status = line.split()
        if tool not in runs:
            runs[tool] = []
            order.append(tool)
        runs[tool].append({"run": int(run), "wall_s": float(wall), "rss_kib": int(rss), "status": int(status)})

summary = {}
for tool in order:
    rs = runs[tool]
    ok = [r for r in rs if r["status"] == 0]
    entry = {"runs": rs, "failed_runs": len(rs) - len(ok)}
    if ok:
        warm = [r for r in ok if r["run"] > 1] or ok
        cold = next((r for r in ok if r["run"] == 1), None)
        median = statistics.median(r["wall_s"] for r in warm)
        entry.update({
            "cold_wall_s": cold["wall_s"] if cold else None,
            "median_wall_s": median,
            "median_of_runs": [r["run"] for r in warm],
            "mb_per_s": nbytes / 1e6 / median if median > 0 else None,
            "peak_rss_mib": max(r["rss_kib"] for r in ok) / 1024,
        })
    summary[tool] = entry

ratios = {}
base = summary.get(baseline, {})
for tool in order:
    if tool == baseline or "median_wall_s" not in summary[tool] or "median_wall_s" not in base:
        continue
    other = summary[tool]
    ratios[f"{baseline}/{tool}"] = {
        "wall": base["median_wall_s"] / other["median_wall_s"] if other["median_wall_s"] > 0 else None,
        "peak_rss": base["peak_rss_mib"] / other["peak_rss_mib"] if other["peak_rss_mib"] > 0 else None,
    }

def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)

out = sys.stdout
out.write(f"### {title}\n\n")
for k, v in meta.items():
    out.write(f"- {k}: {v}\n")
out.write(f"- input: {nbytes} bytes ({nbytes / 1e6:.1f} MB)\n\n")
out.write("| tool | cold run (s) | median wall (s) | MB/s | peak RSS (MiB) | runs ok |\n")
out.write("|---|---:|---:|---:|---:|---:|\n")
for tool in order:
    e = summary[tool]
    n = len(e["runs"])
    ok = n - e["failed_runs"]
    if "median_wall_s" not in e:
        out.write(f"| {tool} | failed | failed | | | 0/{n} |\n")
        continue
    out.write(f"| {tool} | {fmt(e['cold_wall_s'], '.2f')} | {e['median_wall_s']:.2f} | "
              f"{fmt(e['mb_per_s'], '.1f')} | {e['peak_rss_mib']:.1f} | {ok}/{n} |\n")
if ratios:
    out.write(f"\n| ratio | wall time | peak RSS |\n|---|---:|---:|\n")
    for name, r in ratios.items():
        out.write(f"| {name} | {fmt(r['wall'], '.2f')}x | {fmt(r['peak_rss'], '.2f')}x |\n")
    out.write("\nA ratio below 1.00x means the first tool is faster (or smaller).\n")
elif baseline not in summary:
    out.write(f"\nNo ratios: {baseline} was not measured.\n")

doc = {"benchmark": title, "input_bytes": nbytes, "meta": meta, "tools": summary,
       "ratios": ratios, "baseline": baseline}
d = os.path.dirname(os.path.abspath(json_out))
fd, tmp = tempfile.mkstemp(dir=d, prefix=".bench-", suffix=".json")
with os.fdopen(fd, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, json_out)
PY
}

# Unmounts anything left under DIR (an overlay of a killed build, a dockerd data root) before
# removing it.
bench_remove_tree() {
    local dir="$1" m
    while IFS= read -r m; do
        if [[ -n "$m" ]]; then umount -l "$m" 2>/dev/null || true; fi
    done < <(findmnt -rn -o TARGET | awk -v r="$dir" 'index($0, r "/") == 1' | sort -r)
    rm -rf --one-file-system "$dir"
}

# Stops the dockerd whose pid is in the caller's dockerd_pid (if any): TERM, up to 20 s, then KILL.
bench_stop_dockerd() {
    [[ -n "${dockerd_pid:-}" ]] || return 0
    kill "$dockerd_pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -9 "$dockerd_pid" 2>/dev/null || true
    dockerd_pid=""
}

# bench_unpack_image IMAGEKIT STORE IMAGE BUNDLE
# Writes IMAGE (name:tag) from the imagekit STORE as an OCI layout and unpacks it with umoci
# into BUNDLE, an OCI runtime bundle (config.json from the image's config, rootfs/). BUNDLE
# must not exist. The layout is removed afterwards.
bench_unpack_image() {
    local imagekit="$1" store="$2" image="$3" bundle="$4" layout tag status=0
    command -v umoci >/dev/null || bench_die "umoci not found; run scripts/setup.sh"
    tag="${image##*:}"
    [[ "$image" == *:* && "$tag" != */* ]] || tag=latest
    layout="$(mktemp -d "${TMPDIR:-/tmp}/imagekit-bundle-layout.XXXXXX")"
    if ! "$imagekit" --store "$store" export "$image" --format oci -o "$layout/image" >/dev/null; then
        status=1
        bench_log "imagekit export $image (store $store) failed"
    elif ! umoci unpack --image "$layout/image:$tag" "$bundle" >/dev/null; then
        status=1
        bench_log "umoci unpack of $image into $bundle failed"
    fi
    rm -rf "$layout"
    return "$status"
}

# bench_bundle_host_network BUNDLE PORT [OPTION...]
# Adapts BUNDLE/config.json (from bench_unpack_image) to run detached with the host's network,
# the way the dashboard is run in demos and benchmarks: no terminal, no network namespace, the
# host's /etc/resolv.conf and /etc/hosts, Streamlit on PORT. Options:
#   env=NAME=VALUE       set (or replace) an environment variable of the process
#   cpu=QUOTA/PERIOD     CFS quota and period in microseconds (50000/100000 is 0.5 CPU)
#   memory=BYTES         memory limit (and memory+swap limit: no swap)
#   cgroup=PATH          linux.cgroupsPath (runc's cgroup for the container)
#   rootfs=PATH          root.path (e.g. an overlay mounted over the unpacked rootfs)
bench_bundle_host_network() {
    python3 - "$@" <<'PY'
import json, sys

bundle, port, *options = sys.argv[1:]
path = f"{bundle}/config.json"
with open(path) as f:
    config = json.load(f)
process, linux = config["process"], config["linux"]
env = {"STREAMLIT_SERVER_PORT": port}
for option in options:
    key, _, value = option.partition("=")
    if key == "env":
        name, _, val = value.partition("=")
        env[name] = val
    elif key == "cpu":
        quota, _, period = value.partition("/")
        linux.setdefault("resources", {})["cpu"] = {"quota": int(quota), "period": int(period)}
    elif key == "memory":
        linux.setdefault("resources", {})["memory"] = {"limit": int(value), "swap": int(value)}
    elif key == "cgroup":
        linux["cgroupsPath"] = value
    elif key == "rootfs":
        config["root"]["path"] = value
    else:
        sys.exit(f"bench_bundle_host_network: unknown option {option!r} "
                 "(expected env=, cpu=, memory=, cgroup= or rootfs=)")
process["terminal"] = False
process["env"] = [e for e in process.get("env", []) if e.split("=", 1)[0] not in env] \
    + [f"{k}={v}" for k, v in env.items()]
linux["namespaces"] = [n for n in linux["namespaces"] if n["type"] != "network"]
for file in ("/etc/resolv.conf", "/etc/hosts"):
    config["mounts"].append({"destination": file, "type": "bind", "source": file,
                             "options": ["rbind", "ro"]})
with open(path, "w") as f:
    json.dump(config, f, indent=1)
PY
}
