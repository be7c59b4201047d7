"""Do the physical names of several stacks fit in the accounts and regions they share?

Pure: reads recordings of the offline engine. Every physically named resource is put in its
uniqueness scope — the partition (S3), the account (IAM) or the account and region (the
rest) — and its type's namespace; two resources with one name there is a failed create on
the second ``pulumi up``. Each name is also checked against its type's format
(:data:`egress_net.naming.NAME_RULES`).

Accounts: a resource created through a provider that assumes a role lives in that role's
account; every other resource in the stack's ``accountId``. Stacks without ``accountId`` are
assumed to share one account, the worst case. The stacks are also checked as if each one's own
account and region were one (:data:`SHARED`): stacks configured for different accounts or
regions are copied into one sandbox account, and their names must not collide there either.
Accounts a stack reaches through an assumed role stay apart in that pass (a stack spanning
accounts names resources alike in each by design).

Names Pulumi generates (a resource declared without a name gets ``<logical name>-<7 random
hex>``) never collide, but their format is checked all the same: the random part is fixed
length, so whether AWS accepts the name depends on the logical name only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from egress_net.naming import NAME_RULES, NameRule
from egress_net.recording import RecordedResource, Recording

NO_ACCOUNT = "(no accountId)"
SHARED = "(one shared account)"
SHARED_REGION = "(one region)"
AUTO_NAME_RANDOM = 7  # pulumi resource.NewUniqueHex: logical name, "-", 7 random hex digits

# type token → (namespace, kind of NAME_RULES, the property holding the name). Types of one
# namespace share names (S3 buckets, old and new API); other types have their own.
NAMED_TYPES: dict[str, tuple[str, str, str]] = {
    "aws:networkfirewall/firewall:Firewall": ("firewall", "network-firewall", "name"),
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": (
        "firewall policy",
        "network-firewall",
        "name",
    ),
    # Stateful and stateless groups are refused the same name (conservative: one namespace).
    "aws:networkfirewall/ruleGroup:RuleGroup": ("rule group", "network-firewall", "name"),
    "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration": (
        "TLS inspection configuration",
        "network-firewall",
        "name",
    ),
    "aws:lambda/function:Function": ("Lambda function", "lambda-function", "name"),
    "aws:iam/role:Role": ("IAM role", "iam-role", "name"),
    "aws:iam/policy:Policy": ("IAM policy", "iam-policy", "name"),
    "aws:cloudwatch/logGroup:LogGroup": ("log group", "log-group", "name"),
    "aws:ssm/parameter:Parameter": ("SSM parameter", "ssm-parameter", "name"),
    "aws:cloudwatch/eventRule:EventRule": ("EventBridge rule", "event-rule", "name"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("CloudWatch alarm", "cloudwatch-alarm", "name"),
    "aws:sns/topic:Topic": ("SNS topic", "sns-topic", "name"),
    "aws:s3/bucket:Bucket": ("S3 bucket", "s3-bucket", "bucket"),
    "aws:s3/bucketV2:BucketV2": ("S3 bucket", "s3-bucket", "bucket"),
    "aws:ram/resourceShare:ResourceShare": ("RAM share", "ram-share", "name"),
    "aws:lb/loadBalancer:LoadBalancer": ("load balancer", "elb", "name"),
    "aws:lb/targetGroup:TargetGroup": ("target group", "elb", "name"),
}


@dataclass(frozen=True)
class NamedResource:
    """One physically named resource of one stack, placed where its name must be unique."""

    stack: str
    resource: str  # logical name
    namespace: str
    kind: str
    name: str
    scope: str  # "global", "<account>" or "<account>/<region>"
    generated: bool  # named by Pulumi (logical name + random suffix)

    @property
    def rule(self) -> NameRule:
        return NAME_RULES[self.kind]


@dataclass(frozen=True)
class Duplicate:
    namespace: str
    scope: str
    name: str
    holders: tuple[NamedResource, ...]
    shared: bool = False  # found only with every stack in one account and region


@dataclass(frozen=True)
class Invalid:
    holder: NamedResource
    problems: tuple[str, ...]


@dataclass
class NameReport:
    stacks: list[str] = field(default_factory=list)
    resources: list[NamedResource] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.duplicates and not self.invalid


def _account_of_role(role_arn: Any) -> str | None:
    parts = str(role_arn or "").split(":")
    return parts[4] if len(parts) >= 6 and parts[4] else None


def _providers(recording: Recording) -> dict[str, tuple[str | None, str | None]]:
    """Provider URN → (account of the role it assumes, its region)."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for res in recording:
        if not res.type.startswith("pulumi:providers:"):
            continue
        roles = res.inputs.get("assumeRoles") or []
        role = roles[0].get("roleArn") if roles and isinstance(roles[0], dict) else None
        region = res.inputs.get("region")
        found[res.urn] = (_account_of_role(role), str(region) if region else None)
    return found


