#!/usr/bin/env python3
"""The differential Dockerfile harness: imagekit against Docker's BuildKit.

Each case of Tests/Compat/cases/NAME/ is a Dockerfile, a build context (context/), and optionally
files served over HTTP (served/) and a git repository (repo/, committed at build time). Both
builders build it FROM the same base image; the result is normalized to what the Dockerfile
decides: the config (User, Env, WorkingDir, Entrypoint, Cmd, Healthcheck, ExposedPorts, Labels,
Volumes, StopSignal) and the file tree minus the base's unchanged files (path, type, mode, owner,
size, sha256, symlink target; timestamps are left out), plus the base's paths that were removed.

    compat-harness.py normalize IMAGE.tar --base BASE.tar
        prints the normalized result of a docker-archive tar (`docker save`,
        `imagekit export --format docker`) as JSON.
    compat-harness.py check CASE_DIR IMAGE.tar --base BASE.tar
        compares an image to the case's recorded expectation (expected.json), applying the
        differences the case documents; exit 0 when they agree, 1 with the differences.
    compat-harness.py check-failure CASE_DIR --exit-code N --stderr FILE
        for a case that must fail ("fails": true in case.json): compares a failed build's exit
        code and error output with the expectation's "failure" (the exit code, and text the
        message must contain, such as Dockerfile:LINE:COL); exit 0 when they agree.
    compat-harness.py buildkit [--record] [--imagekit PATH] [CASE...]
        starts a private dockerd (Debian's docker.io, DOCKER_BUILDKIT=1) and a local registry
        holding the base image, builds every case (or those named) with BuildKit and compares
        the result with expected.json (--record: writes it). Cases whose expectation comes from
        the Dockerfile reference ("source": "reference") are skipped: this BuildKit cannot build
        them. A case that must fail is built too, whatever its source: BuildKit must fail on it
        as well (--record: its error line is kept in expected.json under "buildkit").
        Needs root, dockerd, /usr/bin/docker and an imagekit binary (to push the base).

Exit codes: 0 agreement, 1 a difference, 2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = REPO_ROOT / "Tests" / "Compat" / "cases"
BASE_TAG = "debian-python:bookworm"
BASE_ENV_PATH = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Labels that say where the base came from (a registry address here, a store tag there): not
# something the Dockerfile decides.
IGNORED_LABELS = ("org.opencontainers.image.base.name", "org.opencontainers.image.base.digest")
CONFIG_FIELDS = (
    "User", "Env", "WorkingDir", "Entrypoint", "Cmd", "Healthcheck", "ExposedPorts", "Labels", "Volumes",
    "StopSignal",
)


class HarnessError(Exception):
    """A set-up or input problem (exit 2)."""


# ---------------------------------------------------------------------------------------------
# Normalization


def _read_archive(path: Path) -> tuple[dict, list[tarfile.TarFile]]:
    """The config and the layer tars of a docker-archive tar, or of a root filesystem tar."""
    outer = tarfile.open(path)
    try:
        manifest = json.load(outer.extractfile("manifest.json"))
    except KeyError:
        # A plain root filesystem tar (the base fixture): one layer, no config.
        return {}, [outer]
    if len(manifest) != 1:
        raise HarnessError(f"{path}: holds {len(manifest)} images; export one")
    entry = manifest[0]
    config = json.load(outer.extractfile(entry["Config"]))
    layers = []
    for name in entry["Layers"]:
        data = outer.extractfile(name).read()
        layers.append(tarfile.open(fileobj=io.BytesIO(data)))  # gzip or plain, detected
    return config, layers


def _clean(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts)


def apply_layers(layers: list[tarfile.TarFile]) -> dict[str, dict]:
    """The filesystem the layers make, path -> entry, with whiteouts applied."""
    tree: dict[str, dict] = {}
    for layer in layers:
        members = layer.getmembers()
        # Whiteouts remove what the layers below hold; the layer's own entries come after.
        for member in members:
            path = _clean(member.name)
            directory, _, base = path.rpartition("/")
            if base == ".wh..wh..opq":
                prefix = directory + "/" if directory else ""
                for key in [k for k in tree if k.startswith(prefix) and k != directory]:
                    del tree[key]
            elif base.startswith(".wh."):
                victim = (directory + "/" if directory else "") + base[len(".wh."):]
                for key in [k for k in tree if k == victim or k.startswith(victim + "/")]:
                    del tree[key]
        for member in members:
            path = _clean(member.name)
            base = path.rpartition("/")[2]
            if not path or base.startswith(".wh."):
                continue
            entry = {"path": path, "mode": f"{member.mode & 0o7777:04o}", "uid": member.uid, "gid": member.gid}
            if member.isdir():
                entry["type"] = "dir"
                if path in tree and tree[path]["type"] == "dir":
                    pass  # a directory entry replaces the attributes, keeps the children
            elif member.issym():
                entry["type"] = "symlink"
                entry["target"] = member.linkname
            elif member.islnk():
                # A hard link is a file with its target's content; which name comes first in a
                # tar is the writer's choice.
                target = tree.get(_clean(member.linkname))
                entry["type"] = "file"
                entry["size"] = target.get("size", 0) if target else 0
                entry["sha256"] = target.get("sha256", "") if target else ""
            elif member.isreg():
                data = layer.extractfile(member).read()
                entry["type"] = "file"
                entry["size"] = len(data)
                entry["sha256"] = hashlib.sha256(data).hexdigest()
            elif member.ischr() or member.isblk():
                entry["type"] = "char" if member.ischr() else "block"
                entry["device"] = f"{member.devmajor}:{member.devminor}"
            elif member.isfifo():
                entry["type"] = "fifo"
            else:
                continue
            if path in tree and tree[path]["type"] == "dir" and entry["type"] != "dir":
                for key in [k for k in tree if k.startswith(path + "/")]:
                    del tree[key]
            tree[path] = entry
    return tree


def _normalize_value(value):
    """Empty lists, maps and strings mean "not set", as Docker treats them."""
    if value in (None, "", [], {}):
        return None
    return value


def normalize_config(config: dict) -> dict:
    inner = config.get("config") or {}
    result = {}
    for field in CONFIG_FIELDS:
        value = inner.get(field)
        if field == "Labels" and value:
            value = {k: v for k, v in value.items() if k not in IGNORED_LABELS}
        if field == "Healthcheck" and value:
            value = {k: v for k, v in value.items() if v not in (None, 0, "", [])}
        result[field] = _normalize_value(value)
    return result


def normalize(image: Path, base: Path) -> dict:
    config, layers = _read_archive(image)
    _, base_layers = _read_archive(base)
    tree = apply_layers(layers)
    base_tree = apply_layers(base_layers)
    changed = [entry for path, entry in sorted(tree.items()) if base_tree.get(path) != entry]
    removed = sorted(path for path in base_tree if path not in tree)
    return {"config": normalize_config(config), "tree": changed, "removed": removed}


# ---------------------------------------------------------------------------------------------
# Comparison


def _tree_map(result: dict) -> dict[str, dict]:
    return {entry["path"]: entry for entry in result["tree"]}


def expand_reference(entries: list[dict], case: Path) -> list[dict]:
    """Expectations written by hand give a file's content as text ("content") or as a file of the
    case ("contentFile"); they stand for its size and sha256."""
    expanded = []
    for entry in entries:
        entry = dict(entry)
        if "content" in entry or "contentFile" in entry:
            if "content" in entry:
                data = entry.pop("content").encode()
            else:
                source = (case / entry.pop("contentFile")).resolve()
                if not source.is_relative_to(case.resolve()):
                    raise HarnessError(f"{case}: contentFile {source} is outside the case")
                data = source.read_bytes()
            entry["size"] = len(data)
            entry["sha256"] = hashlib.sha256(data).hexdigest()
        expanded.append(entry)
    return expanded


def compare(expected_doc: dict, actual: dict, case: Path) -> list[str]:
    """Differences between the recorded expectation and an actual result, with the case's
    documented differences applied: each names a config field or a tree path and gives what
    imagekit makes there instead (null: absent), and why."""
    expected = json.loads(json.dumps(expected_doc["result"]))
    expected["tree"] = expand_reference(expected["tree"], case)
    for difference in expected_doc.get("differences", []):
        if not difference.get("reason"):
            raise HarnessError(f"a documented difference has no reason: {difference}")
        if "config" in difference:
            expected["config"][difference["config"]] = difference["imagekit"]
        elif "path" in difference:
            path = difference["path"]
            expected["tree"] = [e for e in expected["tree"] if e["path"] != path]
            if difference["imagekit"] is not None:
                expected["tree"] += expand_reference([dict(difference["imagekit"], path=path)], case)
            if difference.get("removed") is not None:
                expected["removed"] = sorted(set(expected["removed"]) ^ {path})
        else:
            raise HarnessError(f"a documented difference names neither config nor path: {difference}")
    problems = []
    for field in CONFIG_FIELDS:
        want, got = expected["config"].get(field), actual["config"].get(field)
        if want != got:
            problems.append(f"config {field}: expected {json.dumps(want)}, got {json.dumps(got)}")
    want_tree, got_tree = _tree_map(expected), _tree_map(actual)
    for path in sorted(set(want_tree) | set(got_tree)):
        want, got = want_tree.get(path), got_tree.get(path)
        if want != got:
            problems.append(f"/{path}: expected {json.dumps(want)}, got {json.dumps(got)}")
    for path in sorted(set(expected["removed"]) ^ set(actual["removed"])):
        problems.append(f"/{path}: removed {'expected' if path in expected['removed'] else 'unexpectedly'}")
    return problems


def check_failure(expected_doc: dict, exit_code: int, stderr: str) -> list[str]:
    """Differences between a case's expected failure and a failed build: the exit code, and each
    text the error must contain (where it is: Dockerfile:LINE:COL; what is wrong)."""
    failure = (expected_doc.get("result") or {}).get("failure")
    if not isinstance(failure, dict) or not isinstance(failure.get("exitCode"), int):
        raise HarnessError("the case must fail but expected.json has no result.failure.exitCode")
    problems = []
    if exit_code != failure["exitCode"]:
        problems.append(f"exit code: expected {failure['exitCode']}, got {exit_code}")
    for text in failure.get("messages", []):
        if text not in stderr:
            problems.append(f"the error does not contain {json.dumps(text)}")
    if problems:
        problems.append(f"the error was: {stderr.strip()[-1500:]}")
    return problems


def error_line(stderr: str) -> str:
    """The line of a failed docker build that says what failed (its last "error" line)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if "error" in line.lower():
            return line
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------------------------------
# Case inputs shared by both builders: a file server and a git repository


