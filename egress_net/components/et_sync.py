"""``egress-net:index:EmergingThreatsSync``: the scheduled ET Open sync function and its wiring.

Declares a Lambda (code packaged from the installed ``egress_net`` modules it needs, all
stdlib-only), its role with a least-privilege inline policy, an EventBridge schedule, the SSM
parameter holding the last applied version, the S3 bucket/prefix for manifests, and a log group
with retention. Every IAM statement is scoped to resources, save the one action IAM cannot
scope (below):

- Network Firewall: ``stateful-rulegroup/<prefix>-et-*`` (the only names the function creates,
  updates, tags, describes and deletes); ``UpdateFirewallPolicy`` on the one firewall policy
  and on every rule group and TLS configuration it references (the Service Authorization
  Reference lists those as resources of that action); ``ListRuleGroups`` and
  ``ListTLSInspectionConfigurations``, which an ``UpdateFirewallPolicy`` call also authorises.
  ``ListRuleGroups`` has no resource type, so it alone takes ``"*"``.
- SSM: the version parameter's ARN. S3: ``<bucket>/<prefix>*`` (PutObject only).
- Logs: the function's own log group and its streams. Metrics are emitted through the log
  (Embedded Metric Format), so no ``cloudwatch:PutMetricData`` (which would need ``"*"``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

import egress_net
from egress_net import naming
from egress_net.components.network import Expiry, build_private_bucket
from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.et_sync.settings import SETTINGS_ENV

COMPONENT_TYPE = "egress-net:index:EmergingThreatsSync"
HANDLER = "egress_net.et_sync.handler.handler"
RUNTIME = "python3.12"
# Modules the function imports; model.py files use pydantic and stay out of the package.
PACKAGED_FOLDERS = ("et_sync", "rules")
PACKAGED_TOP_LEVEL = ("__init__.py", "errors.py")
EXCLUDED_MODULES = frozenset({"model.py"})
# Manifests and reject reports of versions older than this are of no use to anyone.
RECORDS_RETENTION_DAYS = 365


@dataclass
class EmergingThreatsSyncArgs:
    """What the hub passes in; ``firewall_policy_arn`` and ``bucket_name`` may be Outputs."""

    firewall_policy_arn: pulumi.Input[str]
    rule_group_prefix: str
    home_net: Sequence[str]
    # The rule groups and TLS configuration the policy references besides the ET groups.
    policy_references: pulumi.Input[Sequence[str]] = ()
    config: EmergingThreatsConfig = field(
        default_factory=lambda: EmergingThreatsConfig(enabled=True)
    )
    # An existing bucket for the manifests; a private bucket is created when None.
    bucket_name: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Keep the log group and the records bucket on `pulumi destroy` (the stack's
    # logs.retainOnDelete).
    retain_on_delete: bool = False


def lambda_code_files(package_root: Path | None = None) -> dict[str, Path]:
    """``{path in the zip: file}``: the handler's package and the stdlib-only modules it uses."""
    root = package_root or Path(egress_net.__file__).resolve().parent
    files = {f"egress_net/{name}": root / name for name in PACKAGED_TOP_LEVEL}
    for folder in PACKAGED_FOLDERS:
        for path in sorted((root / folder).glob("*.py")):
            if path.name not in EXCLUDED_MODULES:
                files[f"egress_net/{folder}/{path.name}"] = path
    return files


def arn_parts(policy_arn: str) -> tuple[str, str, str]:
    """``(partition, region, account)`` of a Network Firewall ARN (no lookup needed)."""
    parts = policy_arn.split(":")
    if len(parts) < 6 or parts[2] != "network-firewall":
        raise ValueError(f"not a Network Firewall ARN: {policy_arn!r}")
    return parts[1], parts[3], parts[4]


def sibling_arn(policy_arn: str, resource: str) -> str:
    """A Network Firewall ARN in the policy's partition, region and account."""
    partition, region, account = arn_parts(policy_arn)
    return f"arn:{partition}:network-firewall:{region}:{account}:{resource}"


