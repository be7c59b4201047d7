"""What AWS refuses in a VPC route table, as pure checks over plain data.

Every VPC route table starts with a *local* route for each VPC CIDR. EC2 then accepts:

- no second route to a destination the table already has: ``CreateRoute`` answers
  ``RouteAlreadyExists`` (EC2 API error codes), and a route to a VPC CIDR is exactly that,
  since the local route holds it (only ``ReplaceRoute`` may change the local route's target;
  terraform-provider-aws ``internal/service/ec2/vpc_route.go``: "Local routes cannot be
  created manually"; with a gateway or peering target AWS answers ``InvalidParameterValue``
  "Route target is not supported", hashicorp/terraform-provider-aws#13896);
- in a subnet route table, a route *more specific than the local route* only when "the
  destination must match the entire IPv4 or IPv6 CIDR block of a subnet in your VPC" and "the
  target must be a NAT gateway, network interface, or Gateway Load Balancer endpoint"
  (Amazon VPC User Guide, "Subnet route tables", Rules and considerations). A Network Firewall
  endpoint is a Gateway Load Balancer endpoint (``vpce-``, the route's ``VpcEndpointId``);
- in a gateway route table (edge-associated with an Internet or virtual private gateway),
  only the local route and routes to a network interface or a Gateway Load Balancer endpoint,
  whose destination is the whole VPC CIDR or "the entire IPv4 or IPv6 CIDR block of a subnet
  in your VPC"; nothing outside the VPC's range, no prefix list destination (Amazon VPC User
  Guide, "Gateway route tables", Gateway route table routes and Rules and considerations);
- no prefix list destination towards a VPC endpoint ("Cannot create or replace a prefix list
  route targeting a VPC Endpoint", terraform-provider-aws ``vpc_route.go``).

The checks read :class:`TableSpec` values; :func:`tables_in_recording` builds them from an
offline recording and the routing graph builds them from either adapter.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from egress_net import intent
from egress_net.graph.model import Route as GraphRoute
from egress_net.graph.model import RoutingGraph
from egress_net.recording import RecordedResource, Recording

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SUBNET_ROUTE_TABLES = "Amazon VPC User Guide, Subnet route tables (rules and considerations)"
GATEWAY_ROUTE_TABLES = "Amazon VPC User Guide, Gateway route tables"
ROUTE_ALREADY_EXISTS = "CreateRoute: RouteAlreadyExists (EC2 API error codes)"
PREFIX_LIST_TO_ENDPOINT = "CreateRoute: no prefix list route to a VPC endpoint (vpc_route.go)"


class TableKind(StrEnum):
    SUBNET = "subnet"  # associated with subnets (or with nothing yet)
    GATEWAY = "gateway"  # edge-associated with an Internet or virtual private gateway


class TargetType(StrEnum):
    LOCAL = "local"
    INTERNET_GATEWAY = "internet gateway"
    VIRTUAL_PRIVATE_GATEWAY = "virtual private gateway"
    NAT_GATEWAY = "NAT gateway"
    GATEWAY_LB_ENDPOINT = "Gateway Load Balancer endpoint"  # Network Firewall endpoints too
    NETWORK_INTERFACE = "network interface"
    TRANSIT_GATEWAY = "transit gateway"
    PEERING = "VPC peering connection"
    OTHER = "other target"
    UNKNOWN = "unknown target"  # the reader cannot tell (a live blackhole, a graph's "other")


# Targets a route more specific than the local route may have, per table kind.
_MORE_SPECIFIC_TARGETS: dict[TableKind, frozenset[TargetType]] = {
    TableKind.SUBNET: frozenset(
        {TargetType.NAT_GATEWAY, TargetType.NETWORK_INTERFACE, TargetType.GATEWAY_LB_ENDPOINT}
    ),
    TableKind.GATEWAY: frozenset({TargetType.NETWORK_INTERFACE, TargetType.GATEWAY_LB_ENDPOINT}),
}


# Targets an edge-associated table may hold at all, whatever the destination.
_GATEWAY_TARGETS = _MORE_SPECIFIC_TARGETS[TableKind.GATEWAY] | {TargetType.UNKNOWN}


@dataclass(frozen=True)
class RouteSpec:
    destination: str  # a CIDR, or a prefix list ID ("pl-…")
    target: TargetType
    name: str = ""  # what to call the route in a message (its resource name)


@dataclass(frozen=True)
class TableSpec:
    name: str
    kind: TableKind
    vpc_cidrs: tuple[str, ...]
    subnet_cidrs: tuple[str, ...]  # every subnet of the VPC, whatever table it uses
    routes: tuple[RouteSpec, ...]  # without the local routes


@dataclass(frozen=True)
class Refusal:
    table: str
    route: str
    destination: str
    problem: str
    source: str  # the AWS rule: doc page or API error

    def __str__(self) -> str:
        return f"{self.route or self.destination} in {self.table}: {self.problem} [{self.source}]"

    @property
    def hint(self) -> str:
        return _HINTS.get(self.source, "")


_HINTS = {
    ROUTE_ALREADY_EXISTS: "keep one route per destination; a VPC's own CIDRs belong to its "
    "local route (route a subnet's exact CIDR instead)",
    SUBNET_ROUTE_TABLES: "inside the VPC, route exactly one subnet's CIDR, to a NAT gateway, a "
    "network interface or a Gateway Load Balancer / Network Firewall endpoint",
    GATEWAY_ROUTE_TABLES: "an edge route table routes only the VPC's subnets (exact CIDRs), "
    "to a network interface or a Gateway Load Balancer / Network Firewall endpoint",
    PREFIX_LIST_TO_ENDPOINT: "list the prefix list's CIDRs as separate routes",
}


def _network(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


class _Networks(dict[str, Network | None]):
    """CIDR text → network (``None`` if it is not one), each text parsed once per batch of
    tables: every table of a VPC lists the same subnet CIDRs, and parsing them again for each
    of a thousand spokes' tables cost more than the checks themselves."""

    def __init__(self) -> None:
        super().__init__()
        self._sets: dict[tuple[str, ...], frozenset[Network]] = {}

    def __missing__(self, text: str) -> Network | None:
        network = self[text] = _network(text)
        return network

    def set_of(self, texts: tuple[str, ...]) -> frozenset[Network]:
        """The networks among ``texts``, as a set built once per distinct list (a VPC's)."""
        found = self._sets.get(texts)
        if found is None:
            parsed = (self[text] for text in texts)
            found = self._sets[texts] = frozenset(n for n in parsed if n is not None)
        return found


