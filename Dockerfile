# VibeJudge organizer dashboard (Streamlit) for ECS Fargate.
#
# Builds with `imagekit build` (see imagekit.yaml) and unchanged with `docker build`.
# BASE_IMAGE must be a Debian-like image with `python3` (with the venv module),
# `useradd`/`groupadd` and /etc/ssl/certs/ca-certificates.crt. Builder and runtime
# use the same base so the venv's python symlink resolves in both.
# docs/IMAGE-SIZE.md explains every pruning step below and how it was measured.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS builder

# No bytecode from pip itself; the venv gets bytecode only for what start-up imports (below).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# binutils (strip, below) in the builder only: the runtime stage copies the venv, not the tools.
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /opt/venv

# Requirements first: this layer is reused until requirements.txt changes.
COPY streamlit_ui/requirements.txt /tmp/requirements.txt

# One RUN so that what is pruned never lands in a layer. In order:
# - pip's vendored certifi does not know a TLS-intercepting proxy's CA: when no
#   PIP_CERT is configured, use the system bundle (Mozilla roots plus local CAs);
# - installers (pip, setuptools, wheel) are not needed at runtime;
# - test suites shipped inside wheels (pandas alone ships 46 MB of them);
# - pyarrow's Flight RPC and S3 filesystem are optional modules, loaded only by
#   `import pyarrow.flight` / `pyarrow.fs.S3FileSystem`; C++ headers and sources;
# - Jupyter widget bundles: Streamlit renders charts with its own frontend;
# - type stubs, Cython declarations, JS source maps, then bytecode caches;
# - wheels cannot hold symlinks, so SONAME aliases arrive as full copies: keep
#   one file per content and directory and make the others symlinks to it.
RUN set -eu; \
    if [ -z "${PIP_CERT:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then \
        export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; \
    fi; \
    export PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-120}"; \
    /opt/venv/bin/pip install --no-cache-dir --no-compile -r /tmp/requirements.txt; \
    SP=$(echo /opt/venv/lib/python3*/site-packages); \
    rm -rf "$SP"/pip "$SP"/pip-*.dist-info "$SP"/setuptools "$SP"/setuptools-*.dist-info \
           "$SP"/wheel "$SP"/wheel-*.dist-info "$SP"/pkg_resources "$SP"/_distutils_hack \
           "$SP"/distutils-precedence.pth /opt/venv/bin/pip /opt/venv/bin/pip3 /opt/venv/bin/pip3.* \
           /opt/venv/bin/Activate.ps1; \
    find "$SP" -depth -type d \( -name tests -o -name test \) -exec rm -rf {} +; \
    rm -rf "$SP"/pyarrow/include "$SP"/pyarrow/src \
           "$SP"/pyarrow/libarrow_flight.so* "$SP"/pyarrow/libarrow_python_flight.so* \
           "$SP"/pyarrow/_flight.*.so "$SP"/pyarrow/flight.py \
           "$SP"/pyarrow/libarrow_s3.so* "$SP"/pyarrow/_s3fs.*.so \
           "$SP"/pyarrow/_pyarrow_cpp_tests.*.so "$SP"/numpy/_core/include; \
    rm -rf "$SP"/pydeck/nbextension/static "$SP"/plotly/labextension \
           "$SP"/plotly/package_data/widgetbundle.js; \
    find "$SP" -type f \( -name '*.pyi' -o -name '*.pxd' -o -name '*.pyx' -o -name '*.pxi' \
           -o -name '*.js.map' \) -delete; \
    find /opt/venv -depth -type d -name __pycache__ -exec rm -rf {} +; \
    find "$SP" -type f -name '*.so*' -exec sha256sum {} + | sort | \
    while read -r sum path; do \
        if [ "$sum" = "${prev:-}" ] && [ "${path%/*}" = "${keep%/*}" ]; then \
            ln -sf "${keep##*/}" "$path"; \
        else \
            prev=$sum; keep=$path; \
        fi; \
    done; \
    rm -f /tmp/requirements.txt

# Symbol tables of the wheels' shared libraries (28 MB, mostly pyarrow's): loading them needs
# only their dynamic symbols. Never the auditwheel-repaired libraries in *.libs/ (numpy.libs,
# pillow.libs): patchelf moved their segments and strip breaks them ("ELF load command
# address/offset not page-aligned"). Symlinks (the deduplicated copies) are left alone. Then
# load what was stripped, so that a broken library fails the build and not the dashboard.
RUN SP=$(echo /opt/venv/lib/python3*/site-packages) \
 && find "$SP" -type f \( -name '*.so' -o -name '*.so.[0-9]*' \) -not -path '*.libs/*' \
        -exec strip --strip-unneeded {} + \
 && /opt/venv/bin/python -c "import numpy, pandas, pyarrow, pyarrow.compute, pyarrow.parquet, PIL.Image"

# Bytecode for what the dashboard imports from its start until every page is rendered, and for
# nothing else: the list is measured (streamlit_ui/bytecode-modules.txt, made by
# bench/startup.sh): 24 MB, where all of site-packages would be 62 MB. unchecked-hash:
# each .pyc holds a hash of its source instead of its mtime (reproducible digests), and Python
# never re-reads the source to check it (the venv is root-owned and never changes at runtime).
# PYTHONHASHSEED fixes the order of set constants inside the bytecode.
COPY streamlit_ui/bytecode-modules.txt /tmp/bytecode-modules.txt
RUN set -eu; \
    SP=$(echo /opt/venv/lib/python3*/site-packages); \
    missing=""; \
    while read -r module; do \
        case "$module" in ''|'#'*) continue ;; esac; \
        if [ -f "$SP/$module" ]; then echo "$SP/$module"; else missing="$missing $module"; fi; \
    done < /tmp/bytecode-modules.txt > /tmp/bytecode-files.txt; \
    if [ -n "$missing" ]; then \
        echo "warning: $(echo $missing | wc -w) modules in streamlit_ui/bytecode-modules.txt are not installed and get no bytecode (e.g.$(printf ' %s' $missing | cut -c1-200)); make the list again: bench/README.md, bench/startup.sh" >&2; \
    fi; \
    PYTHONHASHSEED=0 /opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash \
        -i /tmp/bytecode-files.txt; \
    rm -f /tmp/bytecode-modules.txt /tmp/bytecode-files.txt


