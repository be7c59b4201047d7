"""What the tracer shares among packets changes no trace, and lookups match a plain scan.

The tracer traces the path past a TGW entry once per (TGW route table, AZ, destination) and
hands it to every packet entering there (``Tracer._shared_rest``); symbolic traces share the
subtree past a TGW's choice among ENIs (``Tracer._shared_subtrees``). These tests trace the
same round trips and classes with sharing and hop by hop, on a clean hub and on every seeded
fault (loops, blackholes, missing routes...), and require the very same traces and reports.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Any

import pytest
from graph_factory import (
    HubSpokeFactory,
    added,
    find,
    new_resource,
    patched,
    route_table,
    tag,
    tgw_table,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_graph_verify import FAULTS

from egress_net.graph.checks import DEFAULT_DESTINATION, find_spokes, run_checks
from egress_net.graph.classes import ClassSpace
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import (
    IPAddress,
    Route,
    RouteTable,
    RoutingGraph,
    TargetKind,
    TgwAttachment,
    TgwRoute,
    TgwRouteTable,
    host_in,
)
from egress_net.graph.report import render_text
from egress_net.graph.tracer import SENTINEL_SOURCE, Outcome, Trace, Tracer
from egress_net.recording import Recording

AZ_IDS = ("use1-az1", "use1-az2", "use1-az4")
SPOKES = tuple((f"spoke-{i}", f"10.{i + 1}.0.0/16") for i in range(4))


def back_to_the_first_spoke(rec: Recording) -> Recording:
    """The spokes' TGW default route sent to the first spoke's attachment, whose subnets send
    everything back to the TGW: that spoke's packets loop through their own first places, which
    a rest traced from another spoke's entry never saw."""
    (default,) = find(
        rec,
        "transitgateway/route:Route",
        lambda r: r.get("transitGatewayRouteTableId") == tgw_table(rec, "spokes").id,
    )
    first = min(find(rec, "ec2/vpc:Vpc", lambda r: bool(tag(r, "spoke"))), key=lambda r: r.id)
    (attachment,) = find(rec, "vpcAttachment:VpcAttachment", lambda r: r.get("vpcId") == first.id)
    back = [
        new_resource(
            "aws:ec2/route:Route",
            f"back-{az}",
            f"r-0back{index}",
            routeTableId=route_table(rec, "tgw", az, tag(first, "spoke")).id,
            destinationCidrBlock="0.0.0.0/0",
            transitGatewayId=attachment.get("transitGatewayId"),
        )
        for index, az in enumerate(AZ_IDS)
    ]
    return added(patched(rec, default, transitGatewayAttachmentId=attachment.id), *back)


SEEDS: list[tuple[str, Callable[[Recording], Recording]]] = [
    ("clean", lambda rec: rec),
    *((fault, seed) for fault, seed, _ in FAULTS),
    ("TGW default route back to a spoke", back_to_the_first_spoke),
]


def hub(seed: Callable[[Recording], Recording]) -> RoutingGraph:
    return graph_from_recordings([seed(HubSpokeFactory(az_ids=AZ_IDS, spokes=SPOKES).build())])


def destinations(graph: RoutingGraph) -> list[IPAddress]:
    """The internet, each spoke, the hub, private space in no VPC, and an unrouted address."""
    spoke_hosts = [host_in(s.subnets[0].cidr) for s in find_spokes(graph)]
    hub_host = IPv4Address("10.0.0.10")
    return [DEFAULT_DESTINATION, *spoke_hosts, hub_host, IPv4Address("192.168.7.7")]


@pytest.mark.parametrize(("fault", "seed"), SEEDS, ids=[s[0] for s in SEEDS])
def test_shared_rests_give_exactly_the_hop_by_hop_round_trips(
    fault: str, seed: Callable[[Recording], Recording]
) -> None:
    graph = hub(seed)
    shared, direct = Tracer(graph), Tracer(graph, share_rests=False)
    subnets = [s for spoke in find_spokes(graph) for s in spoke.subnets]

    for destination in destinations(graph):
        # Several subnets per AZ: later ones get the shared rest; the second pass, backwards,
        # gives every subnet a rest first traced from another one.
        for subnet in [*subnets, *reversed(subnets)]:
            source = host_in(subnet.cidr)
            assert shared.round_trips(subnet.id, source, destination) == direct.round_trips(
                subnet.id, source, destination
            ), (fault, subnet.id, destination)

    # Private: the point is that sharing did happen, else the comparison proves nothing.
    assert shared._rests and not direct._rests


