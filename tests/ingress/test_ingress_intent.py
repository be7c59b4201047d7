"""The ingress designs as pure routing intent: each AZ's requests and replies meet the firewall
endpoint of that AZ, the edge table holds only what AWS accepts, egress routes stay."""

from __future__ import annotations

import ipaddress

import pytest

from egress_net import addressing, intent, route_rules

AZS = ["use1-az1", "use1-az2", "use1-az4"]
SPOKES = ["10.1.0.0/16", "10.2.0.0/16"]


def _refusals(plan: intent.VpcPlan, cidr: str) -> list[route_rules.Refusal]:
    slots = addressing.default_az_slots(len(AZS))
    layout = addressing.carve_for_tiers(ipaddress.IPv4Network(cidr), AZS, slots, plan.tiers)
    subnets = {(s.tier, s.az_id): str(s.cidr) for s in layout}
    return route_rules.all_refusals(route_rules.tables_in_plan(plan, cidr, subnets))


def _routes(plan: intent.VpcPlan, tier: str, az: str | None) -> dict[str, intent.Route]:
    table = next(t for t in plan.tables if t.tier == tier and t.az == az)
    return {str(r.destination): r for r in table.routes}


def _same_az_entry_and_return(plan: intent.VpcPlan, firewall: intent.TargetKind) -> None:
    edge = plan.edge_table
    assert edge is not None
    for az in AZS:
        entry = [r for r in edge.routes if r.destination == intent.SubnetCidr("lb", az)]
        assert [r.target for r in entry] == [intent.Target(firewall, az)]
        assert _routes(plan, "lb", az)["0.0.0.0/0"].target == intent.Target(firewall, az)
    # Every firewall route sits in a table of its own AZ (or the edge table, to that AZ's LB).
    for table in plan.tables:
        for route in table.routes:
            if route.target.kind == firewall:
                az = table.az or getattr(route.destination, "az", None)
                assert route.target.az == az, (table.name, route)
    for route in (r for t in plan.tables for r in t.routes):
        assert route.step and route.reason


def test_centralized_ingress_vpc() -> None:
    plan = intent.centralized_ingress_vpc(AZS, SPOKES)
    _same_az_entry_and_return(plan, "firewall")
    for az in AZS:
        assert _routes(plan, "firewall", az)["0.0.0.0/0"].target == intent.Target("igw")
        lb = _routes(plan, "lb", az)
        assert [lb[c].target for c in SPOKES] == [intent.Target("tgw")] * 2
        assert _routes(plan, "tgw", az) == {}  # replies from the TGW go straight to the LB
    assert plan.igw and plan.tgw_tier == "tgw" and plan.firewall_tier == "firewall"
    assert _refusals(plan, "100.64.4.0/23") == []


@pytest.mark.parametrize("placement", ["before-nat", "after-nat"])
@pytest.mark.parametrize("kind", ["tgw", "distributed"])
def test_distributed_ingress_keeps_the_spokes_egress_routes(
    kind: str, placement: intent.Placement
) -> None:
    base = intent.tgw_spoke(AZS) if kind == "tgw" else intent.distributed_spoke(AZS, placement)
    plan = intent.with_distributed_ingress(base, AZS)
    _same_az_entry_and_return(plan, "ingress-firewall")
    for table in base.tables:
        if table.tier != "igw-edge":
            assert table in plan.tables
    old_edge = base.edge_table.routes if base.edge_table else ()
    assert plan.edge_table is not None
    assert set(old_edge) <= set(plan.edge_table.routes)
    for az in AZS:
        out = _routes(plan, "ingress-firewall", az)["0.0.0.0/0"]
        assert out.target == intent.Target("igw")
    assert plan.tiers[: len(base.tiers)] == base.tiers  # existing subnets keep their place
    assert plan.igw and plan.ingress_firewall_tier == "ingress-firewall"
    assert _refusals(plan, "10.1.0.0/16") == []


STATIC = [("app", "10.1.0.0/16")]


@pytest.mark.parametrize(
    ("tgw", "associate", "route_table"),
    [
        (intent.tgw_egress_only(), "egress", "spokes"),
        (intent.tgw_egress_only(single_table=True), "shared", "shared"),
        (intent.tgw_inspection("inspection"), "firewall", "spoke"),
        (intent.tgw_inspection("firewall"), "firewall", "spoke"),
        # Static return routes: the table with a route per spoke instead of propagation.
        (intent.with_static_return_routes(intent.tgw_egress_only(), STATIC), "egress", "spokes"),
        (
            intent.with_static_return_routes(intent.tgw_inspection("inspection"), STATIC),
            "firewall",
            "spoke",
        ),
    ],
)
def test_ingress_joins_the_tgw_where_spokes_propagate_and_spokes_route_back(
    tgw: intent.TgwPlan, associate: str, route_table: str
) -> None:
    plan = intent.ingress_tgw(tgw, "100.64.4.0/23")
    assert plan.associate_with == associate
    assert [(t, r.destination, r.attachment) for t, r in plan.routes] == [
        (route_table, "100.64.4.0/23", "ingress")
    ]
    assert not plan.appliance_mode  # no stateful appliance on the TGW leg


def test_traits_say_where_the_load_balancers_live() -> None:
    assert set(intent.INGRESS_TRAITS) == {"centralized", "distributed"}
    assert intent.INGRESS_TRAITS["centralized"].needs_tgw
    assert intent.INGRESS_TRAITS["distributed"].own_firewall_per_spoke
