"""Building blocks the components share: a VPC from its plan, its route tables, a firewall.

They declare resources as children of the calling component and hold no routing decisions:
every route comes from a :class:`egress_net.intent.VpcPlan`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from egress_net import addressing, intent


def tags_for(base: Mapping[str, str], name: str, **labels: str | None) -> dict[str, str]:
    """User tags plus a Name and ``egress-net:*`` labels the tools use to read a design back."""
    tags = dict(base)
    tags["Name"] = name
    for label, value in labels.items():
        if value is not None:
            tags[f"egress-net:{label.replace('_', '-')}"] = value
    return tags


@dataclass
class BuiltVpc:
    name: str
    plan: intent.VpcPlan
    vpc: aws.ec2.Vpc
    subnets: dict[tuple[str, str], aws.ec2.Subnet]
    subnet_cidrs: dict[tuple[str, str], str]
    igw: aws.ec2.InternetGateway | None = None
    nat_gateways: dict[str, aws.ec2.NatGateway] = field(default_factory=dict)
    route_table_ids: dict[str, pulumi.Output[str]] = field(default_factory=dict)

    def subnet_ids(self, tier: str, az_ids: Sequence[str]) -> list[pulumi.Output[str]]:
        return [self.subnets[(tier, az)].id for az in az_ids]


def build_vpc(
    parent: pulumi.Resource,
    name: str,
    cidr: str,
    az_ids: Sequence[str],
    az_slots: int,
    plan: intent.VpcPlan,
    tags: Mapping[str, str],
    labels: Mapping[str, str],
) -> BuiltVpc:
    """VPC, one subnet per tier per AZ, and the IGW and per-AZ NAT gateways the plan asks for."""
    child = pulumi.ResourceOptions(parent=parent)
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=cidr,
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags=tags_for(tags, f"{name}-vpc", **labels),
        opts=child,
    )
    layout = addressing.carve_for_tiers(ipaddress.IPv4Network(cidr), az_ids, az_slots, plan.tiers)
    built = BuiltVpc(name, plan, vpc, {}, {})
    for sub in layout:
        subnet_name = f"{name}-{sub.tier}-{sub.az_id}"
        built.subnet_cidrs[(sub.tier, sub.az_id)] = str(sub.cidr)
        built.subnets[(sub.tier, sub.az_id)] = aws.ec2.Subnet(
            subnet_name,
            vpc_id=vpc.id,
            cidr_block=str(sub.cidr),
            availability_zone_id=sub.az_id,
            tags=tags_for(tags, subnet_name, **labels, tier=sub.tier, az_id=sub.az_id),
            opts=child,
        )
    if plan.igw:
        built.igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=tags_for(tags, f"{name}-igw", **labels), opts=child
        )
    if plan.nat_tier:
        # One NAT gateway per AZ, so that no AZ depends on another.
        for az in az_ids:
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{az}",
                domain="vpc",
                tags=tags_for(tags, f"{name}-nat-eip-{az}", **labels, az_id=az),
                opts=child,
            )
            built.nat_gateways[az] = aws.ec2.NatGateway(
                f"{name}-nat-{az}",
                subnet_id=built.subnets[(plan.nat_tier, az)].id,
                allocation_id=eip.allocation_id,
                connectivity_type="public",
                tags=tags_for(tags, f"{name}-nat-{az}", **labels, az_id=az),
                opts=pulumi.ResourceOptions(
                    parent=parent, depends_on=[built.igw] if built.igw else []
                ),
            )
    return built


def local_targets(built: BuiltVpc, az_ids: Sequence[str]) -> dict[intent.Target, pulumi.Input[str]]:
    """The targets a VPC resolves by itself: its IGW and its NAT gateways."""
    targets: dict[intent.Target, pulumi.Input[str]] = {}
    if built.igw is not None:
        targets[intent.Target("igw")] = built.igw.id
    for az in az_ids:
        if az in built.nat_gateways:
            targets[intent.Target("nat", az)] = built.nat_gateways[az].id
    return targets


def build_route_tables(
    parent: pulumi.Resource,
    built: BuiltVpc,
    targets: Mapping[intent.Target, pulumi.Input[str]],
    tags: Mapping[str, str],
    labels: Mapping[str, str],
    route_depends_on: Sequence[pulumi.Resource] = (),
) -> None:
    """A route table per tier per AZ (and the IGW edge table), with the plan's routes."""
    child = pulumi.ResourceOptions(parent=parent)
    route_opts = pulumi.ResourceOptions(parent=parent, depends_on=list(route_depends_on))
    for table in built.plan.tables:
        rt_name = f"{built.name}-rt-{table.name}"
        rt = aws.ec2.RouteTable(
            rt_name,
            vpc_id=built.vpc.id,
            tags=tags_for(tags, rt_name, **labels, tier=table.tier, az_id=table.az),
            opts=child,
        )
        built.route_table_ids[table.name] = rt.id
        if table.az is None:
            # IGW ingress routing: replies from the internet are steered before they reach a
            # subnet.
            assert built.igw is not None
            aws.ec2.RouteTableAssociation(
                f"{built.name}-rta-{table.name}",
                route_table_id=rt.id,
                gateway_id=built.igw.id,
                opts=child,
            )
        else:
            aws.ec2.RouteTableAssociation(
                f"{built.name}-rta-{table.name}",
                route_table_id=rt.id,
                subnet_id=built.subnets[(table.tier, table.az)].id,
                opts=child,
            )
        for route in table.routes:
            _declare_route(built, rt_name, rt, route, targets, route_opts)


