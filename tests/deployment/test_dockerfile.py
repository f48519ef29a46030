"""Dockerfile and .dockerignore, read with a small instruction parser."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

KNOWN = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER",
}


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def parse(text: str) -> list[Instruction]:
    """Docker's rules: comment lines vanish (also inside continuations), `\\` continues."""
    instructions: list[Instruction] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        keyword, _, args = " ".join(part for part in buffer if part).partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
        buffer = []
    assert not buffer, "Dockerfile ends inside a line continuation"
    return instructions


@pytest.fixture(scope="module")
def instructions(repo: Path) -> list[Instruction]:
    return parse((repo / "Dockerfile").read_text())


def stages(instructions: list[Instruction]) -> dict[str, list[Instruction]]:
    result: dict[str, list[Instruction]] = {}
    current = None
    for ins in instructions:
        if ins.keyword == "FROM":
            current = ins.args.split()[-1]
            result[current] = []
        elif current is not None:
            result[current].append(ins)
    return result


def env_of(stage: list[Instruction]) -> dict[str, str]:
    env = {}
    for ins in stage:
        if ins.keyword == "ENV":
            for key, value in re.findall(r'(\w+)=("[^"]*"|\S+)', ins.args):
                env[key] = value.strip('"')
    return env


def test_parser_handles_continuations_and_comments() -> None:
    parsed = parse("# c\nARG A=1\nRUN a \\\n    # inner comment\n    && b\n\nCMD [\"x\"]\n")
    assert parsed == [
        Instruction(2, "ARG", "A=1"),
        Instruction(3, "RUN", "a && b"),
        Instruction(7, "CMD", '["x"]'),
    ]


def test_only_docker_instructions(instructions: list[Instruction]) -> None:
    assert {ins.keyword for ins in instructions} <= KNOWN


def test_base_image_argument_and_stages(instructions: list[Instruction]) -> None:
    assert instructions[0] == Instruction(instructions[0].line, "ARG", "BASE_IMAGE=python:3.12-slim")
    froms = [ins.args for ins in instructions if ins.keyword == "FROM"]
    assert froms == ["${BASE_IMAGE} AS builder", "${BASE_IMAGE} AS runtime"]


def test_builder_makes_a_venv_without_pip_cache(instructions: list[Instruction]) -> None:
    builder = stages(instructions)["builder"]
    runs = [ins.args for ins in builder if ins.keyword == "RUN"]
    assert any("python3 -m venv /opt/venv" in run for run in runs)
    install = next(run for run in runs if "pip install" in run)
    assert "--no-cache-dir" in install
    assert "-r /tmp/requirements.txt" in install
    # Pruning happens in the same RUN as the install, or it would stay in a layer.
    for pruned in ("__pycache__", "-name tests", "libarrow_flight", "pip-*.dist-info"):
        assert pruned in install, pruned
    text = " ".join(ins.args for ins in instructions)
    assert "PIP_INDEX_URL" not in text
    # Nothing but the venv, the install (with its pruning) and the steps that change files the
    # install made: bytecode and, where present, strip.
    others = [run for run in runs if "python3 -m venv" not in run and run != install]
    assert all("compileall" in run or "strip" in run or "apt-get" in run for run in others), others


def test_requirements_before_app(instructions: list[Instruction]) -> None:
    copies = [(i, ins.args) for i, ins in enumerate(instructions) if ins.keyword == "COPY"]
    requirements = next(i for i, args in copies if "requirements.txt" in args)
    app = next(i for i, args in copies if args.endswith("/app/streamlit_ui/"))
    install = next(i for i, ins in enumerate(instructions) if ins.keyword == "RUN" and "pip install" in ins.args)
    assert requirements < install < app
    assert app == max(i for i, _ in copies), "the app is the last thing copied"


def test_runtime_stage(instructions: list[Instruction]) -> None:
    runtime = stages(instructions)["runtime"]
    keywords = [ins.keyword for ins in runtime]
    users = [ins.args for ins in runtime if ins.keyword == "USER"]
    assert users == ["1000:1000"]
    assert [ins.args for ins in runtime if ins.keyword == "EXPOSE"] == ["8501"]
    assert [ins.args for ins in runtime if ins.keyword == "WORKDIR"] == ["/app"]
    useradd = next(ins.args for ins in runtime if ins.keyword == "RUN")
    assert "groupadd --gid 1000 streamlit" in useradd
    assert "useradd --uid 1000 --gid 1000" in useradd
    assert "install -d -o 1000 -g 1000 -m 0755 /app" in useradd
    copies = [ins.args for ins in runtime if ins.keyword == "COPY"]
    assert "--from=builder /opt/venv /opt/venv" in copies
    assert "--chown=1000:1000 streamlit_ui/ /app/streamlit_ui/" in copies
    # USER comes after every step that needs root.
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k in {"RUN", "COPY"})


def test_runtime_environment(instructions: list[Instruction]) -> None:
    env = env_of(stages(instructions)["runtime"])
    assert env["STREAMLIT_SERVER_ADDRESS"] == "0.0.0.0"
    assert env["STREAMLIT_SERVER_PORT"] == "8501"
    assert env["STREAMLIT_SERVER_HEADLESS"] == "true"
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert env["API_BASE_URL"] == ""
    assert env["PATH"].startswith("/opt/venv/bin:")


def test_healthcheck_is_exec_form_python(instructions: list[Instruction]) -> None:
    (check,) = [ins.args for ins in instructions if ins.keyword == "HEALTHCHECK"]
    options, _, command = check.partition(" CMD ")
    assert "--interval=30s" in options
    argv = json.loads(command)
    assert argv[:2] == ["/opt/venv/bin/python", "-c"]
    assert "urllib.request" in argv[2] and "http://127.0.0.1:8501/_stcore/health" in argv[2]
    assert "curl" not in check
    compile(argv[2], "<healthcheck>", "exec")


