"""Rule group capacity, computed the way Network Firewall counts it (see ``limits``)."""

from __future__ import annotations

import math

from egress_net.rules.limits import GROUP_CAPACITY_MIN


def suricata_capacity(rule_count: int) -> int:
    """A Suricata rules string uses one unit per rule."""
    return rule_count


def five_tuple_capacity(rule_count: int) -> int:
    """Stateful 5-tuple rules also use one unit per rule."""
    return rule_count


def domain_list_capacity(domain_count: int, target_type_count: int) -> int:
    """Each domain is one generated rule per target type, plus one base rule per type."""
    return domain_count * target_type_count + target_type_count


def stateless_rule_capacity(
    *,
    sources: int = 1,
    destinations: int = 1,
    source_ports: int = 1,
    destination_ports: int = 1,
    protocols: int = 1,
    tcp_flags: int = 1,
) -> int:
    """Product of the number of values in each match setting; an empty setting counts 1."""
    return (
        max(sources, 1)
        * max(destinations, 1)
        * max(source_ports, 1)
        * max(destination_ports, 1)
        * max(protocols, 1)
        * max(tcp_flags, 1)
    )


def with_headroom(used: int, headroom: float, *, group_capacity_max: int) -> int:
    """Capacity to declare so the group can grow by ``headroom`` (a fraction) in place.

    Capped at the group maximum: the splitter never puts more than fits into a group, so the
    cap only trims spare room, never the rules themselves.
    """
    # Rounded first so 100 * 1.1 is 110, not 111 (binary floating point).
    wanted = math.ceil(round(used * (1.0 + headroom), 6))
    return max(GROUP_CAPACITY_MIN, min(wanted, group_capacity_max), used)


STABLE_CAPACITY_FLOOR = 100


def stable_capacity(capacity: int, *, group_capacity_max: int) -> int:
    """``capacity`` rounded up to a coarse step (half its order of magnitude: 87 → 100 (the
    floor), 1,234 → 1,500, 16,330 → 20,000), capped at the group maximum.

    Capacity is fixed when a group is created, and the group's name carries it; rounding to a
    step means adding a few rules keeps the same capacity (an in-place update), and only real
    growth creates a bigger group (a replacement).
    """
    wanted = max(capacity, STABLE_CAPACITY_FLOOR)
    step = max(1, 10 ** (len(str(wanted)) - 1) // 2)
    rounded = -(-wanted // step) * step
    return max(capacity, min(rounded, group_capacity_max))


def fill_limit(headroom: float, group_capacity_max: int) -> int:
    """How many capacity units of rules a new group may hold and still keep its headroom."""
    return max(1, math.floor(round(group_capacity_max / (1.0 + headroom), 6)))
