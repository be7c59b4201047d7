"""The tracer and the recording adapter on small graphs: AWS forwarding rules, one at a time."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from graph_factory import (
    HubSpokeFactory,
    find,
    new_resource,
    patched,
    route_table,
    routes_in,
    tag,
    tgw_table,
    without,
)
from hypothesis import given
from hypothesis import strategies as st

from egress_net.graph.checks import run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import (
    FirewallEndpoint,
    InternetGateway,
    NatGateway,
    Route,
    RouteTable,
    RoutingGraph,
    Subnet,
    TargetKind,
    TgwAttachment,
    TgwRoute,
    TgwRouteTable,
    TransitGateway,
    Vpc,
)
from egress_net.graph.report import notation
from egress_net.graph.tracer import HopKind, Outcome, Tracer
from egress_net.recording import Recording

NET = IPv4Network
WORKLOAD = {"egress-net:tier": "workload"}
DESTINATION = IPv4Address("198.51.100.10")


def problems(graph: RoutingGraph) -> list[str]:
    return [p for f in run_checks(graph).findings for p in f.problems]


# -- longest-prefix match --------------------------------------------------------------------


def test_the_most_specific_vpc_route_wins() -> None:
    table = RouteTable("rtb-1", "vpc-1")
    table.add(Route(NET("0.0.0.0/0"), TargetKind.INTERNET_GATEWAY, "igw-1"))
    table.add(Route(NET("10.0.0.0/8"), TargetKind.TRANSIT_GATEWAY, "tgw-1"))
    table.add(Route(NET("10.1.2.0/24"), TargetKind.BLACKHOLE))

    assert table.lookup(IPv4Address("10.1.2.3")).target_kind is TargetKind.BLACKHOLE  # type: ignore[union-attr]
    assert table.lookup(IPv4Address("10.9.9.9")).target_id == "tgw-1"  # type: ignore[union-attr]
    assert table.lookup(IPv4Address("8.8.8.8")).target_id == "igw-1"  # type: ignore[union-attr]


def test_an_explicit_cidr_beats_a_prefix_list_entry_for_the_same_prefix() -> None:
    table = RouteTable("rtb-1", "vpc-1")
    table.add(Route(NET("10.0.0.0/8"), TargetKind.TRANSIT_GATEWAY, "tgw-1"))
    table.add(Route(NET("10.0.0.0/8"), TargetKind.VPC_ENDPOINT, "vpce-1", prefix_list_id="pl-1"))

    assert table.lookup(IPv4Address("10.0.0.1")).target_id == "tgw-1"  # type: ignore[union-attr]


def test_a_static_tgw_route_beats_a_propagated_one_for_the_same_prefix() -> None:
    table = TgwRouteTable("tgw-rtb-1", "tgw-1")
    table.add(TgwRoute(NET("10.1.0.0/16"), "tgw-attach-static"))
    table.add(TgwRoute(NET("10.1.0.0/16"), "tgw-attach-propagated", origin="propagated"))

    assert table.lookup(IPv4Address("10.1.0.9")).attachment_id == "tgw-attach-static"  # type: ignore[union-attr]
    assert table.lookup(IPv4Address("10.2.0.9")) is None


# -- the recording adapter applies what AWS does implicitly ----------------------------------


def test_a_subnet_without_association_uses_the_main_route_table(hub_recording: Recording) -> None:
    spoke_table = route_table(hub_recording, "workload", "use1-az1", spoke="alpha")
    (association,) = find(
        hub_recording,
        "ec2/routeTableAssociation:RouteTableAssociation",
        lambda r: r.get("routeTableId") == spoke_table.id,
    )
    (vpc,) = find(hub_recording, "ec2/vpc:Vpc", lambda r: r.id == spoke_table.get("vpcId"))
    # The main table: only the local route, so the instance cannot leave its VPC.
    rec = patched(
        without(hub_recording, [association]), vpc, mainRouteTableId="rtb-0main0000000000"
    )

    found = problems(graph_from_recordings([rec]))

    assert any(
        p.startswith("outbound no-route: no route to 198.51.100.10 in rtb-0main") for p in found
    )


def test_tgw_defaults_associate_and_propagate_new_attachments(hub_recording: Recording) -> None:
    graph = graph_from_recordings([hub_recording])
    spokes, egress = tgw_table(hub_recording, "spokes").id, tgw_table(hub_recording, "egress").id
    spoke_attachments = [a for a in graph.tgw_attachments.values() if not a.appliance_mode]

    assert {a.route_table_id for a in spoke_attachments} == {spokes}
    assert graph.tgw_route_tables[egress].propagations == {a.id for a in spoke_attachments}
    # The egress attachment opted out of both defaults and is associated explicitly.
    (hub,) = [a for a in graph.tgw_attachments.values() if a.appliance_mode]
    assert (
        hub.route_table_id == egress and hub.id not in graph.tgw_route_tables[spokes].propagations
    )


def test_an_attachment_opting_out_of_the_default_association_is_associated_nowhere(
    hub_recording: Recording,
) -> None:
    (attachment,) = find(
        hub_recording, "vpcAttachment:VpcAttachment", lambda r: tag(r, "spoke") == "alpha"
    )
    rec = patched(hub_recording, attachment, transitGatewayDefaultRouteTableAssociation=False)

    found = problems(graph_from_recordings([rec]))

    assert any(
        f"attachment {attachment.id} is associated with no TGW route table" in p for p in found
    )


def test_an_accepter_carries_the_default_flags_for_a_cross_account_attachment(
    hub_recording: Recording,
) -> None:
    (attachment,) = find(
        hub_recording, "vpcAttachment:VpcAttachment", lambda r: tag(r, "spoke") == "alpha"
    )
    accepter = new_resource(
        "aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter",
        "alpha-accept",
        attachment.id,
        transitGatewayAttachmentId=attachment.id,
        transitGatewayDefaultRouteTablePropagation=False,
    )
    rec = Recording("egress-net", "t", [*hub_recording.resources, accepter])

    found = problems(graph_from_recordings([rec]))

    assert any("reply no-route: no route to 10.1." in p for p in found)


@pytest.mark.parametrize(
    ("attachment_owner", "associated"),
    [("444455556666", True), ("111122223333", False)],
    ids=["another-account-flag-ignored", "same-account-flag-honoured"],
)
def test_a_shared_tgw_applies_its_defaults_whatever_another_accounts_attachment_asks(
    hub_recording: Recording, attachment_owner: str, associated: bool
) -> None:
    # AWS ignores the default-table flags of an attachment to a TGW shared from another
    # account; without an accepter, the TGW's own defaults decide.
    (attachment,) = find(
        hub_recording, "vpcAttachment:VpcAttachment", lambda r: tag(r, "spoke") == "alpha"
    )
    (tgw,) = find(hub_recording, "transitGateway:TransitGateway", lambda r: True)
    rec = patched(hub_recording, tgw, ownerId="111122223333")
    rec = patched(
        rec,
        attachment,
        vpcOwnerId=attachment_owner,
        transitGatewayDefaultRouteTableAssociation=False,
    )

    graph = graph_from_recordings([rec])

    spokes = tgw_table(hub_recording, "spokes").id
    assert graph.tgw_attachments[attachment.id].route_table_id == (spokes if associated else "")


def test_endpoints_are_placed_by_their_subnet_not_by_the_az_name() -> None:
    recording = HubSpokeFactory().build()  # sync states keyed by deliberately shuffled AZ names
    graph = graph_from_recordings([recording])

    for endpoint in graph.firewall_endpoints.values():
        assert endpoint.az_id == graph.subnets[endpoint.subnet_id].az_id
    assert {e.az_id for e in graph.firewall_endpoints.values()} == {"use1-az1", "use1-az2"}


# -- transit gateway AZ behaviour ------------------------------------------------------------


def test_appliance_mode_explores_every_az_and_pins_the_reply_to_the_same_endpoint(
    hub_recording: Recording,
) -> None:
    graph = graph_from_recordings([hub_recording])
    source = next(
        s for s in graph.subnets.values() if s.tier == "workload" and s.az_id == "use1-az1"
    )

    trips = Tracer(graph).round_trips(source.id, IPv4Address("10.1.0.10"), DESTINATION)

    assert {out.firewall_endpoints[0] for out, _ in trips} == set(graph.firewall_endpoints)
    for outbound, replies in trips:
        assert [r.firewall_endpoints for r in replies] == [outbound.firewall_endpoints]
    primary = [out for out, _ in trips if out.primary]
    assert [notation(out) for out in primary] == [
        "Instance(az1) → TGW → Network Firewall(az1) → NAT gateway(az1) → Internet gateway"
    ]


def test_without_appliance_mode_cross_az_spoke_traffic_is_asymmetric(
    hub_recording: Recording,
) -> None:
    (egress,) = find(
        hub_recording,
        "vpcAttachment:VpcAttachment",
        lambda r: r.get("applianceModeSupport") == "enable",
    )
    rec = patched(hub_recording, egress, applianceModeSupport="disable")

    found = problems(graph_from_recordings([rec]))

    assert any("asymmetric: out through vpce-" in p for p in found), found
    # Egress to the internet stays symmetric: it never crosses an AZ.
    assert not any(p for p in found if not p.startswith("to "))


def two_vpcs(appliance_mode: bool = False) -> RoutingGraph:
    """VPC a routes 10.2.0.0/16 and 10.3.0.0/16 (two routes) to the TGW; VPC b holds both."""
    g = RoutingGraph()
    g.vpcs["vpc-a"] = Vpc("vpc-a", [NET("10.1.0.0/16")], "a")
    g.vpcs["vpc-b"] = Vpc("vpc-b", [NET("10.2.0.0/16"), NET("10.3.0.0/16")], "b")
    g.subnets["sn-a"] = Subnet("sn-a", "vpc-a", NET("10.1.0.0/24"), "use1-az1", "rt-a")
    g.subnets["sn-b2"] = Subnet("sn-b2", "vpc-b", NET("10.2.0.0/24"), "use1-az1", "rt-b")
    g.subnets["sn-b3"] = Subnet("sn-b3", "vpc-b", NET("10.3.0.0/24"), "use1-az1", "rt-b")
    table = g.route_tables["rt-a"] = RouteTable("rt-a", "vpc-a")
    table.add(Route(NET("10.1.0.0/16"), TargetKind.LOCAL))
    table.add(Route(NET("10.2.0.0/16"), TargetKind.TRANSIT_GATEWAY, "tgw-1"))
    table.add(Route(NET("10.3.0.0/16"), TargetKind.TRANSIT_GATEWAY, "tgw-1"))
    table = g.route_tables["rt-b"] = RouteTable("rt-b", "vpc-b")
    table.add(Route(NET("10.2.0.0/16"), TargetKind.LOCAL))
    table.add(Route(NET("10.3.0.0/16"), TargetKind.LOCAL))
    table.add(Route(NET("10.1.0.0/16"), TargetKind.TRANSIT_GATEWAY, "tgw-1"))
    g.transit_gateways["tgw-1"] = TransitGateway("tgw-1")
    g.tgw_attachments["att-a"] = TgwAttachment(
        "att-a", "tgw-1", vpc_id="vpc-a", subnet_ids=["sn-a"], route_table_id="rt-tgw"
    )
    g.tgw_attachments["att-b"] = TgwAttachment(
        "att-b",
        "tgw-1",
        vpc_id="vpc-b",
        subnet_ids=["sn-b2"],
        route_table_id="rt-tgw",
        appliance_mode=appliance_mode,
    )
    g.tgw_route_tables["rt-tgw"] = TgwRouteTable(
        "rt-tgw",
        "tgw-1",
        [
            TgwRoute(NET("10.1.0.0/16"), "att-a", origin="propagated"),
            TgwRoute(NET("10.2.0.0/16"), "att-b", origin="propagated"),
            TgwRoute(NET("10.3.0.0/16"), "att-b", origin="propagated"),
        ],
    )
    return g


def test_each_packet_entering_the_tgw_names_the_route_that_sent_it() -> None:
    """The same attachment and AZ entered by two routes of one table: the hop says which."""
    tracer = Tracer(two_vpcs())
    source = IPv4Address("10.1.0.10")

    vias = [
        next(h.via for h in trace.hops if h.kind is HopKind.TGW_ENI)
        for destination in ("10.2.0.10", "10.3.0.10", "10.2.0.11")
        for trace in tracer.trace_from_subnet("sn-a", source, IPv4Address(destination))
    ]

    assert vias == [
        "rt-a: 10.2.0.0/16 → tgw-1",
        "rt-a: 10.3.0.0/16 → tgw-1",
        "rt-a: 10.2.0.0/16 → tgw-1",
    ]


@pytest.mark.parametrize("appliance_mode", [False, True])
def test_only_appliance_mode_makes_the_tgw_choose_an_eni_by_flow_hash(
    appliance_mode: bool,
) -> None:
    ((outbound, (reply,)),) = Tracer(two_vpcs(appliance_mode)).round_trips(
        "sn-a", IPv4Address("10.1.0.10"), IPv4Address("10.3.0.10")
    )

    (into_b,) = [h for h in outbound.hops if h.kind is HopKind.TGW_ENI and h.resource_id == "att-b"]
    assert into_b.flow_hash is appliance_mode
    assert outbound.flow.pinned_enis == ({"att-b": "use1-az1"} if appliance_mode else {})
    assert outbound.end_subnet_id == "sn-b3" and reply.end_subnet_id == "sn-a"
    assert not any(h.flow_hash for h in reply.hops)  # the reply keeps the pinned ENI


def test_an_az_without_an_attachment_subnet_cannot_reach_the_tgw(hub_recording: Recording) -> None:
    (attachment,) = find(
        hub_recording, "vpcAttachment:VpcAttachment", lambda r: tag(r, "spoke") == "beta"
    )
    first_subnet = attachment.get("subnetIds")[:1]
    rec = patched(hub_recording, attachment, subnetIds=first_subnet)

    found = problems(graph_from_recordings([rec]))

    assert any(
        f"attachment {attachment.id} has no subnet in use1-az2: that AZ cannot reach" in p
        for p in found
    )


# -- other deployment models need no tracer change -------------------------------------------


def distributed_vpc(with_ingress_routing: bool = True) -> RoutingGraph:
    """One VPC, firewall after the NAT gateway, IGW ingress routing back to the firewall."""
    g = RoutingGraph()
    g.vpcs["vpc-1"] = Vpc(
        "vpc-1", [NET("10.5.0.0/16")], "solo", "rtb-main", {"egress-net:spoke": "solo"}
    )
    g.subnets["sn-work"] = Subnet(
        "sn-work", "vpc-1", NET("10.5.0.0/24"), "euw1-az1", "rtb-work", WORKLOAD
    )
    g.subnets["sn-pub"] = Subnet("sn-pub", "vpc-1", NET("10.5.1.0/24"), "euw1-az1", "rtb-pub")
    g.subnets["sn-fw"] = Subnet("sn-fw", "vpc-1", NET("10.5.2.0/24"), "euw1-az1", "rtb-fw")
    g.nat_gateways["nat-1"] = NatGateway(
        "nat-1", "sn-pub", IPv4Address("10.5.1.5"), IPv4Address("203.0.113.5")
    )
    g.firewall_endpoints["vpce-1"] = FirewallEndpoint("vpce-1", "fw", "sn-fw", "euw1-az1")
    g.internet_gateways["igw-1"] = InternetGateway(
        "igw-1", "vpc-1", "rtb-edge" if with_ingress_routing else ""
    )
    routes = {
        "rtb-main": [],
        "rtb-work": [("0.0.0.0/0", TargetKind.NAT_GATEWAY, "nat-1")],
        "rtb-pub": [("0.0.0.0/0", TargetKind.VPC_ENDPOINT, "vpce-1")],
        "rtb-fw": [("0.0.0.0/0", TargetKind.INTERNET_GATEWAY, "igw-1")],
        "rtb-edge": [("10.5.1.0/24", TargetKind.VPC_ENDPOINT, "vpce-1")],
    }
    for table_id, entries in routes.items():
        table = g.route_tables[table_id] = RouteTable(table_id, "vpc-1")
        table.add(Route(NET("10.5.0.0/16"), TargetKind.LOCAL))
        for cidr, kind, target in entries:
            table.add(Route(NET(cidr), kind, target))
    return g


def test_firewall_after_nat_with_igw_ingress_routing_traces_both_ways() -> None:
    graph = distributed_vpc()
    ((outbound, (reply,)),) = Tracer(graph).round_trips(
        "sn-work", IPv4Address("10.5.0.10"), DESTINATION
    )

    assert (
        notation(outbound)
        == "Instance(az1) → NAT gateway(az1) → Network Firewall(az1) → Internet gateway"
    )
    assert (
        notation(reply)
        == "Internet gateway → Network Firewall(az1) → NAT gateway(az1) → Instance(az1)"
    )
    assert outbound.translated_source == IPv4Address("203.0.113.5")
    assert problems(graph) == []


def test_without_the_ingress_route_the_reply_bypasses_the_firewall() -> None:
    assert problems(distributed_vpc(with_ingress_routing=False)) == ["reply bypasses the firewall"]


def test_a_firewall_attached_natively_to_the_tgw_is_on_the_path() -> None:
    g = RoutingGraph()
    g.vpcs["vpc-s"] = Vpc("vpc-s", [NET("10.1.0.0/16")], "s", "", {"egress-net:spoke": "s"})
    g.vpcs["vpc-e"] = Vpc("vpc-e", [NET("100.64.0.0/24")], "egress", "")
    g.subnets["sn-s"] = Subnet("sn-s", "vpc-s", NET("10.1.0.0/24"), "use1-az1", "rt-s", WORKLOAD)
    g.subnets["sn-e"] = Subnet("sn-e", "vpc-e", NET("100.64.0.0/26"), "use1-az1", "rt-e")
    g.subnets["sn-t"] = Subnet("sn-t", "vpc-e", NET("100.64.0.64/26"), "use1-az1", "rt-t")
    g.nat_gateways["nat-e"] = NatGateway(
        "nat-e", "sn-e", IPv4Address("100.64.0.5"), IPv4Address("203.0.113.9")
    )
    g.internet_gateways["igw-e"] = InternetGateway("igw-e", "vpc-e")
    for table_id, vpc, cidr, entries in (
        ("rt-s", "vpc-s", "10.1.0.0/16", [("0.0.0.0/0", TargetKind.TRANSIT_GATEWAY, "tgw-1")]),
        (
            "rt-e",
            "vpc-e",
            "100.64.0.0/24",
            [
                ("0.0.0.0/0", TargetKind.INTERNET_GATEWAY, "igw-e"),
                ("10.0.0.0/8", TargetKind.TRANSIT_GATEWAY, "tgw-1"),
            ],
        ),
        ("rt-t", "vpc-e", "100.64.0.0/24", [("0.0.0.0/0", TargetKind.NAT_GATEWAY, "nat-e")]),
    ):
        table = g.route_tables[table_id] = RouteTable(table_id, vpc)
        table.add(Route(NET(cidr), TargetKind.LOCAL))
        for dest, kind, target in entries:
            table.add(Route(NET(dest), kind, target))
    g.transit_gateways["tgw-1"] = TransitGateway("tgw-1")
    g.tgw_attachments["att-s"] = TgwAttachment(
        "att-s", "tgw-1", vpc_id="vpc-s", subnet_ids=["sn-s"], route_table_id="rt-in"
    )
    g.tgw_attachments["att-e"] = TgwAttachment(
        "att-e", "tgw-1", vpc_id="vpc-e", subnet_ids=["sn-t"], route_table_id="rt-in"
    )
    g.tgw_attachments["att-fw"] = TgwAttachment(
        "att-fw", "tgw-1", "network-function", route_table_id="rt-fw"
    )
    g.tgw_route_tables["rt-in"] = TgwRouteTable(
        "rt-in", "tgw-1", [TgwRoute(NET("0.0.0.0/0"), "att-fw")]
    )
    g.tgw_route_tables["rt-fw"] = TgwRouteTable(
        "rt-fw",
        "tgw-1",
        [TgwRoute(NET("0.0.0.0/0"), "att-e"), TgwRoute(NET("10.1.0.0/16"), "att-s")],
    )

    ((outbound, (reply,)),) = Tracer(g).round_trips("sn-s", IPv4Address("10.1.0.10"), DESTINATION)

    assert outbound.outcome is Outcome.INTERNET and reply.outcome is Outcome.DELIVERED
    assert outbound.firewall_endpoints == reply.firewall_endpoints == ["att-fw"]
    assert (
        notation(outbound)
        == "Instance(az1) → TGW → Network Firewall(az1) → TGW → NAT gateway(az1) → Internet gateway"
    )


@pytest.mark.parametrize("route_count", [1, 40])
def test_a_loop_ends_the_trace_instead_of_hanging(route_count: int) -> None:
    g = distributed_vpc()
    # The firewall sends everything back to itself.
    g.route_tables["rtb-fw"] = RouteTable(
        "rtb-fw", "vpc-1", [Route(NET("10.5.0.0/16"), TargetKind.LOCAL)]
    )
    for i in range(route_count):
        g.route_tables["rtb-fw"].add(
            Route(NET(f"0.0.0.0/{i % 1}"), TargetKind.VPC_ENDPOINT, "vpce-1")
        )

    ((outbound, replies),) = Tracer(g).round_trips("sn-work", IPv4Address("10.5.0.10"), DESTINATION)

    assert outbound.outcome is Outcome.LOOP and replies == []
    assert "routing loop through" in outbound.reason and "vpce-1" in outbound.reason


def test_routes_in_helper_matches_only_the_table(hub_recording: Recording) -> None:
    table = route_table(hub_recording, "public", "use1-az1")
    assert {
        r.get("destinationCidrBlock") for r in routes_in(hub_recording, table, "0.0.0.0/0")
    } == {"0.0.0.0/0"}


def test_a_graph_without_spokes_does_not_pass() -> None:
    from egress_net.graph.report import render_text

    graph = distributed_vpc()
    # Spokes are found by structure: without its workload subnet the VPC holds only the
    # NAT gateway's and the firewall endpoint's subnets.
    del graph.subnets["sn-work"]

    report = run_checks(graph)

    assert not report.ok
    assert "FAIL: no spoke found" in render_text(report)


@given(
    networks=st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)), min_size=1, max_size=40
    ),
    probes=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20),
)
def test_lookup_agrees_with_a_scan_for_the_longest_matching_prefix(
    networks: list[tuple[int, int]], probes: list[int]
) -> None:
    table = RouteTable("rtb-1", "vpc-1")
    for index, (address, length) in enumerate(networks):
        table.add(
            Route(IPv4Network((address, length), strict=False), TargetKind.OTHER, f"t{index}")
        )

    for probe in map(IPv4Address, probes):
        matching = [r for r in table.routes if probe in r.destination]
        found = table.lookup(probe)
        if not matching:
            assert found is None
            continue
        longest = max(r.destination.prefixlen for r in matching)
        # The last route added wins among identical prefixes.
        expected = [r for r in matching if r.destination.prefixlen == longest][-1]
        assert found == expected


def test_a_private_destination_leaving_through_an_igw_goes_nowhere() -> None:
    ((outbound, replies),) = Tracer(distributed_vpc()).round_trips(
        "sn-work", IPv4Address("10.5.0.10"), IPv4Address("10.99.0.1")
    )

    assert outbound.outcome is Outcome.DROPPED and replies == []
    assert "which the internet does not route" in outbound.reason


def test_tgw_routes_to_one_prefix_rank_static_then_prefix_list_then_propagated() -> None:
    # "Route evaluation order" (Transit Gateway guide): static, then prefix-list references,
    # then VPC-propagated routes, whatever order the API lists them in.
    prefix = IPv4Network("10.1.0.0/16")
    table = TgwRouteTable("tgw-rtb-1", "tgw-1")
    table.add(TgwRoute(prefix, "tgw-attach-listed", origin="prefix-list"))
    table.add(TgwRoute(prefix, "tgw-attach-spoke", origin="propagated"))

    assert table.lookup(IPv4Address("10.1.2.3")).attachment_id == "tgw-attach-listed"  # type: ignore[union-attr]

    table.add(TgwRoute(prefix, "tgw-attach-static", origin="static"))
    table.add(TgwRoute(prefix, "tgw-attach-spoke-again", origin="propagated"))

    assert table.lookup(IPv4Address("10.1.2.3")).attachment_id == "tgw-attach-static"  # type: ignore[union-attr]
