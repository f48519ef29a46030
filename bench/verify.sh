#!/usr/bin/env bash
# Benchmark for `imagekit verify` on a ~750 MB image: wall time and peak RSS of a cold run
# (every layer decompressed and indexed, file lists cached in the store) and of warm runs
# (file lists read from <store>/meta/files). Goal: a warm run under 1 s and 64 MB.
#
#   bench/verify.sh                    # release build, image from /usr/share, /usr/libexec, /usr/lib/python3.11
#   BUILD=debug bench/verify.sh
#   BENCH_DIRS="/usr/share /usr/include" bench/verify.sh
#
# The image is made once with `imagekit import` (one layer from a tar of BENCH_DIRS) in a
# private store and reused by later runs; remove $BENCH_STORE to rebuild it.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-release}
BENCH_STORE=${BENCH_STORE:-${TMPDIR:-/tmp}/imagekit-bench-store}
BENCH_DIRS=${BENCH_DIRS:-/usr/share /usr/libexec /usr/lib/python3.11}
IMAGE=imagekit-bench:latest
RUNS=${RUNS:-3}

for tool in tar bc python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/verify.sh needs $tool (apt-get install tar bc python3 time)" >&2; exit 2; }
done

swift build -c "$BUILD" --product imagekit >&2
BIN=$(swift build -c "$BUILD" --show-bin-path)/imagekit

if ! "$BIN" inspect --store "$BENCH_STORE" "$IMAGE" >/dev/null 2>&1; then
    echo "importing the benchmark image from: $BENCH_DIRS" >&2
    relative=()
    for dir in $BENCH_DIRS; do relative+=("${dir#/}"); done
    tar --numeric-owner --sort=name -C / -cf - "${relative[@]}" |
        "$BIN" import --store "$BENCH_STORE" - --tag "$IMAGE" --message "tar of $BENCH_DIRS" \
            --change 'USER 1000' --change 'EXPOSE 8501' --change 'WORKDIR /app' >/dev/null
fi
rm -rf "$BENCH_STORE/meta/files"

measure() {  # prints "seconds peak-kB" of one verify run; exit 1 (policy violated) is expected
    local rc=0
    /usr/bin/time -f '%e %M' -o "$BENCH_STORE/.time" \
        "$BIN" verify --store "$BENCH_STORE" "$IMAGE" --policy policies/default.yaml --max-size 500MB --format json \
        >"$BENCH_STORE/.report.json" 2>"$BENCH_STORE/.stderr" || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "imagekit verify failed (exit $rc): $(cat "$BENCH_STORE/.stderr")" >&2
        return 1
    fi
    tail -n 1 "$BENCH_STORE/.time"
}

figures=$(measure) || exit 2
read -r cold_s cold_kb <<<"$figures"
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
    figures=$(measure) || exit 2
    read -r s kb <<<"$figures"
    printf 'warm %d (cached file lists):       %6.2f s  %6.1f MB peak RSS\n' "$i" "$s" "$(echo "$kb / 1024" | bc -l)"
done
echo "goal: warm under 1 s and under 64 MB ($BUILD build)"