def _is_prefix_list(destination: str) -> bool:
    return destination.startswith("pl-")


def refusals(table: TableSpec, networks: _Networks | None = None) -> list[Refusal]:
    """Every route of ``table`` that EC2 would refuse, with the reason and the rule."""
    networks = _Networks() if networks is None else networks
    vpc = [n for n in (networks[c] for c in table.vpc_cidrs) if n is not None]
    subnets = networks.set_of(table.subnet_cidrs)
    found: list[Refusal] = []
    seen: set[str] = set()
    for route in table.routes:
        problem = _table_level_problem(table, route, seen, networks)
        if problem is not None:
            found.append(Refusal(table.name, route.name, route.destination, *problem))
            continue
        if _is_prefix_list(route.destination):
            found += _prefix_list_refusals(table, route)
            continue
        network = networks[route.destination]
        if network is not None:  # anything else is the API model check's to report
            found += _cidr_refusals(table, route, network, vpc, subnets)
    return found


def _table_level_problem(
    table: TableSpec, route: RouteSpec, seen: set[str], networks: _Networks
) -> tuple[str, str] | None:
    """A second route to one destination, or a target an edge table cannot hold at all."""
    if _is_prefix_list(route.destination):
        key = route.destination
    else:
        network = networks[route.destination]
        key = str(network) if network is not None else route.destination
    if key in seen:
        return f"a second route to {route.destination} in one table", ROUTE_ALREADY_EXISTS
    seen.add(key)
    if table.kind is TableKind.GATEWAY and route.target not in _GATEWAY_TARGETS:
        return (
            f"a gateway route table cannot hold a route to a {route.target.value}",
            GATEWAY_ROUTE_TABLES,
        )
    return None


def _prefix_list_refusals(table: TableSpec, route: RouteSpec) -> list[Refusal]:
    problems = []
    if table.kind is TableKind.GATEWAY:
        problems.append(
            ("a gateway route table takes no prefix list destination", GATEWAY_ROUTE_TABLES)
        )
    elif route.target is TargetType.GATEWAY_LB_ENDPOINT:
        problems.append(("a prefix list cannot route to a VPC endpoint", PREFIX_LIST_TO_ENDPOINT))
    return [Refusal(table.name, route.name, route.destination, p, s) for p, s in problems]


