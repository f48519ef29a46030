#!/usr/bin/env bash
# Prepares a Debian 12 machine for imagekit: installs the Debian packages the
# build, the tests and the benchmarks use, creates the Python environment, and
# builds imagekit in release mode.
#
#   scripts/setup.sh [--no-build]
#
# Fast when everything is already there: one dpkg-query, no apt-get update.
# Progress goes to stderr; the path of the built binary goes to stdout.
set -euo pipefail

usage() {
    cat >&2 <<'EOF'
usage: scripts/setup.sh [--no-build]
  --no-build   install packages and the Python environment, but do not build imagekit
EOF
    exit 2
}

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-build) build=0; shift ;;
        -h|--help) usage ;;
        *) die "unknown argument '$1' (see: $0 --help)" ;;
    esac
done

repo_root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$repo_root"

# Build: C libraries behind the Swift system-library targets.
# Runtime of builds and tests: runc, overlay, a local registry and copy tools.
# Fixtures and benchmarks: debootstrap, podman, /usr/bin/time, hyperfine.
# Dashboard tests: chromium (headless), Python venv. RUN --mount=type=ssh tests: openssh-client (ssh-agent); ADD of a git URL: git.
packages=(
    libarchive-dev zlib1g-dev libssl-dev pkg-config
    runc fuse-overlayfs uidmap
    docker-registry apache2-utils skopeo umoci podman
    debootstrap
    shellcheck
    chromium
    time hyperfine
    python3 python3-venv
    iproute2 procps curl ca-certificates
    openssh-client git
)
# Packages the project can do without when the archive does not carry them.
optional_packages=(hyperfine)

is_optional() {
    local p
    for p in "${optional_packages[@]}"; do [[ "$p" == "$1" ]] && return 0; done
    return 1
}

# Run as root, or through sudo when it is there.
as_root=()
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "run as root, or install sudo and give this user sudo rights (apt-get needs root)"
    as_root=(sudo)
fi

# Checked before anything is installed, so a machine without the toolchain
# fails at once.
if [[ -d /opt/swift/usr/bin && ":$PATH:" != *":/opt/swift/usr/bin:"* ]]; then
    PATH="/opt/swift/usr/bin:$PATH"
    export PATH
fi
if ! command -v swift >/dev/null; then
    [[ $build -eq 0 ]] || die "swift not found: install the Swift toolchain in /opt/swift (or put swift on PATH), or pass --no-build"
    log "note: swift is not on PATH and /opt/swift/usr/bin does not exist; imagekit cannot be built here"
fi

missing_packages() {
    local status
    # Installed means "install ok installed"; a removed package whose config
    # files remain is known to dpkg but not installed.
    status="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null || true)"
    local p
    for p in "${packages[@]}"; do
        grep -qE "^$p ii" <<<"$status" || printf '%s\n' "$p"
    done
}

mapfile -t missing < <(missing_packages)
if [[ ${#missing[@]} -eq 0 ]]; then
    log "all ${#packages[@]} Debian packages are installed"
else
    log "missing: ${missing[*]}"
    log "apt-get update"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 \
        || die "apt-get update failed; check /etc/apt/sources.list and the network"
    to_install=()
    for p in "${missing[@]}"; do
        candidate="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
        if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
            if is_optional "$p"; then
                log "note: package '$p' is not in this machine's apt sources; continuing without it"
                continue
            fi
            die "package '$p' is not in this machine's apt sources; enable Debian 12 'main' in /etc/apt/sources.list"
        fi
        to_install+=("$p")
    done
    if [[ ${#to_install[@]} -gt 0 ]]; then
        log "apt-get install ${to_install[*]}"
        # The lock timeout makes concurrent installs wait instead of failing.
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
            install -y --no-install-recommends "${to_install[@]}" >&2 \
            || die "apt-get install failed for: ${to_install[*]}"
    fi
fi

if [[ -f scripts/python-env.sh ]]; then
    log "Python environment (scripts/python-env.sh)"
    bash scripts/python-env.sh >&2 || die "scripts/python-env.sh failed"
fi

if [[ $build -eq 0 ]]; then
    log "done (--no-build: imagekit not built)"
    exit 0
fi

log "swift build -c release --product imagekit"
swift build -c release --product imagekit >&2 || die "swift build failed (see the compiler output above)"
bin_dir="$(swift build -c release --show-bin-path)"
[[ -x "$bin_dir/imagekit" ]] || die "the build succeeded but $bin_dir/imagekit is missing"
log "done"
printf '%s\n' "$bin_dir/imagekit"