FROM ${BASE_IMAGE} AS runtime

# --no-log-init: no sparse /var/log/lastlog and faillog entries for UID 1000.
RUN groupadd --gid 1000 streamlit \
 && useradd --uid 1000 --gid 1000 --no-log-init --create-home --home-dir /home/streamlit \
            --shell /usr/sbin/nologin streamlit \
 && install -d -o 1000 -g 1000 -m 0755 /app

# The venv stays root-owned: the app can read its libraries but not change them.
COPY --from=builder /opt/venv /opt/venv

WORKDIR /app

# Start-up work skipped (docs/IMAGE-SIZE.md): no file watcher, no usage statistics, and no
# welcome banner, which looks up the external IP with two blocking HTTP requests (up to 1 s
# each, on the server's event loop) where a subnet has no route out.
ENV VIRTUAL_ENV=/opt/venv \
    PATH="/opt/venv/bin:${PATH}" \
    HOME=/home/streamlit \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_LOGGER_HIDE_WELCOME_MESSAGE=true \
    API_BASE_URL=""

# The app is the last file layer: code changes rebuild only this one.
COPY --chown=1000:1000 streamlit_ui/ /app/streamlit_ui/

# Build metadata late, so a new VERSION does not invalidate the layers above.
ARG VERSION=0.1.0
ARG SOURCE_URL=https://github.com/vibejudge/imagekit
LABEL maintainer="VibeJudge maintainers" \
      org.opencontainers.image.authors="VibeJudge maintainers" \
      org.opencontainers.image.title="vibejudge-dashboard" \
      org.opencontainers.image.description="VibeJudge organizer dashboard (Streamlit)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}"

USER 1000:1000

EXPOSE 8501

# Slim bases have no curl: ask the venv's python. Any exception exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"]

CMD ["/opt/venv/bin/python", "-m", "streamlit", "run", "streamlit_ui/app.py"]
