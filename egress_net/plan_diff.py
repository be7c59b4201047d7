"""What ``pulumi up`` would do to a deployed stack, from two offline recordings, and which
firewall protection would make it fail.

Pure: compares a previous synthesis (``egress-net synth <stack> --save FILE``, or ``--json``
output) with the current one. A resource is *replaced* when an input that forces replacement
changes, or when it refers to a replaced resource through such an input; otherwise a changed
input is an in-place *update*. Which inputs force replacement comes from the provider's
schema (pulumi-aws bridges terraform-provider-aws; its ``ForceNew`` attributes become
replacements) and from the program's own ``replace_on_changes``; each entry of
:data:`FORCES_REPLACEMENT` names its source.

Network Firewall's protections make AWS refuse some of these changes:

- ``DeleteProtection``: no ``DeleteFirewall`` (so no replacement or removal of the firewall);
- ``FirewallPolicyChangeProtection``: no ``AssociateFirewallPolicy`` (another policy, e.g.
  the policy replaced when TLS inspection is switched on or off);
- ``SubnetChangeProtection``: no ``AssociateSubnets``/``DisassociateSubnets``;
- ``AvailabilityZoneChangeProtection``: no ``Associate``/``DisassociateAvailabilityZones``
  (TGW-attached firewall)
(Network Firewall API reference, ``Firewall`` data type). The provider switches a protection
*before* the change it guards ("The *_change_protection fields below are handled before
their respective fields to account for disabling and subsequent changes",
terraform-provider-aws ``internal/service/networkfirewall/firewall.go``), so a policy, subnet
or AZ change is refused when the protection is on in the *new* configuration; deletion acts on
the old resource, so it is refused when delete protection was on in the *old* one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from egress_net.errors import ConfigError
from egress_net.recording import RecordedResource, Recording

FIREWALL = "aws:networkfirewall/firewall:Firewall"

_TF = "terraform-provider-aws internal/service"
# Inputs (Pulumi names, dotted into objects) whose change replaces the resource.
FORCES_REPLACEMENT: dict[str, tuple[tuple[str, ...], str]] = {
    FIREWALL: (
        ("name", "vpcId", "transitGatewayId"),
        f"{_TF}/networkfirewall/firewall.go (ForceNew)",
    ),
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": (
        (
            "name",
            "firewallPolicy.statefulEngineOptions.ruleOrder",
            # AWS takes a TLS inspection configuration only when a policy is created; the
            # program declares replace_on_changes for it (components/hub.py).
            "firewallPolicy.tlsInspectionConfigurationArn",
        ),
        f"{_TF}/networkfirewall/firewall_policy.go (ForceNew, forceNewIfNotRuleOrderDefault)",
    ),
    "aws:networkfirewall/ruleGroup:RuleGroup": (
        ("name", "capacity", "ruleGroup.statefulRuleOptions.ruleOrder"),
        f"{_TF}/networkfirewall/rule_group.go (ForceNew, forceNewIfNotRuleOrderDefault)",
    ),
    "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration": (
        ("name",),
        f"{_TF}/networkfirewall/tls_inspection_configuration.go (RequiresReplace)",
    ),
    "aws:ec2/vpc:Vpc": (("cidrBlock",), f"{_TF}/ec2/vpc_.go (ForceNew)"),
    "aws:ec2/subnet:Subnet": (
        ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
        f"{_TF}/ec2/vpc_subnet.go (ForceNew)",
    ),
    "aws:ec2/routeTable:RouteTable": (("vpcId",), f"{_TF}/ec2/vpc_route_table.go (ForceNew)"),
    "aws:ec2/route:Route": (
        (
            "routeTableId",
            "destinationCidrBlock",
            "destinationIpv6CidrBlock",
            "destinationPrefixListId",
        ),
        f"{_TF}/ec2/vpc_route.go (ForceNew)",
    ),
    "aws:ec2/natGateway:NatGateway": (
        ("subnetId", "allocationId", "connectivityType"),
        f"{_TF}/ec2/vpc_nat_gateway.go (ForceNew)",
    ),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": (
        ("transitGatewayId", "vpcId"),
        f"{_TF}/ec2/transitgateway_vpc_attachment.go (ForceNew)",
    ),
}

Action = Literal["create", "update", "replace", "delete"]


@dataclass(frozen=True)
class Change:
    action: Action
    resource: str  # "<Type> <logical name>"
    why: tuple[str, ...] = ()  # changed inputs, and what forced a replacement

    def __str__(self) -> str:
        reasons = f": {'; '.join(self.why)}" if self.why else ""
        return f"{self.action:<8} {self.resource}{reasons}"


@dataclass(frozen=True)
class Blocked:
    resource: str
    problem: str
    protection: str  # the config key that turns it off
    steps: tuple[str, ...]
    source: str


@dataclass
class UpPreview:
    changes: list[Change] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.blocked


# ---------------------------------------------------------------------------------------------
# Saving and loading a synthesis

FORMAT = "egress-net-recording/1"


def dumps(recording: Recording) -> str:
    """A recording as JSON, complete enough for :func:`compare` (outputs and dependencies)."""
    return json.dumps(
        {
            "format": FORMAT,
            "project": recording.project,
            "stack": recording.stack,
            "resources": [
                {
                    "type": r.type,
                    "name": r.name,
                    "urn": r.urn,
                    "id": r.id,
                    "parent": r.parent,
                    "provider": r.provider,
                    "custom": r.custom,
                    "dependencies": list(r.dependencies),
                    "inputs": r.inputs,
                    "outputs": r.outputs,
                }
                for r in recording.resources
            ],
            "outputs": recording.outputs,
            "config": recording.config,
        },
        indent=1,
        sort_keys=True,
    )


def load(path: Path, option: str = "--against") -> Recording:
    """A recording saved by ``synth --save`` or printed by ``synth --json``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(option, f"cannot read {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise ConfigError(
            option,
            f"{path} is not JSON: {err}",
            "save a synthesis with `egress-net synth <stack> --save FILE`",
        ) from None
    resources = document.get("resources") if isinstance(document, dict) else None
    if not isinstance(resources, list):
        raise ConfigError(
            option,
            f"{path} holds no synthesis (no 'resources' list)",
            "save one with `egress-net synth <stack> --save FILE`",
        )
    return Recording(
        project=str(document.get("project", "")),
        stack=str(document.get("stack", "")),
        resources=[_resource(entry) for entry in resources if isinstance(entry, dict)],
        outputs=dict(document.get("outputs") or {}),
        config=dict(document.get("config") or {}),
    )


