"""The GitHub Actions workflows and the CI role's IAM policy.

actionlint (with shellcheck for the `run:` scripts) checks the workflows as GitHub
would read them; the tests below check what they must do: the pull-request workflow
gets no credentials, the deploy workflow assumes its role through OIDC and runs the
steps in order, and the role may do exactly what that needs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = ("pull-request.yml", "deploy.yml", "deploy-environment.yml")


def load(repo: Path, name: str) -> dict[Any, Any]:
    return yaml.safe_load((repo / ".github" / "workflows" / name).read_text())


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the key `on` as the boolean True.
    return workflow[True]


def tool(name: str) -> str:
    """A console script of this interpreter's environment (the venv need not be on PATH), else PATH's."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    assert found, f"{name} is not installed: bash scripts/python-env.sh (requirements-dev.txt)"
    return found


def actionlint() -> str:
    return tool("actionlint")


def test_actionlint_reports_nothing(repo: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed (apt-get install shellcheck)"
    result = subprocess.run(
        [actionlint(), "-shellcheck", shellcheck, "-no-color", *(f".github/workflows/{w}" for w in WORKFLOWS)],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_catches_mistakes(tmp_path: Path) -> None:
    """The linter really reads workflows: an undefined step output and a bad runner are errors."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ steps.nothing.outputs.x }}\n      - uses: actions/checkout@v5\n        with:\n          no-such-input: 1\n"
    )
    result = subprocess.run([actionlint(), "-no-color", str(broken)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "steps.nothing" in result.stdout or "property \"nothing\"" in result.stdout
    assert "no-such-input" in result.stdout


def all_steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_pull_request_workflow_is_safe_for_forks(repo: Path) -> None:
    text = (repo / ".github" / "workflows" / "pull-request.yml").read_text()
    workflow = load(repo, "pull-request.yml")
    assert set(triggers(workflow)) == {"pull_request"}, "never pull_request_target: it runs fork code with secrets"
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "security-events": "write"}
    assert "secrets." not in text and "id-token" not in text
    assert "aws-actions" not in text and "AWS_" not in text
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    runs = [s.get("run", "") for s in job["steps"]]
    assert any(r.startswith("imagekit build") for r in runs)
    assert any("imagekit verify --max-size 500MB --format sarif > verify.sarif" in r for r in runs)
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "verify.sarif"
    # Forks get a read-only token: the upload is only tried for branches of this repository.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in upload["if"]


def test_deploy_workflow_runs_on_main_with_oidc(repo: Path) -> None:
    deploy = load(repo, "deploy.yml")
    assert triggers(deploy)["push"] == {"branches": ["main"]}
    assert deploy["permissions"] == {"contents": "read"}
    jobs = deploy["jobs"]
    assert jobs["dev"]["needs"] == "imagekit" and jobs["prod"]["needs"] == "dev"
    for name in ("dev", "prod"):
        assert jobs[name]["uses"] == "./.github/workflows/deploy-environment.yml"
        assert jobs[name]["with"] == {"environment": name}
        assert jobs[name]["permissions"]["id-token"] == "write"
    assert deploy["concurrency"]["cancel-in-progress"] is False

    environment = load(repo, "deploy-environment.yml")
    (job,) = environment["jobs"].values()
    assert job["environment"] == "${{ inputs.environment }}"
    text = (repo / ".github" / "workflows" / "deploy-environment.yml").read_text()
    assert "aws-access-key-id" not in text and "secrets." not in text, "credentials come from OIDC only"
    credentials = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


def test_deploy_steps_in_order(repo: Path) -> None:
    (job,) = load(repo, "deploy-environment.yml")["jobs"].values()
    steps = job["steps"]

    def index(predicate) -> int:
        found = [i for i, step in enumerate(steps) if predicate(step)]
        assert len(found) >= 1
        return found[0]

    run = lambda needle: (lambda s: needle in s.get("run", ""))  # noqa: E731
    uses = lambda needle: (lambda s: s.get("uses", "").startswith(needle))  # noqa: E731
    order = [
        index(uses("./.github/actions/imagekit")),
        index(uses("aws-actions/configure-aws-credentials@")),
        index(run('imagekit build --progress plain --cache-from "$CACHE_REF" --cache-to "$CACHE_REF"')),
        index(run("imagekit verify --max-size 500MB")),
        index(run("imagekit push --progress plain --scan --scan-fail-on CRITICAL --scan-report ecr-scan.sarif")),
        index(run("sam deploy --config-env")),
        index(run("aws ecs wait services-stable")),
    ]
    assert order == sorted(order)
    assert load(repo, "deploy-environment.yml")["env"]["CACHE_REF"] == "ecr://vibejudge-dashboard:buildcache"
    wait = steps[order[-1]]
    assert wait["timeout-minutes"] == 15
    sam = next(s for s in steps if s.get("uses", "").startswith("aws-actions/setup-sam@"))
    major, minor = (int(p) for p in str(sam["with"]["version"]).split(".")[:2])
    assert (major, minor) >= (1, 100)
    scan_upload = next(s for s in steps if s.get("with", {}).get("sarif_file") == "ecr-scan.sarif")
    assert scan_upload["if"].startswith("always()"), "findings are uploaded also when the gate stops the deploy"
    # The environment's tag prefix is what keeps its image (policies/ecr-lifecycle.json).
    push = steps[order[4]]["run"]
    assert '--tag "$TARGET_ENV-$sha"' in push


def test_imagekit_is_built_once_and_cached(repo: Path) -> None:
    action = yaml.safe_load((repo / ".github" / "actions" / "imagekit" / "action.yml").read_text())
    steps = action["runs"]["steps"]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore@"))
    assert "hashFiles('Package.swift', 'Sources/**')" in restore["with"]["key"]
    build = next(s for s in steps if "swift build -c release --product imagekit" in s.get("run", ""))
    assert build["if"] == "steps.restore.outputs.cache-hit != 'true'"
    # The deploy jobs only restore what the first job built.
    (job,) = load(repo, "deploy-environment.yml")["jobs"].values()
    setup = next(s for s in job["steps"] if s.get("uses") == "./.github/actions/imagekit")
    assert setup["with"]["build-if-missing"] == "false"


# ------------------------------------------------------------------ IAM


def policy(repo: Path, name: str) -> dict[str, Any]:
    return json.loads((repo / "policies" / name).read_text())


def listed(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_ci_role_is_least_privilege(repo: Path) -> None:
    document = policy(repo, "ci-deploy-role-policy.json")
    assert document["Version"] == "2012-10-17"
    actions: set[str] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        names = listed(statement["Action"])
        assert all("*" not in name for name in names), f"wildcard action in {statement['Sid']}"
        actions |= set(names)
        if "*" in listed(statement["Resource"]):
            assert names == ["ecr:GetAuthorizationToken"], "only the ECR token may use Resource *"
    assert {a.split(":")[0] for a in actions} == {"ecr", "cloudformation", "iam", "s3", "ecs"}
    pass_role = next(s for s in document["Statement"] if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    ecr = next(s for s in document["Statement"] if "ecr:PutImage" in listed(s["Action"]))
    assert ecr["Resource"].endswith(":repository/vibejudge-dashboard")


def test_ci_role_allows_every_ecr_call_imagekit_makes(repo: Path) -> None:
    """Each ECR operation in Sources/AWS, and the registry API's push and pull permissions."""
    sources = "\n".join(p.read_text() for p in (repo / "Sources" / "AWS").glob("*.swift"))
    operations = set(re.findall(r'call\(\s*"(\w+)"', sources)) | set(re.findall(r'let operation = "(\w+)"', sources))
    operations -= {"GetCallerIdentity"}  # STS, needs no permission
    assert {"DescribeImageScanFindings", "StartImageScan", "CreateRepository"} <= operations
    allowed = {a for s in policy(repo, "ci-deploy-role-policy.json")["Statement"] for a in listed(s["Action"])}
    registry = {"BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload",
                "PutImage", "BatchGetImage", "GetDownloadUrlForLayer"}
    assert {f"ecr:{op}" for op in operations | registry} <= allowed


def test_ci_role_waits_on_the_specified_services(repo: Path, resources: dict[str, Any]) -> None:
    wait = next(s for s in policy(repo, "ci-deploy-role-policy.json")["Statement"] if s["Action"] == "ecs:DescribeServices")
    names = {arn.split(":service/")[1] for arn in wait["Resource"]}
    assert names == {"vibejudge-cluster/vibejudge-dashboard-service", "vibejudge-cluster-dev/vibejudge-dashboard-service-dev"}


def test_ci_role_trusts_only_the_deploy_environments(repo: Path) -> None:
    (statement,) = policy(repo, "ci-deploy-role-trust.json")["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    assert statement["Condition"]["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    subjects = statement["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"]
    # Jobs of the dev and prod environments only: pull requests (and forks) can never assume it.
    assert [s.rsplit(":", 2)[1:] for s in subjects] == [["environment", "dev"], ["environment", "prod"]]
    assert not any("pull_request" in s or s.endswith("*") for s in subjects)


@pytest.mark.parametrize("name", ["ci-deploy-role-policy.json", "ci-deploy-role-trust.json"])
def test_policy_documents_pass_cfn_lint_as_iam_resources(repo: Path, tmp_path: Path, name: str) -> None:
    """cfn-lint knows IAM's grammar: the documents are checked inside a minimal template."""
    document = policy(repo, name)
    if name.endswith("trust.json"):
        resource = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": document}}
    else:
        resource = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}}
    template = tmp_path / "iam.json"
    template.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"R": resource}}))
    result = subprocess.run([tool("cfn-lint"), "--format", "parseable", "--", str(template)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
