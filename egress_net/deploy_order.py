"""What a real ``pulumi up`` would get wrong in ordering and ownership: pure checks over a
recording (types, inputs, outputs and each resource's recorded dependencies).

Pulumi creates resources in parallel unless one depends on another, so every order AWS needs
must be a dependency. Each check names the AWS rule it models.
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_net.recording import RecordedResource, Recording

FIREWALL = "aws:networkfirewall/firewall:Firewall"
SUBNET = "aws:ec2/subnet:Subnet"
_TGW = "aws:ec2transitgateway/"
TRANSIT_GATEWAY = _TGW + "transitGateway:TransitGateway"
VPC_ATTACHMENT = _TGW + "vpcAttachment:VpcAttachment"
VPC_ATTACHMENT_ACCEPTER = _TGW + "vpcAttachmentAccepter:VpcAttachmentAccepter"
DEFAULT_ASSOCIATION = _TGW + "defaultRouteTableAssociation:DefaultRouteTableAssociation"
DEFAULT_PROPAGATION = _TGW + "defaultRouteTablePropagation:DefaultRouteTablePropagation"

TGW_FIREWALL_AZS = (
    "Network Firewall Developer Guide, Considerations for transit gateway-attached firewalls: "
    "the firewall must be configured in an Availability Zone where the transit gateway is "
    "already enabled"
)
TGW_MODIFY = (
    "DefaultRouteTableAssociation and DefaultRouteTablePropagation each call "
    "ModifyTransitGateway; the TGW is 'modifying' until one finishes and refuses the other "
    "(IncorrectState)"
)
SHARED_TGW_FLAGS = (
    "terraform-provider-aws transitgateway_vpc_attachment.go: the default-table flags are not "
    "applied nor read for a TGW shared from another account"
)


@dataclass(frozen=True)
class OrderProblem:
    resource: str  # "<Type> <logical name>"
    problem: str
    hint: str
    source: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.problem} [{self.source}]"


def _label(resource: RecordedResource) -> str:
    return f"{resource.type.rsplit(':', 1)[-1]} {resource.name}"


class _Dependencies:
    """Everything a resource waits for, directly or through others."""

    def __init__(self, recording: Recording) -> None:
        self._direct = {r.urn: r.dependencies for r in recording.resources}
        self._closure: dict[str, frozenset[str]] = {}

    def of(self, urn: str) -> frozenset[str]:
        if urn not in self._closure:
            seen: set[str] = set()
            stack = list(self._direct.get(urn, ()))
            while stack:
                current = stack.pop()
                if current not in seen:
                    seen.add(current)
                    stack.extend(self._direct.get(current, ()))
            self._closure[urn] = frozenset(seen)
        return self._closure[urn]


def tgw_firewall_problems(recording: Recording) -> list[OrderProblem]:
    """A firewall attached to a TGW must wait until the TGW is present in each of its AZs: a
    VPC attachment of that TGW with a subnet in the AZ (accepted, when it needs acceptance)."""
    deps = _Dependencies(recording)
    az_of_subnet = {s.id: str(s.get("availabilityZoneId") or "") for s in recording.of_type(SUBNET)}
    accepter_of = {
        str(a.get("transitGatewayAttachmentId")): a.urn
        for a in recording.of_type(VPC_ATTACHMENT_ACCEPTER)
    }
    problems = []
    for firewall in recording.of_type(FIREWALL):
        tgw_id = firewall.get("transitGatewayId")
        if not tgw_id:
            continue
        waited = deps.of(firewall.urn)
        present: set[str] = set()
        for attachment in recording.of_type(VPC_ATTACHMENT):
            if attachment.get("transitGatewayId") != tgw_id or attachment.urn not in waited:
                continue
            accepter = accepter_of.get(attachment.id)
            if accepter is not None and accepter not in waited:
                continue  # conservative: a pending attachment may not yet place the TGW
            present |= {az_of_subnet.get(s, "") for s in attachment.get("subnetIds") or []}
        wanted = [
            str(m.get("availabilityZoneId") or m.get("availabilityZone") or "")
            for m in firewall.get("availabilityZoneMappings") or []
        ]
        missing = [az for az in wanted if az not in present]
        if missing:
            problems.append(
                OrderProblem(
                    _label(firewall),
                    f"is created before the transit gateway is present in {', '.join(missing)}",
                    "make it depend on a VPC attachment of the TGW with a subnet in each of "
                    "those AZs (and on its acceptance)",
                    TGW_FIREWALL_AZS,
                )
            )
    return problems


def tgw_modification_problems(recording: Recording) -> list[OrderProblem]:
    """Default-table changes of one TGW must run one after the other."""
    deps = _Dependencies(recording)
    by_tgw: dict[str, list[RecordedResource]] = {}
    for r in recording.of_type(DEFAULT_ASSOCIATION) + recording.of_type(DEFAULT_PROPAGATION):
        by_tgw.setdefault(str(r.get("transitGatewayId")), []).append(r)
    problems = []
    for changes in by_tgw.values():
        for i, first in enumerate(changes):
            for second in changes[i + 1 :]:
                if first.urn in deps.of(second.urn) or second.urn in deps.of(first.urn):
                    continue
                problems.append(
                    OrderProblem(
                        _label(second),
                        f"modifies the transit gateway at the same time as {_label(first)}",
                        "make one depend on the other",
                        TGW_MODIFY,
                    )
                )
    return problems


def shared_tgw_flag_problems(recording: Recording) -> list[OrderProblem]:
    """An attachment to a TGW another account owns must leave the default-table flags unset:
    the provider can neither apply nor read them, so ``false`` shows as a diff on every ``up``;
    the owner's accepter decides them."""
    owner_of = {t.id: str(t.get("ownerId") or "") for t in recording.of_type(TRANSIT_GATEWAY)}
    problems = []
    for attachment in recording.of_type(VPC_ATTACHMENT):
        owner = owner_of.get(str(attachment.get("transitGatewayId")))
        account = str(attachment.get("vpcOwnerId") or "")
        if not owner or not account or owner == account:
            continue
        flags = [
            key
            for key in (
                "transitGatewayDefaultRouteTableAssociation",
                "transitGatewayDefaultRouteTablePropagation",
            )
            if attachment.inputs.get(key) is False
        ]
        if flags:
            problems.append(
                OrderProblem(
                    _label(attachment),
                    f"sets {' and '.join(flags)} to false on a transit gateway owned by "
                    f"{owner}: every `up` would show a diff and try owner-side calls",
                    "leave them unset; the owner's VpcAttachmentAccepter carries them",
                    SHARED_TGW_FLAGS,
                )
            )
    return problems


def order_problems(recording: Recording) -> list[OrderProblem]:
    return [
        *tgw_firewall_problems(recording),
        *tgw_modification_problems(recording),
        *shared_tgw_flag_problems(recording),
    ]
