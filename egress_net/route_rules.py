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

The checks read :class:`TableSpec` values (CIDRs as text): :func:`tables_in_plan` builds them
from the routing intent and :func:`tables_in_recording` from an offline recording;
:func:`refusals_in_graph` checks the routing graph of either adapter as it is (its networks
are parsed already).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
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


@dataclass(frozen=True)
class _Vpc:
    """What every route table of one VPC is checked against, parsed once for all of them."""

    cidrs: dict[int, tuple[Network, ...]]  # by IP version, in the VPC's order
    subnet_cidrs: Sequence[Network]  # every subnet's IPv4 and IPv6 block

    @cached_property
    def subnets(self) -> frozenset[Network]:
        """Built on first use: only a route more specific than a local route needs it."""
        return frozenset(self.subnet_cidrs)


def _vpc(cidrs: Iterable[Network], subnets: Sequence[Network]) -> _Vpc:
    listed = tuple(cidrs)
    return _Vpc({v: tuple(c for c in listed if c.version == v) for v in (4, 6)}, subnets)


class _Networks(dict[str, Network | None]):
    """CIDR text → network (``None`` if it is not one), each text parsed once per batch of
    tables: every table of a VPC lists the same subnet CIDRs, and parsing them again for each
    of a thousand spokes' tables cost more than the checks themselves."""

    def __init__(self) -> None:
        super().__init__()
        self._vpcs: dict[tuple[tuple[str, ...], tuple[str, ...]], _Vpc] = {}

    def __missing__(self, text: str) -> Network | None:
        network = self[text] = _network(text)
        return network

    def vpc(self, cidrs: tuple[str, ...], subnet_cidrs: tuple[str, ...]) -> _Vpc:
        """A table's VPC parsed, built once per distinct pair of lists (a VPC's)."""
        found = self._vpcs.get((cidrs, subnet_cidrs))
        if found is None:
            vpc = _vpc(self._parsed(cidrs), self._parsed(subnet_cidrs))
            found = self._vpcs[(cidrs, subnet_cidrs)] = vpc
        return found

    def _parsed(self, texts: Iterable[str]) -> list[Network]:
        return [n for n in (self[text] for text in texts) if n is not None]


def _is_prefix_list(destination: str) -> bool:
    return destination.startswith("pl-")


def refusals(table: TableSpec, networks: _Networks | None = None) -> list[Refusal]:
    """Every route of ``table`` that EC2 would refuse, with the reason and the rule."""
    networks = _Networks() if networks is None else networks
    vpc = networks.vpc(table.vpc_cidrs, table.subnet_cidrs)
    found: list[Refusal] = []
    seen: set[str | Network] = set()
    for route in table.routes:
        network = networks[route.destination]  # None for a prefix list ID
        problem = _problem(table.kind, vpc, seen, route.destination, network, route.target)
        if problem is not None:
            found.append(Refusal(table.name, route.name, route.destination, *problem))
    return found


def _problem(
    kind: TableKind,
    vpc: _Vpc,
    seen: set[str | Network],
    destination: str | Network,
    network: Network | None,
    target: TargetType,
) -> tuple[str, str] | None:
    """What EC2 answers to one route of a table after the routes whose destinations are in
    ``seen``, as (problem, rule), or ``None`` when it accepts the route. ``destination`` is
    the route's as written (a CIDR or a prefix list ID), ``network`` the CIDR it means
    (``None`` when it is no CIDR)."""
    key = destination if network is None else network  # 10.1.7.9/16 is 10.1.0.0/16
    if key in seen:
        return f"a second route to {destination} in one table", ROUTE_ALREADY_EXISTS
    seen.add(key)
    if kind is TableKind.GATEWAY and target not in _GATEWAY_TARGETS:
        return (
            f"a gateway route table cannot hold a route to a {target.value}",
            GATEWAY_ROUTE_TABLES,
        )
    if network is not None:
        return _cidr_problem(kind, vpc, network, target)
    if isinstance(destination, str) and _is_prefix_list(destination):
        return _prefix_list_problem(kind, target)
    return None  # anything else is the API model check's to report


def _prefix_list_problem(kind: TableKind, target: TargetType) -> tuple[str, str] | None:
    if kind is TableKind.GATEWAY:
        return "a gateway route table takes no prefix list destination", GATEWAY_ROUTE_TABLES
    if target is TargetType.GATEWAY_LB_ENDPOINT:
        return "a prefix list cannot route to a VPC endpoint", PREFIX_LIST_TO_ENDPOINT
    return None


