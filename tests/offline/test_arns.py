"""ARNs, IDs and partitions the offline engine answers, in AWS's exact format per type."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from egress_net import engine
from egress_net.partitions import partition_of, service_principal
from egress_net.recording import Recording
from egress_net.rules.policy import managed_group_arn

from .conftest import every_recording, program_source

# One resource of each type the engine states an ARN for.
EVERY_ARN_TYPE = """
import pulumi
import pulumi_aws as aws

vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
subnet = aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.0.0.0/24", availability_zone_id=AZ)
aws.ec2.RouteTable("rtb", vpc_id=vpc.id)
aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
eip = aws.ec2.Eip("eip", domain="vpc")
aws.ec2.NatGateway("nat", subnet_id=subnet.id, allocation_id=eip.id)
tgw = aws.ec2transitgateway.TransitGateway("tgw")
aws.ec2transitgateway.VpcAttachment(
    "attachment", transit_gateway_id=tgw.id, vpc_id=vpc.id, subnet_ids=[subnet.id]
)
aws.ec2transitgateway.RouteTable("tgw-rtb", transit_gateway_id=tgw.id)
aws.networkfirewall.RuleGroup("stateless", name="five-tuple", capacity=10, type="STATELESS")
aws.networkfirewall.RuleGroup("stateful", name="domains", capacity=10, type="STATEFUL")
aws.networkfirewall.TlsInspectionConfiguration(
    "tls", name="outbound-tls", tls_inspection_configuration={}
)
policy = aws.networkfirewall.FirewallPolicy(
    "policy",
    name="egress-policy",
    firewall_policy={
        "stateless_default_actions": ["aws:forward_to_sfe"],
        "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
    },
)
firewall = aws.networkfirewall.Firewall(
    "firewall",
    name="egress",
    firewall_policy_arn=policy.arn,
    vpc_id=vpc.id,
    subnet_mappings=[{"subnet_id": subnet.id}],
)
aws.networkfirewall.LoggingConfiguration(
    "logging",
    firewall_arn=firewall.arn,
    logging_configuration={
        "log_destination_configs": [
            {
                "log_destination": {"logGroup": "/egress/alert"},
                "log_destination_type": "CloudWatchLogs",
                "log_type": "ALERT",
            }
        ]
    },
)
aws.cloudwatch.LogGroup("log-group", name="/egress/alert")
aws.cloudwatch.MetricAlarm(
    "alarm",
    name="egress-alarm",
    comparison_operator="GreaterThanThreshold",
    evaluation_periods=1,
    metric_name="Errors",
    namespace="AWS/Lambda",
    period=60,
    statistic="Sum",
    threshold=0,
)
aws.cloudwatch.EventRule("rule", name="egress-rule", schedule_expression="rate(1 day)")
role = aws.iam.Role("role", name="egress-role", path="/service/", assume_role_policy="{}")
aws.lambda_.Function(
    "function",
    name="egress-fn",
    role=role.arn,
    runtime="python3.12",
    handler="handler.handle",
    code=pulumi.AssetArchive({}),
)
aws.ssm.Parameter("parameter", name="/egress/version", type="String", value="1")
aws.s3.Bucket("bucket", bucket="egress-records")
aws.ram.ResourceShare("share", name="egress-tgw")
"""

ID17 = "[0-9a-f]{17}"


def expected_arns(partition: str, region: str, account: str) -> dict[str, str]:
    """Type → the ARN format of the Service Authorization Reference, as a regex."""
    regional = f"arn:{partition}:{{service}}:{region}:{account}:"
    ec2 = regional.format(service="ec2")
    nfw = regional.format(service="network-firewall")
    return {
        "aws:ec2/vpc:Vpc": f"{ec2}vpc/vpc-{ID17}",
        "aws:ec2/subnet:Subnet": f"{ec2}subnet/subnet-{ID17}",
        "aws:ec2/routeTable:RouteTable": f"{ec2}route-table/rtb-{ID17}",
        "aws:ec2/internetGateway:InternetGateway": f"{ec2}internet-gateway/igw-{ID17}",
        "aws:ec2/eip:Eip": f"{ec2}elastic-ip/eipalloc-{ID17}",
        "aws:ec2transitgateway/transitGateway:TransitGateway": f"{ec2}transit-gateway/tgw-{ID17}",
        "aws:ec2transitgateway/vpcAttachment:VpcAttachment": (
            f"{ec2}transit-gateway-attachment/tgw-attach-{ID17}"
        ),
        "aws:ec2transitgateway/routeTable:RouteTable": (
            f"{ec2}transit-gateway-route-table/tgw-rtb-{ID17}"
        ),
        "stateless": f"{nfw}stateless-rulegroup/five-tuple",
        "stateful": f"{nfw}stateful-rulegroup/domains",
        "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration": (
            f"{nfw}tls-configuration/outbound-tls"
        ),
        "aws:networkfirewall/firewallPolicy:FirewallPolicy": f"{nfw}firewall-policy/egress-policy",
        "aws:networkfirewall/firewall:Firewall": f"{nfw}firewall/egress",
        # LogGroup.arn without the ":*" DescribeLogGroups appends (the provider drops it).
        "aws:cloudwatch/logGroup:LogGroup": regional.format(service="logs")
        + "log-group:/egress/alert",
        "aws:cloudwatch/metricAlarm:MetricAlarm": regional.format(service="cloudwatch")
        + "alarm:egress-alarm",
        "aws:cloudwatch/eventRule:EventRule": regional.format(service="events")
        + "rule/egress-rule",
        "aws:iam/role:Role": f"arn:{partition}:iam::{account}:role/service/egress-role",
        "aws:lambda/function:Function": regional.format(service="lambda") + "function:egress-fn",
        "aws:ssm/parameter:Parameter": regional.format(service="ssm") + "parameter/egress/version",
        "aws:s3/bucket:Bucket": f"arn:{partition}:s3:::egress-records",
        "aws:ram/resourceShare:ResourceShare": regional.format(service="ram")
        + "resource-share/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    }


REGIONS = [
    ("us-east-1", "use1-az1", "aws"),
    ("us-gov-west-1", "usgw1-az1", "aws-us-gov"),
    ("cn-north-1", "cnn1-az1", "aws-cn"),
]


@pytest.mark.parametrize(("region", "az", "partition"), REGIONS)
def test_every_arn_has_aws_format_and_the_region_partition(
    tmp_path: Path, region: str, az: str, partition: str
) -> None:
    source = program_source(
        tmp_path, f"AZ = {az!r}\n" + EVERY_ARN_TYPE, region=region, accountId="444455556666"
    )
    rec, _, _ = engine.run_program(source)
    expected = expected_arns(partition, region, "444455556666")
    for resource in rec:
        key = resource.name if resource.name in ("stateless", "stateful") else resource.type
        if key in expected:
            assert re.fullmatch(expected[key], resource.outputs["arn"]), (key, resource.outputs)
            expected.pop(key)
    assert expected == {}, "types not declared by the program"
    # Network Firewall and RAM answer the ARN as the ID; a logging configuration's ID is its
    # firewall's ARN; types AWS gives no ARN get none (nothing invented).
    by_name = {r.name: r for r in rec}
    for name in ("stateless", "stateful", "tls", "policy", "firewall", "share"):
        assert by_name[name].id == by_name[name].outputs["arn"]
    assert by_name["logging"].id == by_name["firewall"].outputs["arn"]
    assert "arn" not in by_name["nat"].outputs and "arn" not in by_name["logging"].outputs


def _arn_partitions(recording: Recording) -> set[str]:
    """The partition of every ARN anywhere in the recording (inputs, outputs, JSON policies)."""
    text = json.dumps([[r.inputs, r.outputs] for r in recording] + [recording.outputs])
    return set(re.findall(r"arn:([a-z0-9-]*):", text.replace('\\"', '"')))


def test_every_arn_of_every_repo_stack_has_its_region_partition(
    repo_stacks: dict[str, engine.SynthResult],
) -> None:
    for rec in every_recording(repo_stacks):
        region = str(rec.config["aws:region"])
        assert _arn_partitions(rec) == {partition_of(region).name}, rec.stack
    regions = {str(r.recording.config["aws:region"]) for r in repo_stacks.values()}
    assert {"us-gov-west-1", "cn-north-1"} <= regions  # a stack in each partition


def test_managed_rule_groups_follow_the_partition() -> None:
    assert managed_group_arn("ThreatSignaturesMalware", "us-gov-west-1") == (
        "arn:aws-us-gov:network-firewall:us-gov-west-1:aws-managed:"
        "stateful-rulegroup/ThreatSignaturesMalwareStrictOrder"
    )
    assert managed_group_arn("ThreatSignaturesMalware", "cn-north-1").startswith("arn:aws-cn:")


def test_get_partition_and_caller_identity_answer_for_the_region(tmp_path: Path) -> None:
    code = """
    import pulumi
    import pulumi_aws as aws
    partition = aws.get_partition()
    me = aws.get_caller_identity()
    pulumi.export("partition", partition.partition)
    pulumi.export("dnsSuffix", partition.dns_suffix)
    pulumi.export("account", me.account_id)
    pulumi.export("arn", me.arn)
    """
    rec, _, _ = engine.run_program(
        program_source(tmp_path, code, region="cn-northwest-1", accountId="444455556666")
    )
    assert rec.outputs["partition"] == "aws-cn"
    assert rec.outputs["dnsSuffix"] == "amazonaws.com.cn"
    assert rec.outputs["account"] == "444455556666"
    assert rec.outputs["arn"].startswith("arn:aws-cn:iam::444455556666:")


def test_service_principals_keep_amazonaws_com_except_where_the_partition_renames_them() -> None:
    # The program's principals (lambda, events, delivery.logs) are the same in every partition.
    for region in ("us-east-1", "us-gov-west-1", "cn-north-1"):
        assert service_principal("lambda", region) == "lambda.amazonaws.com"
        assert service_principal("events", region) == "events.amazonaws.com"
        assert service_principal("delivery.logs", region) == "delivery.logs.amazonaws.com"
    assert service_principal("logs", "cn-north-1") == "logs.amazonaws.com.cn"
    assert service_principal("logs", "us-gov-west-1") == "logs.amazonaws.com"


def test_a_resource_in_its_own_region_gets_that_region_and_partition(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    aws.cloudwatch.LogGroup("here", name="here")
    aws.cloudwatch.LogGroup("there", name="there", region="eu-west-1")
    """
    rec, _, _ = engine.run_program(program_source(tmp_path, code, region="us-east-1"))
    arns = {r.name: r.outputs["arn"] for r in rec if r.custom}
    assert arns["here"].startswith("arn:aws:logs:us-east-1:")
    assert arns["there"].startswith("arn:aws:logs:eu-west-1:")


