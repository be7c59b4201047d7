"""The route rules AWS applies, on their own and on every model's routing intent."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egress_net import addressing, intent
from egress_net.route_rules import (
    GATEWAY_ROUTE_TABLES,
    PREFIX_LIST_TO_ENDPOINT,
    ROUTE_ALREADY_EXISTS,
    SUBNET_ROUTE_TABLES,
    RouteSpec,
    TableKind,
    TableSpec,
    TargetType,
    refusals,
    tables_in_plan,
)

VPC = ("10.1.0.0/16", "100.64.0.0/24")  # a primary and a secondary CIDR
SUBNETS = ("10.1.0.0/24", "10.1.1.0/24", "100.64.0.0/28")
T = TargetType


def table(*routes: tuple[str, TargetType], kind: TableKind = TableKind.SUBNET) -> TableSpec:
    return TableSpec("rt", kind, VPC, SUBNETS, tuple(RouteSpec(d, t, f"to {d}") for d, t in routes))


@pytest.mark.parametrize(
    "routes",
    [
        [("0.0.0.0/0", T.INTERNET_GATEWAY)],
        [("0.0.0.0/0", T.GATEWAY_LB_ENDPOINT), ("10.0.0.0/8", T.TRANSIT_GATEWAY)],
        [("10.1.0.0/24", T.GATEWAY_LB_ENDPOINT), ("10.1.1.0/24", T.NAT_GATEWAY)],
        [("100.64.0.0/28", T.NETWORK_INTERFACE)],  # a subnet of the secondary CIDR
        [("pl-0123", T.TRANSIT_GATEWAY)],
    ],
)
def test_subnet_table_routes_aws_accepts(routes: list[tuple[str, TargetType]]) -> None:
    assert refusals(table(*routes)) == []


@pytest.mark.parametrize(
    ("routes", "source", "words"),
    [
        # The local route already holds the VPC's CIDRs (also written non-canonically).
        ([("10.1.0.0/16", T.GATEWAY_LB_ENDPOINT)], ROUTE_ALREADY_EXISTS, "local route"),
        ([("10.1.7.9/16", T.NAT_GATEWAY)], ROUTE_ALREADY_EXISTS, "local route"),
        ([("100.64.0.0/24", T.TRANSIT_GATEWAY)], ROUTE_ALREADY_EXISTS, "local route"),
        (
            [("0.0.0.0/0", T.INTERNET_GATEWAY), ("0.0.0.0/0", T.NAT_GATEWAY)],
            ROUTE_ALREADY_EXISTS,
            "second route",
        ),
        (  # one destination written two ways
            [("192.168.0.0/16", T.TRANSIT_GATEWAY), ("192.168.7.9/16", T.NAT_GATEWAY)],
            ROUTE_ALREADY_EXISTS,
            "second route",
        ),
        # More specific than local: only a whole subnet, only NAT / ENI / GWLB endpoint.
        ([("10.1.0.0/25", T.GATEWAY_LB_ENDPOINT)], SUBNET_ROUTE_TABLES, "no subnet's CIDR"),
        ([("10.1.2.0/24", T.NAT_GATEWAY)], SUBNET_ROUTE_TABLES, "no subnet's CIDR"),
        ([("10.1.0.0/24", T.TRANSIT_GATEWAY)], SUBNET_ROUTE_TABLES, "transit gateway"),
        ([("10.1.1.0/24", T.INTERNET_GATEWAY)], SUBNET_ROUTE_TABLES, "internet gateway"),
        ([("pl-0123", T.GATEWAY_LB_ENDPOINT)], PREFIX_LIST_TO_ENDPOINT, "prefix list"),
    ],
)
def test_subnet_table_routes_aws_refuses(
    routes: list[tuple[str, TargetType]], source: str, words: str
) -> None:
    (refusal,) = refusals(table(*routes))
    assert refusal.source == source and words in refusal.problem
    assert refusal.route == f"to {routes[-1][0]}"


def test_edge_table_takes_subnet_routes_to_an_endpoint_or_interface() -> None:
    edge = table(
        ("10.1.0.0/24", T.GATEWAY_LB_ENDPOINT),
        ("100.64.0.0/28", T.NETWORK_INTERFACE),
        kind=TableKind.GATEWAY,
    )
    assert refusals(edge) == []


@pytest.mark.parametrize(
    ("route", "words"),
    [
        (("0.0.0.0/0", T.GATEWAY_LB_ENDPOINT), "outside the VPC"),
        (("10.0.0.0/8", T.NETWORK_INTERFACE), "outside the VPC"),  # contains the VPC
        (("10.1.0.0/24", T.NAT_GATEWAY), "NAT gateway"),
        (("0.0.0.0/0", T.INTERNET_GATEWAY), "internet gateway"),
        (("pl-0123", T.NETWORK_INTERFACE), "prefix list"),
        (("10.1.0.0/25", T.GATEWAY_LB_ENDPOINT), "no subnet's CIDR"),
    ],
)
def test_edge_table_routes_aws_refuses(route: tuple[str, TargetType], words: str) -> None:
    (refusal,) = refusals(table(route, kind=TableKind.GATEWAY))
    assert refusal.source == GATEWAY_ROUTE_TABLES and words in refusal.problem


def test_a_target_the_reader_cannot_tell_is_not_guessed_at() -> None:
    assert refusals(table(("10.1.0.0/24", T.UNKNOWN))) == []
    assert refusals(table(("10.1.0.0/24", T.UNKNOWN), kind=TableKind.GATEWAY)) == []


# ---------------------------------------------------------------------------------------------
# Every model's intent, resolved as the components resolve it, passes AWS's rules

AZS = ["use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"]
SUPERNET_CHOICES = [["10.0.0.0/8"], ["10.0.0.0/8", "172.16.0.0/12"], ["10.0.0.0/9"]]
HUB_CIDRS = {"egress": "100.64.0.0/22", "inspection": "100.64.8.0/22"}
SPOKE_CIDR = "10.1.0.0/16"


def vpc_tables(plan: intent.VpcPlan, cidr: str, az_ids: list[str]) -> list[TableSpec]:
    slots = addressing.default_az_slots(len(az_ids))
    layout = addressing.carve_for_tiers(ipaddress.IPv4Network(cidr), az_ids, slots, plan.tiers)
    return tables_in_plan(plan, cidr, {(s.tier, s.az_id): str(s.cidr) for s in layout})


def every_plan(
    model: str, placement: intent.Placement, az_ids: list[str], supernets: list[str], variant: int
) -> list[tuple[intent.VpcPlan, str]]:
    hub = intent.hub_plan(
        model, placement, az_ids, supernets, single_tgw_table=variant == 1,
        block_spoke_to_spoke=variant == 2,
    )  # fmt: skip
    plans = [(plan, HUB_CIDRS[key]) for key, plan in hub.vpcs.items()]
    plans.append((intent.tgw_spoke(az_ids), SPOKE_CIDR))
    plans.append((intent.distributed_spoke(az_ids, placement), SPOKE_CIDR))
    return plans


@given(
    model=st.sampled_from(intent.MODELS),
    placement=st.sampled_from(["before-nat", "after-nat"]),
    az_count=st.integers(min_value=1, max_value=len(AZS)),
    supernets=st.sampled_from(SUPERNET_CHOICES),
    variant=st.integers(min_value=0, max_value=2),
)
def test_every_model_routes_only_what_aws_accepts(
    model: str, placement: intent.Placement, az_count: int, supernets: list[str], variant: int
) -> None:
    az_ids = AZS[:az_count]
    for plan, cidr in every_plan(model, placement, az_ids, supernets, variant):
        for spec in vpc_tables(plan, cidr, az_ids):
            assert refusals(spec) == [], (plan.role, spec.name)


@given(
    model=st.sampled_from(intent.MODELS),
    placement=st.sampled_from(["before-nat", "after-nat"]),
    az_count=st.integers(min_value=1, max_value=len(AZS)),
)
def test_every_firewall_route_stays_in_its_az(
    model: str, placement: intent.Placement, az_count: int
) -> None:
    az_ids = AZS[:az_count]
    for plan, _cidr in every_plan(model, placement, az_ids, ["10.0.0.0/8"], 0):
        for table_plan in plan.tables:
            for route in table_plan.routes:
                if route.target.kind != "firewall":
                    continue
                # A per-AZ table uses its own AZ's endpoint; the edge table steers each
                # subnet to the endpoint of that subnet's AZ.
                az = table_plan.az or getattr(route.destination, "az", None)
                assert route.target.az == az, (plan.role, table_plan.name, str(route.target))


def test_distributed_replies_go_to_each_az_own_workload_subnet() -> None:
    plan = intent.distributed_spoke(["use1-az1", "use1-az2"], "before-nat")
    public = {t.az: t for t in plan.tables if t.tier == "public"}
    for az, public_table in public.items():
        back = [r for r in public_table.routes if r.target.kind == "firewall"]
        assert [(r.destination, r.target) for r in back] == [
            (intent.SubnetCidr("workload", az), intent.Target("firewall", az))
        ]
