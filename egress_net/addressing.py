"""Pure CIDR carving per AZ, and overlap/containment helpers. No Pulumi here.

Layout rule (stable on purpose): each VPC is cut into a power-of-two number of *AZ slots*
(``az_slots``, at least the number of AZs). Subnet positions depend only on the AZ's index in
the configured list and on ``az_slots`` — not on how many AZs are in use — so adding an AZ later
never moves an existing subnet (which would replace it, and everything in it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IPv4Network = ipaddress.IPv4Network

SMALLEST_SUBNET_PREFIX = 28  # AWS's smallest subnet (/28, 16 addresses, 11 usable)
MAX_AZS = 6

# Tiers of the central egress VPC, in address order. Each gets one subnet per AZ slot.
EGRESS_TIERS: tuple[str, ...] = ("tgw", "firewall", "public")


class CarvingError(ValueError):
    """The VPC is too small for the requested layout. The message says what size is needed."""

    def __init__(self, message: str, needed_prefix: int) -> None:
        super().__init__(message)
        self.needed_prefix = needed_prefix


@dataclass(frozen=True)
class SubnetPlan:
    tier: str
    az_id: str
    cidr: IPv4Network


def next_power_of_two(n: int) -> int:
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def default_az_slots(az_count: int) -> int:
    """Room for 4 AZs unless more are configured, so AZs can be added without re-addressing."""
    return max(4, next_power_of_two(az_count))


def _bits(count: int) -> int:
    return (next_power_of_two(count) - 1).bit_length()


def egress_vpc_min_prefix(az_slots: int, tiers: int = len(EGRESS_TIERS)) -> int:
    """Largest prefix length (smallest VPC) that still gives every tier × slot a /28."""
    return SMALLEST_SUBNET_PREFIX - _bits(tiers * az_slots)


def carve_tiers(
    vpc: IPv4Network, az_ids: Sequence[str], tiers: Sequence[str], az_slots: int
) -> list[SubnetPlan]:
    """Equal-sized subnets, one per tier per AZ, tier-major: tier t, AZ i → slot t*az_slots+i."""
    _check_slots(az_ids, az_slots)
    extra_bits = _bits(len(tiers) * az_slots)
    prefix = vpc.prefixlen + extra_bits
    if prefix > SMALLEST_SUBNET_PREFIX:
        needed = SMALLEST_SUBNET_PREFIX - extra_bits
        raise CarvingError(
            f"{vpc} is too small for {len(tiers)} subnet tiers × {az_slots} AZ slots: "
            f"need a /{needed} or larger",
            needed,
        )
    return [
        SubnetPlan(tier, az_id, _nth_subnet(vpc, prefix, t * az_slots + i))
        for t, tier in enumerate(tiers)
        for i, az_id in enumerate(az_ids)
    ]


def carve_spoke(vpc: IPv4Network, az_ids: Sequence[str], az_slots: int) -> list[SubnetPlan]:
    """A TGW spoke: workload subnets (as large as possible) plus a /28 TGW subnet per AZ.

    AWS recommends a small dedicated TGW subnet so the attachment's ENIs are not subject to the
    workload route tables.
    """
    return carve_workload_vpc(vpc, az_ids, az_slots, ("tgw",))


def carve_workload_vpc(
    vpc: IPv4Network, az_ids: Sequence[str], az_slots: int, small_tiers: Sequence[str]
) -> list[SubnetPlan]:
    """Workload subnets as large as possible, plus a /28 per AZ for each of ``small_tiers``.

    The VPC is cut into ``next_power_of_two(az_slots + 1)`` equal blocks: the first ``az_slots``
    hold the workload subnets, the last one holds the /28s (tier-major, AZ slot within tier).
    """
    _check_slots(az_ids, az_slots)
    extra_bits = _bits(az_slots + 1)
    block_prefix = vpc.prefixlen + extra_bits
    small_bits = _bits(len(small_tiers) * az_slots)
    needed = SMALLEST_SUBNET_PREFIX - small_bits - extra_bits
    if block_prefix + small_bits > SMALLEST_SUBNET_PREFIX:
        small = ", ".join(small_tiers)
        raise CarvingError(
            f"{vpc} is too small for {az_slots} AZ slots of workload subnets and /28 "
            f"{small} subnets: need a /{needed} or larger",
            needed,
        )
    last_block = _nth_subnet(vpc, block_prefix, (1 << extra_bits) - 1)
    plans = [
        SubnetPlan("workload", az, _nth_subnet(vpc, block_prefix, i)) for i, az in enumerate(az_ids)
    ]
    for t, tier in enumerate(small_tiers):
        plans += [
            SubnetPlan(tier, az, _nth_subnet(last_block, SMALLEST_SUBNET_PREFIX, t * az_slots + i))
            for i, az in enumerate(az_ids)
        ]
    return plans


def _nth_subnet(net: IPv4Network, prefix: int, index: int) -> IPv4Network:
    """The ``index``-th /``prefix`` inside ``net``, computed rather than listed (a /16 holds
    4,096 /28s; listing them for every spoke dominated synth time)."""
    size = 1 << (32 - prefix)
    return IPv4Network((int(net.network_address) + index * size, prefix))


def carve_for_tiers(
    vpc: IPv4Network, az_ids: Sequence[str], az_slots: int, tiers: Sequence[str]
) -> list[SubnetPlan]:
    """The layout for a VPC's tiers: workload VPCs keep most space for workloads; VPCs without
    workloads (egress, inspection) split their space equally between tiers."""
    if "workload" in tiers:
        small = [t for t in tiers if t not in ("workload", LB_TIER)]
        plans = carve_workload_vpc(vpc, az_ids, az_slots, small)
        if LB_TIER in tiers:
            plans += carve_load_balancer_subnets(vpc, az_ids, az_slots, len(small))
        return plans
    return carve_tiers(vpc, az_ids, tiers, az_slots)


# Load balancer subnets. "Your subnets must have at least a /27 bitmask" for an Application
# Load Balancer, and at least 8 free addresses (ALB user guide, "Subnets for your Application
# Load Balancer"; an NLB needs a /28, NLB user guide, "Network Load Balancer subnets").
LB_TIER = "lb"
LB_SUBNET_MAX_PREFIX = 27


def carve_load_balancer_subnets(
    vpc: IPv4Network, az_ids: Sequence[str], az_slots: int, small_tiers: int
) -> list[SubnetPlan]:
    """A /27 per AZ slot for load balancers in a workload VPC, at the top of the block that
    holds the /28s (``carve_workload_vpc``), so the existing subnets never move when a spoke
    starts serving an application."""
    extra_bits = _bits(az_slots + 1)
    block_prefix = vpc.prefixlen + extra_bits
    last_block = _nth_subnet(vpc, block_prefix, (1 << extra_bits) - 1)
    lb_size = 1 << (32 - LB_SUBNET_MAX_PREFIX)
    small_end = small_tiers * az_slots * (1 << (32 - SMALLEST_SUBNET_PREFIX))
    first_lb = last_block.num_addresses // lb_size - az_slots  # index of the first /27
    if first_lb * lb_size < small_end:
        needed = vpc.prefixlen - 1
        while True:  # the largest prefix whose last block holds both
            block = 1 << (32 - needed - extra_bits)
            if block >= small_end + az_slots * lb_size:
                break
            needed -= 1
        raise CarvingError(
            f"{vpc} is too small for {az_slots} AZ slots of workload subnets, /28 subnets and "
            f"/{LB_SUBNET_MAX_PREFIX} load balancer subnets: need a /{needed} or larger",
            needed,
        )
    return [
        SubnetPlan(LB_TIER, az, _nth_subnet(last_block, LB_SUBNET_MAX_PREFIX, first_lb + i))
        for i, az in enumerate(az_ids)
    ]


def too_small_for_load_balancers(layout: Sequence[SubnetPlan]) -> int | None:
    """The prefix of the layout's load balancer subnets when smaller than an ALB accepts."""
    prefixes = [p.cidr.prefixlen for p in layout if p.tier == LB_TIER]
    worst = max(prefixes, default=0)
    return worst if worst > LB_SUBNET_MAX_PREFIX else None


