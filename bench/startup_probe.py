"""Cold starts of dashboard images under runc, timed from outside: driven by bench/startup.sh.

    startup_probe.py --runs N --out SAMPLES.jsonl --logs DIR [--modules FILE] LABEL=BUNDLE...

A variant may also be LABEL=docker:IMAGE: the image as `docker run --network host --cpus 0.5
--memory 1g` starts it (the dockerd at $DOCKER_HOST), for comparison.

Each BUNDLE is an OCI runtime bundle made by bench/startup.sh (bench_unpack_image, then
bench_bundle_host_network with the CPU and memory limits): rootfs/ is never written to, every
run mounts a fresh overlay over it, as a container runtime does with image layers.

One in-memory VibeJudge backend (streamlit_ui/tests/fake_backend.py, seeded with seed_demo, the
contract of the real API) serves every run; the container signs in with its key through
VIBEJUDGE_API_KEY, as the ECS task does with its secret. One headless Chromium serves every run,
with a fresh browser context (empty cache, no cookies) per run.

Per run and variant (variants take turns within a round, so load on a shared machine falls
on all of them alike):
  healthy_s   `runc run --detach` called -> first 200 of /_stcore/health (polled every 20 ms)
  page_s      `runc run --detach` called -> the Home page fully rendered: the signed-in
              welcome and the agents' heading shown, the app idle (no run in progress, no
              stale element); the browser opens the page as soon as the container is healthy,
              as a load balancer sends traffic only then
  results_s   then a click on "Results" -> its leaderboard, charts and table painted: the first
              page that needs pandas, pyarrow and Plotly figures
  peak_mib    the container cgroup's peak memory (cgroup v1 memory.max_usage_in_bytes, or v2
              memory.peak), when the kernel reports it
  healthy_cpu_s, page_cpu_s
              CPU time the container had used when it became healthy and when the Home page
              was rendered: what the start-up costs, whatever else the machine is doing
  cpu_s, throttled_s, cpus
              at the end of the run: CPU time the container used, time the CFS quota held it
              back, and the quota in CPUs as the kernel has it (proof that the limit applies)

--modules FILE: one more run of the first variant with PYTHONPROFILEIMPORTTIME=1; every module
imported until the Home page, the Results page and then every other page are rendered is written to FILE as a path relative to the venv's
site-packages (one a line, sorted: the input of the Dockerfile's bytecode step), with a summary
of import time per top-level package on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "streamlit_ui" / "tests"))

from fake_backend import FakeBackend, seed_demo  # noqa: E402

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "chromium")
TIMEOUT_S = 300.0
# The same conditions as the real-browser smoke test (streamlit_ui/tests/test_ui_smoke.py).
SETTLED = """() => {
    const busy = document.querySelector('[data-testid="stStatusWidget"]');
    const running = busy && busy.getBoundingClientRect().height > 0;
    return !running && !document.querySelector('[data-stale="true"]');
}"""
PAINTED = """() => {
    const items = [...document.querySelectorAll(
        '[data-testid="stDataFrame"] canvas, [data-testid="stPlotlyChart"] .main-svg')];
    return items.length > 0 && items.every(e => e.getBoundingClientRect().height > 0);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str:
    for candidate in [os.environ.get("CHROMIUM_PATH", "")] + list(CHROMIUM_CANDIDATES):
        found = candidate if os.path.isabs(candidate) else shutil.which(candidate or "-")
        if found and os.access(found, os.X_OK):
            # Debian's /usr/bin/chromium is a shell wrapper; Playwright needs the binary.
            return found
    sys.exit("startup_probe: Chromium not found: install Debian's `chromium` or set CHROMIUM_PATH")


def cgroup_peak(cgroup: str) -> float | None:
    for path in (f"/sys/fs/cgroup/memory{cgroup}/memory.max_usage_in_bytes",
                 f"/sys/fs/cgroup{cgroup}/memory.peak"):
        try:
            return int(Path(path).read_text()) / 2**20
        except (OSError, ValueError):
            continue
    return None


def cgroup_cpu(cgroup: str) -> dict[str, float]:
    """CPU time the container used and how long the CFS quota held it back, in seconds."""
    found: dict[str, float] = {}
    try:
        found["cpu_s"] = int(Path(f"/sys/fs/cgroup/cpuacct{cgroup}/cpuacct.usage").read_text()) / 1e9
        stat = dict(line.split() for line in
                    Path(f"/sys/fs/cgroup/cpu{cgroup}/cpu.stat").read_text().splitlines())
        found["throttled_s"] = int(stat["throttled_time"]) / 1e9
        quota = int(Path(f"/sys/fs/cgroup/cpu{cgroup}/cpu.cfs_quota_us").read_text())
        period = int(Path(f"/sys/fs/cgroup/cpu{cgroup}/cpu.cfs_period_us").read_text())
        found["cpus"] = quota / period if quota > 0 else 0.0
        return found
    except (OSError, ValueError, KeyError):
        pass
    try:  # cgroup v2
        stat = dict(line.split() for line in
                    Path(f"/sys/fs/cgroup{cgroup}/cpu.stat").read_text().splitlines())
        found["cpu_s"] = int(stat["usage_usec"]) / 1e6
        found["throttled_s"] = int(stat["throttled_usec"]) / 1e6
        quota, period = Path(f"/sys/fs/cgroup{cgroup}/cpu.max").read_text().split()
        found["cpus"] = int(quota) / int(period) if quota != "max" else 0.0
    except (OSError, ValueError, KeyError):
        pass
    return found


CGROUP_PARENT = "/imagekit-bench-startup"


def reserve_cpu(weight: int) -> str:
    """Give the containers' parent cgroup WEIGHT times the default CPU weight, so that a
    container gets its quota (0.5 CPU) even on a busy machine, as a Fargate task gets the
    vCPU it reserved. The quota still caps it. Returns what was set, for the report."""
    v1 = Path(f"/sys/fs/cgroup/cpu{CGROUP_PARENT}")
    v2 = Path(f"/sys/fs/cgroup{CGROUP_PARENT}")
    try:
        if Path("/sys/fs/cgroup/cpu").is_dir():
            v1.mkdir(exist_ok=True)
            (v1 / "cpu.shares").write_text(str(1024 * weight))
            return f"cgroup v1 cpu.shares {1024 * weight} on {CGROUP_PARENT}"
        v2.mkdir(exist_ok=True)
        (v2 / "cpu.weight").write_text(str(min(10000, 100 * weight)))
        return f"cgroup v2 cpu.weight {min(10000, 100 * weight)} on {CGROUP_PARENT}"
    except OSError as exc:
        print(f"startup_probe: could not raise the CPU weight of {CGROUP_PARENT}: {exc}; "
              "on a busy machine containers may get less than their quota", file=sys.stderr)
        return "default weight"


class Container:
    """One fresh container: an overlay over the bundle's rootfs, runc with the bundle's config."""

    def __init__(self, bundle: Path, work: Path, name: str, env: dict[str, str]):
        self.bundle, self.work, self.name = bundle, work, name
        self.runc_root = work / "runc"
        self.merged = work / "merged"
        self.cgroup = f"{CGROUP_PARENT}/{name}"
        for d in ("upper", "ovl-work", "merged", "runc"):
            (work / d).mkdir(parents=True)
        config = json.loads((bundle / "config.json").read_text())
        config["root"]["path"] = str(self.merged)
        config["linux"]["cgroupsPath"] = self.cgroup
        process_env = [e for e in config["process"]["env"] if e.split("=", 1)[0] not in env]
        config["process"]["env"] = process_env + [f"{k}={v}" for k, v in env.items()]
        (work / "config.json").write_text(json.dumps(config))
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={bundle / 'rootfs'},upperdir={work / 'upper'},"
                        f"workdir={work / 'ovl-work'}", str(self.merged)], check=True)
        self.mounted = True
        self.log = work / "container.log"

    def start(self) -> None:
        with open(self.log, "wb") as log:
            subprocess.run(["runc", "--root", str(self.runc_root), "run", "--detach",
                            "--bundle", str(self.work), self.name],
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                           check=True)

    def running(self) -> bool:
        out = subprocess.run(["runc", "--root", str(self.runc_root), "state", self.name],
                             capture_output=True, text=True)
        return out.returncode == 0 and json.loads(out.stdout).get("status") == "running"

    def stop(self) -> None:
        subprocess.run(["runc", "--root", str(self.runc_root), "kill", self.name, "KILL"],
                       capture_output=True)
        subprocess.run(["runc", "--root", str(self.runc_root), "delete", "--force", self.name],
                       capture_output=True)
        if self.mounted:
            subprocess.run(["umount", str(self.merged)], check=False)
            self.mounted = False