def _declare_route(
    built: BuiltVpc,
    rt_name: str,
    rt: aws.ec2.RouteTable,
    route: intent.Route,
    targets: Mapping[intent.Target, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.Route:
    if isinstance(route.destination, intent.SubnetCidr):
        destination = built.subnet_cidrs[(route.destination.tier, route.destination.az)]
    else:
        destination = route.destination
    target_id = targets[route.target]
    target_arg: dict[str, Any] = {
        "igw": {"gateway_id": target_id},
        "nat": {"nat_gateway_id": target_id},
        "firewall": {"vpc_endpoint_id": target_id},
        "ingress-firewall": {"vpc_endpoint_id": target_id},
        "tgw": {"transit_gateway_id": target_id},
    }[route.target.kind]
    dest = destination.replace("/", "-").replace(".", "-")
    return aws.ec2.Route(
        f"{rt_name}-to-{dest}",
        route_table_id=rt.id,
        destination_cidr_block=destination,
        opts=opts,
        **target_arg,
    )


def endpoint_for_subnet(firewall_statuses: Any, subnet_id: str) -> str:
    """The firewall endpoint serving ``subnet_id``, read from the firewall's sync states.

    Sync states are keyed by AZ *name*, which maps to a different zone in every account; the
    subnet is the stable key (it was created in a known AZ ID), so look the endpoint up by it.
    """
    for status in firewall_statuses or []:
        for sync in _field(status, "sync_states", "syncStates") or []:
            for attachment in _as_list(_field(sync, "attachments", "attachment")):
                if _field(attachment, "subnet_id", "subnetId") == subnet_id:
                    endpoint = _field(attachment, "endpoint_id", "endpointId")
                    if endpoint:
                        return str(endpoint)
    raise ValueError(f"the firewall reports no endpoint for subnet {subnet_id}")


def tgw_attachment_of_firewall(firewall_statuses: Any) -> str:
    """The Transit Gateway attachment of a firewall attached natively to a TGW."""
    for status in firewall_statuses or []:
        states = _field(
            status, "transit_gateway_attachment_sync_states", "transitGatewayAttachmentSyncStates"
        )
        for state in _as_list(states):
            attachment = _field(state, "attachment_id", "attachmentId")
            if attachment:
                return str(attachment)
    raise ValueError("the firewall reports no Transit Gateway attachment")


def _field(obj: Any, snake: str, camel: str) -> Any:
    # Pulumi output types are dicts that warn on camelCase lookups and expose properties;
    # plain mappings (recorded state, tests) use camelCase keys.
    value = getattr(obj, snake, None)
    if value is None and isinstance(obj, Mapping):
        value = obj.get(camel, obj.get(snake))
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass
class Protections:
    delete: bool = True
    subnet_change: bool = True
    policy_change: bool = True


def build_firewall_in_vpc(
    parent: pulumi.Resource,
    built: BuiltVpc,
    az_ids: Sequence[str],
    policy_arn: pulumi.Input[str],
    protections: Protections,
    tags: Mapping[str, str],
    tier: str | None = None,
    name: str | None = None,
) -> tuple[aws.networkfirewall.Firewall, dict[str, pulumi.Output[str]]]:
    """A firewall with one endpoint per AZ in the plan's firewall tier (or ``tier``, for a
    second firewall such as a spoke's ingress firewall); endpoint IDs by AZ ID."""
    tier = tier or built.plan.firewall_tier
    assert tier is not None
    name = name or f"{built.name}-firewall"
    firewall = aws.networkfirewall.Firewall(
        name,
        vpc_id=built.vpc.id,
        firewall_policy_arn=policy_arn,
        subnet_mappings=[{"subnet_id": built.subnets[(tier, az)].id} for az in az_ids],
        delete_protection=protections.delete,
        subnet_change_protection=protections.subnet_change,
        firewall_policy_change_protection=protections.policy_change,
        tags=tags_for(tags, name),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    endpoints = {
        az: pulumi.Output.all(firewall.firewall_statuses, built.subnets[(tier, az)].id).apply(
            lambda v: endpoint_for_subnet(v[0], v[1])
        )
        for az in az_ids
    }
    return firewall, endpoints


@dataclass
class LogSettings:
    """Where firewall logs go: CloudWatch Logs groups, or an S3 bucket (optionally KMS)."""

    retention_days: int = 365
    prefix: str = "/egress-net"  # log group name prefix, or S3 key prefix
    destination: str = "cloudwatch"  # "cloudwatch" | "s3"
    kms_key_arn: str | None = None
    bucket_name: pulumi.Input[str] | None = None  # required for "s3"
    # TLS logs exist only when the firewall decrypts TLS (a TLS inspection configuration).
    tls: bool = False
    # Keep the log groups and the bucket when the stack is destroyed (``logs.retainOnDelete``).
    retain_on_delete: bool = False
    # Where the firewalls deliver from (the log delivery's aws:SourceArn); "" for the
    # provider's region.
    region: str = ""

    @property
    def log_types(self) -> tuple[str, ...]:
        return ("ALERT", "FLOW", "TLS") if self.tls else ("ALERT", "FLOW")


# Old versions of objects in a versioned bucket: kept this long after they are overwritten or
# deleted (a window to recover from a mistaken or hostile delete), then removed for good.
NONCURRENT_VERSION_DAYS = 30
# Parts of uploads that never completed are invisible and billed; gone after a week.
ABORT_INCOMPLETE_UPLOAD_DAYS = 7


@dataclass(frozen=True)
class Expiry:
    """Objects under ``prefix`` ("" for all) expire ``days`` after they are written."""

    prefix: str
    days: int


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """Refuse every request to the bucket that is not over TLS (S3 User Guide, "Enforce
    encryption in transit": Deny with ``"Bool": {"aws:SecureTransport": "false"}``; AWS
    Config rule s3-bucket-ssl-requests-only checks exactly this)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy_document(
    bucket_arn: str, statements: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """A bucket's one policy (S3 keeps a single policy per bucket): TLS only, plus
    ``statements``."""
    return {
        "Version": "2012-10-17",
        "Statement": [deny_insecure_transport(bucket_arn), *statements],
    }


def lifecycle_rules(expiries: Sequence[Expiry]) -> list[dict[str, Any]]:
    """Lifecycle of a versioned bucket: each expiry, then old versions and unfinished uploads
    everywhere. An expiry alone only hides an object behind a delete marker in a versioned
    bucket; the noncurrent-version rule is what removes the data (S3 User Guide, "Lifecycle
    configuration elements": NoncurrentVersionExpiration)."""
    rules: list[dict[str, Any]] = [
        {
            "id": f"expire-{expiry.prefix.strip('/').replace('/', '-') or 'all'}",
            "status": "Enabled",
            "filter": {"prefix": expiry.prefix},
            "expiration": {"days": expiry.days},
        }
        for expiry in expiries
    ]
    rules.append(
        {
            "id": "old-versions-and-unfinished-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
            "abort_incomplete_multipart_upload": {
                "days_after_initiation": ABORT_INCOMPLETE_UPLOAD_DAYS
            },
        }
    )
    return rules


def build_private_bucket(
    parent: pulumi.Resource,
    name: str,
    tags: Mapping[str, str],
    kms_key_arn: str | None = None,
    expiries: Sequence[Expiry] = (),
    policy_statements: Callable[[str], pulumi.Input[list[dict[str, Any]]]] | None = None,
    retain_on_delete: bool = False,
    policy_name: str | None = None,
) -> aws.s3.Bucket:
    """A bucket no one outside the account can read, reached over TLS only, versioned,
    encrypted at rest (with the KMS key when given), old versions and ``expiries`` expiring.
    ``policy_statements(bucket_arn)`` adds statements to its policy. With
    ``retain_on_delete`` the bucket and its settings outlive ``pulumi destroy``."""
    child = pulumi.ResourceOptions(parent=parent, retain_on_delete=retain_on_delete)
    bucket = aws.s3.Bucket(name, tags=tags_for(tags, name), opts=child)
    private = aws.s3.BucketPublicAccessBlock(
        f"{name}-private",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    encryption: dict[str, Any] = (
        {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}
        if kms_key_arn
        else {"sse_algorithm": "AES256"}
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": encryption, "bucket_key_enabled": True}],
        opts=child,
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=child,
    )
    # Noncurrent-version rules need versioning in place first (the provider's documentation
    # of aws_s3_bucket_lifecycle_configuration: "depends_on" the versioning resource).
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-retention",
        bucket=bucket.id,
        rules=lifecycle_rules(expiries),
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])),
    )

    def document(arn: str) -> pulumi.Output[str]:
        extra = pulumi.Output.from_input(policy_statements(arn) if policy_statements else [])
        return extra.apply(lambda statements: json.dumps(bucket_policy_document(arn, statements)))

    # After the public access block: S3 refuses concurrent changes to one bucket's settings.
    aws.s3.BucketPolicy(
        policy_name or f"{name}-policy",
        bucket=bucket.id,
        policy=bucket.arn.apply(document),
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[private])),
    )
    return bucket


