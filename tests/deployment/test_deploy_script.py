"""deploy.sh: argument checks, offline dry run, the order of the real steps, failures.

The AWS, SAM and imagekit command lines are stood in for by recording scripts on
PATH: they log their arguments and answer like the real tools do for the few
queries deploy.sh makes, so the whole flow runs without an AWS account.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

# What deploy.sh (and the recording scripts) run besides the deployment tools.
BASICS = ("bash", "env", "git", "python3", "sed", "head", "dirname", "cat", "basename")

RECORDER = """#!/bin/sh
printf '%s' "$(basename "$0")" >> "$CALL_LOG"
for arg in "$@"; do printf ' %s' "$arg" >> "$CALL_LOG"; done
printf '\\n' >> "$CALL_LOG"
"""

AWS = RECORDER + """
case "$*" in
  "ecr describe-repositories"*) [ -n "$REPO_EXISTS" ] || exit 254 ;;
  "cloudformation describe-stacks"*ClusterName*) echo vibejudge-cluster-dev ;;
  "cloudformation describe-stacks"*ServiceName*) echo vibejudge-dashboard-dev ;;
  "cloudformation describe-stacks"*DashboardUrl*) echo http://dash-123.us-east-1.elb.amazonaws.com ;;
esac
exit 0
"""

IMAGEKIT = RECORDER + """
[ "$1" = "$FAIL_SUBCOMMAND" ] && { echo "policy run-as-root: FAILED" >&2; exit 3; }
exit 0
"""


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH directory holding only the basic commands deploy.sh needs."""
    directory = tmp_path / "bin"
    directory.mkdir()
    for name in BASICS:
        found = shutil.which(name)
        assert found, f"{name} is needed to run deploy.sh"
        (directory / name).symlink_to(found)
    return directory


@pytest.fixture
def fake_tools(bin_dir: Path) -> Path:
    _write(bin_dir / "aws", AWS)
    _write(bin_dir / "imagekit", IMAGEKIT)
    _write(bin_dir / "sam", RECORDER)
    _write(bin_dir / "runc", RECORDER)
    return bin_dir


