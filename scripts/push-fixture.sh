#!/usr/bin/env bash
# Puts the test base image into a registry as REGISTRY/debian-python:bookworm,
# so that builds can start `FROM REGISTRY/debian-python:bookworm` without
# Docker Hub.
#
#   scripts/push-fixture.sh [REGISTRY]
#
# REGISTRY is HOST:PORT of a plain-HTTP registry; without it a registry named
# "fixture" is started (or reused) with scripts/registry.sh.
#
# Environment:
#   IMAGEKIT        the imagekit binary (default: imagekit on PATH, then
#                   .build/release/imagekit, then .build/debug/imagekit)
#   IMAGEKIT_STORE  store to import into (default: a temp dir, removed on exit)
#   REGISTRY_CREDS  USER:PASSWORD for a registry with htpasswd auth
#
# Prints the pushed reference on stdout; progress goes to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
repository=debian-python
tag=bookworm

log() { printf 'push-fixture: %s\n' "$*" >&2; }
die() { printf 'push-fixture: error: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
    -h|--help)
        sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
        exit 2 ;;
esac
[[ $# -le 1 ]] || die "expected at most one argument (REGISTRY as HOST:PORT), got $#"

find_imagekit() {
    if [[ -n "${IMAGEKIT:-}" ]]; then
        [[ -x "$IMAGEKIT" ]] || die "IMAGEKIT=$IMAGEKIT is not an executable file"
        printf '%s\n' "$IMAGEKIT"
    elif command -v imagekit >/dev/null; then
        command -v imagekit
    elif [[ -x "$repo_root/.build/release/imagekit" ]]; then
        printf '%s\n' "$repo_root/.build/release/imagekit"
    elif [[ -x "$repo_root/.build/debug/imagekit" ]]; then
        printf '%s\n' "$repo_root/.build/debug/imagekit"
    else
        die "imagekit not found: build it with scripts/setup.sh (or swift build), or set IMAGEKIT=/path/to/imagekit"
    fi
}

imagekit="$(find_imagekit)"
command -v skopeo >/dev/null || die "skopeo not found; run scripts/setup.sh"

if [[ $# -eq 1 ]]; then
    registry="$1"
    [[ "$registry" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || die "REGISTRY must be HOST or HOST:PORT, got '$registry'"
else
    if registry="$("$repo_root/scripts/registry.sh" address --name fixture 2>/dev/null)"; then
        log "reusing the registry 'fixture' at $registry"
    else
        registry="$("$repo_root/scripts/registry.sh" start --name fixture)"
        log "started the registry 'fixture' at $registry (stop it with: scripts/registry.sh stop --name fixture)"
    fi
fi

tarball="$("$repo_root/scripts/base-fixture.sh")"

work="$(mktemp -d "${TMPDIR:-/tmp}/imagekit-push-fixture.XXXXXX")"
trap 'rm -rf "$work"' EXIT
store="${IMAGEKIT_STORE:-$work/store}"
layout="$work/layout"

log "import $tarball into $store"
"$imagekit" --store "$store" import "$tarball" -t "$repository:$tag" >&2 \
    || die "imagekit import failed for $tarball"
log "export $repository:$tag as an OCI layout"
"$imagekit" --store "$store" export "$repository:$tag" --format oci -o "$layout" >&2 \
    || die "imagekit export failed"

creds=()
if [[ -n "${REGISTRY_CREDS:-}" ]]; then
    creds=(--dest-creds "$REGISTRY_CREDS")
fi
log "copy to docker://$registry/$repository:$tag"
skopeo copy --quiet --dest-tls-verify=false "${creds[@]}" --digestfile "$work/digest" \
    "oci:$layout:$tag" "docker://$registry/$repository:$tag" >&2 \
    || die "skopeo copy to $registry failed (is the registry running? does it need REGISTRY_CREDS?)"
log "pushed $registry/$repository:$tag@$(<"$work/digest")"
printf '%s/%s:%s\n' "$registry" "$repository" "$tag"
