"""AWS's route rules on the routing graph (what `verify` reports) give exactly what the rules
give on the same tables written as text, the recorded-input path: same refusals, same text,
same order, on seeded recordings and on random graphs."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_network

import pytest
from graph_factory import HubSpokeFactory, added, find, new_resource, patched, route_table, tag
from hypothesis import given, settings
from hypothesis import strategies as st

from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import (
    InternetGateway,
    Route,
    RouteTable,
    RoutingGraph,
    Subnet,
    TargetKind,
    Vpc,
)
from egress_net.recording import RecordedResource, Recording
from egress_net.route_rules import (
    GATEWAY_ROUTE_TABLES,
    PREFIX_LIST_TO_ENDPOINT,
    ROUTE_ALREADY_EXISTS,
    SUBNET_ROUTE_TABLES,
    RouteSpec,
    TableKind,
    TableSpec,
    TargetType,
    all_refusals,
    refusals_in_graph,
)

EC2 = "aws:ec2/"
ROUTE = EC2 + "route:Route"
PREFIX_LIST = "pl-00000000000000001"

_TARGETS = {
    TargetKind.LOCAL: TargetType.LOCAL,
    TargetKind.INTERNET_GATEWAY: TargetType.INTERNET_GATEWAY,
    TargetKind.NAT_GATEWAY: TargetType.NAT_GATEWAY,
    TargetKind.VPC_ENDPOINT: TargetType.GATEWAY_LB_ENDPOINT,
    TargetKind.TRANSIT_GATEWAY: TargetType.TRANSIT_GATEWAY,
}


def as_text(graph: RoutingGraph) -> list[TableSpec]:
    """Each VPC route table of ``graph`` as the recorded-input path reads one: CIDRs as text;
    without the local routes (per VPC CIDR, the route to it with the local target, else the
    first route to it); one route per prefix list (the graph holds one per entry)."""
    edge = {igw.edge_route_table_id for igw in graph.internet_gateways.values()}
    specs = []
    for table in graph.route_tables.values():
        vpc = graph.vpcs.get(table.vpc_id)
        cidrs = vpc.cidrs if vpc else []
        subnets = [
            str(cidr)
            for s in graph.subnets.values()
            if s.vpc_id == table.vpc_id
            for cidr in (s.cidr, s.ipv6_cidr)
            if cidr is not None
        ]
        local: set[int] = set()
        for cidr in cidrs:
            to_it = [
                i
                for i, r in enumerate(table.routes)
                if i not in local and r.destination == cidr and not r.prefix_list_id
            ]
            if to_it:  # min keeps the first of equals: the first local one, else the first
                local.add(min(to_it, key=lambda i: table.routes[i].target_kind != "local"))
        lists: set[str] = set()
        routes = []
        for i, r in enumerate(table.routes):
            if i in local or r.prefix_list_id in lists:
                continue
            if r.prefix_list_id:
                lists.add(r.prefix_list_id)
            target = _TARGETS.get(r.target_kind, TargetType.UNKNOWN)
            routes.append(RouteSpec(r.prefix_list_id or str(r.destination), target, r.label))
        kind = TableKind.GATEWAY if table.id in edge else TableKind.SUBNET
        specs.append(
            TableSpec(table.id, kind, tuple(map(str, cidrs)), tuple(subnets), tuple(routes))
        )
    return specs


# ---------------------------------------------------------------------------------------------
# Routes AWS refuses, seeded in the hand-built hub and spokes recording

ALPHA_VPC_IPV6 = "2600:1f18:1:100::/56"
ALPHA_SUBNET_IPV6 = "2600:1f18:1:100::/64"


def _alpha_workload(rec: Recording) -> RecordedResource:
    return route_table(rec, "workload", "use1-az1", spoke="alpha")


_SEEDED = itertools.count(1)  # distinct names and IDs however many seeds one recording gets


def _routes(table: RecordedResource, *routes: dict[str, str]) -> list[RecordedResource]:
    return [_route(table, properties) for properties in routes]


def _route(table: RecordedResource, properties: dict[str, str]) -> RecordedResource:
    n = next(_SEEDED)
    return new_resource(
        ROUTE, f"seeded-{n}", f"r-seeded{n:012x}", routeTableId=table.id, **properties
    )


def _tgw_id(rec: Recording) -> str:
    (tgw,) = find(rec, "transitGateway:TransitGateway", lambda r: True)
    return tgw.id


def _prefix_list() -> RecordedResource:
    entries = [{"cidr": "192.168.0.0/16"}, {"cidr": "172.16.0.0/12"}]
    return new_resource(
        EC2 + "managedPrefixList:ManagedPrefixList", "seeded-list", PREFIX_LIST, entries=entries
    )


def more_specific_than_local(rec: Recording) -> Recording:
    """Inside alpha's 10.1.0.0/16 but no subnet's CIDR; then the VPC's CIDR itself."""
    tgw = _tgw_id(rec)
    return added(
        rec,
        *_routes(
            _alpha_workload(rec),
            {"destinationCidrBlock": "10.1.0.0/20", "transitGatewayId": tgw},
            {"destinationCidrBlock": "10.1.0.0/16", "transitGatewayId": tgw},
        ),
    )


