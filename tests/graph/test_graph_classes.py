"""Every destination class, IPv4 and IPv6, on recordings: partial and IPv6 bypasses, overlapping
attachments, untagged networks, drift against the stack's synthesis."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Network, ip_address

import pytest
from graph_factory import (
    HubSpokeFactory,
    added,
    find,
    new_resource,
    patched,
    route_table,
    tag,
)
from hypothesis import given
from hypothesis import strategies as st
from test_graph_verify import FAULTS, cross_az_endpoint, missing_propagation

from egress_net import engine
from egress_net.cli import main
from egress_net.graph.checks import CheckOptions, find_spokes, run_checks
from egress_net.graph.classes import ClassSpace
from egress_net.graph.drift import drift_findings
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import (
    Route,
    RouteTable,
    RoutingGraph,
    TargetKind,
    TgwAttachment,
    TgwRoute,
    Vpc,
)
from egress_net.recording import RecordedResource, Recording

EC2 = "aws:ec2/"


def problems_of(recording: Recording, **options: object) -> list[str]:
    report = run_checks(graph_from_recordings([recording]), CheckOptions(**options))  # type: ignore[arg-type]
    return [p for f in report.findings for p in f.problems]


def _workload_table(rec: Recording, spoke: str = "alpha", az: str = "use1-az1") -> RecordedResource:
    return route_table(rec, "workload", az, spoke=spoke)


def partial_prefix_to_own_igw(rec: Recording, spoke: str = "alpha") -> Recording:
    """The issue's reproduction: 52.0.0.0/8 → the spoke's own Internet gateway."""
    table = _workload_table(rec, spoke)
    igw = new_resource(
        EC2 + "internetGateway:InternetGateway", "rogue-igw", "igw-0rogue", vpcId=table.get("vpcId")
    )
    route = new_resource(
        EC2 + "route:Route",
        "rogue-52",
        "r-0rogue52",
        routeTableId=table.id,
        destinationCidrBlock="52.0.0.0/8",
        gatewayId=igw.id,
    )
    return added(rec, igw, route)


def with_ipv6(rec: Recording, spoke: str = "alpha", route_out: bool = True) -> Recording:
    """The spoke gets IPv6 blocks, and ::/0 → an egress-only internet gateway of its own."""
    (vpc,) = find(rec, "ec2/vpc:Vpc", lambda r: tag(r, "spoke") == spoke)
    rec = patched(rec, vpc, ipv6CidrBlock="2600:1f18:aaaa:bb00::/56")
    subnets = sorted(
        find(rec, "ec2/subnet:Subnet", lambda r: r.get("vpcId") == vpc.id), key=lambda r: r.name
    )
    for index, subnet in enumerate(subnets):
        rec = patched(rec, subnet, ipv6CidrBlock=f"2600:1f18:aaaa:bb{index:02x}::/64")
    if not route_out:
        return rec
    eigw = new_resource(
        EC2 + "egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "rogue-eigw",
        "eigw-0rogue",
        vpcId=vpc.id,
    )
    route = new_resource(
        EC2 + "route:Route",
        "rogue-v6",
        "r-0roguev6",
        routeTableId=_workload_table(rec, spoke).id,
        destinationIpv6CidrBlock="::/0",
        egressOnlyGatewayId=eigw.id,
    )
    return added(rec, eigw, route)


def overlapping_attachment(rec: Recording, cidr: str = "10.1.200.0/24") -> Recording:
    """A VPC inside a spoke's range attaches with the TGW's defaults (so it propagates)."""
    (tgw,) = find(rec, "transitGateway:TransitGateway", lambda r: True)
    vpc = new_resource(EC2 + "vpc:Vpc", "intruder-vpc", "vpc-0intruder", cidrBlock=cidr)
    subnet = new_resource(
        EC2 + "subnet:Subnet",
        "intruder-subnet",
        "subnet-0intruder",
        vpcId=vpc.id,
        cidrBlock=cidr,
        availabilityZoneId="use1-az1",
    )
    attachment = new_resource(
        "aws:ec2transitgateway/vpcAttachment:VpcAttachment",
        "intruder-attachment",
        "tgw-attach-0intruder",
        transitGatewayId=tgw.id,
        vpcId=vpc.id,
        subnetIds=[subnet.id],
    )
    return added(rec, vpc, subnet, attachment)


def untagged(rec: Recording) -> Recording:
    """No tags at all: what a network not built by egress-net looks like to the tools."""

    def strip(r: RecordedResource) -> RecordedResource:
        return replace(
            r,
            inputs={k: v for k, v in r.inputs.items() if k not in ("tags", "tagsAll")},
            outputs={k: v for k, v in r.outputs.items() if k not in ("tags", "tagsAll")},
        )

    return replace(rec, resources=[strip(r) for r in rec.resources])


@pytest.fixture
def hub() -> Recording:
    return HubSpokeFactory().build()


# -- every class, both families --------------------------------------------------------------


def test_a_partial_prefix_to_the_spokes_own_igw_is_a_bypass(hub: Recording) -> None:
    broken = partial_prefix_to_own_igw(hub)

    # One destination (the old check) does not see it: 198.51.100.10 still goes through.
    assert problems_of(broken, every_class=False) == []
    found = problems_of(broken)
    assert any(
        p.startswith("52.0.0.0/8: bypass: Instance(az1) → Internet gateway")
        and p.endswith("(no firewall)")
        for p in found
    ), found


def test_an_ipv6_default_route_to_an_egress_only_gateway_is_a_bypass(hub: Recording) -> None:
    broken = with_ipv6(hub)

    assert problems_of(broken, every_class=False) == []
    found = problems_of(broken)
    assert any(
        "bypass: Instance(az1) → Egress-only internet gateway" in p and p.startswith("::2–")
        for p in found
    ), found


def test_a_spoke_with_ipv6_and_no_route_out_is_listed_as_such(hub: Recording) -> None:
    report = run_checks(graph_from_recordings([with_ipv6(hub, route_out=False)]))

    assert report.ok
    assert any("IPv6 internet" in line and "no-route" in line for line in report.listing)


def test_the_hub_s_own_cidr_and_private_space_are_listed_with_where_they_go(
    hub: Recording,
) -> None:
    report = run_checks(graph_from_recordings([hub]))

    assert report.ok
    assert any(
        line.startswith("10.0.0.0/16 (in hub-vpc) from alpha use1-az1: Instance")
        for line in report.listing
    )
    assert any("not routed on the internet" in line for line in report.listing)


def test_another_spoke_s_class_reached_past_the_firewall_is_a_bypass(hub: Recording) -> None:
    # A peering-like shortcut: alpha's table sends beta's range straight to the TGW's spokes
    # table, which (with this static route) delivers it without the firewall.
    (spokes_table,) = find(
        hub, "transitgateway/routeTable:RouteTable", lambda r: tag(r, "tgw-table") == "spokes"
    )
    (beta_attachment,) = find(
        hub, "vpcAttachment:VpcAttachment", lambda r: tag(r, "spoke") == "beta"
    )
    shortcut = new_resource(
        "aws:ec2transitgateway/route:Route",
        "shortcut",
        "tgw-route-0shortcut",
        transitGatewayRouteTableId=spokes_table.id,
        destinationCidrBlock="10.2.128.0/17",
        transitGatewayAttachmentId=beta_attachment.id,
    )

    found = problems_of(added(hub, shortcut))

    assert any(p.startswith("10.2.128.0/17: bypasses the firewall: Instance") for p in found), found


def test_a_peering_route_in_a_spoke_is_a_bypass(hub: Recording) -> None:
    route = new_resource(
        EC2 + "route:Route",
        "peer",
        "r-0peer",
        routeTableId=_workload_table(hub).id,
        destinationCidrBlock="192.168.0.0/16",
        vpcPeeringConnectionId="pcx-0123456789abcdef0",
    )

    found = problems_of(added(hub, route))

    assert any(
        p.startswith("192.168.0.0/16: bypass: Instance(az1) → VPC peering pcx-") for p in found
    ), found


@given(
    routes=st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)), min_size=1, max_size=25
    ),
    probes=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=25),
)
def test_every_address_of_a_class_is_routed_like_its_representative(
    routes: list[tuple[int, int]], probes: list[int]
) -> None:
    graph = RoutingGraph()
    graph.vpcs["vpc-1"] = Vpc("vpc-1", [IPv4Network("10.9.0.0/16")])
    table = graph.route_tables["rtb-1"] = RouteTable("rtb-1", "vpc-1")
    for index, (address, length) in enumerate(routes):
        network = IPv4Network((address, length), strict=False)
        table.add(Route(network, TargetKind.NAT_GATEWAY, f"nat-{index}"))
    space = ClassSpace(graph)

    for probe in probes:
        address = ip_address(probe)
        cls = space.classes[4][space.index_of(address)]
        assert cls.start <= probe < cls.end
        assert table.lookup(address) == table.lookup(cls.representative)


# -- attachments that can take a spoke's traffic ---------------------------------------------


def test_an_attachment_overlapping_a_spoke_in_a_tgw_table_is_reported(hub: Recording) -> None:
    found = problems_of(overlapping_attachment(hub))

    assert any(
        "10.1.200.0/24 → tgw-attach-0intruder" in p and "overlaps 10.1.0.0/16 → tgw-attach-" in p
        for p in found
    ), found


def test_the_config_says_who_may_attach(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "prod"]) == 0

    out = capsys.readouterr().out
    assert "note: attachments: the TGW is shared with arn:aws:organizations::" in out
    # prod accepts attachments itself and routes replies only to the spokes it declares.
    assert "must accept each attachment" in out
    assert "no reply reaches it unless the hub declares it (static return routes)" in out


def test_an_organization_share_with_auto_accept_and_propagation_is_named() -> None:
    from egress_net.commands.verify import attachment_exposure

    (note,) = attachment_exposure(
        {
            "egress-net:share": {"principals": ["arn:aws:organizations::1:organization/o-x"]},
            "egress-net:transitGateway": {"autoAccept": True, "returnRoutes": "propagated"},
        }
    )
    assert "accepts their attachments automatically" in note
    assert "a CIDR it propagates takes traffic and replies" in note


# -- any network: structure, not tags --------------------------------------------------------


def test_an_untagged_hub_and_spokes_verifies_clean(hub: Recording) -> None:
    report = run_checks(graph_from_recordings([untagged(hub)]))

    assert report.ok, [p for f in report.findings for p in f.problems]
    assert sorted(len(s.subnets) for s in report.spokes) == [2, 2]


@pytest.mark.parametrize(("fault", "seed", "reason"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_found_on_an_untagged_network(
    hub: Recording, fault: str, seed: Callable[[Recording], Recording], reason: str
) -> None:
    found = problems_of(untagged(seed(hub)))

    assert any(reason in p for p in found), (fault, found)


def test_tags_name_spokes_but_do_not_make_them(hub: Recording) -> None:
    # A subnet tagged as a workload subnet but holding the TGW interfaces is not a source.
    (tgw_subnet,) = find(
        hub,
        "ec2/subnet:Subnet",
        lambda r: (
            tag(r, "spoke") == "alpha" and tag(r, "tier") == "tgw" and tag(r, "az-id") == "use1-az1"
        ),
    )
    relabelled = patched(hub, tgw_subnet, tags={"egress-net:tier": "workload"})

    report = run_checks(graph_from_recordings([relabelled]))

    assert tgw_subnet.id not in {s.id for spoke in report.spokes for s in spoke.subnets}
    assert {s.name for s in report.spokes} == {"alpha", "beta"}


# -- drift -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev() -> Recording:
    return engine.synth(engine.load_source("dev")).recording


def test_the_synthesis_has_no_drift_against_itself(dev: Recording) -> None:
    graph = graph_from_recordings([dev])
    assert drift_findings(graph, graph_from_recordings([dev])) == []


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (
            cross_az_endpoint,
            "changed: route table of 100.64.0.0/28 (in VPC 100.64.0.0/24): route 0.0.0.0/0 → "
            "firewall endpoint in 100.64.0.80/28, declared firewall endpoint in 100.64.0.64/28 "
            "(declared by hub-rt-tgw-use1-az1-to-0-0-0-0-0)",
        ),
        (
            missing_propagation,
            "missing: TGW route table hub-tgw-rt-egress: propagation from attachment of VPC "
            "10.1.0.0/16 → enabled (declared by app-tgw-attachment)",
        ),
    ],
)
def test_drift_is_named_with_the_declaring_resource(
    dev: Recording, seed: Callable[[Recording], Recording], expected: str
) -> None:
    (finding,) = drift_findings(graph_from_recordings([dev]), graph_from_recordings([seed(dev)]))

    assert finding.check.value == "drift"
    assert expected in finding.problems


def test_an_extra_route_and_a_foreign_attachment_are_drift(dev: Recording) -> None:
    (workload,) = [
        r
        for r in find(dev, "ec2/routeTable:RouteTable", lambda r: tag(r, "tier") == "workload")
        if tag(r, "az-id") == "use1-az1" and tag(r, "spoke") == "app"
    ]
    extra = new_resource(
        EC2 + "route:Route",
        "rogue",
        "r-0rogue",
        routeTableId=workload.id,
        destinationCidrBlock="52.0.0.0/8",
        transitGatewayId="tgw-0elsewhere",
    )
    deployed = overlapping_attachment(added(dev, extra), cidr="10.1.200.0/24")

    findings = drift_findings(graph_from_recordings([dev]), graph_from_recordings([deployed]))

    by_check = {f.check.value: f.problems for f in findings}
    assert any(
        p.startswith("extra: route table of 10.1.0.0/") and "route 52.0.0.0/8 → TGW" in p
        for p in by_check["drift"]
    ), by_check
    assert any(
        "10.1.200.0/24 → tgw-attach-0intruder (VPC 10.1.200.0/24, propagated) is not a declared "
        "spoke" in p
        for p in by_check["attachment"]
    ), by_check


def test_audit_with_a_stack_exits_non_zero_on_drift(
    dev: Recording, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from egress_net.commands import audit

    deployed = graph_from_recordings([cross_az_endpoint(dev)])
    monkeypatch.setattr(audit, "read_graph", lambda sources, endpoint_url=None: deployed)

    assert main(["audit", "--region", "us-east-1", "--stack", "dev", "--json"]) == 1

    report = json.loads(capsys.readouterr().out)
    drift = [f for f in report["findings"] if f["check"] == "drift"]
    assert drift and "declared by hub-rt-tgw-use1-az1-to-0-0-0-0-0" in drift[0]["problems"][0]


def test_audit_with_a_stack_passes_when_nothing_drifted(
    dev: Recording, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from egress_net.commands import audit

    monkeypatch.setattr(
        audit, "read_graph", lambda sources, endpoint_url=None: graph_from_recordings([dev])
    )

    assert main(["audit", "--region", "us-east-1", "--stack", "dev"]) == 0
    assert "against dev" in capsys.readouterr().out


def test_destination_class_counts_are_reported(hub: Recording) -> None:
    report = run_checks(graph_from_recordings([hub]))
    # IPv4: cut by 0/0, the supernet, three VPCs and the special blocks; IPv6: special blocks.
    assert report.classes[4] > 10 and report.classes[6] >= 5


def test_a_gateway_endpoint_in_a_spoke_is_a_channel_and_its_routes_a_bypass(
    hub: Recording,
) -> None:
    table = _workload_table(hub)
    endpoint = new_resource(
        EC2 + "vpcEndpoint:VpcEndpoint",
        "s3",
        "vpce-0s3gateway",
        vpcId=table.get("vpcId"),
        serviceName="com.amazonaws.us-east-1.s3",
        vpcEndpointType="Gateway",
    )
    prefix_list = new_resource(
        EC2 + "managedPrefixList:ManagedPrefixList",
        "s3-ranges",
        "pl-0s3",
        entries=[{"cidr": "52.216.0.0/15"}, {"cidr": "54.231.0.0/16"}],
    )
    route = new_resource(
        EC2 + "route:Route",
        "to-s3",
        "r-0s3",
        routeTableId=table.id,
        destinationPrefixListId=prefix_list.id,
        vpcEndpointId=endpoint.id,
    )

    report = run_checks(graph_from_recordings([added(hub, endpoint, prefix_list, route)]))

    found = [p for f in report.findings for p in f.problems]
    assert any(
        p.startswith("52.216.0.0/15, 54.231.0.0/16: bypass: Instance(az1) → VPC endpoint vpce-0s3")
        for p in found
    ), found
    assert any(
        line.startswith("gateway endpoint vpce-0s3gateway (com.amazonaws.us-east-1.s3) in alpha")
        and "default endpoint policy" in line
        for line in report.channels
    ), report.channels
    assert report.channels[0].startswith("DNS: every spoke resolves through its VPC's Route 53")
    # AWS installs a gateway endpoint's routes itself: they are no refused route.
    assert not [p for p in found if "cannot route to a VPC endpoint" in p]


def test_a_public_range_a_spoke_blackholes_is_safe_and_listed(hub: Recording) -> None:
    blocked = new_resource(
        EC2 + "route:Route",
        "block",
        "r-0block",
        routeTableId=route_table(hub, "workload", "use1-az2", spoke="beta").id,
        destinationCidrBlock="203.0.113.0/24",
        transitGatewayId="tgw-0000000000000gone",
    )

    report = run_checks(graph_from_recordings([added(hub, blocked)]))

    assert report.ok, [p for f in report.findings for p in f.problems]
    assert any(
        line.startswith("203.0.113.0/24 (IPv4 internet) from beta use1-az2: Instance(az2) → ✗")
        for line in report.listing
    ), report.listing


def test_audit_with_an_unknown_stack_stops_before_reading_aws(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from egress_net.commands import audit

    def no_aws(*_: object, **__: object) -> RoutingGraph:
        raise AssertionError("AWS read before the stack was synthesized")

    monkeypatch.setattr(audit, "read_graph", no_aws)

    assert main(["audit", "--region", "us-east-1", "--stack", "no-such-stack"]) == 2
    err = capsys.readouterr().err
    assert "no-such-stack" in err and "Traceback" not in err


def test_a_route_to_a_prefix_list_the_stack_does_not_hold_is_not_proven(hub: Recording) -> None:
    # S3's AWS-managed prefix list → the spoke's own Internet gateway: its entries are not in
    # the recording, so no class stands for them; the route must fail the checks, not vanish.
    table = _workload_table(hub)
    igw = new_resource(
        EC2 + "internetGateway:InternetGateway", "rogue-igw", "igw-0rogue", vpcId=table.get("vpcId")
    )
    route = new_resource(
        EC2 + "route:Route",
        "rogue-s3",
        "r-0rogues3",
        routeTableId=table.id,
        destinationPrefixListId="pl-63a5400a",
        gatewayId=igw.id,
    )

    found = problems_of(added(hub, igw, route))

    assert any("rogue-s3 to prefix list pl-63a5400a" in p and "not proven" in p for p in found), (
        found
    )


def test_a_vpn_route_inside_a_spoke_s_range_is_an_overlap(hub: Recording) -> None:
    # On-premises (a VPN attachment) announces 10.1.8.0/21 into the table that carries the
    # replies to spoke alpha (10.1.0.0/16): replies for those hosts leave to the VPN. The VPN is
    # no VPC, so "a route to its own VPC space" never described it.
    graph = graph_from_recordings([hub])
    (tgw_id,) = graph.transit_gateways
    vpn = TgwAttachment("tgw-attach-0vpn", tgw_id, resource_type="vpn")
    graph.tgw_attachments[vpn.id] = vpn
    egress = next(t for t in graph.tgw_route_tables.values() if t.name == "hub-tgw-rt-egress")
    egress.add(TgwRoute(IPv4Network("10.1.8.0/21"), vpn.id, origin="propagated"))
    # A wider route (a supernet to the inspection VPC) takes nothing from the spokes.
    egress.add(TgwRoute(IPv4Network("10.0.0.0/8"), vpn.id))

    found = [p for f in run_checks(graph).findings for p in f.problems]

    overlaps = [p for p in found if "overlaps" in p]
    assert len(overlaps) == 1, overlaps
    assert "10.1.8.0/21 → tgw-attach-0vpn overlaps 10.1.0.0/16 → tgw-attach-" in overlaps[0]


def test_a_static_route_equal_to_a_spoke_s_prefix_is_an_overlap(hub: Recording) -> None:
    # For one prefix a static route beats the propagated one: it takes all of the spoke's range.
    graph = graph_from_recordings([hub])
    (tgw_id,) = graph.transit_gateways
    vpn = TgwAttachment("tgw-attach-0vpn", tgw_id, resource_type="vpn")
    graph.tgw_attachments[vpn.id] = vpn
    egress = next(t for t in graph.tgw_route_tables.values() if t.name == "hub-tgw-rt-egress")
    egress.add(TgwRoute(IPv4Network("10.1.0.0/16"), vpn.id))

    found = [p for f in run_checks(graph).findings for p in f.problems]

    assert any(
        "10.1.0.0/16 → tgw-attach-0vpn overlaps 10.1.0.0/16 → tgw-attach-" in p for p in found
    ), found


def test_a_tgw_route_to_an_attachment_the_recording_lacks_is_a_bypass(hub: Recording) -> None:
    # A VPN connection to the TGW makes its attachment implicitly (its ID is an output of the
    # connection, no attachment resource is declared): a route to it must not read as dropped.
    (spokes,) = find(
        hub, "transitgateway/routeTable:RouteTable", lambda r: tag(r, "tgw-table") == "spokes"
    )
    route = new_resource(
        "aws:ec2transitgateway/route:Route",
        "to-vpn",
        "tgw-route-0vpn",
        transitGatewayRouteTableId=spokes.id,
        destinationCidrBlock="52.0.0.0/8",
        transitGatewayAttachmentId="tgw-attach-0vpn",
    )

    found = problems_of(added(hub, route))

    assert any(p.startswith("52.0.0.0/8: bypass:") and "tgw-attach-0vpn" in p for p in found), found


def test_replies_to_part_of_a_spoke_subnet_routed_past_the_firewall_are_found(
    hub: Recording,
) -> None:
    # The hub's NAT subnets send the replies for the upper half of a spoke's workload subnet
    # straight to the TGW: the subnet's usual host (.10) is not in that half, its replies pass.
    graph = graph_from_recordings([hub])
    spoke_subnet = next(
        s for s in graph.subnets.values() if s.tags.get("egress-net:tier") == "workload"
    )
    upper = list(spoke_subnet.cidr.subnets(prefixlen_diff=1))[1]
    (tgw_id,) = graph.transit_gateways
    for table in graph.route_tables.values():
        if any(r.target_kind is TargetKind.INTERNET_GATEWAY for r in table.routes):
            table.add(Route(upper, TargetKind.TRANSIT_GATEWAY, tgw_id))

    found = [p for f in run_checks(graph).findings for p in f.problems]

    assert f"from {upper.network_address + 10}: reply bypasses the firewall" in found, found


def test_spoke_to_spoke_replies_to_part_of_a_subnet_past_the_firewall_are_found(
    hub: Recording,
) -> None:
    # The inspection VPC's TGW-facing tables send the upper half of alpha's workload subnet
    # straight back to the TGW: beta's replies to those hosts skip the firewall.
    graph = graph_from_recordings([hub])
    alpha = next(s for s in find_spokes(graph) if s.name == "alpha")
    upper = [list(s.cidr.subnets(prefixlen_diff=1))[1] for s in alpha.subnets]
    (tgw_id,) = graph.transit_gateways
    hub_vpc = next(
        v.id for v in graph.vpcs.values() if v.id not in {s.vpc_id for s in find_spokes(graph)}
    )
    for subnet in graph.subnets_of(hub_vpc):
        table = graph.route_table_of(subnet)
        if table is not None and any(
            r.target_kind is TargetKind.VPC_ENDPOINT for r in table.routes
        ):
            for half in upper:
                table.add(Route(half, TargetKind.TRANSIT_GATEWAY, tgw_id))

    found = [p for f in run_checks(graph).findings for p in f.problems]

    assert any(
        p.startswith(f"to beta: from {upper[0].network_address + 10}: reply") for p in found
    ), found
