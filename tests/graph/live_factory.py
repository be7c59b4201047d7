"""Build the egress-only hub and its spokes in a moto server with ordinary boto3 calls.

moto gaps, bridged here and only here (docs/verification.md lists them):

- Network Firewall: ``DescribeFirewall`` returns no ``SyncStates``, and moto creates no
  firewall endpoints. The set-up creates one Gateway Load Balancer endpoint per firewall subnet
  (what Network Firewall does behind the scenes) and writes the sync states, keyed by AZ name
  as AWS does, into moto's firewall model.
- Transit Gateway: enabling a propagation adds no propagated route to the table. The set-up
  adds the route AWS would add (the attachment's VPC CIDR, type ``propagated``) to moto's model.
- Transit Gateway: ``SearchTransitGatewayRoutes`` answers every route with an empty
  ``TransitGatewayAttachments`` list (moto stores one attachment where the API has a list).
  ``bridge_tgw_route_targets`` wraps moto's route creation to store a list.
- ``SearchTransitGatewayRoutes`` with ``MaxResults`` fails inside moto; the product omits it
  (the API's default is already the maximum, 1000), so nothing is bridged for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.networkfirewall.models import networkfirewall_backends

REGION = "us-east-1"
AZ_NAMES = ("us-east-1a", "us-east-1b")
SUPERNET = "10.0.0.0/8"


@dataclass
class LiveHub:
    ec2: Any
    nfw: Any
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.ids[key]


def bridge_tgw_route_targets(monkeypatch: Any) -> None:
    """Make moto keep a route's attachment as a one-item list, as the API returns it."""
    from moto.ec2.models.transit_gateway_route_tables import TransitGatewayRouteTableBackend

    original = TransitGatewayRouteTableBackend.create_transit_gateway_route

    def create(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        route = original(self, *args, **kwargs)
        target = route.get("transitGatewayAttachments")
        if isinstance(target, dict):
            route["transitGatewayAttachments"] = [target]
        return route

    monkeypatch.setattr(TransitGatewayRouteTableBackend, "create_transit_gateway_route", create)


def propagate(hub: LiveHub, table_id: str, attachment_id: str, cidr: str) -> None:
    hub.ec2.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=attachment_id
    )
    # moto gap: AWS installs the propagated route itself.
    backend = ec2_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.create_transit_gateway_route(table_id, cidr, attachment_id)
    backend.transit_gateways_route_tables[table_id].routes[cidr]["type"] = "propagated"


def withdraw_propagation(hub: LiveHub, table_id: str, attachment_id: str, cidr: str) -> None:
    hub.ec2.disable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=attachment_id
    )
    # moto gap: AWS withdraws the propagated route itself.
    ec2_backends[DEFAULT_ACCOUNT_ID][REGION].transit_gateways_route_tables[table_id].routes.pop(
        cidr
    )


def _tags(name: str, **labels: str) -> list[dict[str, Any]]:
    """A Name only: the live hub carries no egress-net tag, as a network built by other tools
    would not, and audit must find its parts by structure (the labels document intent here)."""
    return [{"Key": "Name", "Value": name}]


