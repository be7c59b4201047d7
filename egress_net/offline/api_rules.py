"""Check every recorded resource's inputs against AWS's own API models, as AWS would on create.

botocore ships each service's API model (``botocore/data/<service>/<version>/service-2.json``)
with every request member's constraints: required members, type, ``min``/``max`` (length of a
string or list, value of a number), ``pattern`` and ``enum``. AWS refuses a request that breaks
them (``ValidationException`` / ``InvalidParameterValue``), so a synthesized stack that breaks
one fails at `pulumi up`. Here it fails offline instead, naming the resource and the field.

How a resource maps to its request: each Pulumi type has the API call that creates it (or
puts its settings) and the Pulumi inputs (camelCase) are matched to the request's members by
name, ignoring case (``subnetMappings[].ipAddressType`` → ``SubnetMappings[].IPAddressType``),
after the renames and moves listed per type (``name`` → ``RuleGroupName``; the TGW's flat
``dnsSupport`` → ``Options.DnsSupport``). A Pulumi ``tags`` map becomes the API's list of
``{Key, Value}`` where the API takes that list.

Not checked (the value passes unexamined):
- inputs with no member of that name in the request, or of another shape than the member
  (e.g. Network Firewall's ``ruleVariables.ipSets``: a list in Pulumi, a map in the API; EC2's
  ``tags``, sent as ``TagSpecifications``); settings the provider sends in a later call
  (``enableDnsHostnames`` → ``ModifyVpcAttribute``);
- patterns Python's ``re`` cannot read even after Java's ``\\p{L}``, ``\\p{N}`` and ``\\p{Z}`` are
  translated (the tag patterns of IAM, Lambda, CloudWatch Logs, SSM and ELB are checked);
- rules that are not in the model (S3 bucket naming, CIDR sizes, IAM policy grammar,
  Suricata rule syntax): other checks of the project cover those;
- required members: the provider SDK refuses a missing required argument when the program
  declares the resource, and members the provider fills in itself (Pulumi's auto-names, a
  Lambda permission's generated ``StatementId``) are required by the API yet absent from the
  inputs, so a check here would report what AWS never sees.
Pure apart from reading botocore's model files (cached once per process).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from egress_net.offline import OfflineCheckError
from egress_net.recording import RecordedResource, Recording


@dataclass(frozen=True)
class ApiCall:
    """The request a Pulumi type's inputs go into."""

    service: str  # botocore service name
    operation: str
    renames: Mapping[str, str] = field(default_factory=dict)  # Pulumi key → API member path
    wrap: str = ""  # API member (a list of structures) the whole input is one element of
    # Pulumi inputs the provider upper-cases before sending (its schema's StateFunc ToUpper,
    # with case-insensitive validation): "https" is sent as "HTTPS".
    upper: frozenset[str] = frozenset()