def test_a_config_arn_from_another_partition_is_refused_before_anything_is_declared() -> None:
    from egress_net.errors import ConfigError

    from ..conftest import hub_config, synth_config

    config = hub_config(
        **{"aws:region": "cn-north-1"},
        azIds=["cnn1-az1", "cnn1-az2"],
        accountId="111122223333",
        spokes=[
            {
                "name": "app",
                "cidr": "10.1.0.0/16",
                "roleArn": "arn:aws:iam::444455556666:role/egress-net-deploy",
            }
        ],
        share={"principals": ["444455556666"]},
    )
    with pytest.raises(ConfigError) as caught:
        synth_config(config)
    assert caught.value.where == "egress-net:spokes[0].roleArn"
    assert "partition aws, but cn-north-1 is in aws-cn" in str(caught.value)
    assert [r for r in caught.value.registered if not r.type.startswith("pulumi:")] == []
    fixed = dict(config)
    fixed["egress-net:spokes"] = [
        {**config["egress-net:spokes"][0], "roleArn": "arn:aws-cn:iam::444455556666:role/deploy"}
    ]
    assert synth_config(fixed).outputs["contractVersion"] == 1


def test_load_balancer_dns_names_and_security_group_ids_have_aws_format(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    sg = aws.ec2.SecurityGroup("lb", vpc_id="vpc-1", description="lb")
    aws.lb.LoadBalancer("public", name="shop", load_balancer_type="application",
                        security_groups=[sg.id], subnets=["subnet-1", "subnet-2"])
    aws.lb.LoadBalancer("private", name="api", load_balancer_type="application", internal=True,
                        subnets=["subnet-1", "subnet-2"])
    aws.lb.LoadBalancer("feed", name="feed", load_balancer_type="network",
                        subnets=["subnet-1", "subnet-2"])
    """
    rec, _, _ = engine.run_program(program_source(tmp_path, code, region="cn-north-1"))
    dns = {
        r.name: r.outputs.get("dnsName")
        for r in rec
        if r.type == "aws:lb/loadBalancer:LoadBalancer"
    }
    assert re.fullmatch(r"shop-\d+\.cn-north-1\.elb\.amazonaws\.com\.cn", dns["public"])
    assert re.fullmatch(r"internal-api-\d+\.cn-north-1\.elb\.amazonaws\.com\.cn", dns["private"])
    assert re.fullmatch(r"feed-[0-9a-f]{16}\.elb\.cn-north-1\.amazonaws\.com\.cn", dns["feed"])
    (group,) = rec.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert re.fullmatch(r"sg-[0-9a-f]{17}", group.id)


def test_an_iam_policy_and_an_sns_topic_are_identified_by_their_arn(tmp_path: Path) -> None:
    # The provider's ID of both is the ARN their create call answers (CreatePolicy Policy.Arn,
    # CreateTopic TopicArn); a role's is its name.
    code = """
    import pulumi_aws as aws
    aws.iam.Policy("read", name="egress-read", policy="{}")
    aws.sns.Topic("alarms", name="egress-alarms")
    aws.iam.Role("sync", name="egress-sync", assume_role_policy="{}")
    """
    rec, _, _ = engine.run_program(program_source(tmp_path, code, accountId="444455556666"))
    ids = {r.name: r.id for r in rec if r.custom}
    assert ids["read"] == "arn:aws:iam::444455556666:policy/egress-read"
    assert ids["alarms"] == "arn:aws:sns:us-east-1:444455556666:egress-alarms"
    assert ids["sync"] == "egress-sync"