def _check_slots(az_ids: Sequence[str], az_slots: int) -> None:
    if az_slots < len(az_ids) or az_slots != next_power_of_two(az_slots):
        raise ValueError(
            f"az_slots={az_slots} must be a power of two and at least the AZ count {len(az_ids)}"
        )


def complement(nets: Iterable[IPv4Network]) -> list[IPv4Network]:
    """Every IPv4 address outside ``nets``, as the fewest CIDR blocks (for EXTERNAL_NET)."""
    remaining = [ipaddress.IPv4Network("0.0.0.0/0")]
    for net in ipaddress.collapse_addresses(nets):
        next_remaining: list[IPv4Network] = []
        for block in remaining:
            if net.subnet_of(block):
                next_remaining.extend(block.address_exclude(net))
            elif not block.subnet_of(net):
                next_remaining.append(block)
        remaining = next_remaining
    return sorted(ipaddress.collapse_addresses(remaining))


def overlaps(a: IPv4Network, b: IPv4Network) -> bool:
    return a.overlaps(b)


def within_any(net: IPv4Network, supernets: Iterable[IPv4Network]) -> bool:
    return any(net.subnet_of(s) for s in supernets)


def first_overlap(nets: Sequence[IPv4Network]) -> tuple[int, int] | None:
    """Indexes (i, j), i < j, of an overlapping pair, or None. Sorted sweep: O(n log n)."""
    order = sorted(
        range(len(nets)), key=lambda i: (int(nets[i].network_address), nets[i].prefixlen)
    )
    reach = -1  # index of the block reaching furthest among those swept so far
    for i in order:
        if reach >= 0 and nets[i].network_address <= nets[reach].broadcast_address:
            return (min(reach, i), max(reach, i))
        if reach < 0 or nets[i].broadcast_address > nets[reach].broadcast_address:
            reach = i
    return None
