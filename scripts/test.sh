#!/usr/bin/env bash
# Sets up everything the tests need and runs every test: the Swift suites (unit tests next to
# each module, and the end-to-end suite that drives the built binary against runc, a local
# docker-registry, skopeo, umoci and moto) and the Python suites (dashboard, deployment).
#
#   scripts/test.sh            # everything
#   scripts/test.sh --swift    # Swift suites only
#   scripts/test.sh --python   # Python suites only
#
# Exits non-zero when any test fails. Needs root (runc, overlayfs, debootstrap).
set -euo pipefail

repo_root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$repo_root"
log() { printf 'test: %s\n' "$*" >&2; }

run_swift=1 run_python=1
case "${1:-}" in
    --swift) run_python=0 ;;
    --python) run_swift=0 ;;
    "") ;;
    *) echo "usage: scripts/test.sh [--swift|--python]" >&2; exit 2 ;;
esac

[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"

log "set-up (Debian packages, Python environment)"
bash scripts/setup.sh --no-build >&2

status=0
if [[ $run_swift == 1 ]]; then
    log "base image fixture"
    fixture="$(bash scripts/base-fixture.sh)"
    export IMAGEKIT_TEST_BASE_TAR="$fixture"
    log "swift format lint (.swift-format)"
    swift format lint --strict --recursive --parallel Sources Tests >&2 || { log "swift format lint failed: run swift format -i -r -p Sources Tests"; status=1; }
    log "swift build --build-tests"
    swift build --build-tests >&2 || { log "swift build failed"; exit 1; }
    log "swift test"
    swift test --skip-build || status=1
fi

if [[ $run_python == 1 ]]; then
    python=python3
    [[ -x .venv/bin/python ]] && python=.venv/bin/python
    suites=()
    for dir in streamlit_ui/tests tests; do [[ -d $dir ]] && suites+=("$dir"); done
    if [[ ${#suites[@]} -gt 0 ]]; then
        log "pytest ${suites[*]}"
        "$python" -m pytest -q "${suites[@]}" || status=1
    fi
fi

if [[ $status -ne 0 ]]; then log "FAILED"; else log "all tests passed"; fi
exit "$status"
