"""template.yaml: the values the deployment depends on, checked one by one."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cfn_yaml import load_template, of_type, only

ALLOWED_EXECUTION_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}


def walk(value: Any):
    """Every dict and list inside a template value, depth first."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def if_branches(value: Any, condition: str) -> tuple[Any, Any]:
    assert isinstance(value, dict) and "Fn::If" in value, f"expected Fn::If, got {value!r}"
    name, when_true, when_false = value["Fn::If"]
    assert name == condition
    return when_true, when_false


def prod_or_suffixed(name: str) -> dict[str, Any]:
    """The specified name in prod, NAME-ENV elsewhere."""
    return {"Fn::If": ["IsProd", name, {"Fn::Sub": name + "-${Environment}"}]}


def test_is_prod_condition(template: dict[str, Any]) -> None:
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}


def tag_map(properties: dict[str, Any]) -> dict[str, Any]:
    return {tag["Key"]: tag["Value"] for tag in properties.get("Tags", [])}


# ------------------------------------------------------------------- loading


def test_loader_understands_short_tags(tmp_path: Path) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(
        "A: !Ref X\nB: !GetAtt R.Arn.Deep\nC: !Sub '${X}-y'\nD: !If [Cond, !Ref AWS::NoValue, [1, 2]]\n"
        "E: !Select [0, !GetAZs '']\nF: !Equals [!Ref X, prod]\nG: !GetAtt [R, Name]\n"
    )
    loaded = load_template(source)
    assert loaded == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["R", "Arn.Deep"]},
        "C": {"Fn::Sub": "${X}-y"},
        "D": {"Fn::If": ["Cond", {"Ref": "AWS::NoValue"}, [1, 2]]},
        "E": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "F": {"Fn::Equals": [{"Ref": "X"}, "prod"]},
        "G": {"Fn::GetAtt": ["R", "Name"]},
    }


def test_sam_transform_and_parameters(template: dict[str, Any]) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    params = template["Parameters"]
    assert set(params) >= {"Environment", "ImageUri", "DomainName", "CertificateArn", "ApiBaseUrl", "AlarmEmail"}
    assert params["Environment"]["AllowedValues"] == ["dev", "prod"]
    for optional in ("DomainName", "CertificateArn", "ApiBaseUrl", "AlarmEmail"):
        assert params[optional]["Default"] == "", optional


@pytest.mark.parametrize(
    ("image", "accepted"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard@sha256:" + "ab" * 32, True),
        ("localhost:5000/team/dash@sha256:" + "0" * 64, True),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard:latest", False),
        ("vibejudge-dashboard@sha256:" + "0" * 63, False),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard@sha256:" + "A" * 64, False),
    ],
)
def test_image_uri_must_be_digest_pinned(template: dict[str, Any], image: str, accepted: bool) -> None:
    pattern = template["Parameters"]["ImageUri"]["AllowedPattern"]
    assert (re.fullmatch(pattern, image) is not None) is accepted


# ------------------------------------------------------------------ cfn-lint