# Pulumi type → the create (or put) call AWS validates its inputs with. Operation names are
# those of the API references (e.g. Network Firewall API Reference, "CreateRuleGroup").
_CALLS: dict[str, ApiCall] = {
    # Network Firewall
    "aws:networkfirewall/firewall:Firewall": ApiCall(
        "network-firewall", "CreateFirewall", {"name": "FirewallName"}
    ),
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": ApiCall(
        "network-firewall", "CreateFirewallPolicy", {"name": "FirewallPolicyName"}
    ),
    "aws:networkfirewall/ruleGroup:RuleGroup": ApiCall(
        "network-firewall", "CreateRuleGroup", {"name": "RuleGroupName"}
    ),
    "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration": ApiCall(
        "network-firewall",
        "CreateTLSInspectionConfiguration",
        {"name": "TLSInspectionConfigurationName"},
    ),
    "aws:networkfirewall/loggingConfiguration:LoggingConfiguration": ApiCall(
        "network-firewall", "UpdateLoggingConfiguration"
    ),
    "aws:networkfirewall/firewallTransitGatewayAttachmentAccepter:FirewallTransitGatewayAttachmentAccepter": ApiCall(  # noqa: E501
        "network-firewall", "AcceptNetworkFirewallTransitGatewayAttachment"
    ),
    # Lambda
    "aws:lambda/function:Function": ApiCall(
        "lambda",
        "CreateFunction",
        {"name": "FunctionName", "code": "", "reservedConcurrentExecutions": ""},
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ApiCall(
        "lambda", "PutFunctionEventInvokeConfig"
    ),
    "aws:lambda/permission:Permission": ApiCall(
        "lambda", "AddPermission", {"function": "FunctionName"}
    ),
    # IAM
    "aws:iam/role:Role": ApiCall(
        "iam", "CreateRole", {"name": "RoleName", "assumeRolePolicy": "AssumeRolePolicyDocument"}
    ),
    "aws:iam/rolePolicy:RolePolicy": ApiCall(
        "iam",
        "PutRolePolicy",
        {"name": "PolicyName", "role": "RoleName", "policy": "PolicyDocument"},
    ),
    "aws:iam/policy:Policy": ApiCall(
        "iam", "CreatePolicy", {"name": "PolicyName", "policy": "PolicyDocument"}
    ),
    # CloudWatch Logs and alarms, EventBridge
    "aws:cloudwatch/logGroup:LogGroup": ApiCall(
        "logs", "CreateLogGroup", {"name": "logGroupName", "retentionInDays": ""}
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ApiCall(
        "cloudwatch", "PutMetricAlarm", {"name": "AlarmName", "dimensions": ""}
    ),
    "aws:cloudwatch/eventRule:EventRule": ApiCall("events", "PutRule", {"name": "Name"}),
    "aws:cloudwatch/eventTarget:EventTarget": ApiCall(
        "events",
        "PutTargets",
        {"rule": "Rule", "eventBusName": "EventBusName", "targetId": "Id"},
        wrap="Targets",
    ),
    # SNS (alarm notifications)
    "aws:sns/topic:Topic": ApiCall("sns", "CreateTopic", {"name": "Name"}),
    # SSM, RAM
    "aws:ssm/parameter:Parameter": ApiCall(
        "ssm", "PutParameter", {"name": "Name", "insecureValue": "Value"}
    ),
    "aws:ram/resourceShare:ResourceShare": ApiCall("ram", "CreateResourceShare", {"name": "name"}),
    "aws:ram/resourceAssociation:ResourceAssociation": ApiCall(
        "ram", "AssociateResourceShare", {"resourceArn": "resourceArns[]"}
    ),
    "aws:ram/principalAssociation:PrincipalAssociation": ApiCall(
        "ram", "AssociateResourceShare", {"principal": "principals[]"}
    ),
    # S3
    "aws:s3/bucket:Bucket": ApiCall("s3", "CreateBucket", {"bucket": "Bucket"}),
    "aws:s3/bucketV2:BucketV2": ApiCall("s3", "CreateBucket", {"bucket": "Bucket"}),
    "aws:s3/bucketPolicy:BucketPolicy": ApiCall("s3", "PutBucketPolicy"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ApiCall(
        "s3",
        "PutPublicAccessBlock",
        {
            key: f"PublicAccessBlockConfiguration.{key}"
            for key in (
                "blockPublicAcls",
                "ignorePublicAcls",
                "blockPublicPolicy",
                "restrictPublicBuckets",
            )
        },
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        ApiCall("s3", "PutBucketEncryption", {"rules": "ServerSideEncryptionConfiguration.Rules"})
    ),
    "aws:s3/bucketVersioning:BucketVersioning": ApiCall("s3", "PutBucketVersioning"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ApiCall(
        "s3", "PutBucketLifecycleConfiguration", {"rules": "LifecycleConfiguration.Rules"}
    ),
    # EC2 (tags travel as TagSpecifications: not mapped)
    "aws:ec2/vpc:Vpc": ApiCall("ec2", "CreateVpc", {"tags": ""}),
    "aws:ec2/subnet:Subnet": ApiCall("ec2", "CreateSubnet", {"tags": ""}),
    "aws:ec2/routeTable:RouteTable": ApiCall("ec2", "CreateRouteTable", {"tags": ""}),
    "aws:ec2/route:Route": ApiCall("ec2", "CreateRoute"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ApiCall("ec2", "AssociateRouteTable"),
    "aws:ec2/internetGateway:InternetGateway": ApiCall(
        "ec2", "CreateInternetGateway", {"tags": ""}
    ),
    "aws:ec2/eip:Eip": ApiCall("ec2", "AllocateAddress", {"tags": ""}),
    "aws:ec2/natGateway:NatGateway": ApiCall("ec2", "CreateNatGateway", {"tags": ""}),
    "aws:ec2transitgateway/transitGateway:TransitGateway": ApiCall(
        "ec2",
        "CreateTransitGateway",
        {
            "tags": "",
            **{
                key: f"Options.{key}"
                for key in (
                    "amazonSideAsn",
                    "autoAcceptSharedAttachments",
                    "defaultRouteTableAssociation",
                    "defaultRouteTablePropagation",
                    "dnsSupport",
                    "vpnEcmpSupport",
                    "multicastSupport",
                    "securityGroupReferencingSupport",
                    "transitGatewayCidrBlocks",
                )
            },
        },
    ),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": ApiCall(
        "ec2",
        "CreateTransitGatewayVpcAttachment",
        {
            "tags": "",
            **{
                key: f"Options.{key}"
                for key in ("dnsSupport", "applianceModeSupport", "ipv6Support")
            },
        },
    ),
    "aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter": ApiCall(
        "ec2", "AcceptTransitGatewayVpcAttachment", {"tags": ""}
    ),
    "aws:ec2transitgateway/routeTable:RouteTable": ApiCall(
        "ec2", "CreateTransitGatewayRouteTable", {"tags": ""}
    ),
    "aws:ec2transitgateway/route:Route": ApiCall("ec2", "CreateTransitGatewayRoute"),
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": ApiCall(
        "ec2", "AssociateTransitGatewayRouteTable"
    ),
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": ApiCall(
        "ec2", "EnableTransitGatewayRouteTablePropagation"
    ),
    # EC2 security groups: rules are sent by AuthorizeSecurityGroupIngress/Egress.
    "aws:ec2/securityGroup:SecurityGroup": ApiCall(
        "ec2",
        "CreateSecurityGroup",
        {"name": "GroupName", "tags": "", "ingress": "", "egress": ""},
    ),
    # Route 53 Resolver DNS Firewall and query logging (Route 53 API Reference, "Amazon Route
    # 53 Resolver" actions). A domain list's domains are sent by UpdateFirewallDomains.
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": ApiCall(
        "route53resolver", "CreateFirewallRuleGroup"
    ),
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": ApiCall(
        "route53resolver", "CreateFirewallDomainList", {"domains": ""}
    ),
    "aws:route53/resolverFirewallRule:ResolverFirewallRule": ApiCall(
        "route53resolver", "CreateFirewallRule"
    ),
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation": (
        ApiCall("route53resolver", "AssociateFirewallRuleGroup")
    ),
    "aws:route53/resolverFirewallConfig:ResolverFirewallConfig": ApiCall(
        "route53resolver", "UpdateFirewallConfig"
    ),
    "aws:route53/resolverQueryLogConfig:ResolverQueryLogConfig": ApiCall(
        "route53resolver", "CreateResolverQueryLogConfig"
    ),
    "aws:route53/resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation": ApiCall(
        "route53resolver", "AssociateResolverQueryLogConfig"
    ),
    # Elastic Load Balancing v2 (ELB API Reference). Settings such as dropInvalidHeaderFields
    # or deregistrationDelay are attributes (Modify*Attributes): no member here, not checked.
    "aws:lb/loadBalancer:LoadBalancer": ApiCall(
        "elbv2", "CreateLoadBalancer", {"loadBalancerType": "Type", "internal": ""}
    ),
    "aws:lb/targetGroup:TargetGroup": ApiCall(
        "elbv2",
        "CreateTargetGroup",
        {
            # The provider flattens the healthCheck block into the request's HealthCheck*
            # (terraform-provider-aws internal/service/elbv2/target_group.go).
            "healthCheck": "",
            "healthCheck.enabled": "HealthCheckEnabled",
            "healthCheck.healthyThreshold": "HealthyThresholdCount",
            "healthCheck.interval": "HealthCheckIntervalSeconds",
            "healthCheck.matcher": "Matcher.HttpCode",
            "healthCheck.path": "HealthCheckPath",
            "healthCheck.port": "HealthCheckPort",
            "healthCheck.protocol": "HealthCheckProtocol",
            "healthCheck.timeout": "HealthCheckTimeoutSeconds",
            "healthCheck.unhealthyThreshold": "UnhealthyThresholdCount",
        },
        upper=frozenset({"healthCheck.protocol", "protocolVersion"}),
    ),
    # listener.go: protocol validated case-insensitively and sent upper-cased.
    "aws:lb/listener:Listener": ApiCall(
        "elbv2",
        "CreateListener",
        {"certificateArn": "Certificates[].CertificateArn"},
        upper=frozenset({"protocol"}),
    ),
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": ApiCall(
        "elbv2",
        "RegisterTargets",
        {
            "targetId": "Targets[].Id",
            "port": "Targets[].Port",
            "availabilityZone": "Targets[].AvailabilityZone",
        },
    ),
}