@pytest.mark.parametrize(("fault", "seed"), SEEDS, ids=[s[0] for s in SEEDS])
def test_the_report_is_the_same_with_and_without_shared_rests(
    fault: str, seed: Callable[[Recording], Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = hub(seed)
    shared = render_text(run_checks(graph))

    monkeypatch.setattr(
        "egress_net.graph.checks.Tracer",
        lambda graph, space: Tracer(graph, space, share_rests=False),
    )
    direct = render_text(run_checks(graph))

    assert shared == direct


def test_a_rest_that_loops_is_not_shared_and_each_loop_is_traced_from_its_packet() -> None:
    """The hop-by-hop trace's loop detection sees the packet's own hops, which a rest traced
    from the TGW entry does not: a looping rest is never handed out."""
    (seed,) = [s for f, s in SEEDS if f == "routing loop"]
    graph = hub(seed)
    shared, direct = Tracer(graph), Tracer(graph, share_rests=False)
    subnets = [s for spoke in find_spokes(graph) for s in spoke.subnets]

    for subnet in subnets:
        source = host_in(subnet.cidr)
        trips = shared.round_trips(subnet.id, source, DEFAULT_DESTINATION)
        assert trips == direct.round_trips(subnet.id, source, DEFAULT_DESTINATION)
        assert any(out.outcome is Outcome.LOOP for out, _ in trips)

    rests = [trace for rest in shared._rests.values() for trace in rest]
    assert rests and any(trace.outcome is Outcome.LOOP for trace in rests)


# -- longest-prefix match against a scan --------------------------------------------------


def _scan(routes: list[Route] | list[TgwRoute], probe: IPAddress) -> object:
    """The longest matching prefix by reading every route; the last added wins a tie."""
    matching = [r for r in routes if r.destination.version == probe.version]
    matching = [r for r in matching if probe in r.destination]
    if not matching:
        return None
    longest = max(r.destination.prefixlen for r in matching)
    return [r for r in matching if r.destination.prefixlen == longest][-1]


_V4 = st.tuples(st.just(4), st.integers(0, 2**32 - 1), st.integers(0, 32))
_V6 = st.tuples(st.just(6), st.integers(0, 2**128 - 1), st.integers(0, 128))


def _network(version: int, address: int, length: int) -> IPv4Network | IPv6Network:
    if version == 4:
        return IPv4Network((address, length), strict=False)
    return IPv6Network((address, length), strict=False)


def _probes(networks: list[tuple[int, int, int]], extra: list[int]) -> list[IPAddress]:
    """Random addresses of both families, and the first address of every route."""
    probes: list[IPAddress] = []
    for version, address, length in networks:
        probes.append(_network(version, address, length).network_address)
    for value in extra:
        probes += [IPv4Address(value % 2**32), IPv6Address(value)]
    return probes


# A table's prefixes in both families, and further addresses to look up.
ROUTE_PREFIXES = st.lists(st.one_of(_V4, _V6), min_size=1, max_size=40)
PROBES = st.lists(st.integers(0, 2**128 - 1), max_size=10)


@given(networks=ROUTE_PREFIXES, extra=PROBES)
def test_vpc_lookup_agrees_with_a_scan_in_both_families(
    networks: list[tuple[int, int, int]], extra: list[int]
) -> None:
    table = RouteTable("rtb-1", "vpc-1")
    for index, (version, address, length) in enumerate(networks):
        table.add(Route(_network(version, address, length), TargetKind.OTHER, f"t{index}"))

    for probe in _probes(networks, extra):
        assert table.lookup(probe) == _scan(table.routes, probe), probe


@given(networks=ROUTE_PREFIXES, extra=PROBES)
def test_tgw_lookup_agrees_with_a_scan_in_both_families(
    networks: list[tuple[int, int, int]], extra: list[int]
) -> None:
    table = TgwRouteTable("tgw-rtb-1", "tgw-1")
    for index, (version, address, length) in enumerate(networks):
        table.add(TgwRoute(_network(version, address, length), f"tgw-attach-{index}"))

    for probe in _probes(networks, extra):
        assert table.lookup(probe) == _scan(table.routes, probe), probe


# -- IPv6: the same sharing over a dual-stack hub ------------------------------------------

SPOKES_V6 = "2600:1f18:aaaa::/48"  # every spoke's IPv6 block is a /56 of it


def _v6_route(name: str, table: str, destination: str, **target: str) -> object:
    return new_resource(
        "aws:ec2/route:Route",
        name,
        f"r-0{name}",
        routeTableId=table,
        destinationIpv6CidrBlock=destination,
        **target,
    )


def dual_stack(rec: Recording) -> Recording:
    """Every VPC gets IPv6 blocks; spokes send ::/0 to the TGW, whose spokes table sends it to
    the hub; the hub's TGW subnets send it to the firewall, whose subnets send it out through
    an egress-only gateway and the spokes' IPv6 blocks back to the TGW (the egress table learns
    them by propagation)."""
    vpcs = sorted(find(rec, "ec2/vpc:Vpc", lambda r: True), key=lambda r: r.get("cidrBlock"))
    extra: list[object] = []
    for v, vpc in enumerate(vpcs):
        hub_vpc = not tag(vpc, "spoke")
        head = "2600:1f18:0:ff" if hub_vpc else f"2600:1f18:aaaa:{v:02x}"
        rec = patched(rec, vpc, ipv6CidrBlock=f"{head}00::/56")
        subnets = sorted(
            find(rec, "ec2/subnet:Subnet", lambda r, vpc=vpc: r.get("vpcId") == vpc.id),
            key=lambda r: r.get("cidrBlock"),
        )
        for s, subnet in enumerate(subnets):
            rec = patched(rec, subnet, ipv6CidrBlock=f"{head}{s:02x}::/64")
    (hub_vpc,) = find(rec, "ec2/vpc:Vpc", lambda r: not tag(r, "spoke"))
    (tgw,) = find(rec, "transitGateway:TransitGateway", lambda r: True)
    eigw = new_resource(
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "hub-eigw",
        "eigw-0hub",
        vpcId=hub_vpc.id,
    )
    extra.append(eigw)
    for az in AZ_IDS:
        endpoint = find(
            rec,
            "ec2/route:Route",
            lambda r, az=az: (
                r.get("routeTableId") == route_table(rec, "tgw", az).id
                and bool(r.get("vpcEndpointId"))
            ),
        )[0].get("vpcEndpointId")
        extra += [
            _v6_route(
                f"hubtgw6{az}", route_table(rec, "tgw", az).id, "::/0", vpcEndpointId=endpoint
            ),
            _v6_route(
                f"hubfw6{az}",
                route_table(rec, "firewall", az).id,
                "::/0",
                egressOnlyGatewayId=eigw.id,
            ),
            _v6_route(
                f"hubfwback6{az}",
                route_table(rec, "firewall", az).id,
                SPOKES_V6,
                transitGatewayId=tgw.id,
            ),
        ]
        for spoke in find(rec, "ec2/vpc:Vpc", lambda r: bool(tag(r, "spoke"))):
            extra.append(
                _v6_route(
                    f"{tag(spoke, 'spoke')}wl6{az}",
                    route_table(rec, "workload", az, tag(spoke, "spoke")).id,
                    "::/0",
                    transitGatewayId=tgw.id,
                )
            )
    extra.append(
        new_resource(
            "aws:ec2transitgateway/route:Route",
            "hub-tgw-route-spokes-v6-default",
            "tgw-route-0v6",
            transitGatewayRouteTableId=tgw_table(rec, "spokes").id,
            destinationCidrBlock="::/0",
            transitGatewayAttachmentId=find(
                rec, "vpcAttachment:VpcAttachment", lambda r: r.get("vpcId") == hub_vpc.id
            )[0].id,
        )
    )
    return added(rec, *extra)


def a_spoke_with_its_own_v6_exit(rec: Recording) -> Recording:
    """The dual-stack hub, and one spoke's ::/0 in one AZ straight to its own egress-only
    gateway: a bypass the shared rests must not hide from the other spokes' view either."""
    rec = dual_stack(rec)
    spoke = min(find(rec, "ec2/vpc:Vpc", lambda r: bool(tag(r, "spoke"))), key=lambda r: r.id)
    name = tag(spoke, "spoke")
    eigw = new_resource(
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "rogue-eigw",
        "eigw-0rogue",
        vpcId=spoke.id,
    )
    (default,) = find(rec, "ec2/route:Route", lambda r: r.name == f"{name}wl6{AZ_IDS[0]}")
    return added(patched(rec, default, transitGatewayId=None, egressOnlyGatewayId=eigw.id), eigw)


def a_v6_exit_in_the_hub(rec: Recording) -> Recording:
    """The dual-stack hub with the firewall's way back to the spokes sent, in one AZ, to a
    network interface the tracer does not follow (an exit)."""
    rec = dual_stack(rec)
    (back,) = find(rec, "ec2/route:Route", lambda r: r.name == f"hubfwback6{AZ_IDS[1]}")
    return patched(rec, back, transitGatewayId=None, networkInterfaceId="eni-0elsewhere")


SEEDS_V6: list[tuple[str, Callable[[Recording], Recording]]] = [
    ("dual stack", dual_stack),
    ("a spoke's own IPv6 exit", a_spoke_with_its_own_v6_exit),
    ("an IPv6 exit in the hub", a_v6_exit_in_the_hub),
    *(
        (f"dual stack, {fault}", lambda rec, seed=seed: dual_stack(seed(rec)))
        for fault, seed in SEEDS[1:]
    ),
]


def destinations_v6(graph: RoutingGraph) -> list[IPAddress]:
    """The IPv6 internet, each spoke's and the hub's IPv6 hosts, and unique-local space."""
    spoke_hosts = [host_in(s.subnets[0].ipv6_cidr) for s in find_spokes(graph)]
    hub_host = IPv6Address("2600:1f18:0:ff00::10")  # the hub's first IPv6 subnet
    return [IPv6Address("2606:4700::1111"), *spoke_hosts, hub_host, IPv6Address("fd00::7")]


@pytest.mark.parametrize(("fault", "seed"), SEEDS_V6, ids=[s[0] for s in SEEDS_V6])
def test_shared_rests_give_exactly_the_hop_by_hop_ipv6_round_trips(
    fault: str, seed: Callable[[Recording], Recording]
) -> None:
    graph = hub(seed)
    shared, direct = Tracer(graph), Tracer(graph, share_rests=False)
    subnets = [s for spoke in find_spokes(graph) for s in spoke.subnets]
    assert all(s.ipv6_cidr is not None for s in subnets)
    outcomes = set()

    for destination in destinations_v6(graph):
        for subnet in [*subnets, *reversed(subnets)]:
            source = host_in(subnet.ipv6_cidr)
            trips = shared.round_trips(subnet.id, source, destination)
            assert trips == direct.round_trips(subnet.id, source, destination), (
                fault,
                subnet.id,
                destination,
            )
            outcomes |= {out.outcome for out, _ in trips}

    # Sharing happened on IPv6 keys, and the packets did cross the hub to the internet.
    assert any(version == 6 for _, _, version, _ in shared._rests)
    assert Outcome.INTERNET in outcomes


# -- a loop through two TGW route tables --------------------------------------------------

PINGPONG = "192.168.7.0/24"


def ping_pong_between_two_spokes(rec: Recording) -> Recording:
    """``PINGPONG`` goes from the spokes' table to spoke-1, whose attachment uses a table of its
    own sending it to spoke-2, whose table sends it back to spoke-1; both spokes' TGW subnets
    send it to the TGW. Neither attachment is in appliance mode: no flow state is pinned, so
    each entry is a new (table, AZ, destination) to share the rest of the path from."""
    (tgw,) = find(rec, "transitGateway:TransitGateway", lambda r: True)
    vpcs = {tag(v, "spoke"): v for v in find(rec, "ec2/vpc:Vpc", lambda r: bool(tag(r, "spoke")))}
    attachments = {
        name: find(rec, "vpcAttachment:VpcAttachment", lambda r, v=v: r.get("vpcId") == v.id)[0]
        for name, v in vpcs.items()
    }
    extra: list[object] = []
    tables = {}
    for name, to in (("spoke-1", "spoke-2"), ("spoke-2", "spoke-1")):
        tables[name] = new_resource(
            "aws:ec2transitgateway/routeTable:RouteTable",
            f"pingpong-{name}",
            f"tgw-rtb-0pingpong{name[-1]}",
            transitGatewayId=tgw.id,
        )
        extra += [
            tables[name],
            new_resource(
                "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
                f"pingpong-assoc-{name}",
                f"tgw-assoc-0pingpong{name[-1]}",
                transitGatewayAttachmentId=attachments[name].id,
                transitGatewayRouteTableId=tables[name].id,
            ),
            new_resource(
                "aws:ec2transitgateway/route:Route",
                f"pingpong-route-{name}",
                f"tgw-route-0pingpong{name[-1]}",
                transitGatewayRouteTableId=tables[name].id,
                destinationCidrBlock=PINGPONG,
                transitGatewayAttachmentId=attachments[to].id,
            ),
        ]
        for index, az in enumerate(AZ_IDS):
            extra.append(
                new_resource(
                    "aws:ec2/route:Route",
                    f"pingpong-back-{name}-{az}",
                    f"r-0pingpong{name[-1]}{index}",
                    routeTableId=route_table(rec, "tgw", az, name).id,
                    destinationCidrBlock=PINGPONG,
                    transitGatewayId=tgw.id,
                )
            )
    extra.append(
        new_resource(
            "aws:ec2transitgateway/route:Route",
            "pingpong-route-spokes",
            "tgw-route-0pingpongspokes",
            transitGatewayRouteTableId=tgw_table(rec, "spokes").id,
            destinationCidrBlock=PINGPONG,
            transitGatewayAttachmentId=attachments["spoke-1"].id,
        )
    )
    return added(rec, *extra)


def test_a_loop_through_two_tgw_tables_is_traced_as_a_loop_from_every_subnet() -> None:
    """Each shared rest is traced by a run of its own; a run that re-enters the table of a
    rest still being traced must not start that rest over (it would again, and again)."""
    graph = hub(ping_pong_between_two_spokes)
    shared, direct = Tracer(graph), Tracer(graph, share_rests=False)
    (spoke,) = [s for s in find_spokes(graph) if s.name == "spoke-0"]
    destination = IPv4Address("192.168.7.7")

    for subnet in [*spoke.subnets, *reversed(spoke.subnets)]:
        source = host_in(subnet.cidr)
        trips = shared.round_trips(subnet.id, source, destination)
        assert trips == direct.round_trips(subnet.id, source, destination), subnet.id
        assert trips and all(out.outcome is Outcome.LOOP for out, _ in trips)

    assert shared._rests  # the second subnet of each AZ did trace a rest


def test_verify_reports_the_loop_through_two_tgw_tables_as_hop_by_hop_tracing_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = hub(ping_pong_between_two_spokes)
    shared = render_text(run_checks(graph))

    monkeypatch.setattr(
        "egress_net.graph.checks.Tracer",
        lambda graph, space: Tracer(graph, space, share_rests=False),
    )
    assert shared == render_text(run_checks(graph))


# -- random misroutings ------------------------------------------------------------------

# More specific than what the hub routes, so each one changes some packets' paths.
_MISROUTED = ("192.168.7.0/24", "198.51.100.0/24", "10.2.0.0/17", "10.3.32.0/19", "10.0.0.0/24")
_TIERS = (
    ("tgw", ""),
    ("firewall", ""),
    ("public", ""),
    *(("workload", n) for n, _ in SPOKES),
    *(("tgw", n) for n, _ in SPOKES),
)
_VPC_TARGETS = ("tgw", "firewall", "nat", "igw")
_TGW_TARGETS = ("blackhole", "hub", *(n for n, _ in SPOKES))


def misrouted(
    vpc_routes: list[tuple[int, int, int, int]], tgw_routes: list[tuple[int, int, int]]
) -> Callable[[Recording], Recording]:
    """The hub with extra routes: (tier, AZ, destination, target) in VPC tables, where a hub
    target (firewall, NAT, IGW) in a spoke's table becomes the TGW, and (table, destination,
    target) in the TGW's spokes and egress tables."""

    def seed(rec: Recording) -> Recording:
        (tgw,) = find(rec, "transitGateway:TransitGateway", lambda r: True)
        hub_routes = find(rec, "ec2/route:Route", lambda r: True)
        attachments = {
            tag(v, "spoke") or "hub": find(
                rec, "vpcAttachment:VpcAttachment", lambda r, v=v: r.get("vpcId") == v.id
            )[0].id
            for v in find(rec, "ec2/vpc:Vpc", lambda r: True)
        }
        extra = []
        for n, (tier, az, cidr, target) in enumerate(vpc_routes):
            (tier_name, spoke), az_id = _TIERS[tier], AZ_IDS[az]
            table = route_table(rec, tier_name, az_id, spoke)
            kind = "tgw" if spoke else _VPC_TARGETS[target]
            if kind == "tgw":
                key, value = "transitGatewayId", tgw.id
            else:
                own = route_table(
                    rec, {"firewall": "tgw", "nat": "firewall"}.get(kind, "public"), az_id
                )
                key = {"firewall": "vpcEndpointId", "nat": "natGatewayId", "igw": "gatewayId"}[kind]
                value = next(
                    r.get(key) for r in hub_routes if r.get("routeTableId") == own.id and r.get(key)
                )
            extra.append(
                new_resource(
                    "aws:ec2/route:Route",
                    f"mis-{n}",
                    f"r-0mis{n}",
                    routeTableId=table.id,
                    destinationCidrBlock=_MISROUTED[cidr],
                    **{key: value},
                )
            )
        for n, (table, cidr, target) in enumerate(tgw_routes):
            name = _TGW_TARGETS[target]
            to = (
                {"blackhole": True}
                if name == "blackhole"
                else {"transitGatewayAttachmentId": attachments[name]}
            )
            extra.append(
                new_resource(
                    "aws:ec2transitgateway/route:Route",
                    f"mistgw-{n}",
                    f"tgw-route-0mis{n}",
                    transitGatewayRouteTableId=tgw_table(rec, ("spokes", "egress")[table]).id,
                    destinationCidrBlock=_MISROUTED[cidr],
                    **to,
                )
            )
        return added(rec, *extra)

    return seed


# Misroutings: (tier, AZ, prefix, target) VPC routes and (table, prefix, target) TGW routes.
VPC_MISROUTES = st.lists(
    st.tuples(
        st.integers(0, len(_TIERS) - 1),
        st.integers(0, len(AZ_IDS) - 1),
        st.integers(0, len(_MISROUTED) - 1),
        st.integers(0, len(_VPC_TARGETS) - 1),
    ),
    max_size=6,
    unique_by=lambda r: (r[0], r[1], r[2]),
)
TGW_MISROUTES = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.integers(0, len(_MISROUTED) - 1),
        st.integers(0, len(_TGW_TARGETS) - 1),
    ),
    max_size=4,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=25, deadline=None)
