"""The Emerging Threats Open sync: the rule groups it fills, and the scheduled function.

One writer per resource. ``EmergingThreatsGroups`` declares the ET rule groups (count and
capacity from ``rules.emergingThreats``) with a harmless placeholder rule; the hub's firewall
policy references them like its own groups, so Pulumi alone writes the policy. Pulumi ignores
changes to the groups' rules, variables and description, which only the function writes.
Capacity is fixed when a group is created, so the capacity is in the group's name: raising it
creates new groups, switches the policy to them and then deletes the old ones
(create-before-delete, Pulumi's default for a replacement).

``EmergingThreatsSync`` declares the function, its role, an EventBridge schedule, the SSM
parameter holding the last applied version, the S3 bucket/prefix for records, a log group,
an SNS topic with an alarm on failed runs (the function's ``Errors``, and the on-failure
destination of its asynchronous invocations) and one on ``CapacityShort``. Nothing runs the
function during a deploy. Its role may only describe and update the declared groups (no
``UpdateFirewallPolicy``, no create or delete), write its records, its parameter, its logs
and its failure notices; every statement names its resources. Metrics go through the log
(Embedded Metric Format), so no ``cloudwatch:PutMetricData`` (which would need ``"*"``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from egress_net import lambda_package, naming
from egress_net.components.network import Expiry, build_private_bucket, tags_for
from egress_net.et_sync.apply import (
    FUNCTION_TIMEOUT_S,
    PLACEHOLDER_DESCRIPTION,
    placeholder_rules,
)
from egress_net.et_sync.handler import METRIC_DIMENSION, METRIC_NAMESPACE
from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.et_sync.settings import FUNCTION_MEMORY_MB, SETTINGS_ENV, GroupSlot

COMPONENT_TYPE = "egress-net:index:EmergingThreatsSync"
GROUPS_COMPONENT_TYPE = "egress-net:index:EmergingThreatsGroups"
# What the function writes into the declared groups; Pulumi leaves these alone after create.
# The engine keeps the old inputs of ignored paths (pulumi/pulumi#2657, "the engine simply
# replaces the values of input properties in the goal state with old inputs"), also when a
# capacity change replaces a group: the new group starts from what the state last held.
FUNCTION_WRITES = ["ruleGroup.rulesSource", "ruleGroup.ruleVariables", "description"]
HANDLER = "egress_net.et_sync.handler.handler"
RUNTIME = "python3.12"
# Manifests and reject reports of versions older than this are of no use to anyone.
RECORDS_RETENTION_DAYS = 365


@dataclass(frozen=True)
class EtGroupRef:
    """One declared ET group: what the policy references and the function fills."""

    name: str
    capacity: int
    priority: int
    arn: pulumi.Output[str]


@dataclass
class EmergingThreatsGroupsArgs:
    config: EmergingThreatsConfig
    home_net: Sequence[str]
    # Set for a TGW-attached firewall: it has no VPC CIDR to derive EXTERNAL_NET from.
    external_net: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


def placeholder_rule_group(
    index: int, home_net: Sequence[str], external_net: Sequence[str]
) -> dict[str, Any]:
    """The rule group a declared ET group starts with (see ``apply.placeholder_rules``)."""
    ip_sets = [{"key": "HOME_NET", "ip_set": {"definitions": list(home_net)}}]
    if external_net:
        ip_sets.append({"key": "EXTERNAL_NET", "ip_set": {"definitions": list(external_net)}})
    return {
        "rule_variables": {"ip_sets": ip_sets},
        "rules_source": {"rules_string": placeholder_rules(index)},
        "stateful_rule_options": {"rule_order": "STRICT_ORDER"},
    }


class EmergingThreatsGroups(pulumi.ComponentResource):
    """The ET rule groups: declared (and replaced) by Pulumi, filled by the sync function."""

    groups: list[EtGroupRef]

    def __init__(
        self,
        name: str,
        args: EmergingThreatsGroupsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(GROUPS_COMPONENT_TYPE, name, None, opts)
        cfg = args.config
        self.groups = []
        # Unique per account and region, valid for any stack name (egress_net.naming).
        names = naming.of_current_stack()
        for index, key in enumerate(cfg.group_keys()):
            group_name = names.rule_group(key)
            group = aws.networkfirewall.RuleGroup(
                f"{name}-{index + 1}",
                name=group_name,
                type="STATEFUL",
                capacity=cfg.group_capacity,
                description=PLACEHOLDER_DESCRIPTION,
                rule_group=placeholder_rule_group(index, args.home_net, args.external_net),
                tags=tags_for(args.tags, group_name, component="et-sync"),
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=FUNCTION_WRITES),
            )
            self.groups.append(
                EtGroupRef(group_name, cfg.group_capacity, cfg.priority_start + index, group.arn)
            )
        self.register_outputs({"ruleGroupArns": [group.arn for group in self.groups]})


@dataclass
class EmergingThreatsSyncArgs:
    """What the program passes in; ``bucket_name`` may be an Output."""

    groups: Sequence[EtGroupRef]
    home_net: Sequence[str]
    external_net: Sequence[str] = ()
    firewall_mode: str = "drop"
    config: EmergingThreatsConfig = field(
        default_factory=lambda: EmergingThreatsConfig(enabled=True)
    )
    # An existing bucket for the manifests; a private bucket is created when None.
    bucket_name: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Keep the log group and the records bucket on `pulumi destroy` (the stack's
    # logs.retainOnDelete).
    retain_on_delete: bool = False


def arn_parts(arn: str) -> tuple[str, str, str]:
    """``(partition, region, account)`` of a Network Firewall ARN (no lookup needed)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "network-firewall":
        raise ValueError(f"not a Network Firewall ARN: {arn!r}")
    return parts[1], parts[3], parts[4]