def named_resources(recording: Recording, *, shared: bool = False) -> list[NamedResource]:
    """The physically named resources of one stack, each with its scope. ``shared``: the
    stack's own account and region are :data:`SHARED` and :data:`SHARED_REGION`."""
    own_account = str(recording.config.get("egress-net:accountId") or NO_ACCOUNT)
    stack_account = SHARED if shared else own_account
    stack_region = SHARED_REGION if shared else str(recording.config.get("aws:region", ""))
    providers = _providers(recording)
    out = []
    for res in recording:
        entry = NAMED_TYPES.get(res.type)
        if entry is None or not res.custom:
            continue
        namespace, kind, key = entry
        account, region = providers.get((res.provider or "").rsplit("::", 1)[0], (None, None))
        if shared and account in (None, own_account):
            account, region = None, None  # the stack's own account: the shared one
        account, region = account or stack_account, region or stack_region
        scope = {"global": "global", "account": account, "region": f"{account}/{region}"}[
            NAME_RULES[kind].scope
        ]
        name, generated = _physical_name(res, kind, key)
        out.append(
            NamedResource(recording.stack, res.name, namespace, kind, name, scope, generated)
        )
    return out


def _physical_name(res: RecordedResource, kind: str, key: str) -> tuple[str, bool]:
    given = res.inputs.get(key)
    if given:
        return str(given), False
    # Pulumi's auto-name; pulumi-aws lowercases bucket names (provider/resources.go:
    # AutoNameTransform("bucket", 63, strings.ToLower)).
    logical = res.name.lower() if kind == "s3-bucket" else res.name
    return f"{logical}-{'0' * AUTO_NAME_RANDOM}", True


def _duplicates(named: Iterable[NamedResource], *, shared: bool) -> list[Duplicate]:
    """Names claimed twice in one (namespace, scope). Generated names carry a random suffix:
    never the same twice."""
    holders: dict[tuple[str, str, str], list[NamedResource]] = defaultdict(list)
    for n in named:
        if n.rule.unique and not n.generated:
            holders[(n.namespace, n.scope, n.rule.key(n.name))].append(n)
    return [
        Duplicate(namespace, scope, found[0].name, tuple(found), shared)
        for (namespace, scope, _key), found in sorted(holders.items())
        if len(found) > 1
    ]


def _same_holders(dup: Duplicate) -> frozenset[tuple[str, str, str]]:
    return frozenset((h.stack, h.namespace, h.resource) for h in dup.holders)


def check_names(recordings: Iterable[Recording]) -> NameReport:
    """Duplicates per (namespace, scope) across all stacks, where each stack deploys and with
    all stacks in one account and region; and names AWS would refuse."""
    report = NameReport()
    recordings = list(recordings)
    for recording in recordings:
        report.stacks.append(recording.stack)
        for named in named_resources(recording):
            report.resources.append(named)
            problems = named.rule.problems(named.name)
            if problems:
                report.invalid.append(Invalid(named, tuple(problems)))
    report.duplicates = _duplicates(report.resources, shared=False)
    found = {_same_holders(d) for d in report.duplicates}
    together = [n for rec in recordings for n in named_resources(rec, shared=True)]
    report.duplicates += [
        d for d in _duplicates(together, shared=True) if _same_holders(d) not in found
    ]
    return report


def render(report: NameReport, errors: dict[str, str] | None = None) -> str:
    """The report as text: every duplicate with its holders, every invalid name with why."""
    out = [
        f"Physical names of {len(report.stacks)} stacks: {len(report.resources)} named "
        "resources, checked per scope (S3: global; IAM: account; others: account and region), "
        "where each stack deploys and with all stacks in one account and region"
    ]
    for dup in report.duplicates:
        where = "if the stacks share one account and region" if dup.shared else f"in {dup.scope}"
        out.append(f"duplicate {dup.namespace} {dup.name!r} {where}:")
        out += [f"    {h.stack}: {h.resource}" for h in dup.holders]
    for bad in report.invalid:
        h = bad.holder
        shown = f"{h.name[:-AUTO_NAME_RANDOM]}<random>" if h.generated else h.name
        out.append(f"invalid {h.namespace} {shown!r} ({h.stack}: {h.resource}):")
        out += [f"    {problem} ({h.rule.source})" for problem in bad.problems]
    for stack, error in (errors or {}).items():
        out.append(f"stack {stack} does not synthesize: {error}")
    failed = len(errors or {})
    out.append(
        f"Result: {len(report.duplicates)} duplicate names, {len(report.invalid)} invalid "
        f"names" + (f", {failed} stacks failed" if failed else "")
    )
    return "\n".join(out)