def build_log_bucket(
    parent: pulumi.Resource, name: str, logs: LogSettings, tags: Mapping[str, str]
) -> aws.s3.Bucket:
    """The firewall log bucket: private, TLS only, versioned, encrypted, logs expire after the
    retention, and writable by the log delivery service for this account's deliveries only."""
    invoke = pulumi.InvokeOptions(parent=parent)
    account = aws.get_caller_identity_output(opts=invoke).account_id
    # The firewalls deliver from the stack's region (the provider's, unless the caller says).
    region = (
        pulumi.Output.from_input(logs.region)
        if logs.region
        else aws.get_region_output(opts=invoke).region
    )
    key_prefix = logs.prefix.strip("/")
    return build_private_bucket(
        parent,
        f"{name}-firewall-logs",
        tags,
        logs.kms_key_arn,
        [Expiry("", logs.retention_days)],
        policy_statements=lambda arn: pulumi.Output.all(account, region).apply(
            lambda v: log_delivery_statements(arn, v[0], v[1], key_prefix)
        ),
        retain_on_delete=logs.retain_on_delete,
        # The name it had when it held only the delivery statements: a deployed stack
        # updates its policy in place (a new name would create, then delete, the one policy).
        policy_name=f"{name}-firewall-logs-delivery",
    )


