#!/usr/bin/env bash
# Push benchmark: imagekit push against skopeo copy and podman push of the same image.
#
#   bench/push.sh [WORKDIR]
#
# Builds (once, cached in WORKDIR) a ~750 MB uncompressed / ~260 MB gzip image from files of
# this machine (/usr/lib, /usr/share, ...) as an imagekit store, plus an "app-only change"
# image that adds one small top layer. Then, against fresh local docker-registry instances:
#   cold push    imagekit push | skopeo copy dir:LAYOUT docker://... | podman push
#   warm push    the app change, after the base was pushed (only the new layer uploads)
# Wall time and peak RSS via /usr/bin/time -f '%e %M'.
# Goals: cold push <= 1.0x skopeo; warm push < 0.2 s; peak RSS < 64 MB.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-${TMPDIR:-/tmp}/imagekit-bench-push}"
IMAGEKIT="${IMAGEKIT:-$ROOT/.build/release/imagekit}"
TARGET_BYTES="${TARGET_BYTES:-750000000}"
LAYERS="${LAYERS:-8}"
mkdir -p "$WORK"

STORE="$WORK/store"

# --- the image (cached) -------------------------------------------------------------------
if [[ ! -f "$WORK/image.done" ]]; then
    rm -rf "$STORE" "$WORK/layers"
    echo "making the benchmark image in $WORK (once)..." >&2
    python3 - "$WORK" "$TARGET_BYTES" "$LAYERS" <<'PY'
import hashlib, json, os, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

work, target, layer_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sources = ["/usr/lib/x86_64-linux-gnu", "/usr/share", "/usr/lib/python3.11", "/usr/libexec", "/opt/swift/usr/lib"]
files, total = [], 0
for top in sources:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path) or not os.access(path, os.R_OK):
                continue
            size = os.path.getsize(path)
            files.append(path); total += size
            if total >= target:
                break
        if total >= target:
            break
    if total >= target:
        break

# Split into layers of about equal uncompressed size.
per_layer, groups, current, acc = total / layer_count, [], [], 0
for path in files:
    current.append(path); acc += os.path.getsize(path)
    if acc >= per_layer * (len(groups) + 1) and len(groups) < layer_count - 1:
        groups.append(current); current = []
groups.append(current)

os.makedirs(f"{work}/layers", exist_ok=True)

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest(), os.path.getsize(path)

def make_layer(i, paths):
    listing = f"{work}/layers/{i}.list"
    with open(listing, "w") as f:
        f.write("\n".join(p.lstrip("/") for p in paths) + "\n")
    tar = f"{work}/layers/{i}.tar"
    subprocess.run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
                    "-C", "/", "-cf", tar, "-T", listing], check=True)
    diff_id, usize = sha256_file(tar)
    subprocess.run(["gzip", "-n", "-6", "-f", tar], check=True)
    digest, csize = sha256_file(tar + ".gz")
    return diff_id, usize, digest, csize, tar + ".gz"

def small_layer(i, content):
    d = f"{work}/layers/app{i}"
    os.makedirs(f"{d}/app", exist_ok=True)
    with open(f"{d}/app/main.py", "w") as f:
        f.write(content)
    tar = f"{work}/layers/{i}.tar"
    subprocess.run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
                    "-C", d, "-cf", tar, "app"], check=True)
    diff_id, usize = sha256_file(tar)
    subprocess.run(["gzip", "-n", "-6", "-f", tar], check=True)
    digest, csize = sha256_file(tar + ".gz")
    return diff_id, usize, digest, csize, tar + ".gz"

with ThreadPoolExecutor(max_workers=2) as pool:
    base = list(pool.map(lambda a: make_layer(*a), enumerate(groups)))
app = small_layer("app", "print('hello from the app, version 2')\n" * 50)

