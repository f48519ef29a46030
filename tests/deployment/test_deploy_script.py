"""deploy.sh: argument checks, offline dry run, the order of the real steps, failures.

The AWS, SAM and imagekit command lines are stood in for by recording scripts on
PATH: they log their arguments and answer like the real tools do for the few
queries deploy.sh makes, so the whole flow runs without an AWS account.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
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
  "cloudformation describe-stacks"*ServiceName*) echo vibejudge-dashboard-service-dev ;;
  "ecs describe-services"*) printf '1\t2\t2\t%s\n' "${ROLLOUT:-COMPLETED}" ;;
  "cloudformation describe-stacks"*DashboardUrl*) echo http://dash-123.us-east-1.elb.amazonaws.com ;;
esac
exit 0
"""

IMAGEKIT = RECORDER + """
[ "$1" = "$FAIL_SUBCOMMAND" ] && { echo "$FAIL_MESSAGE" >&2; exit "${FAIL_STATUS:-3}"; }
exit 0
"""

SAM = RECORDER + """
[ "$1" = "--version" ] && echo "SAM CLI, version ${SAM_VERSION:-1.131.0}"
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
        # python3 may be a version-manager shim that needs the real HOME; use this interpreter.
        found = sys.executable if name == "python3" else shutil.which(name)
        assert found, f"{name} is needed to run deploy.sh"
        (directory / name).symlink_to(found)
    return directory


@pytest.fixture
def fake_tools(bin_dir: Path) -> Path:
    _write(bin_dir / "aws", AWS)
    _write(bin_dir / "imagekit", IMAGEKIT)
    _write(bin_dir / "sam", SAM)
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
    assert (
        f"imagekit push --scan --scan-fail-on CRITICAL --tag dev-{head_sha(repo)} --tag latest"
        " --sam-config samconfig.toml --config-env dev" in result.stdout
    )
    assert "CRITICAL findings stop the deploy here, before samconfig.toml changes" in result.stdout
    assert "sam deploy --config-env dev" in result.stdout
    assert "at most 15 minutes" in result.stdout
    assert "no AWS API was called" in result.stdout
    assert calls == []


def test_dry_run_calls_no_tool_even_when_present(repo: Path, fake_tools: Path) -> None:
    result, calls = run(repo, fake_tools, "--dry-run", "prod")
    assert result.returncode == 0, result.stderr
    assert "not on PATH" not in result.stderr
    assert "stack vibejudge-dashboard-prod" in result.stdout
    assert f"--tag prod-{head_sha(repo)} --tag latest" in result.stdout
    # Only the local version check.
    assert calls == ["sam --version"]


@pytest.mark.parametrize("version", ["1.99.1", "1.9.0", "0.100.0"])
def test_old_sam_cli_is_refused(repo: Path, fake_tools: Path, version: str) -> None:
    result, calls = run(repo, fake_tools, "dev", SAM_VERSION=version)
    assert result.returncode != 0
    assert f"SAM CLI {version} is older than 1.100.0" in result.stderr
    assert calls == ["sam --version"]
    dry, _ = run(repo, fake_tools, "--dry-run", "dev", SAM_VERSION=version)
    assert dry.returncode == 0
    assert "a real deploy needs SAM CLI 1.100.0 or later" in dry.stderr


@pytest.mark.parametrize("version", ["1.100.0", "1.131.0", "2.0.0"])
def test_recent_sam_cli_is_accepted(repo: Path, fake_tools: Path, version: str) -> None:
    result, _ = run(repo, fake_tools, "dev", SAM_VERSION=version)
    assert result.returncode == 0, result.stderr


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
        "sam --version",
        "imagekit build",
        "imagekit verify --policy policies/default.yaml",
        "aws ecr describe-repositories --repository-names vibejudge-dashboard --region us-east-1",
        "aws ecr create-repository --repository-name vibejudge-dashboard --region us-east-1"
        " --image-scanning-configuration scanOnPush=true --image-tag-mutability MUTABLE"
        " --tags Key=Project,Value=vibejudge",
        "aws ecr put-lifecycle-policy --repository-name vibejudge-dashboard --region us-east-1"
        " --lifecycle-policy-text file://policies/ecr-lifecycle.json",
        f"imagekit push --scan --scan-fail-on CRITICAL --tag dev-{sha} --tag latest"
        " --sam-config samconfig.toml --config-env dev",
        "sam deploy --config-env dev --no-fail-on-empty-changeset",
        "aws cloudformation describe-stacks --stack-name vibejudge-dashboard-dev --region us-east-1"
        " --query Stacks[0].Outputs[?OutputKey=='ClusterName'].OutputValue --output text",
        "aws cloudformation describe-stacks --stack-name vibejudge-dashboard-dev --region us-east-1"
        " --query Stacks[0].Outputs[?OutputKey=='ServiceName'].OutputValue --output text",
        "aws ecs describe-services --cluster vibejudge-cluster-dev --services vibejudge-dashboard-service-dev"
        " --region us-east-1 --output text"
        " --query services[0].[length(deployments), runningCount, desiredCount, deployments[0].rolloutState]",
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
    result, calls = run(repo, fake_tools, "dev", FAIL_SUBCOMMAND="verify", FAIL_MESSAGE="policy run-as-root: FAILED")
    assert result.returncode == 3
    assert "policy run-as-root: FAILED" in result.stderr
    assert "step 'imagekit verify' failed (exit status 3)" in result.stderr
    assert calls == ["sam --version", "imagekit build", "imagekit verify --policy policies/default.yaml"]


def test_critical_scan_findings_stop_before_sam_deploy(repo: Path, fake_tools: Path) -> None:
    message = "error: the ECR scan found 1 finding at or above CRITICAL in REPO@sha256:x"
    result, calls = run(repo, fake_tools, "dev", FAIL_SUBCOMMAND="push", FAIL_MESSAGE=message, FAIL_STATUS="1")
    assert result.returncode == 1
    assert message in result.stderr
    assert "step 'imagekit push (stops on CRITICAL findings of the ECR scan)' failed (exit status 1)" in result.stderr
    assert calls[-1].startswith("imagekit push --scan --scan-fail-on CRITICAL")
    assert not any(call.startswith("sam deploy") for call in calls)


def test_failed_rollout_stops_the_wait(repo: Path, fake_tools: Path) -> None:
    result, calls = run(repo, fake_tools, "dev", ROLLOUT="FAILED")
    assert result.returncode != 0
    assert "the deployment of vibejudge-dashboard-service-dev failed (the circuit breaker rolled it back)" in result.stderr
    assert sum(call.startswith("aws ecs describe-services") for call in calls) == 1
    assert "Deployed to" not in result.stdout


def test_service_wait_is_fifteen_minutes(repo: Path) -> None:
    text = (repo / "deploy.sh").read_text()
    values = dict(re.findall(r"^readonly (WAIT_ATTEMPTS|WAIT_INTERVAL)=(\d+)$", text, re.MULTILINE))
    assert int(values["WAIT_ATTEMPTS"]) * int(values["WAIT_INTERVAL"]) == 15 * 60
    commands = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any(line.startswith("aws ecs wait") for line in commands), "the AWS CLI waiter gives up after 10 minutes"
