"""A hand-built recording of the egress-only hub and its spokes, shaped like the program's.

Resource types, property names, tags and the order of references follow what the components
declare (``egress_net/components/hub.py`` and ``spoke.py``), with deterministic IDs. Faults are
seeded with the tag-based selectors below, which work on this recording and on the offline
engine's recording of a real stack alike.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from egress_net.recording import RecordedResource, Recording

EC2 = "aws:ec2/"
TGW = "aws:ec2transitgateway/"

# Sync states are keyed by AZ *name*; this mapping is deliberately not the obvious one, as in
# a real account, so a name-based lookup would place endpoints in the wrong AZ.
AZ_NAMES = {"use1-az1": "us-east-1c", "use1-az2": "us-east-1a", "use1-az4": "us-east-1b"}


@dataclass
class HubSpokeFactory:
    az_ids: Sequence[str] = ("use1-az1", "use1-az2")
    spokes: Sequence[tuple[str, str]] = (("alpha", "10.1.0.0/16"), ("beta", "10.2.0.0/16"))
    egress_cidr: str = "10.0.0.0/16"
    supernets: Sequence[str] = ("10.0.0.0/8",)
    resources: list[RecordedResource] = field(default_factory=list)
    _ids: Iterable[int] = field(default_factory=lambda: itertools.count(1))

    def add(
        self, type_: str, name: str, prefix: str, inputs: dict[str, Any], **outputs: Any
    ) -> RecordedResource:
        resource_id = f"{prefix}-{next(self._ids):017x}"  # type: ignore[call-overload]
        resource = RecordedResource(
            type=type_,
            name=name,
            urn=f"urn:pulumi:test::egress-net::{type_}::{name}",
            id=resource_id,
            inputs=inputs,
            outputs={**inputs, **outputs},
            parent=None,
            provider=None,
        )
        self.resources.append(resource)
        return resource

    def build(self) -> Recording:
        self._hub()
        for name, cidr in self.spokes:
            self._spoke(name, cidr)
        return Recording("egress-net", "test", list(self.resources))

    # -- the hub ---------------------------------------------------------------------------

    def _hub(self) -> None:
        vpc = self.add(
            EC2 + "vpc:Vpc",
            "hub-vpc",
            "vpc",
            {"cidrBlock": self.egress_cidr, "tags": _tags("hub-vpc", role="egress")},
        )
        net = ipaddress.IPv4Network(self.egress_cidr)
        blocks = list(net.subnets(new_prefix=24))
        subnets: dict[tuple[str, str], RecordedResource] = {}
        for t, tier in enumerate(("tgw", "firewall", "public")):
            for i, az in enumerate(self.az_ids):
                name = f"hub-{tier}-{az}"
                subnets[(tier, az)] = self.add(
                    EC2 + "subnet:Subnet",
                    name,
                    "subnet",
                    {
                        "vpcId": vpc.id,
                        "cidrBlock": str(blocks[t * 10 + i]),
                        "availabilityZoneId": az,
                        "tags": _tags(name, role="egress", tier=tier, az_id=az),
                    },
                )
        igw = self.add(
            EC2 + "internetGateway:InternetGateway",
            "hub-igw",
            "igw",
            {"vpcId": vpc.id, "tags": _tags("hub-igw")},
        )
        nats = {}
        for i, az in enumerate(self.az_ids):
            eip = self.add(
                EC2 + "eip:Eip",
                f"hub-nat-eip-{az}",
                "eipalloc",
                {"domain": "vpc"},
                publicIp=f"203.0.113.{10 + i}",
                allocationId="",
            )
            nats[az] = self.add(
                EC2 + "natGateway:NatGateway",
                f"hub-nat-{az}",
                "nat",
                {
                    "subnetId": subnets[("public", az)].id,
                    "allocationId": eip.id,
                    "connectivityType": "public",
                    "tags": _tags(f"hub-nat-{az}", az_id=az),
                },
                publicIp=f"203.0.113.{10 + i}",
            )
        endpoints = {az: f"vpce-{i + 1:017x}" for i, az in enumerate(self.az_ids)}
        statuses = [
            {
                "status": "READY",
                "syncStates": [
                    {
                        "availabilityZone": AZ_NAMES.get(az, az),
                        "attachments": [
                            {
                                "endpointId": endpoints[az],
                                "subnetId": subnets[("firewall", az)].id,
                                "status": "READY",
                            }
                        ],
                    }
                    for az in reversed(self.az_ids)  # list order means nothing either
                ],
            }
        ]
        self.add(
            "aws:networkfirewall/firewall:Firewall",
            "hub-firewall",
            "arn",
            {
                "vpcId": vpc.id,
                "subnetMappings": [
                    {"subnetId": subnets[("firewall", az)].id} for az in self.az_ids
                ],
                "tags": _tags("hub-firewall"),
            },
            firewallStatuses=statuses,
        )
        tgw = self.add(
            TGW + "transitGateway:TransitGateway",
            "hub-tgw",
            "tgw",
            {
                "defaultRouteTableAssociation": "enable",
                "defaultRouteTablePropagation": "enable",
                "autoAcceptSharedAttachments": "disable",
                "tags": _tags("hub-tgw"),
            },
            associationDefaultRouteTableId="tgw-rtb-00000000000000aws",
            propagationDefaultRouteTableId="tgw-rtb-00000000000000aws",
        )
        attachment = self.add(
            TGW + "vpcAttachment:VpcAttachment",
            "hub-egress-attachment",
            "tgw-attach",
            {
                "transitGatewayId": tgw.id,
                "vpcId": vpc.id,
                "subnetIds": [subnets[("tgw", az)].id for az in self.az_ids],
                "applianceModeSupport": "enable",
                "transitGatewayDefaultRouteTableAssociation": False,
                "transitGatewayDefaultRouteTablePropagation": False,
                "tags": _tags("hub-egress-attachment"),
            },
        )
        self._tgw_tables(tgw.id, attachment.id)
        for az in self.az_ids:
            targets = {
                "firewall": ("vpcEndpointId", endpoints[az]),
                "nat": ("natGatewayId", nats[az].id),
                "igw": ("gatewayId", igw.id),
                "tgw": ("transitGatewayId", tgw.id),
            }
            plan = {
                "tgw": [("0.0.0.0/0", "firewall")],
                "firewall": [("0.0.0.0/0", "nat"), *((s, "tgw") for s in self.supernets)],
                "public": [("0.0.0.0/0", "igw"), *((s, "firewall") for s in self.supernets)],
            }
            for tier, routes in plan.items():
                self._route_table(
                    vpc.id,
                    "hub",
                    tier,
                    az,
                    subnets[(tier, az)].id,
                    [(dest, *targets[t]) for dest, t in routes],
                    role="egress",
                )

    def _tgw_tables(self, tgw_id: str, egress_attachment_id: str) -> None:
        spokes = self.add(
            TGW + "routeTable:RouteTable",
            "hub-tgw-rt-spokes",
            "tgw-rtb",
            {"transitGatewayId": tgw_id, "tags": _tags("hub-tgw-rt-spokes", tgw_table="spokes")},
        )
        egress = self.add(
            TGW + "routeTable:RouteTable",
            "hub-tgw-rt-egress",
            "tgw-rtb",
            {"transitGatewayId": tgw_id, "tags": _tags("hub-tgw-rt-egress", tgw_table="egress")},
        )
        self.add(
            TGW + "defaultRouteTableAssociation:DefaultRouteTableAssociation",
            "hub-tgw-default-association",
            "tgw-rtb-assoc",
            {"transitGatewayId": tgw_id, "transitGatewayRouteTableId": spokes.id},
        )
        self.add(
            TGW + "routeTableAssociation:RouteTableAssociation",
            "hub-tgw-assoc-egress-egress",
            "tgw-assoc",
            {
                "transitGatewayAttachmentId": egress_attachment_id,
                "transitGatewayRouteTableId": egress.id,
            },
        )
        self.add(
            TGW + "defaultRouteTablePropagation:DefaultRouteTablePropagation",
            "hub-tgw-default-propagation",
            "tgw-rtb-prop",
            {"transitGatewayId": tgw_id, "transitGatewayRouteTableId": egress.id},
        )
        self.add(
            TGW + "route:Route",
            "hub-tgw-route-spokes-0-0-0-0-0",
            "tgw-route",
            {
                "transitGatewayRouteTableId": spokes.id,
                "destinationCidrBlock": "0.0.0.0/0",
                "transitGatewayAttachmentId": egress_attachment_id,
            },
        )

    # -- a spoke ---------------------------------------------------------------------------

    def _spoke(self, name: str, cidr: str) -> None:
        tgw_id = self._one(TGW + "transitGateway:TransitGateway").id
        vpc = self.add(
            EC2 + "vpc:Vpc",
            f"{name}-vpc",
            "vpc",
            {"cidrBlock": cidr, "tags": _tags(f"{name}-vpc", spoke=name)},
        )
        network = ipaddress.IPv4Network(cidr)
        # Eight equal subnets: two tiers × up to four AZs.
        blocks = list(network.subnets(new_prefix=network.prefixlen + 3))
        subnets = {}
        for t, tier in enumerate(("workload", "tgw")):
            for i, az in enumerate(self.az_ids):
                sname = f"{name}-{tier}-{az}"
                subnets[(tier, az)] = self.add(
                    EC2 + "subnet:Subnet",
                    sname,
                    "subnet",
                    {
                        "vpcId": vpc.id,
                        "cidrBlock": str(blocks[t * 4 + i]),
                        "availabilityZoneId": az,
                        "tags": _tags(sname, spoke=name, tier=tier, az_id=az),
                    },
                )
        self.add(
            TGW + "vpcAttachment:VpcAttachment",
            f"{name}-tgw-attachment",
            "tgw-attach",
            {
                "transitGatewayId": tgw_id,
                "vpcId": vpc.id,
                "subnetIds": [subnets[("tgw", az)].id for az in self.az_ids],
                "tags": _tags(f"{name}-tgw-attachment", spoke=name),
            },
        )
        for az in self.az_ids:
            self._route_table(
                vpc.id,
                name,
                "workload",
                az,
                subnets[("workload", az)].id,
                [("0.0.0.0/0", "transitGatewayId", tgw_id)],
                spoke=name,
            )
            self._route_table(vpc.id, name, "tgw", az, subnets[("tgw", az)].id, [], spoke=name)

    def _route_table(
        self,
        vpc_id: str,
        owner: str,
        tier: str,
        az: str,
        subnet_id: str,
        routes: list[tuple[str, str, str]],
        **labels: str,
    ) -> None:
        name = f"{owner}-rt-{tier}-{az}"
        table = self.add(
            EC2 + "routeTable:RouteTable",
            name,
            "rtb",
            {"vpcId": vpc_id, "tags": _tags(name, tier=tier, az_id=az, **labels)},
        )
        self.add(
            EC2 + "routeTableAssociation:RouteTableAssociation",
            f"{owner}-rta-{tier}-{az}",
            "rtbassoc",
            {"routeTableId": table.id, "subnetId": subnet_id},
        )
        for dest, key, target in routes:
            rname = f"{owner}-{tier}-{az}-to-{dest.replace('/', '-').replace('.', '-')}"
            self.add(
                EC2 + "route:Route",
                rname,
                "r",
                {"routeTableId": table.id, "destinationCidrBlock": dest, key: target},
            )

    def _one(self, type_: str) -> RecordedResource:
        (found,) = [r for r in self.resources if r.type == type_]
        return found


def _tags(name: str, **labels: str) -> dict[str, str]:
    tags = {"Name": name}
    for label, value in labels.items():
        tags[f"egress-net:{label.replace('_', '-')}"] = value
    return tags


# -- selecting and mutating resources of any recording (factory-built or synthesized) -------


def tag(resource: RecordedResource, label: str) -> str:
    return (resource.get("tags") or {}).get(f"egress-net:{label}", "")


def find(
    recording: Recording, type_suffix: str, where: Callable[[RecordedResource], bool]
) -> list[RecordedResource]:
    return [r for r in recording.resources if r.type.endswith(type_suffix) and where(r)]


def route_table(recording: Recording, tier: str, az: str, spoke: str = "") -> RecordedResource:
    """The VPC route table of a tier in an AZ: a spoke's when ``spoke`` is given, else the hub's."""
    (table,) = find(
        recording,
        "/routeTable:RouteTable",
        lambda r: (
            r.type.startswith(EC2)
            and tag(r, "tier") == tier
            and tag(r, "az-id") == az
            and (tag(r, "spoke") == spoke if spoke else tag(r, "role") == "egress")
        ),
    )
    return table


def routes_in(
    recording: Recording, table: RecordedResource, destination: str
) -> list[RecordedResource]:
    return find(
        recording,
        "ec2/route:Route",
        lambda r: (
            r.get("routeTableId") == table.id and r.get("destinationCidrBlock") == destination
        ),
    )


def tgw_table(recording: Recording, name: str) -> RecordedResource:
    (table,) = find(
        recording, "transitgateway/routeTable:RouteTable", lambda r: tag(r, "tgw-table") == name
    )
    return table


def without(recording: Recording, doomed: Iterable[RecordedResource]) -> Recording:
    urns = {r.urn for r in doomed}
    assert urns, "nothing selected to remove"
    return replace(recording, resources=[r for r in recording.resources if r.urn not in urns])


def patched(recording: Recording, target: RecordedResource, **changes: Any) -> Recording:
    """The recording with some properties of one resource changed (inputs and outputs)."""

    def change(r: RecordedResource) -> RecordedResource:
        if r.urn != target.urn:
            return r
        return replace(r, inputs={**r.inputs, **changes}, outputs={**r.outputs, **changes})

    return replace(recording, resources=[change(r) for r in recording.resources])


def added(recording: Recording, *extra: RecordedResource) -> Recording:
    return replace(recording, resources=[*recording.resources, *extra])


def new_resource(type_: str, name: str, resource_id: str, **inputs: Any) -> RecordedResource:
    return RecordedResource(
        type=type_,
        name=name,
        urn=f"urn:pulumi:test::egress-net::{type_}::{name}",
        id=resource_id,
        inputs=inputs,
        outputs=dict(inputs),
        parent=None,
        provider=None,
    )
