"""Subnet carving: property tests of the layout every VPC gets."""

from __future__ import annotations

import ipaddress
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egress_net import addressing
from egress_net.addressing import EGRESS_TIERS, CarvingError, carve_spoke, carve_tiers

AZS = [f"use1-az{i}" for i in range(1, 7)]


def _vpcs(min_prefix: int, max_prefix: int) -> st.SearchStrategy[ipaddress.IPv4Network]:
    return st.builds(
        lambda addr, prefix: ipaddress.IPv4Network((addr, prefix), strict=False),
        st.integers(min_value=0, max_value=2**32 - 1),
        st.integers(min_value=min_prefix, max_value=max_prefix),
    )


layouts = st.tuples(st.integers(1, 6), st.sampled_from([None, 8]))


def _slots(az_count: int, fixed: int | None) -> int:
    return fixed or addressing.default_az_slots(az_count)


def _assert_valid(vpc: ipaddress.IPv4Network, cidrs: list[ipaddress.IPv4Network]) -> None:
    for cidr in cidrs:
        assert cidr.subnet_of(vpc)
        assert cidr.prefixlen <= addressing.SMALLEST_SUBNET_PREFIX
    for a, b in combinations(cidrs, 2):
        assert not a.overlaps(b), (a, b)


@settings(max_examples=300, deadline=None)
@given(vpc=_vpcs(16, 28), layout=layouts)
def test_egress_tiers_are_disjoint_inside_the_vpc_or_rejected(vpc, layout) -> None:
    az_count, fixed = layout
    slots = _slots(az_count, fixed)
    try:
        plans = carve_tiers(vpc, AZS[:az_count], EGRESS_TIERS, slots)
    except CarvingError as err:
        assert vpc.prefixlen > err.needed_prefix
        # The size the error asks for really is enough.
        bigger = ipaddress.IPv4Network((vpc.network_address, err.needed_prefix), strict=False)
        carve_tiers(bigger, AZS[:az_count], EGRESS_TIERS, slots)
        return
    assert len(plans) == len(EGRESS_TIERS) * az_count
    assert {(p.tier, p.az_id) for p in plans} == {
        (t, az) for t in EGRESS_TIERS for az in AZS[:az_count]
    }
    _assert_valid(vpc, [p.cidr for p in plans])


@settings(max_examples=300, deadline=None)
@given(vpc=_vpcs(16, 28), layout=layouts)
def test_spoke_layout_has_workload_and_a_28_tgw_subnet_per_az(vpc, layout) -> None:
    az_count, fixed = layout
    slots = _slots(az_count, fixed)
    try:
        plans = carve_spoke(vpc, AZS[:az_count], slots)
    except CarvingError as err:
        assert vpc.prefixlen > err.needed_prefix
        bigger = ipaddress.IPv4Network((vpc.network_address, err.needed_prefix), strict=False)
        carve_spoke(bigger, AZS[:az_count], slots)
        return
    tgw = [p for p in plans if p.tier == "tgw"]
    workload = [p for p in plans if p.tier == "workload"]
    assert [p.az_id for p in tgw] == AZS[:az_count] == [p.az_id for p in workload]
    assert all(p.cidr.prefixlen == 28 for p in tgw)
    assert all(w.cidr.num_addresses >= t.cidr.num_addresses for w in workload for t in tgw)
    _assert_valid(vpc, [p.cidr for p in plans])


@settings(max_examples=100, deadline=None)
@given(vpc=_vpcs(16, 22), az_count=st.integers(1, 3))
def test_adding_an_az_never_moves_an_existing_subnet(vpc, az_count) -> None:
    slots = addressing.default_az_slots(az_count + 1)
    before = carve_tiers(vpc, AZS[:az_count], EGRESS_TIERS, slots)
    after = carve_tiers(vpc, AZS[: az_count + 1], EGRESS_TIERS, slots)
    assert set(before) <= set(after)
    before_spoke = carve_spoke(vpc, AZS[:az_count], slots)
    after_spoke = carve_spoke(vpc, AZS[: az_count + 1], slots)
    assert set(before_spoke) <= set(after_spoke)


def test_smallest_egress_vpc_for_four_az_slots_is_a_24() -> None:
    assert addressing.egress_vpc_min_prefix(4) == 24
    carve_tiers(ipaddress.IPv4Network("100.64.0.0/24"), AZS[:3], EGRESS_TIERS, 4)
    with pytest.raises(CarvingError, match="need a /24 or larger"):
        carve_tiers(ipaddress.IPv4Network("100.64.0.0/25"), AZS[:3], EGRESS_TIERS, 4)


@settings(max_examples=300, deadline=None)
@given(st.lists(_vpcs(8, 24), min_size=0, max_size=12))
def test_first_overlap_agrees_with_pairwise_check(nets) -> None:
    found = addressing.first_overlap(nets)
    any_overlap = any(a.overlaps(b) for a, b in combinations(nets, 2))
    assert (found is not None) == any_overlap
    if found:
        i, j = found
        assert i < j and nets[i].overlaps(nets[j])


def test_slots_must_be_a_power_of_two_covering_the_azs() -> None:
    with pytest.raises(ValueError, match="power of two"):
        carve_tiers(ipaddress.IPv4Network("10.0.0.0/16"), AZS[:3], EGRESS_TIERS, 3)
    with pytest.raises(ValueError, match="at least the AZ count"):
        carve_spoke(ipaddress.IPv4Network("10.0.0.0/16"), AZS[:5], 4)


@settings(max_examples=200, deadline=None)
@given(st.lists(_vpcs(1, 32), min_size=0, max_size=6), st.integers(0, 2**32 - 1))
def test_complement_holds_exactly_the_addresses_outside(nets, probe) -> None:
    outside = addressing.complement(nets)
    address = ipaddress.IPv4Address(probe)
    assert any(address in n for n in outside) != any(address in n for n in nets)
    for a, b in combinations(outside, 2):
        assert not a.overlaps(b)


def test_load_balancer_subnets_are_27s_and_move_no_existing_subnet() -> None:
    vpc = ipaddress.IPv4Network("10.1.0.0/16")
    azs = ["use1-az1", "use1-az2"]
    before = addressing.carve_for_tiers(vpc, azs, 4, ("workload", "tgw"))
    after = addressing.carve_for_tiers(vpc, azs, 4, ("workload", "tgw", "ingress-firewall", "lb"))
    assert set(before) <= set(after)
    lbs = [p for p in after if p.tier == "lb"]
    assert [p.cidr.prefixlen for p in lbs] == [27, 27]
    cidrs = [p.cidr for p in after]
    assert all(not a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])
    assert all(c.subnet_of(vpc) for c in cidrs)
    assert addressing.too_small_for_load_balancers(after) is None


def test_load_balancer_subnets_need_room_and_say_how_much() -> None:
    with pytest.raises(addressing.CarvingError) as caught:
        addressing.carve_for_tiers(
            ipaddress.IPv4Network("10.1.0.0/22"), ["use1-az1"], 4, ("workload", "tgw", "lb")
        )
    assert caught.value.needed_prefix == 21
    addressing.carve_for_tiers(
        ipaddress.IPv4Network("10.1.0.0/21"), ["use1-az1"], 4, ("workload", "tgw", "lb")
    )