def _spec(kind: str, name: str, **labels: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": _tags(name, **labels)}]


def build_live_hub(
    ec2: Any,
    nfw: Any,
    spokes: tuple[tuple[str, str], ...] = (("alpha", "10.1.0.0/16"), ("beta", "10.2.0.0/16")),
) -> LiveHub:
    hub = LiveHub(ec2, nfw)
    ids = hub.ids
    vpc = ec2.create_vpc(
        CidrBlock="10.0.0.0/16", TagSpecifications=_spec("vpc", "hub-vpc", role="egress")
    )
    ids["vpc:hub"] = vpc["Vpc"]["VpcId"]
    for t, tier in enumerate(("tgw", "firewall", "public")):
        for i, az in enumerate(AZ_NAMES):
            subnet = ec2.create_subnet(
                VpcId=ids["vpc:hub"],
                CidrBlock=f"10.0.{t * 10 + i}.0/24",
                AvailabilityZone=az,
                TagSpecifications=_spec("subnet", f"hub-{tier}-{az}", role="egress", tier=tier),
            )
            ids[f"subnet:hub:{tier}:{i}"] = subnet["Subnet"]["SubnetId"]
    ids["igw"] = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=ids["vpc:hub"])
    for i in range(len(AZ_NAMES)):
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(
            SubnetId=ids[f"subnet:hub:public:{i}"], AllocationId=allocation
        )
        ids[f"nat:{i}"] = nat["NatGateway"]["NatGatewayId"]
    _firewall(hub)
    _transit_gateway(hub)
    for i in range(len(AZ_NAMES)):
        _route_table(hub, "hub", "tgw", i, [("0.0.0.0/0", "VpcEndpointId", ids[f"vpce:{i}"])])
        _route_table(
            hub,
            "hub",
            "firewall",
            i,
            [
                ("0.0.0.0/0", "NatGatewayId", ids[f"nat:{i}"]),
                (SUPERNET, "TransitGatewayId", ids["tgw"]),
            ],
        )
        _route_table(
            hub,
            "hub",
            "public",
            i,
            [("0.0.0.0/0", "GatewayId", ids["igw"]), (SUPERNET, "VpcEndpointId", ids[f"vpce:{i}"])],
        )
    for name, cidr in spokes:
        _spoke(hub, name, cidr)
    return hub


def _firewall(hub: LiveHub) -> None:
    ids = hub.ids
    subnets = [ids[f"subnet:hub:firewall:{i}"] for i in range(len(AZ_NAMES))]
    firewall = hub.nfw.create_firewall(
        FirewallName="hub-firewall",
        FirewallPolicyArn=f"arn:aws:network-firewall:{REGION}:{DEFAULT_ACCOUNT_ID}:firewall-policy/hub",
        VpcId=ids["vpc:hub"],
        SubnetMappings=[{"SubnetId": s} for s in subnets],
    )["Firewall"]
    sync_states = {}
    for i, (az, subnet) in enumerate(zip(AZ_NAMES, subnets, strict=True)):
        # moto gap: Network Firewall makes these endpoints itself.
        endpoint = hub.ec2.create_vpc_endpoint(
            VpcEndpointType="GatewayLoadBalancer",
            VpcId=ids["vpc:hub"],
            SubnetIds=[subnet],
            ServiceName=f"com.amazonaws.vpce.{REGION}.vpce-svc-0a1b2c3d4e5f6071{i}",
        )["VpcEndpoint"]["VpcEndpointId"]
        ids[f"vpce:{i}"] = endpoint
        sync_states[az] = {
            "Attachment": {"SubnetId": subnet, "EndpointId": endpoint, "Status": "READY"}
        }
    # moto gap: DescribeFirewall has no sync states.
    model = networkfirewall_backends[DEFAULT_ACCOUNT_ID][REGION].firewalls[firewall["FirewallArn"]]
    model.firewall_status["SyncStates"] = sync_states


def _transit_gateway(hub: LiveHub) -> None:
    ids = hub.ids
    ec2 = hub.ec2
    # Defaults off and explicit associations: moto applies no default table of our choosing.
    tgw = ec2.create_transit_gateway(
        Options={
            "DefaultRouteTableAssociation": "disable",
            "DefaultRouteTablePropagation": "disable",
        }
    )
    ids["tgw"] = tgw["TransitGateway"]["TransitGatewayId"]
    for name in ("spokes", "egress"):
        table = ec2.create_transit_gateway_route_table(
            TransitGatewayId=ids["tgw"],
            TagSpecifications=_spec(
                "transit-gateway-route-table", f"hub-tgw-rt-{name}", tgw_table=name
            ),
        )
        ids[f"tgwrt:{name}"] = table["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
    attachment = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=ids["tgw"],
        VpcId=ids["vpc:hub"],
        SubnetIds=[ids[f"subnet:hub:tgw:{i}"] for i in range(len(AZ_NAMES))],
        Options={"ApplianceModeSupport": "enable"},
    )
    ids["att:egress"] = attachment["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=ids["tgwrt:egress"], TransitGatewayAttachmentId=ids["att:egress"]
    )
    ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=ids["tgwrt:spokes"],
        DestinationCidrBlock="0.0.0.0/0",
        TransitGatewayAttachmentId=ids["att:egress"],
    )


