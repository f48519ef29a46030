#!/usr/bin/env bash
# Prints the path of a rootfs tarball of the test base image (Debian bookworm
# minbase + python3 + venv), building and caching it when missing.
#
# Docker Hub is out of reach, so tests and the offline demo start FROM this
# tree instead of python:3.12-slim. The tarball is deterministic: the same
# package versions give the same bytes.
#
# Environment:
#   IMAGEKIT_FIXTURE_CACHE  cache directory (default: $XDG_CACHE_HOME/imagekit/fixtures)
#   DEBIAN_MIRROR           apt mirror for debootstrap (default: http://deb.debian.org/debian)
#
# Only the path goes to stdout; progress goes to stderr. Needs root (debootstrap,
# chroot and real file owners in the tar).
set -euo pipefail

script_path="$(readlink -f "${BASH_SOURCE[0]}")"
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache_dir="${IMAGEKIT_FIXTURE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagekit/fixtures}"
# The name carries a hash of this script: changing how the tree is made
# invalidates the cache without anyone having to remember to clear it.
script_hash="$(sha256sum "$script_path" | cut -c1-16)"
tarball="$cache_dir/debian-python-$suite-$script_hash.tar"

log() { printf 'base-fixture: %s\n' "$*" >&2; }
die() { printf 'base-fixture: error: %s\n' "$*" >&2; exit 1; }

# Cache hit: no lock, no subprocess beyond sha256sum.
if [[ -s "$tarball" ]]; then
    printf '%s\n' "$tarball"
    exit 0
fi

[[ $EUID -eq 0 ]] || die "building the fixture needs root (debootstrap, chroot, real owners in the tar); run: sudo $0"
for tool in debootstrap chroot flock tar findmnt; do
    command -v "$tool" >/dev/null || die "'$tool' not found; run scripts/setup.sh to install the project's packages"
done
tar --version | head -n1 | grep -q 'GNU tar' || die "GNU tar is required for a deterministic archive"

mkdir -p "$cache_dir"
exec 9>"$cache_dir/.debian-python-$suite.lock"
if ! flock -n 9; then
    log "another build of the fixture is running; waiting for it"
    flock 9
fi
# The run holding the lock before us may have produced it.
if [[ -s "$tarball" ]]; then
    printf '%s\n' "$tarball"
    exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/imagekit-fixture.XXXXXX")"
rootfs="$work/rootfs"
tmp_tar="$cache_dir/.debian-python-$suite-$script_hash.tar.$$.partial"

# Mount points under the tree, deepest first. debootstrap mounts /proc and
# /sys there, and inside a container it bind-mounts the host's /dev.
mounts_under_rootfs() {
    findmnt -rn -o TARGET | awk -v r="$rootfs" 'index($0, r "/") == 1 || $0 == r' | sort -r
}