def _cidr_refusals(
    table: TableSpec,
    route: RouteSpec,
    network: Network,
    vpc: Sequence[Network],
    subnets: frozenset[Network],
) -> list[Refusal]:
    def refusal(problem: str, source: str) -> list[Refusal]:
        return [Refusal(table.name, route.name, route.destination, problem, source)]

    same_family = [c for c in vpc if c.version == network.version]
    if network in same_family:
        return refusal(
            f"{network} is the VPC's own CIDR: the local route already has that destination",
            ROUTE_ALREADY_EXISTS,
        )
    inside = next((c for c in same_family if network.subnet_of(c)), None)  # type: ignore[arg-type]
    source = SUBNET_ROUTE_TABLES if table.kind is TableKind.SUBNET else GATEWAY_ROUTE_TABLES
    if inside is None:
        if table.kind is TableKind.GATEWAY:
            return refusal(
                f"{network} is outside the VPC ({', '.join(map(str, same_family))}): a gateway "
                "route table routes only the VPC's own addresses",
                GATEWAY_ROUTE_TABLES,
            )
        return []
    # More specific than the local route of ``inside``.
    if network not in subnets:
        return refusal(
            f"{network} is more specific than the local route {inside} but is no subnet's "
            "CIDR: AWS accepts such a route only for exactly one subnet's CIDR",
            source,
        )
    allowed = _MORE_SPECIFIC_TARGETS[table.kind]
    if route.target is not TargetType.UNKNOWN and route.target not in allowed:
        names = ", ".join(sorted(t.value for t in allowed))
        return refusal(
            f"a route more specific than the local route {inside} cannot target a "
            f"{route.target.value} (only: {names})",
            source,
        )
    return []


def all_refusals(tables: Iterable[TableSpec]) -> list[Refusal]:
    networks = _Networks()
    return [refusal for table in tables for refusal in refusals(table, networks)]


# ---------------------------------------------------------------------------------------------
# From the routing intent (what the components will declare)

_INTENT_TARGETS = {
    "igw": TargetType.INTERNET_GATEWAY,
    "nat": TargetType.NAT_GATEWAY,
    "firewall": TargetType.GATEWAY_LB_ENDPOINT,
    "ingress-firewall": TargetType.GATEWAY_LB_ENDPOINT,
    "tgw": TargetType.TRANSIT_GATEWAY,
}


def tables_in_plan(
    plan: intent.VpcPlan, vpc_cidr: str, subnet_cidrs: Mapping[tuple[str, str], str]
) -> list[TableSpec]:
    """The route tables of a VPC plan as the components resolve them: ``subnet_cidrs`` by
    (tier, AZ ID), as :func:`egress_net.addressing.carve_for_tiers` lays them out."""
    specs = []
    for table in plan.tables:
        routes = []
        for route in table.routes:
            destination = route.destination
            if isinstance(destination, intent.SubnetCidr):
                destination = subnet_cidrs[(destination.tier, destination.az)]
            target = _INTENT_TARGETS[route.target.kind]
            routes.append(RouteSpec(destination, target, f"{route.step} → {route.target}"))
        specs.append(
            TableSpec(
                name=table.name,
                kind=TableKind.GATEWAY if table.tier == "igw-edge" else TableKind.SUBNET,
                vpc_cidrs=(vpc_cidr,),
                subnet_cidrs=tuple(subnet_cidrs.values()),
                routes=tuple(routes),
            )
        )
    return specs


# ---------------------------------------------------------------------------------------------
# From an offline recording

_VPC = "aws:ec2/vpc:Vpc"
_VPC_CIDR = "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"
_SUBNET = "aws:ec2/subnet:Subnet"
_ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
_ROUTE = "aws:ec2/route:Route"
_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"

# Route target properties (Pulumi names) and what they are; ``gatewayId`` is decided by ID.
_TARGET_PROPERTIES: tuple[tuple[str, TargetType], ...] = (
    ("natGatewayId", TargetType.NAT_GATEWAY),
    ("vpcEndpointId", TargetType.GATEWAY_LB_ENDPOINT),
    ("networkInterfaceId", TargetType.NETWORK_INTERFACE),
    ("transitGatewayId", TargetType.TRANSIT_GATEWAY),
    ("vpcPeeringConnectionId", TargetType.PEERING),
    ("egressOnlyGatewayId", TargetType.OTHER),
    ("localGatewayId", TargetType.OTHER),
    ("carrierGatewayId", TargetType.OTHER),
    ("coreNetworkArn", TargetType.OTHER),
    ("instanceId", TargetType.NETWORK_INTERFACE),  # routed to the instance's primary ENI
)


def target_of(route: dict[str, Any]) -> TargetType:
    """The target of a route given as Pulumi properties (``aws.ec2.Route`` or inline)."""
    gateway = route.get("gatewayId")
    if gateway:
        if gateway == "local":
            return TargetType.LOCAL
        if str(gateway).startswith("vgw-"):
            return TargetType.VIRTUAL_PRIVATE_GATEWAY
        if str(gateway).startswith("vpce-"):
            return TargetType.GATEWAY_LB_ENDPOINT
        return TargetType.INTERNET_GATEWAY
    for prop, kind in _TARGET_PROPERTIES:
        if route.get(prop):
            return kind
    return TargetType.UNKNOWN


def _destination_of(route: dict[str, Any], cidr_key: str) -> str:
    return str(
        route.get(cidr_key)
        or route.get("destinationIpv6CidrBlock")
        or route.get("ipv6CidrBlock")
        or route.get("destinationPrefixListId")
        or ""
    )