def _spoke(hub: LiveHub, name: str, cidr: str) -> None:
    ids, ec2 = hub.ids, hub.ec2
    second_octet = cidr.split(".")[1]
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_spec("vpc", f"{name}-vpc", spoke=name))
    ids[f"vpc:{name}"] = vpc["Vpc"]["VpcId"]
    for t, tier in enumerate(("workload", "tgw")):
        for i, az in enumerate(AZ_NAMES):
            subnet = ec2.create_subnet(
                VpcId=ids[f"vpc:{name}"],
                CidrBlock=f"10.{second_octet}.{t * 100 + i}.0/24",
                AvailabilityZone=az,
                TagSpecifications=_spec("subnet", f"{name}-{tier}-{az}", spoke=name, tier=tier),
            )
            ids[f"subnet:{name}:{tier}:{i}"] = subnet["Subnet"]["SubnetId"]
    attachment = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=ids["tgw"],
        VpcId=ids[f"vpc:{name}"],
        SubnetIds=[ids[f"subnet:{name}:tgw:{i}"] for i in range(len(AZ_NAMES))],
    )
    ids[f"att:{name}"] = attachment["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=ids["tgwrt:spokes"],
        TransitGatewayAttachmentId=ids[f"att:{name}"],
    )
    propagate(hub, ids["tgwrt:egress"], ids[f"att:{name}"], cidr)
    for i in range(len(AZ_NAMES)):
        _route_table(hub, name, "workload", i, [("0.0.0.0/0", "TransitGatewayId", ids["tgw"])])
        _route_table(hub, name, "tgw", i, [])


def _route_table(
    hub: LiveHub, owner: str, tier: str, az_index: int, routes: list[tuple[str, str, str]]
) -> None:
    vpc_id = hub.ids[f"vpc:{owner}"]
    table = hub.ec2.create_route_table(
        VpcId=vpc_id,
        TagSpecifications=_spec("route-table", f"{owner}-rt-{tier}-{az_index}", tier=tier),
    )
    table_id = table["RouteTable"]["RouteTableId"]
    hub.ids[f"rt:{owner}:{tier}:{az_index}"] = table_id
    hub.ec2.associate_route_table(
        RouteTableId=table_id, SubnetId=hub.ids[f"subnet:{owner}:{tier}:{az_index}"]
    )
    for destination, key, target in routes:
        hub.ec2.create_route(
            RouteTableId=table_id, DestinationCidrBlock=destination, **{key: target}
        )


