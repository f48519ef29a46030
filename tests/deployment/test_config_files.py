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
            # A fresh account: the first push creates the repository with scan on push and the lifecycle policy.
            "createRepository": True,
            "tags": ["latest"],
            "sam": {"config": "samconfig.toml", "env": "dev", "parameter": "ImageUri"},
            "scan": {"fail-on": "CRITICAL"},
        },
    }
    # The build cache lives in the pushed repository, under the tag the lifecycle policy keeps.
    assert project["build"]["cache"].startswith(project["push"]["repository"] + ":")
    assert (repo / project["build"]["dockerfile"]).is_file()
    assert project["push"]["sam"]["env"] in samconfig
    assert project["push"]["sam"]["parameter"] in template["Parameters"]
    # The stack's IAM scope and outputs name the repository imagekit pushes to.
    assert "ecr://" + template["Parameters"]["RepositoryName"]["Default"] == project["push"]["repository"]
    # The build cache lives in the same repository (its own tag), so the stack's IAM scope covers it.
    assert project["build"]["cache"].startswith(project["push"]["repository"] + ":")


def expire(policy: dict[str, Any], images: list[dict[str, Any]], today: int) -> set[str]:
    """The digests ECR's lifecycle evaluation expires.

    As ECR documents it: rules run by ascending rulePriority; an image a rule selects
    (by its tags) is counted by that rule only, and no lower-priority rule can expire it;
    `imageCountMoreThan` keeps the newest N by push time; `tagStatus: any` comes last.
    """
    claimed: set[str] = set()
    expired: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]

        def selects(image: dict[str, Any]) -> bool:
            status = selection["tagStatus"]
            if status == "untagged":
                return not image["tags"]
            if status == "tagged":
                return any(t.startswith(p) for t in image["tags"] for p in selection["tagPrefixList"])
            return True

        matched = [i for i in images if i["digest"] not in claimed and selects(i)]
        claimed |= {i["digest"] for i in matched}
        if selection["countType"] == "imageCountMoreThan":
            newest_first = sorted(matched, key=lambda i: i["pushed"], reverse=True)
            expired |= {i["digest"] for i in newest_first[selection["countNumber"]:]}
        else:
            assert selection["countUnit"] == "days"
            expired |= {i["digest"] for i in matched if today - i["pushed"] > selection["countNumber"]}
    return expired


def test_lifecycle_policy_is_valid_for_ecr(repo: Path) -> None:
    policy = json.loads((repo / "policies" / "ecr-lifecycle.json").read_text())
    assert set(policy) == {"rules"}
    priorities = [rule["rulePriority"] for rule in policy["rules"]]
    assert priorities == sorted(set(priorities))
    for rule in policy["rules"]:
        assert rule["action"] == {"type": "expire"}
        selection = rule["selection"]
        assert (selection["tagStatus"] == "tagged") == ("tagPrefixList" in selection)
    # ECR: at most one `any` rule, and it must have the lowest priority.
    statuses = [rule["selection"]["tagStatus"] for rule in policy["rules"]]
    assert statuses.count("any") == 1 and statuses[-1] == "any"
    prefixes = {p for rule in policy["rules"] for p in rule["selection"].get("tagPrefixList", [])}
    assert prefixes == {"buildcache", "dev-", "prod-"}


def test_lifecycle_never_expires_what_an_environment_runs(repo: Path) -> None:
    """A year of pushes: dev deploys daily, prod weekly (the image dev ran), every build
    refreshes `buildcache`, developers push bare SHAs; ECR evaluates the policy daily."""
    policy = json.loads((repo / "policies" / "ecr-lifecycle.json").read_text())
    images: dict[str, dict[str, Any]] = {}
    running = {"dev": None, "prod": None}

    def tag(digest: str, name: str, pushed: int) -> None:
        for image in images.values():
            image["tags"].discard(name)  # tags are mutable: the tag moves
        images.setdefault(digest, {"digest": digest, "tags": set(), "pushed": pushed})["tags"].add(name)

    for day in range(365):
        dev = f"sha256:app{day}"
        tag(dev, f"dev-{day:07x}", day)
        tag(dev, "latest", day)
        running["dev"] = dev
        tag(f"sha256:cache{day}", "buildcache", day)
        tag(f"sha256:manual{day}", f"{day:07x}", day)
        if day % 7 == 6:
            tag(dev, f"prod-{day:07x}", day)  # reproducible build: prod gets dev's digest
            running["prod"] = dev
        gone = expire(policy, list(images.values()), today=day)
        for env, digest in running.items():
            assert digest not in gone, f"day {day}: the image {env} runs would expire"
        assert f"sha256:cache{day}" not in gone, f"day {day}: the build cache would expire"
        for digest in gone:
            del images[digest]
    # Rollback room: the last ten deployments of each environment are still there.
    assert sum(any(t.startswith("prod-") for t in i["tags"]) for i in images.values()) == 10
    assert sum(any(t.startswith("dev-") for t in i["tags"]) for i in images.values()) >= 10
    assert len(images) < 80, "the repository does not grow without bound"


def test_requirements_dev_pins_what_the_tests_import(repo: Path) -> None:
    lines = [line.split("#")[0].strip() for line in (repo / "requirements-dev.txt").read_text().splitlines()]
    pinned = {re.split(r"[\[=]", line)[0].lower() for line in lines if "==" in line}
    assert {"pyyaml", "cfn-lint", "aws-sam-translator", "moto", "boto3"} <= pinned
