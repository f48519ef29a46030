#!/usr/bin/env bash
# Create or refresh the project's Python environment in .venv at the repository root.
#
# Installs streamlit_ui/requirements.txt and requirements-dev.txt. Quick and
# idempotent: nothing is reinstalled unless a requirement file (or the Python
# interpreter) changed since the last successful run.
#
# Environment: PYTHON (default python3) picks the interpreter for a new venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
REQS=("$ROOT/streamlit_ui/requirements.txt" "$ROOT/requirements-dev.txt")
STAMP="$VENV/.requirements.sha256"

for req in "${REQS[@]}"; do
    if [[ ! -f "$req" ]]; then
        echo "python-env.sh: missing requirement file $req" >&2
        exit 1
    fi
done

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "python-env.sh: interpreter '$PYTHON' not found; install python3 (with venv) or set PYTHON" >&2
    exit 1
fi

want="$( { "$PYTHON" -c 'import sys; print(sys.version)'; cat "${REQS[@]}"; } | sha256sum | cut -d' ' -f1)"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    exit 0
fi

# A venv made by another interpreter version is rebuilt rather than patched.
if [[ -x "$VENV/bin/python" ]] && [[ "$("$VENV/bin/python" -c 'import sys; print(sys.version)')" \
        != "$("$PYTHON" -c 'import sys; print(sys.version)')" ]]; then
    echo "python-env.sh: $VENV was made by another Python; recreating it"
    rm -rf "$VENV"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "python-env.sh: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

echo "python-env.sh: installing requirements into $VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$ROOT/streamlit_ui/requirements.txt" -r "$ROOT/requirements-dev.txt"

# Written last and atomically, so an interrupted install is retried next time.
tmp="$(mktemp "$VENV/.requirements.XXXXXX")"
printf '%s\n' "$want" > "$tmp"
mv -f "$tmp" "$STAMP"
echo "python-env.sh: ready"