def test_cmd_is_exec_form(instructions: list[Instruction]) -> None:
    (cmd,) = [ins.args for ins in instructions if ins.keyword == "CMD"]
    assert json.loads(cmd) == ["/opt/venv/bin/python", "-m", "streamlit", "run", "streamlit_ui/app.py"]
    assert instructions[-1].keyword == "CMD"


def test_oci_labels(instructions: list[Instruction]) -> None:
    (label,) = [ins.args for ins in instructions if ins.keyword == "LABEL"]
    keys = set(re.findall(r"([\w.]+)=", label))
    assert {
        "maintainer",
        "org.opencontainers.image.authors",
        "org.opencontainers.image.version",
        "org.opencontainers.image.description",
        "org.opencontainers.image.source",
    } <= keys


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Go filepath.Match plus `**`, as Docker applies them to .dockerignore lines."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def _ignored(patterns: list[str], path: str) -> bool:
    """The last matching pattern wins; `!` re-includes; a matched directory covers its contents."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for line in patterns:
        negate = line.startswith("!")
        regex = _pattern_regex(line.lstrip("!").rstrip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_sends_only_the_app(repo: Path) -> None:
    patterns = [
        line.strip() for line in (repo / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[:2] == ["*", "!streamlit_ui/"]
    for path in ("Sources/OCI/Digest.swift", ".build/x", ".git/HEAD", "template.yaml", "tests/deployment/x.py"):
        assert _ignored(patterns, path), path
    for path in ("streamlit_ui/app.py", "streamlit_ui/requirements.txt", "streamlit_ui/bytecode-modules.txt"):
        assert not _ignored(patterns, path), path
    assert _ignored(patterns, "streamlit_ui/__pycache__/app.cpython-311.pyc")
    assert _ignored(patterns, "streamlit_ui/.streamlit/secrets.toml")


def test_runtime_skips_start_up_work(instructions: list[Instruction]) -> None:
    env = env_of(stages(instructions)["runtime"])
    assert env["STREAMLIT_SERVER_FILE_WATCHER_TYPE"] == "none"
    # The welcome banner's external-IP lookup blocks the event loop for up to 2 s.
    assert env["STREAMLIT_LOGGER_HIDE_WELCOME_MESSAGE"] == "true"


def test_bytecode_only_for_the_measured_modules(instructions: list[Instruction], repo: Path) -> None:
    builder = stages(instructions)["builder"]
    copies = [ins.args for ins in builder if ins.keyword == "COPY"]
    assert "streamlit_ui/bytecode-modules.txt /tmp/bytecode-modules.txt" in copies
    (compile_run,) = [ins.args for ins in builder if ins.keyword == "RUN" and "compileall" in ins.args]
    # Hash-based .pyc files (no mtimes: reproducible), never checked against the source.
    assert "--invalidation-mode unchecked-hash" in compile_run
    assert "PYTHONHASHSEED=0" in compile_run
    assert "-i /tmp/bytecode-files.txt" in compile_run
    # The list changes without reinstalling: it is copied after the install step.
    install = next(i for i, ins in enumerate(builder) if ins.keyword == "RUN" and "pip install" in ins.args)
    listed = next(i for i, ins in enumerate(builder) if ins.keyword == "COPY" and "bytecode-modules" in ins.args)
    assert install < listed
    # The install step still sweeps every __pycache__ before that.
    assert "-name __pycache__ -exec rm -rf" in builder[install].args
    # The runtime never writes bytecode of its own.
    assert env_of(stages(instructions)["runtime"])["PYTHONDONTWRITEBYTECODE"] == "1"
    modules = [line for line in (repo / "streamlit_ui" / "bytecode-modules.txt").read_text().splitlines()
               if line and not line.startswith("#")]
    assert modules == sorted(set(modules))
    assert all(m.endswith(".py") and not m.startswith("/") and ".." not in m for m in modules)
    # Start-up imports Streamlit's server; the first Results page pandas (st.dataframe).
    for needed in ("streamlit/__init__.py", "streamlit/web/bootstrap.py", "pandas/__init__.py"):
        assert needed in modules, needed


def test_strip_in_the_builder_only_and_never_the_auditwheel_libraries(instructions: list[Instruction]) -> None:
    builder, runtime = stages(instructions)["builder"], stages(instructions)["runtime"]
    runs = [ins.args for ins in builder if ins.keyword == "RUN"]
    (apt,) = [run for run in runs if "apt-get" in run]
    assert "install -y --no-install-recommends binutils" in apt
    assert "rm -rf /var/lib/apt/lists/*" in apt
    assert not any("apt-get" in ins.args or "binutils" in ins.args for ins in runtime)
    (strip,) = [run for run in runs if "strip " in run]
    assert "-type f" in strip  # the deduplicated symlinks are not stripped twice
    assert "-not -path '*.libs/*'" in strip
    assert "--strip-unneeded" in strip
    # What was stripped is loaded before the image is made.
    assert "import numpy, pandas, pyarrow" in strip
    # Stripped after the install (and its deduplication), before anything is compiled.
    order = [i for i, ins in enumerate(builder) if ins.keyword == "RUN"]
    install = next(i for i in order if "pip install" in builder[i].args)
    stripped = next(i for i in order if "strip " in builder[i].args)
    compiled = next(i for i in order if "compileall" in builder[i].args)
    assert install < stripped < compiled
