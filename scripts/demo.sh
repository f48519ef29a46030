#!/usr/bin/env bash
# The main job, end to end, on embedded defaults: no AWS account, no Docker Hub, no daemon.
#
#   scripts/demo.sh          # set up, build, verify, push, pin the digest, run the dashboard
#   scripts/demo.sh --stop   # stop the dashboard container and the local registry
#
# 1. set-up: Debian packages, the Python environment, imagekit in release mode;
# 2. the base image: python:3.12-slim when it can be pulled, else the Debian fixture
#    (debootstrap bookworm + python3), pushed to a local registry standing in for Docker Hub;
# 3. imagekit build     the project's Dockerfile (multi-stage, RUN with runc) into the local store;
# 4. imagekit verify    the project's policy (size, UID 1000, HEALTHCHECK, ...);
# 5. imagekit push      to a local registry standing in for ECR; the pushed digest is written
#                       into a copy of samconfig.toml, as a deploy would use it;
# 6. the image is started with runc (host network) and its health and page are checked.
#
# Environment: DEMO_PORT (default 8501), DEMO_DIR (default /var/tmp/imagekit-demo),
# IMAGEKIT_STORE (default $DEMO_DIR/store).
set -euo pipefail

repo_root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$repo_root"
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"

port="${DEMO_PORT:-8501}"
demo_dir="${DEMO_DIR:-/var/tmp/imagekit-demo}"
export IMAGEKIT_STORE="${IMAGEKIT_STORE:-$demo_dir/store}"
container="imagekit-demo-dashboard"
runc_root=/run/imagekit/demo

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

stop() {
    runc --root "$runc_root" kill "$container" KILL 2>/dev/null || true
    runc --root "$runc_root" delete --force "$container" 2>/dev/null || true
    bash scripts/registry.sh stop --name demo-hub >/dev/null 2>&1 || true
    bash scripts/registry.sh stop --name demo-ecr >/dev/null 2>&1 || true
}

case "${1:-}" in
    --stop) stop; echo "stopped the demo container and registries" >&2; exit 0 ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    "") ;;
    *) die "unknown argument '$1' (see --help)" ;;
esac
[[ $(id -u) == 0 ]] || die "run as root: RUN steps use runc and overlayfs"

stop
mkdir -p "$demo_dir"

say "1/6 set-up (Debian packages, Python environment, imagekit release build)"
imagekit="$(bash scripts/setup.sh | tail -n 1)"
[[ -x "$imagekit" ]] || die "setup did not produce the imagekit binary"
export IMAGEKIT="$imagekit"
"$imagekit" --version >&2

say "2/6 base image"
hub="$(bash scripts/registry.sh start --name demo-hub)"
if timeout 20 "$imagekit" pull --progress plain python:3.12-slim >/dev/null 2>"$demo_dir/pull.log"; then
    base=python:3.12-slim
    echo "pulled python:3.12-slim" >&2
else
    echo "python:3.12-slim cannot be pulled here ($(tail -n 1 "$demo_dir/pull.log")); using the Debian fixture" >&2
    base="$(bash scripts/push-fixture.sh "$hub")"
fi
echo "base image: $base" >&2

say "3/6 imagekit build"
start=$SECONDS
digest="$("$imagekit" build --build-arg "BASE_IMAGE=$base" --insecure-registry "$hub" --progress plain)"
echo "built $digest in $((SECONDS - start)) s" >&2

say "4/6 imagekit verify --max-size 500MB"
"$imagekit" verify --max-size 500MB

say "5/6 imagekit push (local registry standing in for ECR)"
ecr="$(bash scripts/registry.sh start --name demo-ecr)"
cp samconfig.toml "$demo_dir/samconfig.toml"
sha="$(git rev-parse --short HEAD 2>/dev/null || echo demo)"
pushed="$("$imagekit" push --repository "$ecr/vibejudge-dashboard" --tag "$sha" \
          --sam-config "$demo_dir/samconfig.toml" --config-env dev --parameter ImageUri)"
echo "pushed $pushed" >&2
grep -q "$pushed" "$demo_dir/samconfig.toml" || die "the digest was not written into $demo_dir/samconfig.toml"
diff -u samconfig.toml "$demo_dir/samconfig.toml" >&2 || true

say "6/6 run the image (runc, host network) and check it"
bundle="$demo_dir/bundle"
rm -rf "$bundle" "$demo_dir/layout"
# shellcheck source=../bench/lib.sh
source bench/lib.sh
bench_unpack_image "$imagekit" "$IMAGEKIT_STORE" vibejudge-dashboard "$bundle" \
    || die "could not unpack vibejudge-dashboard from $IMAGEKIT_STORE into $bundle"
bench_bundle_host_network "$bundle" "$port" || die "could not adapt $bundle/config.json"
mkdir -p "$runc_root"
runc --root "$runc_root" run --detach --bundle "$bundle" "$container" >"$demo_dir/container.log" 2>&1 </dev/null
for _ in $(seq 1 90); do
    if curl -fsS "http://127.0.0.1:$port/_stcore/health" >/dev/null 2>&1; then break; fi
    sleep 1
done
health="$(curl -fsS "http://127.0.0.1:$port/_stcore/health")" || die "the dashboard did not become healthy; see $demo_dir/container.log"
curl -fsS "http://127.0.0.1:$port/" | grep -qi "<title>streamlit" || die "the dashboard page did not load"

cat <<SUMMARY

Done.
  base image       $base
  built            $digest (store: $IMAGEKIT_STORE)
  verified         policies/default.yaml, max size 500MB
  pushed           $pushed
  pinned in        $demo_dir/samconfig.toml (dev ImageUri)
  health           http://127.0.0.1:$port/_stcore/health -> $health
  dashboard        http://127.0.0.1:$port/   (running as runc container $container)

Stop it with: scripts/demo.sh --stop
SUMMARY