cleanup() {
    local status=$?
    # A failed run can leave those mounts behind; rm must never reach the
    # host's /dev or /proc through them.
    if [[ -d "$rootfs" ]]; then
        local m
        while IFS= read -r m; do
            [[ -n "$m" ]] && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
        done < <(mounts_under_rootfs)
        if [[ -n "$(mounts_under_rootfs)" ]]; then
            log "leaving $work in place: something is still mounted under it"
            rm -f "$tmp_tar"
            exit "$status"
        fi
    fi
    rm -rf --one-file-system "$work"
    rm -f "$tmp_tar"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$SECONDS
log "debootstrap $suite (minbase + python3, python3-venv, ca-certificates) from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$suite" "$rootfs" "$mirror" >&2 \
    || die "debootstrap failed (log: $rootfs/debootstrap/debootstrap.log is removed on exit; rerun with a reachable DEBIAN_MIRROR)"

log "configuring"
# pip inside the container goes through this network's TLS proxy, whose CA is
# in the host bundle.
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"

# The debootstrap target inherits the host's apt sources, resolver and name;
# an image must carry none of them.
printf 'deb %s %s main\n' "$mirror" "$suite" >"$rootfs/etc/apt/sources.list"
rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
install -m 0644 /dev/null "$rootfs/etc/resolv.conf"   # bind-mounted at run time
printf 'localhost\n' >"$rootfs/etc/hostname"
chmod 0644 "$rootfs/etc/hostname"
rm -f "$rootfs/etc/machine-id" "$rootfs/var/lib/dbus/machine-id"
# The "last password change" day in /etc/shadow is the day of the build;
# pin it to the archive's epoch so a rebuild on another day gives the same
# bytes. The backups (/etc/passwd- and friends) only repeat the same data.
epoch=946684800
sed -i -E "s/^([^:]*:[^:]*:)[0-9]+:/\1$((epoch / 86400)):/" "$rootfs/etc/shadow"
rm -f "$rootfs"/etc/{passwd,group,shadow,gshadow,subuid,subgid}-

# Keep later `apt-get install` runs in derived images as lean as this one
# (same rule set as Debian's slim images).
mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/imagekit-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-include /usr/share/locale/en/*
path-include /usr/share/locale/en_US/*
path-include /usr/share/locale/en_GB/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF

log "checking useradd and python3 -m venv"
[[ -x "$rootfs/usr/sbin/useradd" ]] || die "useradd is missing from the tree (package passwd); the fixture cannot create a non-root user"
chroot "$rootfs" /usr/sbin/useradd --help >/dev/null
chroot "$rootfs" /usr/bin/python3 -m venv /tmp/venv-check \
    || die "python3 -m venv does not work inside the tree (is python3-venv installed?)"
chroot "$rootfs" /tmp/venv-check/bin/python -c 'import ensurepip, ssl, sqlite3' \
    || die "the venv inside the tree cannot import ensurepip/ssl/sqlite3"
rm -rf "$rootfs/tmp/venv-check"

log "trimming"
# Documentation: keep only the copyright files (licence obligations).
find "$rootfs/usr/share/doc" -mindepth 1 \( -type f -o -type l \) ! -name copyright -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/lintian" \
    "$rootfs/usr/share/linda" "$rootfs/usr/share/doc-base" "$rootfs/usr/share/groff"
# Message catalogues: C needs none; keep English.
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 \
    ! -name 'en' ! -name 'en_US' ! -name 'en_GB' ! -name 'locale.alias' -exec rm -rf {} +
# apt and debconf state that is rebuilt on demand.
rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"* "$rootfs/var/cache/ldconfig/"*
mkdir -p "$rootfs/var/lib/apt/lists/partial" "$rootfs/var/cache/apt/archives/partial"
rm -f "$rootfs/var/cache/debconf/"*-old "$rootfs/var/lib/dpkg/"*-old
find "$rootfs/var/log" -mindepth 1 \( -type f -o -type l \) -delete
rm -rf "$rootfs/debootstrap" "$rootfs/tmp/"* "$rootfs/var/tmp/"* "$rootfs/root/.cache"
# Byte code of the standard library: kept, but recompiled hash-based.
# Without it every container start recompiles the imported modules in memory,
# because a non-root user cannot write /usr/lib/python3*/__pycache__. Debian's
# own .pyc files are timestamp-based and go stale as soon as a layer writer
# clamps mtimes; checked-hash .pyc files stay valid whatever the mtimes are.
log "recompiling the standard library's byte code (checked-hash)"
find "$rootfs/usr/lib/python3" "$rootfs"/usr/lib/python3.* -type d -name __pycache__ -prune -exec rm -rf {} +
chroot "$rootfs" /usr/bin/env SOURCE_DATE_EPOCH="$epoch" /usr/bin/python3 -m compileall -q \
    --invalidation-mode checked-hash -x '/(test|tests|idlelib|lib2to3/tests)/' \
    /usr/lib/python3 "/usr/lib/$(chroot "$rootfs" /usr/bin/python3 -c 'import sys; print(f"python{sys.version_info.major}.{sys.version_info.minor}")')" >&2 \
    || die "compileall failed inside the tree"

# Runtimes create /dev, /proc and /sys; device nodes do not belong in a layer.
[[ -z "$(mounts_under_rootfs)" ]] || die "still mounted under $rootfs: $(mounts_under_rootfs | tr '\n' ' ')"
find "$rootfs/dev" "$rootfs/proc" "$rootfs/sys" "$rootfs/run" -xdev -mindepth 1 -delete

[[ -s "$rootfs/etc/os-release" || -L "$rootfs/etc/os-release" ]] || die "/etc/os-release is missing from the tree"

size_bytes="$(du -sb "$rootfs" | cut -f1)"
log "tree: $((size_bytes / 1024 / 1024)) MiB uncompressed"

log "writing the archive"
# Sorted entries, numeric owners, a fixed clamped mtime and no atime/ctime:
# the same tree always gives the same bytes. Owners stay as they are in the
# tree (not forced to 0:0): /etc/shadow and the setgid chage/expiry belong to
# group shadow, /var/mail to mail; flattening them would break those tools.
# Their ids are fixed by Debian's base-passwd, so determinism holds.
tar -C "$rootfs" --sort=name --numeric-owner \
    --mtime="@$epoch" --clamp-mtime \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --format=posix -cf "$tmp_tar" .
sync -f "$tmp_tar" 2>/dev/null || sync
mv -f "$tmp_tar" "$tarball"
sync -f "$cache_dir" 2>/dev/null || true

log "done in $((SECONDS - started)) s: $tarball ($(du -b "$tarball" | cut -f1) bytes)"
printf '%s\n' "$tarball"