def test_cfn_lint_reports_nothing(repo: Path) -> None:
    cfn_lint = shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is not on PATH: pip install -r requirements-dev.txt"
    result = subprocess.run(
        [cfn_lint, "--format", "parseable", "--include-checks", "I", "--", "template.yaml"],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


# ------------------------------------------------------------------- network


def test_vpc_two_public_subnets_in_two_azs(resources: dict[str, Any]) -> None:
    assert only(resources, "AWS::EC2::VPC")["CidrBlock"] == "10.0.0.0/16"
    subnets = of_type(resources, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    azs = sorted(s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for s in subnets.values())
    assert azs == [0, 1]
    for subnet in subnets.values():
        assert subnet["Properties"]["AvailabilityZone"]["Fn::Select"][1] == {"Fn::GetAZs": ""}
    assert len(of_type(resources, "AWS::EC2::InternetGateway")) == 1
    route = only(resources, "AWS::EC2::Route")
    assert route["DestinationCidrBlock"] == "0.0.0.0/0"
    assert route["GatewayId"] == {"Ref": "InternetGateway"}
    associations = of_type(resources, "AWS::EC2::SubnetRouteTableAssociation")
    assert sorted(a["Properties"]["SubnetId"]["Ref"] for a in associations.values()) == sorted(subnets)


def test_no_nat_gateway(resources: dict[str, Any]) -> None:
    types = {r["Type"] for r in resources.values()}
    assert "AWS::EC2::NatGateway" not in types
    assert "AWS::EC2::EIP" not in types
    for node in walk(resources):
        if isinstance(node, dict):
            assert "NatGatewayId" not in node


def _all_rules(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    rules = []
    for name, group in of_type(resources, "AWS::EC2::SecurityGroup").items():
        for direction in ("SecurityGroupIngress", "SecurityGroupEgress"):
            rules += [(f"{name}.{direction}", rule) for rule in group["Properties"].get(direction, [])]
    for kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        rules += [(name, r["Properties"]) for name, r in of_type(resources, kind).items()]
    return rules


def test_no_port_22_and_no_all_traffic_rules(resources: dict[str, Any]) -> None:
    rules = _all_rules(resources)
    assert rules
    for where, rule in rules:
        assert str(rule["IpProtocol"]) == "tcp", f"{where}: only TCP rules expected, got {rule}"
        assert not (int(rule["FromPort"]) <= 22 <= int(rule["ToPort"])), f"{where} opens port 22"


def test_security_groups(resources: dict[str, Any]) -> None:
    alb = resources["AlbSecurityGroup"]["Properties"]
    ingress = {(r["FromPort"], r["ToPort"], r["CidrIp"]) for r in alb["SecurityGroupIngress"]}
    assert ingress == {(80, 80, "0.0.0.0/0"), (443, 443, "0.0.0.0/0")}
    assert [(r["FromPort"], r["CidrIp"]) for r in alb["SecurityGroupEgress"]] == [(8501, "10.0.0.0/16")]

    service = resources["ServiceSecurityGroup"]["Properties"]
    assert service["SecurityGroupIngress"] == [
        {
            "IpProtocol": "tcp", "FromPort": 8501, "ToPort": 8501,
            "SourceSecurityGroupId": {"Ref": "AlbSecurityGroup"}, "Description": "Streamlit from the ALB",
        }
    ]
    assert [(r["FromPort"], r["ToPort"]) for r in service["SecurityGroupEgress"]] == [(443, 443)]


# ------------------------------------------------------------------- ECS


def test_cluster_capacity_providers_and_insights(resources: dict[str, Any]) -> None:
    cluster = only(resources, "AWS::ECS::Cluster")
    assert cluster["ClusterName"] == prod_or_suffixed("vibejudge-cluster")
    assert set(cluster["CapacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}
    strategy = {s["CapacityProvider"]: s for s in cluster["DefaultCapacityProviderStrategy"]}
    assert strategy["FARGATE"]["Base"] == 2
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]


def test_task_definition(resources: dict[str, Any], repo: Path) -> None:
    task = only(resources, "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == ("512", "1024")
    assert task["NetworkMode"] == "awsvpc"
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["ExecutionRoleArn"] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}
    assert task["TaskRoleArn"] == {"Fn::GetAtt": ["TaskRole", "Arn"]}
    (container,) = task["ContainerDefinitions"]
    assert container["Name"] == "streamlit-dashboard"
    assert container["Image"] == {"Ref": "ImageUri"}
    assert container["PortMappings"] == [{"ContainerPort": 8501, "Protocol": "tcp"}]
    with_api, without_api = if_branches(container["Environment"], "HasApiBaseUrl")
    assert with_api == [{"Name": "API_BASE_URL", "Value": {"Ref": "ApiBaseUrl"}}]
    assert without_api == {"Ref": "AWS::NoValue"}

    check = container["HealthCheck"]
    assert check["Command"][0] == "CMD"
    assert "http://127.0.0.1:8501/_stcore/health" in check["Command"][-1]
    assert "curl" not in json.dumps(check)
    # The ECS probe is the image's own HEALTHCHECK, word for word.
    dockerfile = (repo / "Dockerfile").read_text()
    match = re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", dockerfile)
    assert match, "Dockerfile HEALTHCHECK CMD not found"
    assert check["Command"][1:] == json.loads(match.group(1))

    logs = container["LogConfiguration"]
    assert logs["LogDriver"] == "awslogs"
    assert logs["Options"]["awslogs-group"] == {"Ref": "LogGroup"}
    assert logs["Options"]["awslogs-region"] == {"Ref": "AWS::Region"}


def test_log_group_retention(resources: dict[str, Any]) -> None:
    group = only(resources, "AWS::Logs::LogGroup")
    assert group["RetentionInDays"] == 7
    assert group["LogGroupName"] == prod_or_suffixed("/ecs/vibejudge-dashboard")


def test_service(resources: dict[str, Any]) -> None:
    service = only(resources, "AWS::ECS::Service")
    assert service["DesiredCount"] == 2
    deployment = service["DeploymentConfiguration"]
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["MaximumPercent"] == 200
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert service["HealthCheckGracePeriodSeconds"] == 60
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    assert network["SecurityGroups"] == [{"Ref": "ServiceSecurityGroup"}]
    assert service["LoadBalancers"] == [
        {"ContainerName": "streamlit-dashboard", "ContainerPort": 8501, "TargetGroupArn": {"Ref": "TargetGroup"}}
    ]
    assert service["ServiceName"] == prod_or_suffixed("vibejudge-dashboard-service")
    assert "LaunchType" not in service
    strategy = {s["CapacityProvider"]: s for s in service["CapacityProviderStrategy"]}
    assert strategy["FARGATE"]["Base"] == 2
    # Created only after its target group is attached to every listener that exists.
    depends = resources["Service"]["DependsOn"]
    assert "HttpListener" in depends and "HttpsListenerReady" in depends
    handle = resources["HttpsListenerReady"]["Metadata"]["Listener"]
    assert if_branches(handle, "HasCertificate")[0] == {"Ref": "HttpsListener"}


def test_autoscaling(resources: dict[str, Any]) -> None:
    target = only(resources, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    policy = only(resources, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert config["TargetValue"] == 70
    assert (config["ScaleOutCooldown"], config["ScaleInCooldown"]) == (60, 300)


# -------------------------------------------------------------------- IAM


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def test_execution_role_limited_to_ecr_pull_and_logs(resources: dict[str, Any]) -> None:
    role = resources["ExecutionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    statements = _statements(role)
    assert statements
    actions: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions |= set(listed)
        if statement["Resource"] == "*":
            assert listed == ["ecr:GetAuthorizationToken"], "only the ECR token may use Resource *"
    assert actions == ALLOWED_EXECUTION_ACTIONS
    logs = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert logs["Resource"] == {"Fn::GetAtt": ["LogGroup", "Arn"]}
    pull = next(s for s in statements if "ecr:BatchGetImage" in s["Action"])
    assert pull["Resource"]["Fn::Sub"].endswith(":repository/${RepositoryName}")


def test_task_role_is_empty(resources: dict[str, Any]) -> None:
    role = resources["TaskRole"]["Properties"]
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    for name in ("ExecutionRole", "TaskRole"):
        trust = resources[name]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "ecs-tasks.amazonaws.com"}]


def test_no_other_iam_grants(resources: dict[str, Any]) -> None:
    assert set(of_type(resources, "AWS::IAM::Role")) == {"ExecutionRole", "TaskRole"}
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User"):
        assert not of_type(resources, kind)


# -------------------------------------------------------------------- ALB


def test_load_balancer_is_internet_facing(resources: dict[str, Any]) -> None:
    alb = only(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Scheme"] == "internet-facing"
    assert alb["Type"] == "application"
    assert len(alb["Subnets"]) == 2


def test_target_group(resources: dict[str, Any]) -> None:
    group = only(resources, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["TargetType"] == "ip"
    assert group["Port"] == 8501
    assert group["HealthCheckPath"] == "/_stcore/health"
    assert group["HealthCheckIntervalSeconds"] == 30
    assert group["HealthyThresholdCount"] == 2
    assert group["UnhealthyThresholdCount"] == 3
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "30"
    assert attributes["stickiness.enabled"] == "true"


def test_listeners_redirect_only_with_certificate(resources: dict[str, Any], template: dict[str, Any]) -> None:
    assert template["Conditions"]["HasCertificate"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]}
    http = resources["HttpListener"]["Properties"]
    assert http["Port"] == 80
    (action,) = http["DefaultActions"]
    with_cert, without_cert = if_branches(action, "HasCertificate")
    assert with_cert["Type"] == "redirect"
    assert with_cert["RedirectConfig"]["Protocol"] == "HTTPS"
    assert with_cert["RedirectConfig"]["Port"] == "443"
    assert with_cert["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert without_cert == {"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}

    https = resources["HttpsListener"]
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["Port"] == 443
    assert https["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert https["Properties"]["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]


# ----------------------------------------------------------------- alarms


def test_alarm_topic_and_email(resources: dict[str, Any]) -> None:
    assert len(of_type(resources, "AWS::SNS::Topic")) == 1
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_alarms(resources: dict[str, Any]) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]

    healthy = resources["NoHealthyHostsAlarm"]["Properties"]
    assert healthy["MetricName"] == "HealthyHostCount"
    assert (healthy["ComparisonOperator"], healthy["Threshold"]) == ("LessThanThreshold", 1)

    slow = resources["HighResponseTimeAlarm"]["Properties"]
    assert slow["MetricName"] == "TargetResponseTime"
    assert (slow["ComparisonOperator"], slow["Threshold"]) == ("GreaterThanThreshold", 5)

    for name, metric in (("HighCpuAlarm", "CPUUtilization"), ("HighMemoryAlarm", "MemoryUtilization")):
        alarm = resources[name]["Properties"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/ECS", metric, "Average")
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 90)
        assert alarm["Dimensions"] == [
            {"Name": "ClusterName", "Value": {"Ref": "Cluster"}},
            {"Name": "ServiceName", "Value": {"Fn::GetAtt": ["Service", "Name"]}},
        ]
        assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 5, 3)


def test_5xx_alarm_is_a_rate_above_one_percent(resources: dict[str, Any]) -> None:
    errors = resources["Http5xxAlarm"]["Properties"]
    stats = {m["Id"]: m["MetricStat"] for m in errors["Metrics"] if "MetricStat" in m}
    assert {k: v["Metric"]["MetricName"] for k, v in stats.items()} == {
        "requests": "RequestCount", "elb": "HTTPCode_ELB_5XX_Count", "target": "HTTPCode_Target_5XX_Count",
    }
    assert {v["Stat"] for v in stats.values()} == {"Sum"}
    assert {v["Period"] for v in stats.values()} == {300}
    (rate,) = [m for m in errors["Metrics"] if m.get("ReturnData")]
    assert rate["Id"] == "rate"
    assert (errors["ComparisonOperator"], errors["Threshold"]) == ("GreaterThanThreshold", 1)
    assert_rate_expression(rate["Expression"])


def assert_rate_expression(expression: str) -> None:
    """Evaluates the metric math on sample sums: the alarm compares a percentage with 1."""
    import re as _re

    python = " ".join(expression.split())
    python = _re.sub(r"FILL\((\w+), 0\)", r"\1", python)
    match = _re.fullmatch(r"IF\((.*) > 0, (.*), 0\)", python)
    assert match, expression
    condition, value = match.groups()

    def rate(requests: float, elb: float, target: float) -> float:
        scope = {"requests": requests, "elb": elb, "target": target}
        return eval(value, {}, scope) if eval(condition, {}, scope) > 0 else 0  # noqa: S307 - test-only arithmetic

    assert rate(0, 0, 0) == 0
    assert rate(1000, 0, 10) == 1.0  # exactly 1 %: not above the threshold
    assert rate(1000, 0, 11) > 1
    assert rate(990, 10, 0) == 1.0  # ALB-generated 5XX count in the denominator too
    assert rate(10, 0, 0) == 0


# ------------------------------------------------------------------- tags


def _taggable(type_name: str) -> bool:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_name).schema
    return "Tags" in schema.get("properties", {})


def test_every_taggable_resource_has_environment_and_project_tags(resources: dict[str, Any]) -> None:
    taggable = {name: r for name, r in resources.items() if _taggable(r["Type"])}
    assert len(taggable) >= 15
    for name, resource in taggable.items():
        tags = tag_map(resource["Properties"])
        assert tags.get("Environment") == {"Ref": "Environment"}, f"{name} lacks the Environment tag"
        assert tags.get("Project") == "vibejudge", f"{name} lacks the Project tag"


# ---------------------------------------------------------------- outputs


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["LoadBalancerDnsName"]["Value"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    assert outputs["ClusterArn"]["Value"] == {"Fn::GetAtt": ["Cluster", "Arn"]}
    assert outputs["ServiceArn"]["Value"] == {"Ref": "Service"}
    assert outputs["RepositoryUri"]["Value"]["Fn::Sub"].endswith("/${RepositoryName}")
    # deploy.sh reads these three.
    assert {"ClusterName", "ServiceName", "DashboardUrl"} <= set(outputs)


def test_repository_lives_outside_the_stack(resources: dict[str, Any], repo: Path) -> None:
    # imagekit push creates it before the first deploy; the stack only references it.
    assert not of_type(resources, "AWS::ECR::Repository")
    assert "ecr://vibejudge-dashboard" in (repo / "imagekit.yaml").read_text()