# Pulumi types with no create call of their own to check (documented as not checked).
UNCHECKED_TYPES = frozenset(
    {
        "aws:lambda/invocation:Invocation",  # Invoke: a payload, no constraints
        # ModifyTransitGateway options that take only IDs.
        "aws:ec2transitgateway/defaultRouteTableAssociation:DefaultRouteTableAssociation",
        "aws:ec2transitgateway/defaultRouteTablePropagation:DefaultRouteTablePropagation",
    }
)


@dataclass(frozen=True)
class Violation:
    resource: str  # "<type> <logical name>"
    urn: str
    field: str  # the Pulumi input path, e.g. ruleGroup.rulesSource...priority
    call: str  # "network-firewall CreateRuleGroup RuleGroupName"
    problem: str

    def render(self) -> str:
        return f"{self.resource}: {self.field} ({self.call}): {self.problem}"


@functools.cache
def _service_model(service: str) -> Any:
    """The service's API model as botocore ships it (not a customer model in ~/.aws/models,
    which would make the check depend on the machine)."""
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

    builtin = [Loader.BUILTIN_DATA_PATH]
    loader = Loader(extra_search_paths=builtin, include_default_search_paths=False)
    return ServiceModel(loader.load_service_model(service, "service-2"), service_name=service)


def _input_shape(service: str, operation: str) -> Any:
    """The request shape of ``operation``; an installed botocore too old to know it is a
    clear error (its models are the rules checked), not a traceback."""
    from botocore.model import OperationNotFoundError

    try:
        return _service_model(service).operation_model(operation).input_shape
    except OperationNotFoundError:
        import botocore

        raise OfflineCheckError(
            f"botocore {botocore.__version__}",
            f"its {service} model has no {operation}: the installed botocore predates what "
            "the program declares, and AWS's rules for it cannot be checked",
            "install a newer boto3/botocore (pip install -U boto3)",
        ) from None