def _resource(entry: Mapping[str, Any]) -> RecordedResource:
    inputs = dict(entry.get("inputs") or {})
    return RecordedResource(
        type=str(entry.get("type", "")),
        name=str(entry.get("name", "")),
        urn=str(entry.get("urn", "")),
        id=str(entry.get("id") or ""),
        inputs=inputs,
        outputs=dict(entry.get("outputs") or inputs),
        parent=entry.get("parent"),
        provider=entry.get("provider"),
        # `synth --json` does not say; component types (``egress-net:index:Hub``) have no module.
        custom=bool(entry.get("custom", "/" in str(entry.get("type", "")))),
        dependencies=tuple(entry.get("dependencies") or ()),
    )


# ---------------------------------------------------------------------------------------------
# Comparing


def _key(r: RecordedResource) -> tuple[str, str, str]:
    return (r.type, r.name, r.parent or "")


def _label(r: RecordedResource) -> str:
    return f"{r.type.rsplit(':', 1)[-1]} {r.name}"


def _canonical(value: Any) -> str:
    """Order-insensitive for lists: the provider stores these inputs as sets."""
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(sorted(_canonical(v) for v in value)) + "]"
    return json.dumps(value)


def changed_paths(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """Dotted input paths whose value differs (a list counts as one value)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            child = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                yield child
            else:
                yield from changed_paths(old[key], new[key], child)
    elif _canonical(old) != _canonical(new):
        yield path


def _forces_replacement(type_: str, path: str) -> bool:
    forced, _source = FORCES_REPLACEMENT.get(type_, ((), ""))
    return any(path == f or path.startswith(f + ".") or f.startswith(path + ".") for f in forced)


def _references(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, string) for every string inside an input value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _references(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, path)
    elif isinstance(value, str):
        yield path, value


def _handles(r: RecordedResource) -> set[str]:
    """What other resources know this one by: its ID and ARN."""
    return {h for h in (r.id, r.outputs.get("arn")) if isinstance(h, str) and len(h) >= 8}


def compare(old: Recording, new: Recording) -> UpPreview:
    """What ``pulumi up`` would do going from ``old`` to ``new``, and what AWS would refuse."""
    before = {_key(r): r for r in old.resources if r.custom}
    after = {_key(r): r for r in new.resources if r.custom}
    why: dict[tuple[str, str, str], list[str]] = {}
    replaced: set[tuple[str, str, str]] = set()
    for key, current in after.items():
        previous = before.get(key)
        if previous is None:
            continue
        for path in changed_paths(previous.inputs, current.inputs):
            if _forces_replacement(current.type, path):
                replaced.add(key)
                why.setdefault(key, []).append(f"{path} changed (forces replacement)")
            else:
                why.setdefault(key, []).append(f"{path} changed")
    # A replaced resource gets a new ID and ARN: whoever refers to it changes too.
    pending = list(replaced)
    while pending:
        gone = before[pending.pop()]
        handles = _handles(gone)
        for key, current in after.items():
            if key not in before or key == _key(gone):
                continue
            for path, text in _references(current.inputs):
                if text not in handles:
                    continue
                reason = f"{path} refers to {_label(gone)}, which is replaced"
                if reason in why.get(key, []):
                    continue
                why.setdefault(key, []).append(reason)
                if _forces_replacement(current.type, path) and key not in replaced:
                    replaced.add(key)
                    pending.append(key)
    preview = UpPreview()
    for key, current in after.items():
        if key not in before:
            preview.changes.append(Change("create", _label(current)))
        elif key in why:
            action: Action = "replace" if key in replaced else "update"
            preview.changes.append(Change(action, _label(current), tuple(why[key])))
    for key, previous in before.items():
        if key not in after:
            preview.changes.append(Change("delete", _label(previous)))
    preview.blocked = _blocked(before, after, why, replaced)
    preview.blocked += _deleted_while_in_use(before, after, replaced)
    return preview


# ---------------------------------------------------------------------------------------------
# What the firewall's protections refuse

PROTECTIONS = "egress-net:firewall.protections"
_API = "Network Firewall API reference, Firewall"


@dataclass(frozen=True)
class _Guard:
    changed: str  # the Firewall input whose in-place change the protection refuses
    protection: str  # the Firewall input holding the protection
    config: str  # the stack config key
    refused: str  # what AWS refuses


_GUARDS = (
    _Guard(
        "firewallPolicyArn",
        "firewallPolicyChangeProtection",
        "policyChange",
        "switch it to another firewall policy (AssociateFirewallPolicy)",
    ),
    _Guard(
        "subnetMappings",
        "subnetChangeProtection",
        "subnetChange",
        "change its subnets (AssociateSubnets/DisassociateSubnets)",
    ),
    _Guard(
        "availabilityZoneMappings",
        "availabilityZoneChangeProtection",
        "subnetChange",
        "change its Availability Zones (AssociateAvailabilityZones/DisassociateAvailabilityZones)",
    ),
)


def _steps(config_key: str, combined_allowed: bool) -> tuple[str, ...]:
    key = f"{PROTECTIONS}.{config_key}"
    first = f"set {key}: false and run `pulumi up`"
    if combined_allowed:
        first += " (the provider turns the protection off before it makes the change, so "
        first += "this `up` may already carry the change)"
    else:
        first += " with nothing else changed"
    return (
        first,
        "make the change and run `pulumi up`",
        f"set {key} back to true and run `pulumi up` again",
    )


def _blocked(
    before: Mapping[tuple[str, str, str], RecordedResource],
    after: Mapping[tuple[str, str, str], RecordedResource],
    why: Mapping[tuple[str, str, str], list[str]],
    replaced: set[tuple[str, str, str]],
) -> list[Blocked]:
    blocked: list[Blocked] = []
    for key, previous in before.items():
        if previous.type != FIREWALL:
            continue
        current = after.get(key)
        goes = current is None or key in replaced
        if goes and previous.inputs.get("deleteProtection"):
            verb = "replace" if current is not None else "delete"
            blocked.append(
                Blocked(
                    _label(previous),
                    f"`up` would {verb} it (DeleteFirewall) while delete protection is on",
                    f"{PROTECTIONS}.delete",
                    _steps("delete", combined_allowed=False),
                    f"{_API}.DeleteProtection",
                )
            )
        if current is None or key in replaced:
            continue
        paths = [reason.split(" ", 1)[0] for reason in why.get(key, [])]
        for guard in _GUARDS:
            touched = any(p == guard.changed or p.startswith(guard.changed + ".") for p in paths)
            if touched and current.inputs.get(guard.protection):
                blocked.append(
                    Blocked(
                        _label(current),
                        f"`up` would {guard.refused} while {guard.protection} is on",
                        f"{PROTECTIONS}.{guard.config}",
                        _steps(guard.config, combined_allowed=True),
                        f"{_API}.{guard.protection[0].upper()}{guard.protection[1:]}",
                    )
                )
    return blocked


# Network Firewall refuses to delete a policy, rule group or TLS configuration that is still
# referenced ("Unable to delete the object because it is still in use", terraform-provider-aws
# networkfirewall/firewall_policy.go, rule_group.go).
_DELETE_REFUSED_IN_USE = (
    "aws:networkfirewall/firewallPolicy:FirewallPolicy",
    "aws:networkfirewall/ruleGroup:RuleGroup",
    "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration",
)


def _deleted_while_in_use(
    before: Mapping[tuple[str, str, str], RecordedResource],
    after: Mapping[tuple[str, str, str], RecordedResource],
    replaced: set[tuple[str, str, str]],
) -> list[Blocked]:
    """A resource with an explicit physical name is replaced delete-first (its name cannot
    exist twice): pulumi-terraform-bridge ``nameRequiresDeleteBeforeReplace``. Deleting it
    first fails while something that stays still refers to it."""
    blocked = []
    for key in sorted(replaced):
        old, new = before[key], after[key]
        name = new.inputs.get("name")
        if new.type not in _DELETE_REFUSED_IN_USE or not name or old.inputs.get("name") != name:
            continue
        handles = _handles(old)
        users = [
            _label(other)
            for other_key, other in after.items()
            if other_key != key
            and other_key in before
            and any(text in handles for _path, text in _references(other.inputs))
        ]
        if users:
            blocked.append(
                Blocked(
                    _label(new),
                    f"`up` would replace it keeping its name {name!r}, so delete it first, "
                    f"while {', '.join(users)} still use it",
                    "",
                    (
                        "give the replacement a new name (the rules layer puts the capacity "
                        "in rule group names for this reason), so Pulumi creates it first",
                    ),
                    "pulumi-terraform-bridge nameRequiresDeleteBeforeReplace; Network "
                    "Firewall: still in use",
                )
            )
    return blocked


def render(preview: UpPreview, against: str) -> str:
    lines = [f"`pulumi up` after the synthesis in {against}:"]
    if not preview.changes:
        lines.append("  no change")
    order = {"replace": 0, "delete": 1, "update": 2, "create": 3}
    for change in sorted(preview.changes, key=lambda c: (order[c.action], c.resource)):
        lines.append(f"  {change}")
    for block in preview.blocked:
        lines += [
            "",
            f"BLOCKED {block.resource}: {block.problem} [{block.source}]",
            f"  turned off by {block.protection}; in this order:"
            if block.protection
            else "  instead:",
            *(f"  {i}. {step}" for i, step in enumerate(block.steps, 1)),
        ]
    if preview.blocked:
        lines += ["", "AWS would refuse this `up`: follow the steps above"]
    return "\n".join(lines) + "\n"