class FileServer:
    """Python's static file server on 127.0.0.1, on a free port, for the life of the value."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def git(*args: str, cwd: Path) -> None:
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(cwd), GIT_AUTHOR_DATE="2000-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2000-01-01T00:00:00Z")
    subprocess.run(["git", "-c", "user.name=imagekit", "-c", "user.email=test@imagekit.invalid", *args],
                   cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def prepare_served(case: Path, scratch: Path) -> Path | None:
    """served/ as it is, plus repo/ as a bare repository repo.git (tag v1) served over dumb HTTP."""
    served_src, repo_src = case / "served", case / "repo"
    if not served_src.is_dir() and not repo_src.is_dir():
        return None
    served = scratch / "served"
    if served_src.is_dir():
        shutil.copytree(served_src, served, symlinks=True)
    served.mkdir(exist_ok=True)
    if repo_src.is_dir():
        work = scratch / "repo-work"
        shutil.copytree(repo_src, work, symlinks=True)
        git("init", "--quiet", "--initial-branch=main", cwd=work)
        git("add", ".", cwd=work)
        git("commit", "--quiet", "-m", "v1", cwd=work)
        git("tag", "v1", cwd=work)
        subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(served / "repo.git")], check=True)
        git("update-server-info", cwd=served / "repo.git")
    return served


def case_meta(case: Path) -> dict:
    path = case / "case.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HarnessError(f"{path}: {error}") from None


def build_args(meta: dict, base: str, server: FileServer | None) -> list[str]:
    args = ["BASE=" + base]
    if server:
        args.append(f"SERVER=http://127.0.0.1:{server.port}")
    return args


# ---------------------------------------------------------------------------------------------
# BuildKit


class Docker:
    """A private dockerd on its own socket and directories; stopped by its pid only."""

    def __init__(self, scratch: Path, registry: str):
        self.scratch = scratch
        self.short = Path(tempfile.mkdtemp(prefix="ikch.", dir="/tmp"))  # socket paths stay short
        self.socket = self.short / "docker.sock"
        self.log = scratch / "dockerd.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                ["dockerd", "--data-root", str(scratch / "docker-data"), "--exec-root", str(self.short / "exec"),
                 "-H", f"unix://{self.socket}", "--pidfile", str(self.short / "docker.pid"),
                 "--storage-driver", "overlay2", "--iptables=false", "--bridge=none",
                 "--insecure-registry", registry],
                stdout=log, stderr=subprocess.STDOUT)
        # Ready when the API answers (or dockerd has died): polled, bounded by dockerd's own fate.
        while self.cli("version", check=False, quiet=True).returncode != 0:
            if self.process.poll() is not None:
                raise HarnessError(f"dockerd did not start: {self.log.read_text()[-600:]}")
            time.sleep(0.2)

    def cli(self, *args: str, check=True, quiet=False, env=None, cwd=None):
        environment = dict(os.environ, DOCKER_HOST=f"unix://{self.socket}", DOCKER_BUILDKIT="1", **(env or {}))
        result = subprocess.run(["/usr/bin/docker", *args], env=environment, cwd=cwd, text=True,
                                capture_output=True)
        if check and result.returncode != 0:
            raise HarnessError(f"docker {' '.join(args[:2])} failed: {result.stderr[-2000:]}")
        return result

    def version(self) -> dict:
        info = json.loads(self.cli("version", "--format", "{{json .}}").stdout)
        server = info.get("Server") or {}
        return {
            "engine": server.get("Version"),
            "apiVersion": server.get("ApiVersion"),
            "client": (info.get("Client") or {}).get("Version"),
            "builder": "BuildKit vendored in Docker Engine (DOCKER_BUILDKIT=1), its built-in Dockerfile frontend; "
                       "no # syntax= line (no newer frontend image can be pulled)",
        }

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _remove_tree(self.short)


def _remove_tree(path: Path):
    """Unmounts what a dockerd left under path, then removes it."""
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout.split()
    for mount in sorted((m for m in mounts if m.startswith(str(path) + "/")), reverse=True):
        subprocess.run(["umount", "-l", mount], stderr=subprocess.DEVNULL)
    shutil.rmtree(path, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_fixture() -> str:
    """The base image's root filesystem tar (scripts/base-fixture.sh), as the Swift tests use it."""
    given = os.environ.get("IMAGEKIT_TEST_BASE_TAR")
    if given and os.path.exists(given):
        return given
    result = subprocess.run(["bash", str(REPO_ROOT / "scripts/base-fixture.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        raise HarnessError(f"scripts/base-fixture.sh failed: {result.stderr[-1000:]}")
    return result.stdout.strip()


@contextlib.contextmanager
def registry_with_base(scratch: Path, imagekit: str):
    name = f"compat-{os.getpid()}"
    address = subprocess.run(["bash", str(REPO_ROOT / "scripts/registry.sh"), "start", "--name", name],
                             capture_output=True, text=True)
    if address.returncode != 0:
        raise HarnessError(f"cannot start a registry: {address.stderr}")
    registry = address.stdout.strip()
    try:
        fixture = base_fixture()
        store = scratch / "seed"
        for args in (["import", fixture, "-t", BASE_TAG, "--change", BASE_ENV_PATH],
                     ["push", BASE_TAG, "--repository", f"{registry}/base/debian-python", "--tag", "bookworm"]):
            result = subprocess.run([imagekit, "--store", str(store), *args], capture_output=True, text=True)
            if result.returncode != 0:
                raise HarnessError(f"imagekit {args[0]} failed: {result.stderr}")
        yield registry
    finally:
        subprocess.run(["bash", str(REPO_ROOT / "scripts/registry.sh"), "stop", "--name", name],
                       capture_output=True)


def buildkit_case(docker: Docker, case: Path, base_ref: str, scratch: Path) -> dict:
    """BuildKit's normalized result for a case; for a case that must fail, its failure
    ({"exitCode", "error"}): a build that succeeds there is an error."""
    meta = case_meta(case)
    work = scratch / case.name
    work.mkdir()
    context = work / "context"
    if (case / "context").is_dir():
        shutil.copytree(case / "context", context, symlinks=True)
    else:
        context.mkdir()
    served = prepare_served(case, work)
    server = FileServer(served) if served else None
    try:
        tag = f"compat-{case.name}:buildkit"
        args = ["build", "--network", "host", "-t", tag, "-f", str(case / "Dockerfile")]
        for arg in build_args(meta, base_ref, server):
            args += ["--build-arg", arg]
        if meta.get("target"):
            args += ["--target", meta["target"]]
        for secret in meta.get("secrets", []):
            args += ["--secret", f"id={secret},src={case / 'secrets' / secret}"]
        args.append(str(context))
        result = docker.cli(*args, check=False)
        if meta.get("fails"):
            if result.returncode == 0:
                raise HarnessError(f"{case.name}: BuildKit built it, but the case must fail")
            return {"exitCode": result.returncode, "error": error_line(result.stderr)}
        if result.returncode != 0:
            raise HarnessError(f"{case.name}: BuildKit failed:\n{result.stderr[-3000:]}")
        docker.cli("save", "-o", str(work / "image.tar"), tag)
        return normalize(work / "image.tar", Path(base_fixture()))
    finally:
        if server:
            server.close()


def buildkit_failure_case(docker: Docker, case: Path, base_ref: str, scratch: Path, previous: dict | None,
                          version: dict, options) -> int:
    """A case that must fail: BuildKit must fail on it too. Its expectation (exit code and
    message) is imagekit's, from the Dockerfile reference; BuildKit's error is recorded beside it
    (docker build exits 1 for every failure, and an older frontend may fail for another reason).
    Returns 1 when it does not."""
    name = case.name
    if previous is None or not (previous.get("result") or {}).get("failure"):
        print(f"compat: {name}: expected.json has no result.failure; write it from the reference", file=sys.stderr)
        return 1
    try:
        outcome = buildkit_case(docker, case, base_ref, scratch)
    except HarnessError as error:
        print(f"compat: {name}: {error}", file=sys.stderr)
        return 1
    if options.record:
        previous["buildkit"] = dict(outcome, recordedWith=version)
        (case / "expected.json").write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
        print(f"compat: {name}: BuildKit fails too, recorded: {outcome['error']}", file=sys.stderr)
    else:
        print(f"compat: {name}: BuildKit fails too: {outcome['error']}", file=sys.stderr)
    return 0


def command_buildkit(options) -> int:
    if os.geteuid() != 0:
        raise HarnessError("run as root: dockerd needs it")
    for program in ("dockerd", "/usr/bin/docker", "git"):
        if not shutil.which(program):
            raise HarnessError(f"{program} not found: apt-get install docker.io git")
    imagekit = options.imagekit or str(REPO_ROOT / ".build/debug/imagekit")
    if not os.access(imagekit, os.X_OK):
        raise HarnessError(f"{imagekit} is not an executable: swift build, or pass --imagekit")
    names = options.cases or sorted(p.name for p in CASES_DIR.iterdir() if (p / "Dockerfile").is_file())
    scratch = Path(tempfile.mkdtemp(prefix="imagekit-compat-", dir="/var/tmp"))
    docker = None
    failed = 0
    try:
        with registry_with_base(scratch, imagekit) as registry:
            docker = Docker(scratch, registry)
            base_ref = f"{registry}/base/debian-python:bookworm"
            docker.cli("pull", base_ref)
            version = docker.version()
            print(f"compat: Docker {version['engine']} (API {version['apiVersion']})", file=sys.stderr)
            for name in names:
                case = CASES_DIR / name
                expected_path = case / "expected.json"
                previous = json.loads(expected_path.read_text()) if expected_path.exists() else None
                if case_meta(case).get("fails"):
                    failed += buildkit_failure_case(docker, case, base_ref, scratch, previous, version, options)
                    continue
                if previous and previous.get("source") == "reference":
                    print(f"compat: {name}: skipped (expectation from the Dockerfile reference: "
                          f"{previous.get('reason')})", file=sys.stderr)
                    continue
                try:
                    actual = buildkit_case(docker, case, base_ref, scratch)
                except HarnessError as error:
                    print(f"compat: {name}: {error}", file=sys.stderr)
                    failed += 1
                    continue
                if options.record:
                    document = {
                        "case": name,
                        "source": "buildkit",
                        "recordedWith": version,
                        "differences": (previous or {}).get("differences", []),
                        "result": actual,
                    }
                    expected_path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
                    print(f"compat: {name}: recorded", file=sys.stderr)
                    continue
                if previous is None:
                    print(f"compat: {name}: no expected.json; run with --record", file=sys.stderr)
                    failed += 1
                    continue
                recorded = dict(previous, differences=[])
                problems = compare(recorded, actual, case)
                if problems:
                    failed += 1
                    print(f"compat: {name}: BuildKit differs from {expected_path}:", file=sys.stderr)
                    for problem in problems:
                        print(f"  {problem}", file=sys.stderr)
                else:
                    print(f"compat: {name}: BuildKit agrees with the recorded expectation", file=sys.stderr)
    finally:
        if docker:
            docker.close()
        _remove_tree(scratch)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("normalize")
    p.add_argument("image", type=Path)
    p.add_argument("--base", type=Path, required=True)
    p = commands.add_parser("check")
    p.add_argument("case", type=Path)
    p.add_argument("image", type=Path)
    p.add_argument("--base", type=Path, required=True)
    p = commands.add_parser("check-failure")
    p.add_argument("case", type=Path)
    p.add_argument("--exit-code", type=int, required=True)
    p.add_argument("--stderr", type=Path, required=True)
    p = commands.add_parser("buildkit")
    p.add_argument("--record", action="store_true")
    p.add_argument("--imagekit")
    p.add_argument("cases", nargs="*")
    p = commands.add_parser("serve", help="serve a case's served/ and repo/ on 127.0.0.1; prints the port")
    p.add_argument("case", type=Path)
    p.add_argument("scratch", type=Path)
    options = parser.parse_args(argv)
    try:
        if options.command == "normalize":
            json.dump(normalize(options.image, options.base), sys.stdout, indent=2, sort_keys=True)
            print()
            return 0
        if options.command == "check":
            expected_path = options.case / "expected.json"
            try:
                expected = json.loads(expected_path.read_text())
            except (OSError, ValueError) as error:
                raise HarnessError(f"{expected_path}: {error}; record it with compat-harness.py buildkit --record")
            if "failure" in (expected.get("result") or {}):
                raise HarnessError(f"{options.case.name} must fail: compare its build with check-failure")
            problems = compare(expected, normalize(options.image, options.base), options.case)
            for problem in problems:
                print(f"{options.case.name}: {problem}")
            return 1 if problems else 0
        if options.command == "check-failure":
            expected_path = options.case / "expected.json"
            try:
                expected = json.loads(expected_path.read_text())
                stderr = options.stderr.read_text(errors="replace")
            except (OSError, ValueError) as error:
                raise HarnessError(f"{error}")
            problems = check_failure(expected, options.exit_code, stderr)
            for problem in problems:
                print(f"{options.case.name}: {problem}")
            return 1 if problems else 0
        if options.command == "serve":
            served = prepare_served(options.case, options.scratch)
            if served is None:
                raise HarnessError(f"{options.case} has neither served/ nor repo/")
            server = FileServer(served)
            print(server.port, flush=True)
            threading.Event().wait()  # until killed
            return 0
        return command_buildkit(options)
    except HarnessError as error:
        print(f"compat-harness: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