def check_resource(resource: RecordedResource) -> list[Violation]:
    """The resource's inputs against its create call's request shape."""
    call = _CALLS.get(resource.type)
    if call is None or not resource.custom:
        return []
    shape = _input_shape(call.service, call.operation)
    label = f"{resource.type} {resource.name}"
    where = f"{call.service} {call.operation}"
    return [
        Violation(label, resource.urn, path, f"{where} {api_path}", problem)
        for path, api_path, problem in _walk(
            _request(_sent_inputs(resource, call), call), shape, ""
        )
    ]


def _sent_inputs(resource: RecordedResource, call: ApiCall) -> dict[str, Any]:
    """The inputs, with the names Pulumi generates (auto-naming) as the provider sends them."""
    values = dict(resource.inputs)
    for key in call.renames:
        if key not in values and key in resource.outputs and resource.outputs[key] is not None:
            values[key] = resource.outputs[key]
    return values


def check_recording(recording: Recording) -> None:
    """Raise one error naming every violation of the recording, resource by resource."""
    violations = [v for r in recording for v in check_resource(r)]
    if violations:
        shown = "\n    ".join(v.render() for v in violations[:20])
        more = f"\n    ... and {len(violations) - 20} more" if len(violations) > 20 else ""
        raise OfflineCheckError(
            f"stack {recording.stack}",
            f"AWS would refuse {len(violations)} input(s) (its API model's constraints):\n    "
            f"{shown}{more}",
            "fix the config value or name that produces the field; the resource and field "
            "are named above",
        )