def _cidr_problem(
    kind: TableKind, vpc: _Vpc, network: Network, target: TargetType
) -> tuple[str, str] | None:
    same_family = vpc.cidrs[network.version]
    if network in same_family:
        return (
            f"{network} is the VPC's own CIDR: the local route already has that destination",
            ROUTE_ALREADY_EXISTS,
        )
    inside = next((c for c in same_family if network.subnet_of(c)), None)  # type: ignore[arg-type]
    source = SUBNET_ROUTE_TABLES if kind is TableKind.SUBNET else GATEWAY_ROUTE_TABLES
    if inside is None:
        if kind is TableKind.GATEWAY:
            return (
                f"{network} is outside the VPC ({', '.join(map(str, same_family))}): a gateway "
                "route table routes only the VPC's own addresses",
                GATEWAY_ROUTE_TABLES,
            )
        return None
    # More specific than the local route of ``inside``.
    if network not in vpc.subnets:
        return (
            f"{network} is more specific than the local route {inside} but is no subnet's "
            "CIDR: AWS accepts such a route only for exactly one subnet's CIDR",
            source,
        )
    allowed = _MORE_SPECIFIC_TARGETS[kind]
    if target is not TargetType.UNKNOWN and target not in allowed:
        names = ", ".join(sorted(t.value for t in allowed))
        return (
            f"a route more specific than the local route {inside} cannot target a "
            f"{target.value} (only: {names})",
            source,
        )
    return None


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


# What each graph target is to the rules; anything else (a blackhole, a peering connection, a
# gateway endpoint, "other") is a target the rules cannot tell.
_GRAPH_TARGETS: dict[str, TargetType] = {
    "local": TargetType.LOCAL,
    "igw": TargetType.INTERNET_GATEWAY,
    "nat": TargetType.NAT_GATEWAY,
    "vpce": TargetType.GATEWAY_LB_ENDPOINT,
    "tgw": TargetType.TRANSIT_GATEWAY,
}


def refusals_in_graph(graph: RoutingGraph) -> list[Refusal]:
    """Every route of the graph's VPC route tables that EC2 would refuse. The graph's networks
    are checked as they are (already parsed), each VPC's CIDRs and subnets parsed into one
    :class:`_Vpc` that all its tables share."""
    edge = {igw.edge_route_table_id for igw in graph.internet_gateways.values()}
    subnets: dict[str, list[Network]] = {}
    for subnet in graph.subnets.values():
        subnets.setdefault(subnet.vpc_id, []).append(subnet.cidr)
        if subnet.ipv6_cidr is not None:  # a subnet's IPv6 block counts as its IPv4 one does
            subnets[subnet.vpc_id].append(subnet.ipv6_cidr)
    vpcs: dict[str, _Vpc] = {}
    found: list[Refusal] = []
    for table in graph.route_tables.values():
        cidrs = graph.vpcs[table.vpc_id].cidrs if table.vpc_id in graph.vpcs else []
        vpc = vpcs.get(table.vpc_id)
        if vpc is None:
            vpc = vpcs[table.vpc_id] = _vpc(cidrs, subnets.get(table.vpc_id, []))
        kind = TableKind.GATEWAY if table.id in edge else TableKind.SUBNET
        seen: set[str | Network] = set()
        for route in _declared_routes(table.routes, cidrs):
            target = _GRAPH_TARGETS.get(route.target_kind, TargetType.UNKNOWN)
            destination = route.prefix_list_id or route.destination
            network = None if route.prefix_list_id else route.destination
            problem = _problem(kind, vpc, seen, destination, network, target)
            if problem is not None:
                found.append(Refusal(table.id, route.label, str(destination), *problem))
    return found


def _declared_routes(routes: list[GraphRoute], vpc_cidrs: Sequence[Network]) -> list[GraphRoute]:
    """A table's routes as they were declared: without the local routes (the graph holds one
    per VPC CIDR; a live local route whose target was replaced counts as it) and with one
    route per prefix list (the graph holds one per entry)."""
    declared = list(routes)
    for cidr in vpc_cidrs:
        own = [r for r in declared if r.destination == cidr and not r.prefix_list_id]
        if own:
            local = [r for r in own if r.target_kind == "local"]
            declared.remove((local or own)[0])
    prefix_lists: set[str] = set()
    once = []
    for route in declared:
        if route.prefix_list_id:
            if route.prefix_list_id in prefix_lists:
                continue
            prefix_lists.add(route.prefix_list_id)
        once.append(route)
    return once