def lambda_trust_policy(account: str) -> dict[str, Any]:
    """Who may assume the function's role: Lambda, for functions of this account only.
    ``aws:SourceAccount`` closes the cross-service confused deputy (IAM User Guide, "The
    confused deputy problem": use aws:SourceArn/aws:SourceAccount in trust policies of service
    roles). ``aws:SourceArn`` is left out: the role exists before the function it would name,
    and Lambda checks at CreateFunction that it can assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }


def sync_policy_document(
    *,
    group_arns: Sequence[str],
    parameter_arn: str,
    bucket_name: str,
    records_prefix: str,
    log_group_arn: str,
    topic_arn: str,
) -> dict[str, Any]:
    """The function's inline IAM policy: every statement names its resources.

    Network Firewall: describe and update the declared groups, nothing else (no policy
    action, no create or delete). The three actions act on one group named by its ARN
    (``RuleGroupArn``, Network Firewall API Reference); the Service Authorization Reference
    lists stateful rule groups as their resource type.
    """
    partition = arn_parts(group_arns[0])[0]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FillTheDeclaredEtGroups",
                "Effect": "Allow",
                "Action": [
                    "network-firewall:DescribeRuleGroup",
                    "network-firewall:DescribeRuleGroupMetadata",
                    "network-firewall:UpdateRuleGroup",
                ],
                "Resource": list(group_arns),
            },
            {
                "Sid": "AppliedVersion",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:PutParameter"],
                "Resource": [parameter_arn],
            },
            {
                "Sid": "ManifestsAndRejectReports",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"arn:{partition}:s3:::{bucket_name}/{records_prefix}*"],
            },
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            },
            {
                # The on-failure destination of asynchronous (scheduled) invocations is
                # written with the function's own role.
                "Sid": "FailureNotices",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": [topic_arn],
            },
        ],
    }


class EmergingThreatsSync(pulumi.ComponentResource):
    """The scheduled function that fills the declared ET groups."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    parameter: aws.ssm.Parameter
    schedule: aws.cloudwatch.EventRule
    alarm_topic: aws.sns.Topic

    def __init__(
        self,
        name: str,
        args: EmergingThreatsSyncArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        tags = {**args.tags, "egress-net:component": "et-sync"}
        # Unique per account and region, valid for any stack name (egress_net.naming).
        names = naming.of_current_stack()
        function_name = names.lambda_function(name)
        records_prefix = cfg.bucket_prefix  # normalised by the model: "a/b/" or ""

        if args.bucket_name is None and not cfg.bucket:
            bucket = build_private_bucket(
                self,
                f"{name}-records",
                tags,
                expiries=[
                    Expiry(f"{records_prefix}{folder}/", RECORDS_RETENTION_DAYS)
                    for folder in ("manifests", "rejected", "plans")
                ],
                retain_on_delete=args.retain_on_delete,
            )
            bucket_name: pulumi.Output[str] = bucket.bucket
        else:
            bucket_name = pulumi.Output.from_input(args.bucket_name or cfg.bucket)

        self.parameter = aws.ssm.Parameter(
            f"{name}-version",
            name=names.ssm_parameter(name, "applied-version"),
            type="String",
            insecure_value="none",
            description="Emerging Threats version (tarball md5) last applied by the sync",
            tags=tags,
            # The function writes the value; a later deploy must not reset it.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["insecureValue"]),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=naming.lambda_log_group(function_name),
            retention_in_days=cfg.log_retention_days,
            kms_key_id=cfg.log_kms_key_arn,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_on_delete),
        )
        self.alarm_topic = aws.sns.Topic(
            f"{name}-alarms", name=names.sns_topic(f"{name}-alarms"), tags=tags, opts=child
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=names.iam_role(name),
            # The function runs in the account of the groups it fills.
            assume_role_policy=args.groups[0].arn.apply(
                lambda arn: json.dumps(lambda_trust_policy(arn_parts(arn)[2]))
            ),
            tags=tags,
            opts=child,
        )
        group_arns = pulumi.Output.all(*[group.arn for group in args.groups])
        policy_document = pulumi.Output.all(
            group_arns,
            self.parameter.arn,
            bucket_name,
            log_group.arn,
            self.alarm_topic.arn,
        ).apply(
            lambda values: json.dumps(
                sync_policy_document(
                    group_arns=values[0],
                    parameter_arn=values[1],
                    bucket_name=values[2],
                    records_prefix=records_prefix,
                    log_group_arn=values[3],
                    topic_arn=values[4],
                )
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=policy_document, opts=child
        )

        settings_json = pulumi.Output.all(group_arns, bucket_name, self.parameter.name).apply(
            lambda values: cfg.to_settings(
                groups=[
                    GroupSlot(name=group.name, capacity=group.capacity, arn=arn)
                    for group, arn in zip(args.groups, values[0], strict=True)
                ],
                version_parameter=values[2],
                bucket=values[1],
                home_net=list(args.home_net),
                external_net=list(args.external_net),
                firewall_mode=args.firewall_mode,
            ).to_json()
        )
        # The declared files only, zipped the same way every time (egress_net.lambda_package):
        # the same sources give the same CodeSha256, so no code update on an unchanged `up`.
        code = pulumi.FileArchive(str(lambda_package.write_package()))
        # No reserved concurrency: it fails where the account's unreserved concurrency is at
        # its minimum (new accounts), and concurrent runs are harmless anyway (apply.py).
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            runtime=RUNTIME,
            handler=HANDLER,
            code=code,
            role=self.role.arn,
            architectures=["arm64"],
            memory_size=FUNCTION_MEMORY_MB,  # see settings.EXTRACT_PEAK_FACTOR
            timeout=FUNCTION_TIMEOUT_S,  # the group writes' time budget assumes it
            environment={"variables": {SETTINGS_ENV: settings_json}},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
        )
        # Scheduled runs are asynchronous invocations: a failed one goes to the topic once,
        # not retried (the next scheduled run retries the same version anyway).
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-on-failure",
            function_name=self.function.name,
            maximum_retry_attempts=0,
            destination_config={"on_failure": {"destination": self.alarm_topic.arn}},
            # Lambda checks the role may publish to the destination when this is configured.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-failed",
            name=names.alarm(f"{name}-failed"),
            alarm_description="The Emerging Threats sync failed; the last applied rules stay in "
            "force. See the function's log (event et_sync_result).",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": self.function.name},
            statistic="Sum",
            period=3600,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.alarm_topic.arn],
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-capacity-short",
            name=names.alarm(f"{name}-capacity-short"),
            alarm_description="The Emerging Threats rules outgrew the declared groups; the "
            "last applied rules stay in force. Raise rules.emergingThreats.groupCapacity (or "
            "groups) as the plan in the records bucket says, and run pulumi up.",
            namespace=METRIC_NAMESPACE,
            metric_name="CapacityShort",
            dimensions={METRIC_DIMENSION: self.function.name},
            statistic="Maximum",
            period=3600,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.alarm_topic.arn],
            tags=tags,
            opts=child,
        )
        self.schedule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            name=names.event_rule(name),
            schedule_expression=cfg.schedule,
            description="Runs the Emerging Threats Open sync",
            tags=tags,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=self.schedule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.schedule.name,
            arn=self.function.arn,
            opts=child,
        )

        self.function_name = self.function.name
        self.function_arn = self.function.arn
        self.role_arn = self.role.arn
        self.version_parameter_name = self.parameter.name
        self.bucket_name = bucket_name
        self.records_prefix = records_prefix
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "roleArn": self.role_arn,
                "versionParameterName": self.version_parameter_name,
                "bucketName": self.bucket_name,
                "recordsPrefix": records_prefix,
                "scheduleExpression": self.schedule.schedule_expression,
                "alarmTopicArn": self.alarm_topic.arn,
            }
        )