# ---------------------------------------------------------------------------------------------
# Building the request: the Pulumi inputs, renamed and moved where the API names them otherwise.
# Values keep their Pulumi path so a problem names the field the user can find.


@dataclass(frozen=True)
class _Value:
    path: str  # Pulumi input path
    value: Any


def _hoisted(inputs: Mapping[str, Any], call: ApiCall) -> dict[str, Any]:
    """The inputs, with each nested field a rename names by its path (``healthCheck.interval``)
    lifted to the top under that path: the provider sends it as a member of its own."""
    values = dict(inputs)
    for source in call.renames:
        if "." not in source:
            continue
        head, field_name = source.split(".", 1)
        nested = inputs.get(head)
        if isinstance(nested, Mapping) and nested.get(field_name) is not None:
            values[source] = nested[field_name]
    return values


def _request(inputs: Mapping[str, Any], call: ApiCall) -> dict[str, Any]:
    request: dict[str, Any] = {}
    for key, value in _hoisted(inputs, call).items():
        target = call.renames.get(key, key)
        if not target or key.startswith("__"):
            continue  # sent by another call, or not sent at all
        if key in call.upper and isinstance(value, str):
            value = value.upper()
        parts = target.split(".")
        node = request
        for part in parts[:-1]:
            if part.endswith("[]"):  # fields of one list element (Targets[].Id, .Port)
                node = node.setdefault(part[:-2], [{}])[0]
            else:
                node = node.setdefault(part, {})
        last = parts[-1]
        if last.endswith("[]"):
            node[last[:-2]] = [_Value(key, value)]
        else:
            node[last] = _Value(key, value)
    if call.wrap:
        moved = {k: v for k, v in request.items() if k.lower() not in {"rule", "eventbusname"}}
        kept = {k: v for k, v in request.items() if k not in moved}
        return {**kept, call.wrap: [moved]}
    return request


def _member_key(node: Mapping[str, Any], member: str) -> str | None:
    lowered = member.lower()
    return next((k for k in node if k.lower() == lowered), None)


