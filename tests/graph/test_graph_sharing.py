"""What the tracer shares among packets changes no trace, and lookups match a plain scan.

The tracer traces the path past a TGW entry once per (TGW route table, AZ, destination) and
hands it to every packet entering there (``Tracer._shared_rest``). These tests trace the same
round trips with sharing and hop by hop, on a clean hub and on every seeded fault (loops,
blackholes, missing routes...), and require the very same traces.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

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
from hypothesis import given
from hypothesis import strategies as st
from test_graph_verify import FAULTS

from egress_net.graph.checks import DEFAULT_DESTINATION, find_spokes, run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import (
    IPAddress,
    Route,
    RouteTable,
    RoutingGraph,
    TargetKind,
    TgwRoute,
    TgwRouteTable,
    host_in,
)
from egress_net.graph.report import render_text
from egress_net.graph.tracer import Outcome, Tracer
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


@given(
    networks=st.lists(st.one_of(_V4, _V6), min_size=1, max_size=40),
    extra=st.lists(st.integers(0, 2**128 - 1), max_size=10),
)
def test_vpc_lookup_agrees_with_a_scan_in_both_families(
    networks: list[tuple[int, int, int]], extra: list[int]
) -> None:
    table = RouteTable("rtb-1", "vpc-1")
    for index, (version, address, length) in enumerate(networks):
        table.add(Route(_network(version, address, length), TargetKind.OTHER, f"t{index}"))

    for probe in _probes(networks, extra):
        assert table.lookup(probe) == _scan(table.routes, probe), probe


@given(
    networks=st.lists(st.one_of(_V4, _V6), min_size=1, max_size=40),
    extra=st.lists(st.integers(0, 2**128 - 1), max_size=10),
)
def test_tgw_lookup_agrees_with_a_scan_in_both_families(
    networks: list[tuple[int, int, int]], extra: list[int]
) -> None:
    table = TgwRouteTable("tgw-rtb-1", "tgw-1")
    for index, (version, address, length) in enumerate(networks):
        table.add(TgwRoute(_network(version, address, length), f"tgw-attach-{index}"))

    for probe in _probes(networks, extra):
        assert table.lookup(probe) == _scan(table.routes, probe), probe