def log_delivery_statements(
    bucket_arn: str, account: str, region: str, key_prefix: str
) -> list[dict[str, Any]]:
    """What the log delivery service needs to write firewall logs, for this account's
    deliveries from this region only (otherwise AWS adds a similar policy itself, if the
    deployer may). The conditions are the ones CloudWatch Logs documents against the confused
    deputy for vended logs sent to S3 (CloudWatch Logs User Guide, "Logs sent to Amazon S3":
    ``aws:SourceAccount`` and ``aws:SourceArn`` ``arn:aws:logs:<region>:<account>:*``); the
    firewall writes under ``<prefix>/AWSLogs/<account>/`` (Network Firewall Developer Guide,
    "Amazon Simple Storage Service" logging destination)."""
    partition = bucket_arn.split(":")[1]
    service = {"Service": "delivery.logs.amazonaws.com"}
    this_account = {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account}:*"},
    }
    return [
        {
            "Sid": "AWSLogDeliveryWrite",
            "Effect": "Allow",
            "Principal": service,
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{key_prefix}/*/AWSLogs/{account}/*",
            "Condition": {
                **this_account,
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceAccount": account,
                },
            },
        },
        {
            "Sid": "AWSLogDeliveryAclCheck",
            "Effect": "Allow",
            "Principal": service,
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": this_account,
        },
    ]


def build_firewall_logging(
    parent: pulumi.Resource,
    name: str,
    firewall: aws.networkfirewall.Firewall,
    logs: LogSettings,
    tags: Mapping[str, str],
) -> None:
    """ALERT and FLOW (and TLS) logs, to CloudWatch Logs groups with retention or to an S3
    prefix."""
    child = pulumi.ResourceOptions(parent=parent)
    destinations = []
    for log_type in logs.log_types:
        kind = log_type.lower()
        if logs.destination == "s3":
            assert logs.bucket_name is not None
            destination: dict[str, Any] = {
                "bucketName": logs.bucket_name,
                "prefix": f"{logs.prefix.strip('/')}/{name}/{kind}",
            }
            destination_type = "S3"
        else:
            group = aws.cloudwatch.LogGroup(
                f"{name}-{kind}-logs",
                name=f"{logs.prefix}/{name}/{kind}",
                retention_in_days=logs.retention_days,
                kms_key_id=logs.kms_key_arn,
                tags=tags_for(tags, f"{name}-{kind}-logs"),
                opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=logs.retain_on_delete),
            )
            destination = {"logGroup": group.name}
            destination_type = "CloudWatchLogs"
        destinations.append(
            {
                "log_destination": destination,
                "log_destination_type": destination_type,
                "log_type": log_type,
            }
        )
    aws.networkfirewall.LoggingConfiguration(
        f"{name}-logging",
        firewall_arn=firewall.arn,
        logging_configuration={"log_destination_configs": destinations},
        opts=child,
    )