def write_image(store, layers, tag):
    blobs = f"{store}/blobs/sha256"
    os.makedirs(blobs, exist_ok=True)
    for diff_id, usize, digest, csize, path in layers:
        target_path = f"{blobs}/{digest}"
        if not os.path.exists(target_path):
            os.link(path, target_path)  # both layouts share the layer files
        os.makedirs(f"{store}/meta/layers", exist_ok=True)
        with open(f"{store}/meta/layers/{digest}.json", "w") as f:
            json.dump({"diffID": f"sha256:{diff_id}", "uncompressedSize": usize}, f, sort_keys=True, separators=(",", ":"))
    config = {"architecture": "amd64", "os": "linux", "created": "2000-01-01T00:00:00Z",
              "config": {"Cmd": ["python3", "/app/main.py"], "User": "1000"},
              "rootfs": {"type": "layers", "diff_ids": [f"sha256:{l[0]}" for l in layers]},
              "history": [{"created": "2000-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(len(layers))]}
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    with open(f"{blobs}/{config_digest}", "wb") as f:
        f.write(config_bytes)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": f"sha256:{config_digest}", "size": len(config_bytes)},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": f"sha256:{l[2]}", "size": l[3]} for l in layers]}
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    manifest_digest = hashlib.sha256(manifest_bytes).hexdigest()
    with open(f"{blobs}/{manifest_digest}", "wb") as f:
        f.write(manifest_bytes)
    return {"mediaType": manifest["mediaType"], "digest": f"sha256:{manifest_digest}", "size": len(manifest_bytes),
            "annotations": {"org.opencontainers.image.ref.name": tag}}

def write_layout(store, entries):
    with open(f"{store}/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(f"{store}/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries},
                  f, sort_keys=True, separators=(",", ":"))

store = f"{work}/store"
base_entry = write_image(store, base, "docker.io/library/bench:base")
app_entry = write_image(store, base + [app], "docker.io/library/bench:app")
write_layout(store, [base_entry, app_entry])
u = sum(l[1] for l in base); c = sum(l[3] for l in base)
print(f"image: {len(base)} layers, {u/1e6:.0f} MB uncompressed, {c/1e6:.0f} MB compressed", file=sys.stderr)
PY
    touch "$WORK/image.done"
fi

# skopeo and podman read the same blobs as a dir: layout (an oci: layout would make them
# skip the Docker media types the image uses).
if [[ ! -f "$WORK/dirs.done" ]]; then
    python3 - "$STORE" "$WORK" <<'PY'
import json, os, sys
store, work = sys.argv[1], sys.argv[2]
index = json.load(open(f"{store}/index.json"))
for entry in index["manifests"]:
    tag = entry["annotations"]["org.opencontainers.image.ref.name"].rsplit(":", 1)[1]
    target = f"{work}/dir-{tag}"
    os.makedirs(target, exist_ok=True)
    blob = lambda d: f"{store}/blobs/sha256/{d.split(':')[1]}"
    manifest = json.load(open(blob(entry["digest"])))
    with open(f"{target}/manifest.json", "wb") as f:
        f.write(open(blob(entry["digest"]), "rb").read())
    for d in [manifest["config"]] + manifest["layers"]:
        dest = f"{target}/{d['digest'].split(':')[1]}"
        if not os.path.exists(dest):
            os.link(blob(d["digest"]), dest)
    with open(f"{target}/version", "w") as f:
        f.write("Directory Transport Version: 1.1\n")
PY
    touch "$WORK/dirs.done"
fi

[[ "${PREPARE_ONLY:-0}" == 1 ]] && exit 0

if [[ ! -x "$IMAGEKIT" ]]; then
    echo "building imagekit (release)..." >&2
    (cd "$ROOT" && swift build -c release --product imagekit >&2)
fi

# --- registries -----------------------------------------------------------------------------
# start_registry runs in a command substitution (a subshell), so pids go through files.
cleanup() {
    for pidfile in "$WORK"/registry-*/pid; do
        if [[ -f "$pidfile" ]]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
        rm -f "$pidfile"
    done
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts an empty docker-registry; prints its host:port.
start_registry() {
    local name="$1" port dir
    port="$(free_port)"
    dir="$WORK/registry-$name"
    rm -rf "$dir"; mkdir -p "$dir/storage"
    cat > "$dir/config.yml" <<EOF
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $dir/storage } }
http: { addr: 127.0.0.1:$port }
EOF
    /usr/bin/docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
    echo "$!" > "$dir/pid"
    for _ in $(seq 1 200); do
        if curl -sf "http://127.0.0.1:$port/v2/" > /dev/null; then echo "127.0.0.1:$port"; return; fi
        sleep 0.05
    done
    echo "docker-registry did not start: $(cat "$dir/log")" >&2; exit 1
}