@given(vpc_routes=VPC_MISROUTES, tgw_routes=TGW_MISROUTES)
def test_shared_rests_agree_with_hop_by_hop_tracing_under_random_misroutings(
    vpc_routes: list[tuple[int, int, int, int]], tgw_routes: list[tuple[int, int, int]]
) -> None:
    graph = hub(misrouted(vpc_routes, tgw_routes))
    shared, direct = Tracer(graph), Tracer(graph, share_rests=False)
    subnets = [s for spoke in find_spokes(graph) for s in spoke.subnets]
    probes = [host_in(IPv4Network(c)) for c in _MISROUTED]

    for destination in [*destinations(graph), *probes]:
        for subnet in [*subnets, *reversed(subnets)]:
            source = host_in(subnet.cidr)
            assert shared.round_trips(subnet.id, source, destination) == direct.round_trips(
                subnet.id, source, destination
            ), (subnet.id, destination)


# -- symbolic subtrees past a TGW's choice among ENIs --------------------------------------


class SharingSpy:
    """Counts the traces shared subtrees handed out against those traced for them: more handed
    out than traced means a subtree served several packets, else a comparison proves nothing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.traced = self.handed = 0
        trace, share = Tracer._trace_subtree, Tracer._shared_subtrees

        def traced(tracer: Tracer, *args: object) -> object:
            subtree = trace(tracer, *args)  # type: ignore[arg-type]
            self.traced += len(subtree.traces)
            return subtree

        def shared(tracer: Tracer, *args: object) -> object:
            traces = share(tracer, *args)  # type: ignore[arg-type]
            self.handed += len(traces or ())
            return traces

        monkeypatch.setattr(Tracer, "_trace_subtree", traced)
        monkeypatch.setattr(Tracer, "_shared_subtrees", shared)


def suffixes(graph: RoutingGraph, share_rests: bool) -> list[list[Trace]]:
    """What the class analysis traces past each spoke's TGW entry: every class of both
    families, from the spoke's attachment in each AZ."""
    space = ClassSpace(graph)
    tracer = Tracer(graph, space, share_rests=share_rests)
    spoke_vpcs = {spoke.vpc_id for spoke in find_spokes(graph)}
    found = []
    for version in (4, 6):
        classes = space.classes[version]
        for attachment in graph.tgw_attachments.values():
            if attachment.vpc_id not in spoke_vpcs or not classes:
                continue
            for az_id in sorted({graph.subnets[s].az_id for s in attachment.subnet_ids}):
                found.append(
                    tracer.trace_from_tgw(
                        attachment.id,
                        az_id,
                        SENTINEL_SOURCE[version],
                        classes[0].representative,
                        span=(0, len(classes)),
                        atom=0,
                    )
                )
    return found


