#!/usr/bin/env bash
# Benchmark for `imagekit verify` on a ~750 MB image: wall time and peak RSS of a cold run
# (every layer decompressed and indexed, file lists cached in the store) and of warm runs
# (file lists read from <store>/meta/files). Goal: a warm run under 1 s and 64 MB.
#
#   bench/verify.sh                    # release build, image from /usr/share, /usr/libexec, /usr/lib/python3.11
#   BUILD=debug bench/verify.sh
#   BENCH_DIRS="/usr/share /usr/include" bench/verify.sh
#
# The image is made once (GNU tar and gzip write the layers, skopeo copies the image into a
# private store) and reused by later runs; remove $BENCH_STORE to rebuild it.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-release}
BENCH_STORE=${BENCH_STORE:-${TMPDIR:-/tmp}/imagekit-bench-store}
BENCH_DIRS=${BENCH_DIRS:-/usr/share /usr/libexec /usr/lib/python3.11}
IMAGE=imagekit-bench:latest
RUNS=${RUNS:-3}

for tool in skopeo tar gzip /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/verify.sh needs $tool (apt-get install skopeo time)" >&2; exit 2; }
done

swift build -c "$BUILD" --product imagekit >&2
BIN=$(swift build -c "$BUILD" --show-bin-path)/imagekit

if ! "$BIN" inspect --store "$BENCH_STORE" "$IMAGE" >/dev/null 2>&1; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    echo "building the benchmark image from: $BENCH_DIRS" >&2
    # One layer per directory (GNU tar, gzip), laid out as an OCI image by hand; skopeo then
    # copies it into the store, checking every digest on the way.
    # shellcheck disable=SC2086
    python3 - "$work/layout" $BENCH_DIRS <<'PY'
import hashlib, json, os, subprocess, sys

layout, dirs = sys.argv[1], sys.argv[2:]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs)

def put(path):
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    os.rename(path, os.path.join(blobs, h.hexdigest()))
    return "sha256:" + h.hexdigest(), n

def put_json(value):
    path = os.path.join(layout, "tmp.json")
    with open(path, "w") as f:
        json.dump(value, f, sort_keys=True, separators=(",", ":"))
    return put(path)

layers, diff_ids, history = [], [], []
for d in dirs:
    tar = os.path.join(layout, "layer.tar")
    subprocess.run(["tar", "--numeric-owner", "--sort=name", "-C", "/", "-cf", tar, d.lstrip("/")], check=True)
    diff_id = "sha256:" + hashlib.file_digest(open(tar, "rb"), "sha256").hexdigest()
    subprocess.run(["gzip", "-1", tar], check=True)
    digest, size = put(tar + ".gz")
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
    diff_ids.append(diff_id)
    history.append({"created_by": f"COPY {d} {d}"})
config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history,
          "config": {"User": "1000", "ExposedPorts": {"8501/tcp": {}}, "WorkingDir": "/app", "Cmd": ["streamlit", "run", "app.py"]}}
config_digest, config_size = put_json(config)
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": layers}
manifest_digest, manifest_size = put_json(manifest)
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
               "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
PY
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
