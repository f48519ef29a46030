#!/usr/bin/env bash
# Benchmark for `imagekit verify` on a ~750 MB image: wall time and peak RSS of a cold run
# (every layer decompressed and indexed, file lists cached in the store) and of warm runs
# (file lists read from <store>/meta/files). Goal: a warm run under 1 s and 64 MB.
#
#   bench/verify.sh                    # release build, image from /usr/share + /usr/libexec
#   BUILD=debug bench/verify.sh
#   BENCH_DIRS="/usr/share /usr/include" bench/verify.sh
#
# The image is made once (umoci writes the layers, skopeo copies it into a private store)
# and reused by later runs; remove $BENCH_STORE to rebuild it.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-release}
BENCH_STORE=${BENCH_STORE:-${TMPDIR:-/tmp}/imagekit-bench-store}
BENCH_DIRS=${BENCH_DIRS:-/usr/share /usr/libexec}
IMAGE=imagekit-bench:latest
RUNS=${RUNS:-3}

for tool in umoci skopeo /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/verify.sh needs $tool (apt-get install umoci skopeo time)" >&2; exit 2; }
done

swift build -c "$BUILD" --product imagekit >&2
BIN=$(swift build -c "$BUILD" --show-bin-path)/imagekit

if ! "$BIN" inspect --store "$BENCH_STORE" "$IMAGE" >/dev/null 2>&1; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    echo "building the benchmark image from: $BENCH_DIRS" >&2
    umoci init --layout "$work/layout"
    umoci new --image "$work/layout:bench"
    for dir in $BENCH_DIRS; do
        umoci insert --image "$work/layout:bench" --history.created_by "COPY $dir $dir" "$dir" "$dir"
    done
    umoci config --image "$work/layout:bench" --config.user 1000 --config.exposedports 8501/tcp \
        --config.workingdir /app --config.cmd streamlit --config.cmd run --config.cmd app.py
    mkdir -p "$BENCH_STORE"
    "$BIN" images --store "$BENCH_STORE" >/dev/null   # creates the store layout
    skopeo copy --quiet "oci:$work/layout:bench" "oci:$BENCH_STORE:docker.io/library/$IMAGE"
fi
rm -rf "$BENCH_STORE/meta/files"

measure() {  # prints "seconds peak-kB" of one verify run; exit 1 (policy violated) is expected
    /usr/bin/time -f '%e %M' -o "$BENCH_STORE/.time" \
        "$BIN" verify --store "$BENCH_STORE" "$IMAGE" --policy policies/default.yaml --max-size 500MB --format json \
        >"$BENCH_STORE/.report.json" 2>/dev/null || [ $? -eq 1 ]
    tail -n 1 "$BENCH_STORE/.time"
}

read -r cold_s cold_kb <<<"$(measure)"
size=$(python3 - "$BENCH_STORE/.report.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["size"]
u, c = s["uncompressedBytes"] / 1e6, s["compressedBytes"] / 1e6
print(f"{u:.0f} MB uncompressed, {c:.0f} MB compressed, {s['files']} files, {len(s['layers'])} layers")
PY
)
echo "image: $size"
printf 'cold  (decompress, index, cache): %6.2f s  %6.1f MB peak RSS\n' "$cold_s" "$(echo "$cold_kb / 1024" | bc -l)"
for i in $(seq "$RUNS"); do
    read -r s kb <<<"$(measure)"
    printf 'warm %d (cached file lists):       %6.2f s  %6.1f MB peak RSS\n' "$i" "$s" "$(echo "$kb / 1024" | bc -l)"
done
echo "goal: warm under 1 s and under 64 MB ($BUILD build)"