def reports_both_ways(
    graph: RoutingGraph, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """The report, its count of class traces and its listing, with sharing and hop by hop."""
    shared = run_checks(graph)
    with monkeypatch.context() as patch:
        patch.setattr(
            "egress_net.graph.checks.Tracer",
            lambda graph, space: Tracer(graph, space, share_rests=False),
        )
        direct = run_checks(graph)
    return (
        (render_text(shared), shared.class_traces, shared.listing),
        (render_text(direct), direct.class_traces, direct.listing),
    )


@pytest.mark.parametrize(
    ("fault", "seed"), [*SEEDS, *SEEDS_V6], ids=[s[0] for s in [*SEEDS, *SEEDS_V6]]
)
def test_shared_subtrees_give_exactly_the_hop_by_hop_class_traces_and_report(
    fault: str, seed: Callable[[Recording], Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = hub(seed)

    assert suffixes(graph, share_rests=True) == suffixes(graph, share_rests=False)
    shared, direct = reports_both_ways(graph, monkeypatch)
    assert shared == direct


@pytest.mark.parametrize("seed", [lambda rec: rec, dual_stack], ids=["IPv4", "dual stack"])
def test_each_subtree_is_traced_once_for_every_az_the_packets_entered_from(
    seed: Callable[[Recording], Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = hub(seed)
    spy = SharingSpy(monkeypatch)

    suffixes(graph, share_rests=True)

    # Four spokes entering in three AZs each: twelve entries into the same subtrees.
    assert spy.traced and spy.handed == 12 * spy.traced


@pytest.mark.parametrize("fault", ["routing loop", "egress attachment on the wrong TGW table"])
def test_a_subtree_that_loops_is_traced_but_never_handed_out(
    fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loop is found by the hop-by-hop trace at the first place seen twice, counting the
    packet's own places, which a subtree traced from no past does not know."""
    (seed,) = [s for f, s in SEEDS if f == fault]
    spy = SharingSpy(monkeypatch)

    found = suffixes(hub(seed), share_rests=True)

    assert spy.traced and not spy.handed
    assert any(t.outcome is Outcome.LOOP for traces in found for t in traces)


def behind_a_tgw_firewall(graph: RoutingGraph) -> RoutingGraph:
    """The spokes' TGW table sends everything to a firewall attached natively to the TGW, in
    every AZ, whose table sends it on to the hub: a packet reaches the hub's ENIs with the
    firewall's AZ pinned in its flow, which a subtree past the hub must keep apart."""
    (spoke,) = [s for s in find_spokes(graph) if s.name == "spoke-0"]
    (entry,) = [a for a in graph.tgw_attachments.values() if a.vpc_id == spoke.vpc_id]
    (hub_attachment,) = [a for a in graph.tgw_attachments.values() if a.appliance_mode]
    firewall = TgwAttachment(
        "tgw-attach-0fw",
        entry.tgw_id,
        "network-function",
        route_table_id="tgw-rtb-0fw",
        az_ids=list(AZ_IDS),
    )
    graph.tgw_attachments[firewall.id] = firewall
    graph.tgw_route_tables[firewall.route_table_id] = TgwRouteTable(
        firewall.route_table_id,
        entry.tgw_id,
        [TgwRoute(ip_network("0.0.0.0/0"), hub_attachment.id)],
    )
    spokes_table = graph.tgw_route_tables[entry.route_table_id]
    graph.tgw_route_tables[spokes_table.id] = TgwRouteTable(
        spokes_table.id,
        entry.tgw_id,
        [
            TgwRoute(r.destination, firewall.id) if r.attachment_id == hub_attachment.id else r
            for r in spokes_table.routes
        ],
    )
    return graph


def test_subtrees_reached_with_different_flows_are_not_shared() -> None:
    graph = behind_a_tgw_firewall(hub(lambda rec: rec))

    found = suffixes(graph, share_rests=True)

    assert found == suffixes(graph, share_rests=False)
    pinned = {tuple(t.flow.pinned_enis.items()) for traces in found for t in traces}
    assert len({flow[0] for flow in pinned if flow}) == len(AZ_IDS)  # every firewall AZ


def test_subtrees_for_different_spans_of_one_atom_are_not_shared() -> None:
    """The span decides where each table cuts: the same atom with a narrower span is
    another subtree."""
    graph = hub(lambda rec: rec)
    space = ClassSpace(graph)
    atom = space.index_of(DEFAULT_DESTINATION)
    (entry,) = [
        a for a in graph.tgw_attachments.values() if a.vpc_id == find_spokes(graph)[0].vpc_id
    ]

    def traced(tracer: Tracer) -> list[list[Trace]]:
        return [
            tracer.trace_from_tgw(
                entry.id,
                "use1-az1",
                SENTINEL_SOURCE[4],
                DEFAULT_DESTINATION,
                (atom, atom + width),
                atom,
            )
            for width in (2, 1, 2)
        ]

    shared = traced(Tracer(graph, space))

    assert shared == traced(Tracer(graph, space, share_rests=False))
    assert {t.span for t in shared[0]} != {t.span for t in shared[1]}


def test_an_eni_choice_inside_a_shared_subtree_is_traced_hop_by_hop() -> None:
    """With every attachment in appliance mode a subtree past the hub's ENI choice meets the
    spokes' choices too: those are traced within it, not shared again."""
    graph = hub(lambda rec: rec)
    for attachment in graph.tgw_attachments.values():
        attachment.appliance_mode = True

    found = suffixes(graph, share_rests=True)

    assert found == suffixes(graph, share_rests=False)
    assert any(sum(h.flow_hash for h in t.hops) > 1 for traces in found for t in traces)


def test_a_subtree_through_one_of_the_packets_own_places_is_not_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """White box: the guard for a subtree passing a place where the packet already was with
    the same addresses (hop by hop, a loop there) refuses to share it."""
    graph = hub(lambda rec: rec)
    share = Tracer._shared_subtrees
    refused: list[bool] = []

    def with_a_visited_place(tracer: Tracer, branches: list[tuple[Any, Any]]) -> object:
        state, position = branches[0]
        state.seen.add(next(iter(tracer._subtree(state, position).visited)))
        result = share(tracer, branches)
        refused.append(result is None)
        return result

    monkeypatch.setattr(Tracer, "_shared_subtrees", with_a_visited_place)
    suffixes(graph, share_rests=True)

    assert refused and all(refused)


def test_without_shared_rests_no_subtree_is_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = SharingSpy(monkeypatch)

    suffixes(hub(lambda rec: rec), share_rests=False)

    assert spy.traced == spy.handed == 0


@settings(max_examples=25, deadline=None)
@given(vpc_routes=VPC_MISROUTES, tgw_routes=TGW_MISROUTES)
def test_shared_subtrees_agree_with_hop_by_hop_tracing_under_random_misroutings(
    vpc_routes: list[tuple[int, int, int, int]], tgw_routes: list[tuple[int, int, int]]
) -> None:
    graph = hub(misrouted(vpc_routes, tgw_routes))

    assert suffixes(graph, share_rests=True) == suffixes(graph, share_rests=False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        shared, direct = reports_both_ways(graph, monkeypatch)
    assert shared == direct