def build_live_firewall_after_nat(ec2: Any, nfw: Any, ingress_routing: bool = True) -> LiveHub:
    """One VPC, firewall between the NAT gateway and the IGW, IGW ingress routing back to it."""
    hub = LiveHub(ec2, nfw)
    ids = hub.ids
    ids["vpc:solo"] = ec2.create_vpc(
        CidrBlock="10.5.0.0/16", TagSpecifications=_spec("vpc", "solo-vpc", spoke="solo")
    )["Vpc"]["VpcId"]
    for index, tier in enumerate(("workload", "public", "firewall")):
        subnet = ec2.create_subnet(
            VpcId=ids["vpc:solo"],
            CidrBlock=f"10.5.{index}.0/24",
            AvailabilityZone=AZ_NAMES[0],
            TagSpecifications=_spec("subnet", f"solo-{tier}", spoke="solo", tier=tier),
        )
        ids[f"subnet:solo:{tier}:0"] = subnet["Subnet"]["SubnetId"]
    ids["igw"] = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=ids["vpc:solo"])
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(
        SubnetId=ids["subnet:solo:public:0"], AllocationId=allocation, PrivateIpAddress="10.5.1.5"
    )["NatGateway"]["NatGatewayId"]
    ids["nat:0"] = nat
    # moto gap: it ignores PrivateIpAddress and picks an address outside the subnet.
    (address,) = ec2_backends[DEFAULT_ACCOUNT_ID][REGION].nat_gateways[nat].address_set
    address["privateIp"] = "10.5.1.5"
    firewall = nfw.create_firewall(
        FirewallName="solo-firewall",
        FirewallPolicyArn=f"arn:aws:network-firewall:{REGION}:{DEFAULT_ACCOUNT_ID}:firewall-policy/solo",
        VpcId=ids["vpc:solo"],
        SubnetMappings=[{"SubnetId": ids["subnet:solo:firewall:0"]}],
    )["Firewall"]
    # moto gap: Network Firewall makes the endpoint and reports it in the sync states.
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="GatewayLoadBalancer",
        VpcId=ids["vpc:solo"],
        SubnetIds=[ids["subnet:solo:firewall:0"]],
        ServiceName=f"com.amazonaws.vpce.{REGION}.vpce-svc-0a1b2c3d4e5f60799",
    )["VpcEndpoint"]["VpcEndpointId"]
    ids["vpce:0"] = endpoint
    model = networkfirewall_backends[DEFAULT_ACCOUNT_ID][REGION].firewalls[firewall["FirewallArn"]]
    model.firewall_status["SyncStates"] = {
        AZ_NAMES[0]: {
            "Attachment": {
                "SubnetId": ids["subnet:solo:firewall:0"],
                "EndpointId": endpoint,
                "Status": "READY",
            }
        }
    }
    _route_table(hub, "solo", "workload", 0, [("0.0.0.0/0", "NatGatewayId", nat)])
    _route_table(hub, "solo", "public", 0, [("0.0.0.0/0", "VpcEndpointId", endpoint)])
    _route_table(hub, "solo", "firewall", 0, [("0.0.0.0/0", "GatewayId", ids["igw"])])
    if ingress_routing:
        edge = ec2.create_route_table(VpcId=ids["vpc:solo"])["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=edge, GatewayId=ids["igw"])
        ec2.create_route(
            RouteTableId=edge, DestinationCidrBlock="10.5.1.0/24", VpcEndpointId=endpoint
        )
    return hub


def add_ipv6(hub: LiveHub, spoke: str) -> None:
    """An Amazon-provided IPv6 block on a spoke VPC and a /64 of it on each of its subnets."""
    ec2 = hub.ec2
    answer = ec2.associate_vpc_cidr_block(
        VpcId=hub[f"vpc:{spoke}"], AmazonProvidedIpv6CidrBlock=True
    )
    block = answer["Ipv6CidrBlockAssociation"]["Ipv6CidrBlock"]
    prefix = block.split("::")[0].rsplit(":", 1)
    base = int(prefix[1], 16) if len(prefix) > 1 else 0
    head = prefix[0]
    for index, tier in enumerate(("workload", "tgw")):
        for i in range(len(AZ_NAMES)):
            ec2.associate_subnet_cidr_block(
                SubnetId=hub[f"subnet:{spoke}:{tier}:{i}"],
                Ipv6CidrBlock=f"{head}:{base + index * 16 + i:x}::/64",
            )


def attach_intruder(hub: LiveHub, cidr: str) -> None:
    """A VPC inside a spoke's range, attached and propagating like any spoke."""
    ec2 = hub.ec2
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=AZ_NAMES[0])
    attachment = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=hub["tgw"], VpcId=vpc, SubnetIds=[subnet["Subnet"]["SubnetId"]]
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    hub.ids["att:intruder"] = attachment
    ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=hub["tgwrt:spokes"], TransitGatewayAttachmentId=attachment
    )
    propagate(hub, hub["tgwrt:egress"], attachment, cidr)