# Runs a command under /usr/bin/time; prints "SECONDS KB".
measure() {
    local out="$WORK/time.out"
    /usr/bin/time -o "$out" -f '%e %M' "$@" > "$WORK/cmd.stdout" 2> "$WORK/cmd.stderr" || {
        echo "failed: $*" >&2; cat "$WORK/cmd.stderr" >&2; exit 1; }
    tail -n 1 "$out"
}

sync
echo "cold push (empty registry each):"
R1="$(start_registry imagekit)"
read -r IK_COLD_T IK_COLD_M < <(measure "$IMAGEKIT" push --store "$STORE" bench:base --repository "$R1/bench" --tag base --progress quiet)
R2="$(start_registry skopeo)"
read -r SK_COLD_T SK_COLD_M < <(measure skopeo copy --quiet --dest-tls-verify=false "dir:$WORK/dir-base" "docker://$R2/bench:base")

PODMAN_ROOT="$WORK/podman-root"
PODMAN=(podman --root "$PODMAN_ROOT" --runroot "$WORK/podman-run" --storage-driver vfs)
if ! "${PODMAN[@]}" image exists localhost/bench:base 2>/dev/null; then
    "${PODMAN[@]}" pull -q "dir:$WORK/dir-base" > /dev/null
    "${PODMAN[@]}" tag "$("${PODMAN[@]}" images -q | head -n1)" localhost/bench:base
fi
R3="$(start_registry podman)"
read -r PM_COLD_T PM_COLD_M < <(measure "${PODMAN[@]}" push -q --tls-verify=false localhost/bench:base "docker://$R3/bench:base")

echo "warm push (app-only change: one small new top layer):"
read -r IK_WARM_T IK_WARM_M < <(measure "$IMAGEKIT" push --store "$STORE" bench:app --repository "$R1/bench" --tag app --progress quiet)
read -r SK_WARM_T SK_WARM_M < <(measure skopeo copy --quiet --dest-tls-verify=false "dir:$WORK/dir-app" "docker://$R2/bench:app")
read -r IK_NOOP_T IK_NOOP_M < <(measure "$IMAGEKIT" push --store "$STORE" bench:app --repository "$R1/bench" --tag app --progress quiet)

ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }
printf '\n%-34s %9s %10s\n' "" "wall (s)" "peak RSS"
printf '%-34s %9s %7s MB\n' "imagekit push (cold)" "$IK_COLD_T" "$((IK_COLD_M / 1024))"
printf '%-34s %9s %7s MB\n' "skopeo copy (cold)" "$SK_COLD_T" "$((SK_COLD_M / 1024))"
printf '%-34s %9s %7s MB\n' "podman push (cold)" "$PM_COLD_T" "$((PM_COLD_M / 1024))"
printf '%-34s %9s %7s MB\n' "imagekit push (app change)" "$IK_WARM_T" "$((IK_WARM_M / 1024))"
printf '%-34s %9s %7s MB\n' "skopeo copy (app change)" "$SK_WARM_T" "$((SK_WARM_M / 1024))"
printf '%-34s %9s %7s MB\n' "imagekit push (nothing new)" "$IK_NOOP_T" "$((IK_NOOP_M / 1024))"
echo
echo "cold: imagekit/skopeo $(ratio "$IK_COLD_T" "$SK_COLD_T") (goal <= 1.0x), imagekit/podman $(ratio "$IK_COLD_T" "$PM_COLD_T")"
echo "warm: imagekit/skopeo $(ratio "$IK_WARM_T" "$SK_WARM_T"); imagekit ${IK_WARM_T}s (goal < 0.2 s)"
echo "peak RSS: imagekit $((IK_COLD_M / 1024)) MB cold, $((IK_WARM_M / 1024)) MB warm (goal < 64 MB)"