def run(repo: Path, bin_dir: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = bin_dir.parent / "calls.log"
    log.write_text("")
    environment = {"PATH": str(bin_dir), "HOME": str(bin_dir.parent), "CALL_LOG": str(log), "LANG": "C.UTF-8"}
    environment.update(env)
    # Absolute path, started from elsewhere: deploy.sh must find the repository itself.
    result = subprocess.run(
        [str(repo / "deploy.sh"), *args], cwd=bin_dir.parent, env=environment,
        capture_output=True, text=True, timeout=120,
    )
    return result, log.read_text().splitlines()


def head_sha(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_shellcheck_clean(repo: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed (apt-get install shellcheck)"
    result = subprocess.run([shellcheck, "deploy.sh"], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""


def test_strict_mode_and_shebang(repo: Path) -> None:
    lines = (repo / "deploy.sh").read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    assert os.access(repo / "deploy.sh", os.X_OK)


def test_help(repo: Path, bin_dir: Path) -> None:
    result, calls = run(repo, bin_dir, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: ./deploy.sh [--dry-run] ENV")
    assert "--dry-run" in result.stdout
    assert calls == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["staging"], "unknown ENV 'staging': must be dev or prod"),
        (["--dry-run", "Prod"], "unknown ENV 'Prod': must be dev or prod"),
        ([], "missing ENV: give dev or prod"),
        (["dev", "prod"], "only one ENV may be given"),
        (["--force", "dev"], "unknown option '--force'"),
    ],
)
def test_bad_arguments(repo: Path, fake_tools: Path, args: list[str], message: str) -> None:
    result, calls = run(repo, fake_tools, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert calls == []


def test_dry_run_works_offline_without_aws_or_sam(repo: Path, bin_dir: Path) -> None:
    result, calls = run(repo, bin_dir, "--dry-run", "dev")
    assert result.returncode == 0, result.stderr
    assert "not on PATH: aws sam imagekit runc" in result.stderr
    assert "Deployment plan for 'dev' (stack vibejudge-dashboard-dev, region us-east-1)" in result.stdout
    assert f"imagekit push --tag {head_sha(repo)} --tag latest --sam-config samconfig.toml --config-env dev" in result.stdout
    assert "sam deploy --config-env dev" in result.stdout
    assert "no AWS API was called" in result.stdout
    assert calls == []


def test_dry_run_calls_no_tool_even_when_present(repo: Path, fake_tools: Path) -> None:
    result, calls = run(repo, fake_tools, "--dry-run", "prod")
    assert result.returncode == 0, result.stderr
    assert "not on PATH" not in result.stderr
    assert "stack vibejudge-dashboard-prod" in result.stdout
    assert calls == []


def test_real_run_without_tools_fails_before_doing_anything(repo: Path, bin_dir: Path) -> None:
    result, calls = run(repo, bin_dir, "dev")
    assert result.returncode != 0
    assert "required tools not on PATH: aws sam imagekit runc" in result.stderr
    assert "Deployment plan" not in result.stdout


def test_full_run_order(repo: Path, fake_tools: Path) -> None:
    result, calls = run(repo, fake_tools, "dev")
    assert result.returncode == 0, result.stderr
    sha = head_sha(repo)
    assert calls == [
        "imagekit build",
        "imagekit verify --policy policies/default.yaml",
        "aws ecr describe-repositories --repository-names vibejudge-dashboard --region us-east-1",
        "aws ecr create-repository --repository-name vibejudge-dashboard --region us-east-1"
        " --image-scanning-configuration scanOnPush=true --image-tag-mutability MUTABLE"
        " --tags Key=Project,Value=vibejudge",
        "aws ecr put-lifecycle-policy --repository-name vibejudge-dashboard --region us-east-1"
        " --lifecycle-policy-text file://policies/ecr-lifecycle.json",
        f"imagekit push --tag {sha} --tag latest --sam-config samconfig.toml --config-env dev",
        "sam deploy --config-env dev --no-fail-on-empty-changeset",
        "aws cloudformation describe-stacks --stack-name vibejudge-dashboard-dev --region us-east-1"
        " --query Stacks[0].Outputs[?OutputKey=='ClusterName'].OutputValue --output text",
        "aws cloudformation describe-stacks --stack-name vibejudge-dashboard-dev --region us-east-1"
        " --query Stacks[0].Outputs[?OutputKey=='ServiceName'].OutputValue --output text",
        "aws ecs wait services-stable --cluster vibejudge-cluster-dev --services vibejudge-dashboard-dev"
        " --region us-east-1",
        "aws cloudformation describe-stacks --stack-name vibejudge-dashboard-dev --region us-east-1"
        " --query Stacks[0].Outputs[?OutputKey=='DashboardUrl'].OutputValue --output text",
    ]
    assert result.stdout.rstrip().endswith("Deployed to dev: http://dash-123.us-east-1.elb.amazonaws.com")


def test_rerun_with_existing_repository_does_not_create_it(repo: Path, fake_tools: Path) -> None:
    result, calls = run(repo, fake_tools, "dev", REPO_EXISTS="1")
    assert result.returncode == 0, result.stderr
    assert not any("create-repository" in call for call in calls)
    assert any("put-lifecycle-policy" in call for call in calls)


def test_failed_step_is_named_and_stops_the_run(repo: Path, fake_tools: Path) -> None:
    result, calls = run(repo, fake_tools, "dev", FAIL_SUBCOMMAND="verify")
    assert result.returncode == 3
    assert "policy run-as-root: FAILED" in result.stderr
    assert "step 'imagekit verify' failed (exit status 3)" in result.stderr
    assert calls == ["imagekit build", "imagekit verify --policy policies/default.yaml"]