def rule_group_arn_pattern(policy_arn: str, rule_group_prefix: str) -> str:
    return sibling_arn(policy_arn, f"stateful-rulegroup/{rule_group_prefix}-et-*")


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
    policy_arn: str,
    policy_references: Sequence[str],
    rule_group_prefix: str,
    parameter_arn: str,
    bucket_name: str,
    records_prefix: str,
    log_group_arn: str,
) -> dict[str, Any]:
    """The function's inline IAM policy: every statement names its resources but one."""
    partition = arn_parts(policy_arn)[0]
    et_groups = rule_group_arn_pattern(policy_arn, rule_group_prefix)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheHubPolicy",
                "Effect": "Allow",
                "Action": ["network-firewall:DescribeFirewallPolicy"],
                "Resource": [policy_arn],
            },
            {
                # Authorised against the policy and against every group (and the TLS
                # configuration) the new policy body references.
                "Sid": "SwitchTheHubPolicy",
                "Effect": "Allow",
                "Action": ["network-firewall:UpdateFirewallPolicy"],
                "Resource": [policy_arn, et_groups, *sorted(set(policy_references))],
            },
            {
                # Also authorised by an UpdateFirewallPolicy call. ListRuleGroups supports no
                # resource-level permission, so it is the one "*" of this policy.
                "Sid": "ListForThePolicySwitch",
                "Effect": "Allow",
                "Action": ["network-firewall:ListRuleGroups"],
                "Resource": ["*"],
            },
            {
                "Sid": "ListTlsConfigurationsForThePolicySwitch",
                "Effect": "Allow",
                "Action": ["network-firewall:ListTLSInspectionConfigurations"],
                "Resource": [sibling_arn(policy_arn, "tls-configuration/*")],
            },
            {
                "Sid": "ManageEtRuleGroups",
                "Effect": "Allow",
                "Action": [
                    "network-firewall:CreateRuleGroup",
                    "network-firewall:DescribeRuleGroup",
                    "network-firewall:UpdateRuleGroup",
                    "network-firewall:DeleteRuleGroup",
                    "network-firewall:TagResource",
                ],
                "Resource": [et_groups],
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
        ],
    }


class EmergingThreatsSync(pulumi.ComponentResource):
    """The scheduled ET Open sync for one hub firewall policy."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    parameter: aws.ssm.Parameter
    schedule: aws.cloudwatch.EventRule

    def __init__(
        self,
        name: str,
        args: EmergingThreatsSyncArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        prefix = args.rule_group_prefix
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
                    for folder in ("manifests", "rejected")
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
        self.role = aws.iam.Role(
            f"{name}-role",
            name=names.iam_role(name),
            # The function runs in the account of the policy it keeps current.
            assume_role_policy=pulumi.Output.from_input(args.firewall_policy_arn).apply(
                lambda arn: json.dumps(lambda_trust_policy(arn_parts(arn)[2]))
            ),
            tags=tags,
            opts=child,
        )
        policy_document = pulumi.Output.all(
            pulumi.Output.from_input(args.firewall_policy_arn),
            self.parameter.arn,
            bucket_name,
            log_group.arn,
            pulumi.Output.from_input(args.policy_references),
        ).apply(
            lambda values: json.dumps(
                sync_policy_document(
                    policy_arn=values[0],
                    policy_references=values[4],
                    rule_group_prefix=prefix,
                    parameter_arn=values[1],
                    bucket_name=values[2],
                    records_prefix=records_prefix,
                    log_group_arn=values[3],
                )
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=policy_document, opts=child
        )

        settings_json = pulumi.Output.all(
            pulumi.Output.from_input(args.firewall_policy_arn), bucket_name, self.parameter.name
        ).apply(
            lambda values: cfg.to_settings(
                policy_arn=values[0],
                rule_group_prefix=prefix,
                version_parameter=values[2],
                bucket=values[1],
                home_net=list(args.home_net),
            ).to_json()
        )
        code = pulumi.AssetArchive(
            {path: pulumi.FileAsset(str(file)) for path, file in lambda_code_files().items()}
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            runtime=RUNTIME,
            handler=HANDLER,
            code=code,
            role=self.role.arn,
            architectures=["arm64"],
            memory_size=1024,  # parsing the full ruleset peaks well under this
            timeout=900,
            reserved_concurrent_executions=1,  # two runs must never race on the policy
            environment={"variables": {SETTINGS_ENV: settings_json}},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
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
            }
        )