def tables_in_recording(recording: Recording) -> list[TableSpec]:
    """Each VPC route table of a recording with its routes, VPC CIDRs and subnets."""
    of = recording.of_type
    vpc_cidrs: dict[str, list[str]] = {
        v.id: [str(v.get("cidrBlock"))] for v in of(_VPC) if v.get("cidrBlock")
    }
    for extra in of(_VPC_CIDR):
        vpc_cidrs.setdefault(str(extra.get("vpcId")), []).append(str(extra.get("cidrBlock")))
    subnets: dict[str, list[str]] = {}
    for subnet in of(_SUBNET):
        for key in ("cidrBlock", "ipv6CidrBlock"):
            if subnet.get(key):
                subnets.setdefault(str(subnet.get("vpcId")), []).append(str(subnet.get(key)))
    edge = {str(a.get("routeTableId")) for a in of(_ASSOCIATION) if a.get("gatewayId")}
    routes: dict[str, list[RouteSpec]] = {}
    for table in of(_ROUTE_TABLE):
        for inline in table.get("routes") or []:
            routes.setdefault(table.id, []).append(
                RouteSpec(_destination_of(inline, "cidrBlock"), target_of(inline), table.name)
            )
    for route in of(_ROUTE):
        properties = {**route.inputs}
        routes.setdefault(str(route.get("routeTableId")), []).append(
            RouteSpec(
                _destination_of(properties, "destinationCidrBlock"),
                target_of(properties),
                _label(route),
            )
        )
    return [
        TableSpec(
            name=_label(table),
            kind=TableKind.GATEWAY if table.id in edge else TableKind.SUBNET,
            vpc_cidrs=tuple(vpc_cidrs.get(str(table.get("vpcId")), [])),
            subnet_cidrs=tuple(subnets.get(str(table.get("vpcId")), [])),
            routes=tuple(r for r in routes.get(table.id, []) if r.target is not TargetType.LOCAL),
        )
        for table in of(_ROUTE_TABLE)
    ]


def _label(resource: RecordedResource) -> str:
    return f"{resource.type.rsplit(':', 1)[-1]} {resource.name}"


def refusals_in_recording(recording: Recording) -> list[Refusal]:
    return all_refusals(tables_in_recording(recording))


# ---------------------------------------------------------------------------------------------
# From the routing graph (an offline recording or a live account)


def _graph_target(kind: str) -> TargetType:
    return {
        "local": TargetType.LOCAL,
        "igw": TargetType.INTERNET_GATEWAY,
        "nat": TargetType.NAT_GATEWAY,
        "vpce": TargetType.GATEWAY_LB_ENDPOINT,
        "tgw": TargetType.TRANSIT_GATEWAY,
    }.get(kind, TargetType.UNKNOWN)  # blackhole, or a target the graph does not name


def tables_in_graph(graph: RoutingGraph) -> list[TableSpec]:
    """Each VPC route table of a routing graph. The graph holds the local routes; one per VPC
    CIDR is the table's own (a live local route whose target was replaced counts as it)."""
    edge = {igw.edge_route_table_id for igw in graph.internet_gateways.values()}
    subnets: dict[str, list[str]] = {}
    for subnet in graph.subnets.values():
        subnets.setdefault(subnet.vpc_id, []).append(str(subnet.cidr))
        if subnet.ipv6_cidr is not None:  # a subnet's IPv6 block counts as its IPv4 one does
            subnets[subnet.vpc_id].append(str(subnet.ipv6_cidr))
    specs = []
    for table in graph.route_tables.values():
        vpc = graph.vpcs.get(table.vpc_id)
        cidrs = [str(c) for c in vpc.cidrs] if vpc else []
        routes = list(table.routes)
        for cidr in cidrs:
            own = [r for r in routes if str(r.destination) == cidr and not r.prefix_list_id]
            local = next((r for r in own if r.target_kind == "local"), own[0] if own else None)
            if local is not None:
                routes.remove(local)
        specs.append(
            TableSpec(
                name=table.id,
                kind=TableKind.GATEWAY if table.id in edge else TableKind.SUBNET,
                vpc_cidrs=tuple(cidrs),
                subnet_cidrs=tuple(subnets.get(table.vpc_id, [])),
                routes=tuple(_graph_routes(routes)),
            )
        )
    return specs


def _graph_routes(routes: Iterable[GraphRoute]) -> list[RouteSpec]:
    out: list[RouteSpec] = []
    prefix_lists: set[str] = set()
    for route in routes:
        target = _graph_target(str(route.target_kind))
        if route.prefix_list_id:
            if route.prefix_list_id not in prefix_lists:
                prefix_lists.add(route.prefix_list_id)
                out.append(RouteSpec(route.prefix_list_id, target, route.label))
            continue
        out.append(RouteSpec(str(route.destination), target, route.label))
    return out
