"""template.yaml, transformed by the SAM translator and created as a stack in moto.

This proves the parts that reading the YAML cannot: the SAM transform accepts the
template, every condition, Ref, GetAtt and Sub resolves, and the resources come up
with the values the API reports back. moto's CloudFormation skips some types
(alarms, autoscaling, wait-condition handles) and ignores some properties (target
group attributes, deployment configuration, task size); test_template.py covers
those from the YAML.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

from cfn_yaml import load_template

REGION = "us-east-1"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard@sha256:" + "0" * 64


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(), warnings.catch_warnings():
        # moto warns once per resource type it does not model.
        warnings.simplefilter("ignore", UserWarning)
        yield


def create_stack(repo: Path, name: str, parameters: dict[str, str]) -> dict[str, Any]:
    translated = transform(
        load_template(repo / "template.yaml"), {}, ManagedPolicyLoader(boto3.client("iam", region_name=REGION))
    )
    assert "Transform" not in translated
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(translated),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    failures = [
        (e["LogicalResourceId"], e.get("ResourceStatusReason"))
        for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
        if "FAILED" in e["ResourceStatus"]
    ]
    assert stack["StackStatus"] == "CREATE_COMPLETE", failures
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def dockerfile_healthcheck(repo: Path) -> list[str]:
    match = re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", (repo / "Dockerfile").read_text())
    assert match
    return json.loads(match.group(1))


def listeners() -> dict[int, dict[str, Any]]:
    elb = boto3.client("elbv2", region_name=REGION)
    (lb,) = elb.describe_load_balancers()["LoadBalancers"]
    assert lb["Scheme"] == "internet-facing"
    return {l["Port"]: l for l in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}


def test_dev_stack_without_certificate(aws: None, repo: Path) -> None:
    outputs = create_stack(repo, "vibejudge-dashboard-dev", {
        "Environment": "dev", "ImageUri": IMAGE, "ApiBaseUrl": "https://api.dev.vibejudge.example",
    })
    assert outputs["ClusterName"] == "vibejudge-cluster-dev"
    assert outputs["ServiceName"] == "vibejudge-dashboard-service-dev"
    assert outputs["LogGroupName"] == "/ecs/vibejudge-dashboard-dev"
    assert outputs["RepositoryUri"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard"
    assert outputs["DashboardUrl"] == "http://" + outputs["LoadBalancerDnsName"]
    assert outputs["ClusterArn"].endswith(":cluster/vibejudge-cluster-dev")

    # Without a certificate: HTTP only, and it forwards to the service.
    found = listeners()
    assert set(found) == {80}
    (action,) = found[80]["DefaultActions"]
    assert action["Type"] == "forward"

    elb = boto3.client("elbv2", region_name=REGION)
    (group,) = elb.describe_target_groups()["TargetGroups"]
    assert action["TargetGroupArn"] == group["TargetGroupArn"]
    assert (group["TargetType"], group["Port"], group["HealthCheckPath"]) == ("ip", 8501, "/_stcore/health")
    assert (group["HealthCheckIntervalSeconds"], group["HealthyThresholdCount"], group["UnhealthyThresholdCount"]) == (30, 2, 3)

    ecs = boto3.client("ecs", region_name=REGION)
    (service,) = ecs.describe_services(cluster=outputs["ClusterName"], services=[outputs["ServiceName"]])["services"]
    assert service["serviceArn"] == outputs["ServiceArn"]
    assert service["desiredCount"] == 2
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    (container,) = task["containerDefinitions"]
    assert container["image"] == IMAGE
    assert container["name"] == "streamlit-dashboard"
    assert container["environment"] == [{"name": "API_BASE_URL", "value": "https://api.dev.vibejudge.example"}]
    assert container["healthCheck"]["command"] == ["CMD", *dockerfile_healthcheck(repo)]
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/vibejudge-dashboard-dev"

    (log_group,) = boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]
    assert log_group["retentionInDays"] == 7

    ec2 = boto3.client("ec2", region_name=REGION)
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.0.0.0/16"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert not ec2.describe_nat_gateways()["NatGateways"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    ingress = sorted(
        (p["FromPort"], p["ToPort"]) for g in groups for p in g["IpPermissions"] if "FromPort" in p
    )
    assert ingress == [(80, 80), (443, 443), (8501, 8501)]

    iam = boto3.client("iam", region_name=REGION)
    roles = {r["RoleName"]: r for r in iam.list_roles()["Roles"]}
    execution = next(name for name in roles if "ExecutionRole" in name)
    task_role = next(name for name in roles if "TaskRole" in name)
    assert iam.list_role_policies(RoleName=execution)["PolicyNames"] == ["ecr-pull-and-logs"]
    assert iam.list_role_policies(RoleName=task_role)["PolicyNames"] == []
    assert iam.list_attached_role_policies(RoleName=task_role)["AttachedPolicies"] == []
    for name in (execution, task_role):
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
        assert tags == {"Environment": "dev", "Project": "vibejudge"}


def test_prod_stack_with_certificate_redirects_http(aws: None, repo: Path) -> None:
    certificate = boto3.client("acm", region_name=REGION).request_certificate(DomainName="dash.example.org")
    outputs = create_stack(repo, "vibejudge-dashboard-prod", {
        "Environment": "prod", "ImageUri": IMAGE, "CertificateArn": certificate["CertificateArn"],
        "DomainName": "dash.example.org", "AlarmEmail": "oncall@example.org",
    })
    assert outputs["DashboardUrl"] == "https://dash.example.org"
    # Production uses the specified names exactly.
    assert outputs["ClusterName"] == "vibejudge-cluster"
    assert outputs["ServiceName"] == "vibejudge-dashboard-service"
    assert outputs["LogGroupName"] == "/ecs/vibejudge-dashboard"
    assert outputs["ClusterArn"].endswith(":cluster/vibejudge-cluster")

    found = listeners()
    assert set(found) == {80, 443}
    (redirect,) = found[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["Port"] == "443"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert found[443]["Protocol"] == "HTTPS"
    assert found[443]["Certificates"][0]["CertificateArn"] == certificate["CertificateArn"]
    (forward,) = found[443]["DefaultActions"]
    assert forward["Type"] == "forward"

    # No ApiBaseUrl: the variable is left out and the image's empty default applies.
    ecs = boto3.client("ecs", region_name=REGION)
    (service,) = ecs.describe_services(cluster=outputs["ClusterName"], services=[outputs["ServiceName"]])["services"]
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert task["containerDefinitions"][0]["name"] == "streamlit-dashboard"
    assert task["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"] == "/ecs/vibejudge-dashboard"
    assert task["containerDefinitions"][0].get("environment", []) == []