def second_default_route(rec: Recording) -> Recording:
    route = {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-00000000000000001"}
    return added(rec, *_routes(_alpha_workload(rec), route))


def prefix_list_to_an_endpoint(rec: Recording) -> Recording:
    """Refused towards the endpoint, accepted towards the TGW; each entry checked once."""
    return added(
        rec,
        _prefix_list(),
        *_routes(
            _alpha_workload(rec),
            {"destinationPrefixListId": PREFIX_LIST, "vpcEndpointId": "vpce-00000000000000001"},
        ),
        *_routes(
            route_table(rec, "tgw", "use1-az1", spoke="beta"),
            {"destinationPrefixListId": PREFIX_LIST, "transitGatewayId": _tgw_id(rec)},
        ),
    )


def gateway_table(rec: Recording) -> Recording:
    """An edge table of the hub's IGW: a subnet route to an endpoint (accepted), the internet,
    a prefix list, a NAT gateway target, a second route to one subnet (all refused)."""
    (igw,) = find(rec, "internetGateway:InternetGateway", lambda r: True)
    (hub_vpc,) = find(rec, "ec2/vpc:Vpc", lambda r: tag(r, "role") == "egress")
    public, other_public, *_ = find(rec, "ec2/subnet:Subnet", lambda r: tag(r, "tier") == "public")
    table = new_resource(EC2 + "routeTable:RouteTable", "hub-edge", "rtb-edge", vpcId=hub_vpc.id)
    association = new_resource(
        EC2 + "routeTableAssociation:RouteTableAssociation",
        "hub-edge-igw",
        "rtbassoc-edge",
        routeTableId=table.id,
        gatewayId=igw.id,
    )
    endpoint = "vpce-00000000000000001"
    routes = _routes(
        table,
        {"destinationCidrBlock": public.get("cidrBlock"), "vpcEndpointId": endpoint},
        {"destinationCidrBlock": "0.0.0.0/0", "vpcEndpointId": endpoint},
        {"destinationPrefixListId": PREFIX_LIST, "vpcEndpointId": endpoint},
        {"destinationCidrBlock": other_public.get("cidrBlock"), "natGatewayId": "nat-1"},
        {"destinationCidrBlock": public.get("cidrBlock"), "networkInterfaceId": "eni-1"},
    )
    return added(rec, _prefix_list(), table, association, *routes)


def ipv6_routes(rec: Recording) -> Recording:
    """Alpha gets an IPv6 block and one subnet an IPv6 CIDR: a route to that subnet is
    accepted, a more specific block that is no subnet's and the VPC's own block are refused."""
    (vpc,) = find(rec, "ec2/vpc:Vpc", lambda r: tag(r, "spoke") == "alpha")
    (subnet,) = find(rec, "ec2/subnet:Subnet", lambda r: r.name == "alpha-workload-use1-az1")
    rec = patched(
        patched(rec, vpc, ipv6CidrBlock=ALPHA_VPC_IPV6), subnet, ipv6CidrBlock=ALPHA_SUBNET_IPV6
    )
    endpoint = "vpce-00000000000000001"
    return added(
        rec,
        *_routes(
            _alpha_workload(rec),
            {"destinationIpv6CidrBlock": "::/0", "egressOnlyGatewayId": "eigw-00000000000000001"},
            {"destinationIpv6CidrBlock": ALPHA_SUBNET_IPV6, "vpcEndpointId": endpoint},
            {"destinationIpv6CidrBlock": "2600:1f18:1:1ff::/64", "vpcEndpointId": endpoint},
            {"destinationIpv6CidrBlock": ALPHA_VPC_IPV6, "transitGatewayId": _tgw_id(rec)},
        ),
    )


# Each seed with what AWS refuses in it: (destination, rule), in the order of the tables.
REFUSED: list[tuple[Callable[[Recording], Recording], list[tuple[str, str]]]] = [
    (
        more_specific_than_local,
        [("10.1.0.0/20", SUBNET_ROUTE_TABLES), ("10.1.0.0/16", ROUTE_ALREADY_EXISTS)],
    ),
    (second_default_route, [("0.0.0.0/0", ROUTE_ALREADY_EXISTS)]),
    (prefix_list_to_an_endpoint, [(PREFIX_LIST, PREFIX_LIST_TO_ENDPOINT)]),
    (
        gateway_table,
        [
            ("0.0.0.0/0", GATEWAY_ROUTE_TABLES),
            (PREFIX_LIST, GATEWAY_ROUTE_TABLES),
            ("10.0.21.0/24", GATEWAY_ROUTE_TABLES),  # a NAT gateway target
            ("10.0.20.0/24", ROUTE_ALREADY_EXISTS),  # the same subnet twice
        ],
    ),
    (
        ipv6_routes,
        [
            ("2600:1f18:1:1ff::/64", SUBNET_ROUTE_TABLES),
            (ALPHA_VPC_IPV6, ROUTE_ALREADY_EXISTS),
        ],
    ),
]


@pytest.mark.parametrize(("seed", "refused"), REFUSED, ids=[seed.__name__ for seed, _ in REFUSED])
def test_refused_routes_in_the_graph_are_the_rules_on_its_tables_as_text(
    seed: Callable[[Recording], Recording], refused: list[tuple[str, str]]
) -> None:
    graph = graph_from_recordings([seed(HubSpokeFactory().build())])

    found = refusals_in_graph(graph)

    assert [(r.destination, r.source) for r in found] == refused
    assert found == all_refusals(as_text(graph))


def test_every_seed_at_once_refuses_the_same() -> None:
    rec = HubSpokeFactory().build()
    for seed, _ in REFUSED:
        rec = seed(rec)
    graph = graph_from_recordings([rec])
    assert len(refusals_in_graph(graph)) == sum(len(refused) for _, refused in REFUSED)
    assert refusals_in_graph(graph) == all_refusals(as_text(graph))


# ---------------------------------------------------------------------------------------------
# Random graphs: any routes, including local ones moved, replaced or missing

V4, V4_SECONDARY, V6 = (
    ip_network("10.1.0.0/16"),
    ip_network("100.64.0.0/24"),
    ip_network(ALPHA_VPC_IPV6),
)
SUBNETS = [
    (IPv4Network("10.1.0.0/24"), IPv6Network(ALPHA_SUBNET_IPV6)),
    (IPv4Network("10.1.1.0/24"), None),
    (IPv4Network("100.64.0.0/28"), None),
]
DESTINATIONS = [
    V4,
    V4_SECONDARY,
    V6,
    *(s for s, _ in SUBNETS),
    IPv6Network(ALPHA_SUBNET_IPV6),
    ip_network("10.1.0.0/25"),  # more specific than local, no subnet's CIDR
    ip_network("2600:1f18:1:1ff::/64"),
    ip_network("0.0.0.0/0"),
    ip_network("::/0"),
    ip_network("10.0.0.0/8"),  # holds the VPC
    ip_network("192.168.0.0/16"),
]

any_route = st.builds(
    Route,
    destination=st.sampled_from(DESTINATIONS),
    target_kind=st.sampled_from(list(TargetKind)),
    target_id=st.sampled_from(["", "tgw-1", "vpce-1"]),
    prefix_list_id=st.sampled_from(["", "", "", "pl-1", "pl-2"]),
)


@st.composite
def graphs(draw: st.DrawFn) -> RoutingGraph:
    cidrs = draw(st.lists(st.sampled_from([V4, V4_SECONDARY, V6]), max_size=3))
    graph = RoutingGraph(vpcs={"vpc-1": Vpc("vpc-1", cidrs)})
    for i, (cidr, ipv6) in enumerate(draw(st.lists(st.sampled_from(SUBNETS), unique=True))):
        graph.subnets[f"subnet-{i}"] = Subnet(
            f"subnet-{i}", "vpc-1", cidr, "use1-az1", ipv6_cidr=ipv6
        )
    for t in range(draw(st.integers(1, 3))):
        table = RouteTable(f"rtb-{t}", draw(st.sampled_from(["vpc-1", "vpc-1", "vpc-gone"])))
        table.routes = draw(st.lists(any_route, max_size=6))
        for cidr in cidrs if draw(st.booleans()) else []:  # the local routes, anywhere
            where = draw(st.integers(0, len(table.routes)))
            table.routes.insert(where, Route(cidr, TargetKind.LOCAL))
        graph.route_tables[table.id] = table
        if draw(st.booleans()):
            graph.internet_gateways[f"igw-{t}"] = InternetGateway(f"igw-{t}", "vpc-1", table.id)
    return graph


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_random_graphs_refuse_what_their_tables_as_text_refuse(graph: RoutingGraph) -> None:
    assert refusals_in_graph(graph) == all_refusals(as_text(graph))
