"""samconfig.toml, imagekit.yaml and the ECR lifecycle policy."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


def overrides(value: str) -> dict[str, str]:
    """Parses the `Key="value" Key2=value2` string form SAM writes."""
    pairs = {}
    for word in shlex.split(value):
        key, sep, val = word.partition("=")
        assert sep, f"not Key=Value: {word!r}"
        pairs[key] = val
    return pairs


@pytest.fixture(scope="module")
def samconfig(repo: Path) -> dict[str, Any]:
    with (repo / "samconfig.toml").open("rb") as f:
        return tomllib.load(f)


def test_samconfig_version(samconfig: dict[str, Any]) -> None:
    assert samconfig["version"] == 0.1


@pytest.mark.parametrize(("env", "confirm"), [("dev", False), ("prod", True)])
def test_samconfig_deploy_tables(samconfig: dict[str, Any], template: dict[str, Any], env: str, confirm: bool) -> None:
    params = samconfig[env]["deploy"]["parameters"]
    assert params["stack_name"] == f"vibejudge-dashboard-{env}"
    assert params["region"] == "us-east-1"
    assert params["resolve_s3"] is True
    assert params["confirm_changeset"] is confirm
    assert "CAPABILITY_IAM" in params["capabilities"].split()
    assert isinstance(params["parameter_overrides"], str), "use the string form sam deploy --guided writes"

    values = overrides(params["parameter_overrides"])
    assert values["Environment"] == env
    assert values["ApiBaseUrl"].startswith("https://")
    assert set(values) <= set(template["Parameters"]), "override for a parameter the template lacks"
    image = values["ImageUri"]
    assert re.fullmatch(template["Parameters"]["ImageUri"]["AllowedPattern"], image)
    assert image.endswith("/vibejudge-dashboard@" + PLACEHOLDER_DIGEST)


def test_samconfig_comments_explain_the_placeholder(repo: Path) -> None:
    text = (repo / "samconfig.toml").read_text()
    assert re.search(r"^#.*placeholder", text, re.MULTILINE | re.IGNORECASE)


def test_imagekit_project_file(repo: Path, samconfig: dict[str, Any], template: dict[str, Any]) -> None:
    project = yaml.safe_load((repo / "imagekit.yaml").read_text())
    assert project == {
        "image": "vibejudge-dashboard",
        "build": {
            "dockerfile": "Dockerfile",
            "context": ".",
            "args": {"BASE_IMAGE": "python:3.12-slim"},
            "cache": "ecr://vibejudge-dashboard:buildcache",
        },
        "verify": {"policy": "policies/default.yaml"},
        "push": {
            "repository": "ecr://vibejudge-dashboard",
            "tags": ["latest"],
            "sam": {"config": "samconfig.toml", "env": "dev", "parameter": "ImageUri"},
        },
    }
    assert (repo / project["build"]["dockerfile"]).is_file()
    assert project["push"]["sam"]["env"] in samconfig
    assert project["push"]["sam"]["parameter"] in template["Parameters"]
    # The stack's IAM scope and outputs name the repository imagekit pushes to.
    assert "ecr://" + template["Parameters"]["RepositoryName"]["Default"] == project["push"]["repository"]
    # The build cache lives in the same repository (its own tag), so the stack's IAM scope covers it.
    assert project["build"]["cache"].startswith(project["push"]["repository"] + ":")


def test_lifecycle_policy_keeps_ten_images(repo: Path) -> None:
    policy = json.loads((repo / "policies" / "ecr-lifecycle.json").read_text())
    (rule,) = policy["rules"]
    assert rule["rulePriority"] == 1
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}
    assert rule["action"] == {"type": "expire"}
    assert set(policy) == {"rules"}


def test_requirements_dev_pins_what_the_tests_import(repo: Path) -> None:
    lines = [line.split("#")[0].strip() for line in (repo / "requirements-dev.txt").read_text().splitlines()]
    pinned = {re.split(r"[\[=]", line)[0].lower() for line in lines if "==" in line}
    assert {"pyyaml", "cfn-lint", "aws-sam-translator", "moto", "boto3"} <= pinned