class DockerContainer:
    """The same image under `docker run --cpus --memory` (the dockerd at $DOCKER_HOST, started by
    bench/startup.sh with --cgroup-parent CGROUP_PARENT), for comparison with runc."""

    def __init__(self, image: str, work: Path, name: str, env: dict[str, str], cpus: str,
                 memory: str):
        self.image, self.work, self.name = image, work, name
        work.mkdir(parents=True)
        self.log = work / "container.log"
        self.args = ["docker", "run", "--detach", "--name", name, "--network", "host",
                     "--cpus", cpus, "--memory", memory, "--memory-swap", memory]
        for k, v in env.items():
            self.args += ["--env", f"{k}={v}"]
        self.args.append(image)
        self.cgroup = ""

    def start(self) -> None:
        out = subprocess.run(self.args, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if out.returncode:
            self.log.write_text(out.stdout + out.stderr)
            raise RuntimeError(f"docker run failed: {out.stderr.strip()}")
        self.cgroup = f"{CGROUP_PARENT}/{out.stdout.strip()}"

    def running(self) -> bool:
        out = subprocess.run(["docker", "inspect", "--format", "{{.State.Running}}", self.name],
                             capture_output=True, text=True)
        return out.stdout.strip() == "true"

    def stop(self) -> None:
        with open(self.log, "wb") as log:
            subprocess.run(["docker", "logs", self.name], stdout=log, stderr=subprocess.STDOUT)
        subprocess.run(["docker", "rm", "--force", self.name], capture_output=True)


def wait_healthy(url: str, container: Container | DockerContainer, t0: float) -> float:
    session = requests.Session()
    session.trust_env = False  # never through a proxy
    while time.monotonic() - t0 < TIMEOUT_S:
        try:
            if session.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return time.monotonic() - t0
        except requests.RequestException:
            pass
        if not container.running():
            raise RuntimeError(f"the container exited before it was healthy; see {container.log}")
        time.sleep(0.02)
    raise RuntimeError(f"not healthy after {TIMEOUT_S:.0f} s; see {container.log}")


def idle(page) -> None:
    page.wait_for_function(SETTLED, timeout=TIMEOUT_S * 1000)


def render_home(page, url: str) -> None:
    page.goto(url, timeout=TIMEOUT_S * 1000)
    page.get_by_role("heading", name="The four judging agents").wait_for(timeout=TIMEOUT_S * 1000)
    page.get_by_text("Welcome, Ada Organizer").wait_for(timeout=TIMEOUT_S * 1000)
    idle(page)


def render_results(page) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Results", exact=True).click()
    page.get_by_role("heading", name="Leaderboard").wait_for(timeout=TIMEOUT_S * 1000)
    idle(page)
    page.wait_for_function(PAINTED, timeout=TIMEOUT_S * 1000)


# The other pages, by their sidebar link and title: the import-time run visits them all.
OTHER_PAGES = [("Create hackathon", "🛠️ Create a hackathon"), ("Live dashboard", "📡 Live dashboard"),
               ("Intelligence", "🧠 Intelligence")]


def visit(page, link: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for(timeout=TIMEOUT_S * 1000)
    idle(page)


def one_run(browser, label: str, bundle: Path | str, env: dict[str, str], work: Path,
            results: bool, every_page: bool = False, limits: tuple[str, str] = ("", "")) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    name = f"{label}-{os.getpid()}-{work.name}"
    env = dict(env, STREAMLIT_SERVER_PORT=str(port))
    if isinstance(bundle, str):  # docker:IMAGE
        container: Container | DockerContainer = DockerContainer(bundle, work, name, env, *limits)
    else:
        container = Container(bundle, work, name, env)
    sample: dict = {"variant": label, "status": 0}
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        t0 = time.monotonic()
        container.start()
        sample["healthy_s"] = wait_healthy(url, container, t0)
        sample["healthy_cpu_s"] = cgroup_cpu(container.cgroup).get("cpu_s")
        render_home(page, url)
        sample["page_s"] = time.monotonic() - t0
        sample["page_cpu_s"] = cgroup_cpu(container.cgroup).get("cpu_s")
        if results:
            t1 = time.monotonic()
            render_results(page)
            sample["results_s"] = time.monotonic() - t1
        if every_page:
            for link, heading in OTHER_PAGES:
                visit(page, link, heading)
        exceptions = page.locator('[data-testid="stException"]').count()
        if exceptions or "Traceback" in page.inner_text("body"):
            raise RuntimeError(f"the page shows an exception; see {container.log}")
        sample["peak_mib"] = cgroup_peak(container.cgroup)
        sample.update(cgroup_cpu(container.cgroup))
    except Exception as exc:  # a failed run is reported, the others go on
        sample.update(status=1, error=f"{type(exc).__name__}: {exc}")
    finally:
        context.close()
        container.stop()
    return sample


MODULES_HEADER = """\
# The dashboard's bytecode list: every module under site-packages that the dashboard imports
# from its start until every page is rendered (PYTHONPROFILEIMPORTTIME in the image, driven by
# headless Chromium). The Dockerfile compiles these, and only these, to bytecode. Made by
# `sudo BENCH_MODULES=streamlit_ui/bytecode-modules.txt bench/startup.sh` (bench/README.md):
# run it again when requirements.txt changes; the build names listed modules it cannot find.
"""

# "import time:  self [us] |  cumulative | [indent]package"
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def module_files(log: Path, rootfs: Path) -> tuple[list[str], dict[str, float]]:
    """Modules named in an importtime log -> their source files relative to site-packages
    (those found there; the stdlib is compiled by the base image), and self time per
    top-level package in seconds."""
    site = next(rootfs.glob("opt/venv/lib/python3*/site-packages"))
    files: set[str] = set()
    per_package: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        m = IMPORT_LINE.match(line)
        if not m:
            continue
        name = m.group(4)
        top = name.split(".")[0]
        per_package[top] = per_package.get(top, 0.0) + int(m.group(1)) / 1e6
        base = site.joinpath(*name.split("."))
        for candidate in (base / "__init__.py", base.with_name(base.name + ".py")):
            if candidate.is_file():
                files.add(str(candidate.relative_to(site)))
                break
    return sorted(files), per_package


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--modules", type=Path)
    parser.add_argument("--cpu-weight", type=int, default=16,
                        help="CPU weight of the containers' parent cgroup, in multiples of the "
                             "default (0: leave it)")
    parser.add_argument("--docker-cpus", default="0.5", help="docker run --cpus, for docker: variants")
    parser.add_argument("--docker-memory", default="1g",
                        help="docker run --memory (and --memory-swap), for docker: variants")
    parser.add_argument("--no-results", action="store_true",
                        help="do not time the Results page after the Home page")
    parser.add_argument("variants", nargs="+", metavar="LABEL=BUNDLE")
    args = parser.parse_args()
    variants = []
    for item in args.variants:
        label, _, bundle = item.partition("=")
        if label and bundle.startswith("docker:"):
            variants.append((label, bundle.removeprefix("docker:")))
            continue
        if not label or not (Path(bundle) / "config.json").is_file():
            sys.exit(f"startup_probe: {item!r}: expected LABEL=BUNDLE with BUNDLE/config.json, "
                     "or LABEL=docker:IMAGE")
        variants.append((label, Path(bundle)))
    limits = (args.docker_cpus, args.docker_memory)
    if args.modules and not isinstance(variants[0][1], Path):
        sys.exit("startup_probe: --modules needs a runc bundle as the first variant")

    from playwright.sync_api import sync_playwright

    failed = 0
    args.logs.mkdir(parents=True, exist_ok=True)
    if args.cpu_weight > 0:
        print(f"startup_probe: {reserve_cpu(args.cpu_weight)}", file=sys.stderr)
    with FakeBackend(rate_limit_per_second=10_000, daily_quota=1_000_000) as backend, \
            sync_playwright() as pw, open(args.out, "a") as out:
        key, _ = seed_demo(backend)
        env = {"API_BASE_URL": backend.base_url, "VIBEJUDGE_API_KEY": key}
        browser = pw.chromium.launch(executable_path=chromium(), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        work_root = Path(tempfile.mkdtemp(prefix="imagekit-bench-startup.", dir="/var/tmp"))
        try:
            if args.modules:
                label, bundle = variants[0]
                work = work_root / "modules"
                sample = one_run(browser, label, bundle, dict(env, PYTHONPROFILEIMPORTTIME="1"),
                                 work, results=True, every_page=True)
                shutil.copy(work / "container.log", args.logs / "importtime.log")
                if sample["status"]:
                    print(f"startup_probe: the import-time run failed: {sample['error']}",
                          file=sys.stderr)
                    return 1
                files, per_package = module_files(work / "container.log", bundle / "rootfs")
                args.modules.write_text(MODULES_HEADER + "".join(f + "\n" for f in files))
                print(f"startup_probe: {len(files)} site-packages modules imported until the "
                      f"Home page and every other page are rendered -> {args.modules}", file=sys.stderr)
                for top, seconds in sorted(per_package.items(), key=lambda kv: -kv[1])[:15]:
                    print(f"  {top:28} {seconds:7.3f} s (import self time, summed)",
                          file=sys.stderr)
            for run in range(1, args.runs + 1):
                for label, bundle in variants:
                    work = work_root / f"{label}-{run}"
                    sample = one_run(browser, label, bundle, env, work, not args.no_results,
                                     limits=limits)
                    sample["run"] = run
                    shutil.copy(work / "container.log", args.logs / f"{label}-{run}.log")
                    failed += sample["status"]
                    out.write(json.dumps(sample) + "\n")
                    out.flush()
                    shown = " ".join(f"{k}={v:.2f}" for k, v in sample.items()
                                     if isinstance(v, float))
                    print(f"startup_probe: {label} run {run}: "
                          f"{sample.get('error') or shown}", file=sys.stderr)
        finally:
            browser.close()
            subprocess.run(["rm", "-rf", "--one-file-system", str(work_root)], check=False)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
