"""The ARN AWS gives each resource type the program declares, in AWS's exact format.

Pure: the offline engine calls :func:`arn_for` with what it knows of a new resource (its
partition, region, account, physical ID and inputs). A type missing here gets no ARN at all:
the engine invents nothing it cannot state in AWS's format. Formats are those of the Service
Authorization Reference ("Actions, resources, and condition keys for <service>", section
"Resource types defined by <service>"), cited per service below.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from egress_net.partitions import Partition


@dataclass(frozen=True)
class NewResource:
    """What an ARN is built from."""

    partition: Partition
    region: str
    account: str
    id: str  # the physical ID AWS returns (vpc-..., a name, an ARN)
    name: str  # the physical name (the ``name`` input or Pulumi's auto-name)
    urn: str
    inputs: Mapping[str, Any]

    def regional(self, service: str, resource: str) -> str:
        return self.partition.arn(service, self.region, self.account, resource)

    def global_(self, service: str, resource: str) -> str:
        """IAM: no region in the ARN."""
        return self.partition.arn(service, "", self.account, resource)


def _ec2(kind: str) -> Callable[[NewResource], str]:
    # EC2: arn:${Partition}:ec2:${Region}:${Account}:<kind>/${Id} (Service Authorization
    # Reference, Amazon EC2: vpc, subnet, route-table, internet-gateway, elastic-ip,
    # natgateway, vpc-endpoint, transit-gateway, transit-gateway-attachment,
    # transit-gateway-route-table).
    return lambda r: r.regional("ec2", f"{kind}/{r.id}")


def _network_firewall(kind: str) -> Callable[[NewResource], str]:
    # AWS Network Firewall: arn:${Partition}:network-firewall:${Region}:${Account}:<kind>/${Name}
    # with kind firewall, firewall-policy, stateful-rulegroup, stateless-rulegroup,
    # tls-configuration (Service Authorization Reference, AWS Network Firewall).
    return lambda r: r.regional("network-firewall", f"{kind}/{r.name}")


def _rule_group(r: NewResource) -> str:
    # CreateRuleGroup's Type is STATELESS or STATEFUL; the ARN's resource type follows it.
    kind = "stateless-rulegroup" if r.inputs.get("type") == "STATELESS" else "stateful-rulegroup"
    return _network_firewall(kind)(r)


def _log_group(r: NewResource) -> str:
    # CloudWatch Logs: arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}.
    # DescribeLogGroups answers it with ":*" appended; the provider's LogGroup.arn drops that
    # suffix (Terraform aws_cloudwatch_log_group docs: "Any :* suffix added by the API ... is
    # removed"), and that is what the program sees.
    return r.regional("logs", f"log-group:{r.name}")


def _role(r: NewResource) -> str:
    # IAM: arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}; path defaults to "/".
    path = str(r.inputs.get("path") or "/")
    return r.global_("iam", f"role{path}{r.name}")


def _policy(r: NewResource) -> str:
    path = str(r.inputs.get("path") or "/")
    return r.global_("iam", f"policy{path}{r.name}")


def _parameter(r: NewResource) -> str:
    # SSM: arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}
    return r.regional("ssm", f"parameter/{r.name.lstrip('/')}")


def _event_rule(r: NewResource) -> str:
    # EventBridge: rule/${RuleName} on the default bus, rule/${EventBusName}/${RuleName} else.
    bus = str(r.inputs.get("eventBusName") or "default")
    return r.regional("events", f"rule/{r.name}" if bus == "default" else f"rule/{bus}/{r.name}")


def resource_share_uuid(urn: str) -> str:
    """RAM names shares by a UUID it picks; deterministic per URN offline."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, urn))


_ARN_OF: dict[str, Callable[[NewResource], str]] = {
    "aws:ec2/vpc:Vpc": _ec2("vpc"),
    "aws:ec2/subnet:Subnet": _ec2("subnet"),
    "aws:ec2/routeTable:RouteTable": _ec2("route-table"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("internet-gateway"),
    "aws:ec2/eip:Eip": _ec2("elastic-ip"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _ec2("vpc-endpoint"),
    "aws:ec2transitgateway/transitGateway:TransitGateway": _ec2("transit-gateway"),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": _ec2("transit-gateway-attachment"),
    "aws:ec2transitgateway/routeTable:RouteTable": _ec2("transit-gateway-route-table"),
    "aws:networkfirewall/firewall:Firewall": _network_firewall("firewall"),
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": _network_firewall("firewall-policy"),
    "aws:networkfirewall/ruleGroup:RuleGroup": _rule_group,
    "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration": (
        _network_firewall("tls-configuration")
    ),
    # RAM: arn:${Partition}:ram:${Region}:${Account}:resource-share/${ResourcePath} (a UUID).
    "aws:ram/resourceShare:ResourceShare": lambda r: r.regional(
        "ram", f"resource-share/{resource_share_uuid(r.urn)}"
    ),
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    # CloudWatch: arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}.
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda r: r.regional("cloudwatch", f"alarm:{r.name}"),
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": _policy,
    # Lambda: arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}.
    "aws:lambda/function:Function": lambda r: r.regional("lambda", f"function:{r.name}"),
    "aws:ssm/parameter:Parameter": _parameter,
    # S3: arn:${Partition}:s3:::${BucketName} (no region, no account).
    "aws:s3/bucket:Bucket": lambda r: f"arn:{r.partition.name}:s3:::{r.name}",
    "aws:s3/bucketV2:BucketV2": lambda r: f"arn:{r.partition.name}:s3:::{r.name}",
    # SNS: arn:${Partition}:sns:${Region}:${Account}:${TopicName}.
    "aws:sns/topic:Topic": lambda r: r.regional("sns", r.name),
    # Route 53 Resolver: arn:${Partition}:route53resolver:${Region}:${Account}:<kind>/${Id}
    # (Service Authorization Reference, Amazon Route 53 Resolver).
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": lambda r: r.regional(
        "route53resolver", f"firewall-rule-group/{r.id}"
    ),
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": lambda r: r.regional(
        "route53resolver", f"firewall-domain-list/{r.id}"
    ),
    "aws:route53/resolverQueryLogConfig:ResolverQueryLogConfig": lambda r: r.regional(
        "route53resolver", f"resolver-query-log-config/{r.id}"
    ),
}

# Types whose physical ID AWS returns is their ARN (Network Firewall's and RAM's create calls
# answer the ARN; the provider uses it as the resource ID; so it does for an IAM managed policy,
# CreatePolicy's Policy.Arn, and an SNS topic, CreateTopic's TopicArn: terraform-provider-aws
# aws_iam_policy and aws_sns_topic, "id: The ARN").
ARN_IS_ID = frozenset(
    {
        "aws:networkfirewall/firewall:Firewall",
        "aws:networkfirewall/firewallPolicy:FirewallPolicy",
        "aws:networkfirewall/ruleGroup:RuleGroup",
        "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration",
        "aws:ram/resourceShare:ResourceShare",
        "aws:iam/policy:Policy",
        "aws:sns/topic:Topic",
    }
)


def has_arn_format(type_token: str) -> bool:
    return type_token in _ARN_OF


def arn_for(type_token: str, resource: NewResource) -> str | None:
    """The resource's ARN in AWS's format, or None for a type without a known format."""
    build = _ARN_OF.get(type_token)
    return build(resource) if build else None