def _walk(node: Any, shape: Any, api_path: str) -> Iterator[tuple[str, str, str]]:
    """Every constraint of ``shape`` that ``node`` breaks: (Pulumi path, API path, problem)."""
    if isinstance(node, _Value):
        yield from _check_value(node.value, shape, node.path, api_path)
    elif isinstance(node, dict) and shape.type_name == "structure":
        for key, child in node.items():
            member = _member_key(shape.members, key)
            if member is not None:  # no such member: not checked
                yield from _walk(child, shape.members[member], _join(api_path, member))
    elif isinstance(node, list) and shape.type_name == "list":
        for item in node:
            yield from _walk(item, shape.member, f"{api_path}[]")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check_value(
    value: Any, shape: Any, path: str, api_path: str
) -> Iterator[tuple[str, str, str]]:
    kind = shape.type_name
    if value is None:
        return
    if kind == "structure":
        if isinstance(value, dict):
            yield from _structure(value, shape, path, api_path)
    elif kind == "list":
        if isinstance(value, dict) and _is_tag_list(shape):
            if not value:
                return  # the provider sends no Tags member for an empty map
            value = [{"Key": k, "Value": v} for k, v in value.items()]
        if isinstance(value, list):
            yield from _length(len(value), shape, path, api_path, "items")
            for i, item in enumerate(value):
                yield from _check_value(item, shape.member, f"{path}[{i}]", f"{api_path}[]")
    elif kind == "map":
        if isinstance(value, dict):
            yield from _length(len(value), shape, path, api_path, "entries")
            for k, v in value.items():
                yield from _check_value(k, shape.key, f"{path} key {k!r}", f"{api_path} key")
                yield from _check_value(v, shape.value, f"{path}.{k}", f"{api_path}.value")
    elif kind == "string":
        if isinstance(value, str):
            yield from _string(value, shape, path, api_path)
    elif kind in ("integer", "long", "float", "double"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield from _number(value, shape, path, api_path)


def _structure(
    value: Mapping[str, Any], shape: Any, path: str, api_path: str
) -> Iterator[tuple[str, str, str]]:
    for key, child in value.items():
        member = _member_key(shape.members, key)
        if member is not None:
            yield from _check_value(
                child, shape.members[member], f"{path}.{key}", _join(api_path, member)
            )


def _is_tag_list(shape: Any) -> bool:
    member = shape.member
    return member.type_name == "structure" and {"Key", "Value"} <= set(member.members)


def _length(
    count: int, shape: Any, path: str, api_path: str, unit: str
) -> Iterator[tuple[str, str, str]]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and count < low:
        yield path, api_path, f"{count} {unit}; at least {low} allowed"
    if high is not None and count > high:
        yield path, api_path, f"{count} {unit}; at most {high} allowed"


def _string(value: str, shape: Any, path: str, api_path: str) -> Iterator[tuple[str, str, str]]:
    enum = shape.enum
    if enum and value not in enum:
        yield path, api_path, f"{value!r} is not one of {', '.join(enum)}"
        return
    yield from _length(len(value), shape, path, api_path, "characters")
    pattern = _pattern(shape.metadata.get("pattern"))
    if pattern is not None and not pattern.fullmatch(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        yield path, api_path, f"{shown!r} does not match {shape.metadata['pattern']}"


def _number(value: float, shape: Any, path: str, api_path: str) -> Iterator[tuple[str, str, str]]:
    # Pulumi carries every number as a float (protobuf's Value); whole ones read as integers.
    shown = int(value) if float(value).is_integer() else value
    if shape.type_name in ("integer", "long") and not float(value).is_integer():
        yield path, api_path, f"{shown} is not a whole number"
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        yield path, api_path, f"{shown} is below the minimum {low}"
    if high is not None and value > high:
        yield path, api_path, f"{shown} is above the maximum {high}"


# Java's Unicode classes, which Python's ``re`` lacks (the tag patterns of IAM, Lambda, CloudWatch
# Logs and SSM: ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``). Letters and numbers become ``\\w`` (Unicode
# letters, numbers and ``_``: a superset, so no value AWS accepts is refused); separators are
# Unicode's Zs, Zl and Zp characters, listed (Unicode 15: unchanged since 6.3 moved U+180E out).
_JAVA_CLASSES = {
    r"\p{L}": r"\w",
    r"\p{N}": r"\w",
    r"\p{Z}": "\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
}


@functools.cache
def _pattern(text: str | None) -> re.Pattern[str] | None:
    """The model's pattern (Java regex syntax), or None when Python cannot read it even after
    :data:`_JAVA_CLASSES`: such a pattern is not checked.

    Matched against the whole value (``fullmatch``), as the services do: the models' patterns
    carry no anchors (Smithy: "not implicitly anchored"), yet Lambda refuses the function name
    ``my.function`` with "Member must satisfy regular expression pattern" although its pattern
    finds ``my`` in it. Lenient where Python is wider than Java (``\\w``/``\\d`` Unicode,
    ``.`` matching a newline): those never refuse what AWS accepts."""
    if not text:
        return None
    for java, python in _JAVA_CLASSES.items():
        text = text.replace(java, python)
    try:
        return re.compile(text, re.DOTALL)
    except re.error:
        return None
